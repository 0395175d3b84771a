"""The stage's body item: the fitted body mesh and its skinning, sent once per session.

The page poses the mesh itself from the joints it already receives (components/stage_body.js
mirrors pipeline/body/rig.py), so an edit sends no more than before: only the changed frames of
the motion. Sizes for the default body (13,718 vertices, 27,420 triangles): about 475 kB of
base64, once.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from components.motion_viewer import joint_side
from components.stage import b64_array, empty_payload, quantize_int16, quantize_uint8
from pipeline.body.model import BodyModel
from pipeline.body.rig import FRAMES, HINGE_BEND, HINGES
from pipeline.motion.skeleton import JOINT_NAMES, PARENTS

if TYPE_CHECKING:   # hints only: stage_payload imports this module (on use), importing it back would be a cycle
    from studio.motion_sources import LoadedMotion
    from studio.stage_payload import StageCache

VERTEX_SCALE = 1000.0  # metres -> millimetres in int16
SIDE_SIGN = {"left": 1.0, "right": -1.0}


def body_label(body: BodyModel) -> str:
    """What the stage writes under the body (which model it is)."""
    return {"anny": "Anny body (CC0)"}.get(body.name, f"{body.name} (your model files)")


def body_data(body: BodyModel) -> dict:
    """The JSON-ready body: int16 vertices (mm), uint16 triangles, 4 uint8 joint indices and
    weights per vertex, the rest joints and the rig's constants."""
    if len(body.vertices) > 65535:
        raise ValueError(f"the body has {len(body.vertices)} vertices; the stage draws at most 65,535 "
                         "(16-bit indices): use a lighter mesh")
    k = body.skin_joints.shape[1]
    joints = np.zeros((len(body.vertices), 4), dtype=np.uint8)
    weights = np.zeros((len(body.vertices), 4))
    keep = min(k, 4)
    order = np.argsort(-body.skin_weights, axis=1)[:, :keep]
    joints[:, :keep] = np.take_along_axis(body.skin_joints, order, axis=1)
    weights[:, :keep] = np.take_along_axis(body.skin_weights, order, axis=1)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return {"name": body.name, "label": body_label(body), "scale": VERTEX_SCALE,
            "vertices": b64_array(quantize_int16(body.vertices, VERTEX_SCALE)),
            "faces": b64_array(np.asarray(body.faces, dtype="<u2")),
            "skin_joints": b64_array(joints), "skin_weights": b64_array(quantize_uint8(weights)),
            "rest": b64_array(np.asarray(body.joints, dtype="<f4")), "parents": list(PARENTS),
            "sides": [SIDE_SIGN.get(joint_side(n), 0.0) for n in JOINT_NAMES],
            "frames": {str(j): list(v) for j, v in FRAMES.items()},
            "hinges": {str(j): [m, e, list(d)] for j, (m, e, d) in HINGES.items()}, "bend": list(HINGE_BEND)}


def body_key(body: BodyModel) -> str:
    from studio.stage_payload import digest

    return "b-" + digest(body.name, np.asarray(body.vertices, dtype=np.float32), np.asarray(body.skin_weights))


def body_item(cache: StageCache, body: BodyModel) -> dict:
    """{"key"} plus the data when the page lacks it (StageCache.item: once per session)."""
    return cache.item(body_key(body), lambda: {"data": body_data(body)})


def clip_take(joints: np.ndarray) -> SimpleNamespace:
    """A stage take (what ``motion_item`` reads: joints, features, tokens) from joints alone (a
    library clip, a BVH): HumanML3D's canonical form, at the origin facing +Z."""
    from pipeline.motion.features import features_to_joints, joints_to_features
    from studio.stage_payload import digest

    features = joints_to_features(np.asarray(joints, dtype=np.float32))
    canon = features_to_joints(features).astype(np.float32)
    key = np.frombuffer(bytes.fromhex(digest(canon)), dtype=np.uint8)
    return SimpleNamespace(joints=canon, features=features, tokens=key)


def preview_payload(cache: StageCache, takes: list[tuple[str, np.ndarray]], body: BodyModel | None,
                    message: str = "") -> dict:
    """A stage payload that shows motions without speech or portrait (the Motion library, tests,
    benchmarks): one view per (label, joints), the clock running over silence as long as the longest."""
    from pipeline.audio.io import AudioClip
    from pipeline.constants import MOTION_FPS
    from studio.stage_payload import View, build_payload, digest

    views = [View(label, clip_take(j), None) for label, j in takes]
    frames = max((len(v.result.joints) for v in views), default=1)
    clip = AudioClip(samples=np.zeros(int(frames / MOTION_FPS * 16000), dtype=np.float32))
    payload = build_payload(cache, clip=clip, audio_key="silence-" + digest(frames), segments=[],
                            views=views, message=message, body=body)
    payload["layout"] = "3d"  # no portrait: the page shows the 3D pane only
    return payload


def library_payload(motion: LoadedMotion | None, cache: StageCache | None) -> tuple[StageCache, dict]:
    """The Motion library's body stage for the clip shown (``LoadedMotion`` or None), with the
    session's StageCache (created on first use, so the body travels once). Returns (cache, payload)."""
    from pipeline.body.choice import session_body
    from studio.stage_payload import StageCache

    cache = cache if isinstance(cache, StageCache) else StageCache()
    if motion is None or getattr(motion, "joints", None) is None or len(motion.joints) < 2:
        return cache, empty_payload("Pick a clip to see it on the body.")
    return cache, preview_payload(cache, [(str(motion.title), np.asarray(motion.joints))], session_body())
