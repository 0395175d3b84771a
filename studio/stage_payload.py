"""The stage's payload: what the page needs to draw the previews and the timeline of a session.

Heavy items (the speech, the portrait, each take's motion and poses) carry a key and travel once:
the session remembers which keys it sent (``StageCache.sent``), later payloads name them without
their data, and the page keeps them (components/stage.js). A page that lacks one (a reload, a lost
reply) asks with the ``need_media`` event and ``StageCache.forget()`` makes the next payload whole.

Sizes for 60 s of speech: motion 158 kB, poses 500 kB (int16 in base64), speech ~100 kB (Ogg
Vorbis), portrait ~40 kB (JPEG). An edit resends only the motion and poses that changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from components.motion_viewer import joint_side
from components.stage import pack_int16, pack_uint8, wave_envelope
from pipeline.constants import MOTION_FPS, TOKENS_PER_SECOND, VIDEO_FPS

PREVIEW_MAX_SIDE = 512
"""The portrait is sent at most this large; the poses are scaled with it."""
POSE_PREVIEW_FPS = VIDEO_FPS / 2
"""Poses travel at half the video rate; the page interpolates between them."""
MOTION_SCALE = 1000.0   # metres -> millimetres in int16
POSE_SCALE = 8.0        # pixels -> 1/8 pixel in int16
JPEG_QUALITY = 85


@dataclass
class View:
    """One take as the stage shows it: a label, its motion (GenerationResult) and 2D poses."""

    label: str
    result: Any
    poses: Any            # WholeBodyPose at VIDEO_FPS, or None without a portrait
    method: str = "bank"


@dataclass
class StageCache:
    """Per-session memory of what the page already holds, and encoded media."""

    sent: set[str] = field(default_factory=set)
    media: dict[str, str] = field(default_factory=dict)   # key -> data URL
    version: int = 0

    def forget(self) -> None:
        self.sent.clear()

    def item(self, key: str, build) -> dict:
        """{"key": key} plus {"data": ...} (and whatever ``build`` adds) when the page lacks it."""
        if key in self.sent:
            return {"key": key}
        self.sent.add(key)
        return {"key": key, **build()}


def digest(*parts: Any) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(np.ascontiguousarray(p).tobytes() if isinstance(p, np.ndarray) else repr(p).encode())
    return h.hexdigest()[:16]


def _audio_data_url(clip) -> str:
    import soundfile as sf

    buf = io.BytesIO()
    try:
        sf.write(buf, clip.samples, clip.sample_rate, format="OGG", subtype="VORBIS")
        mime = "audio/ogg"
    except (RuntimeError, TypeError, ValueError):  # a libsndfile without Vorbis: plain WAV
        buf = io.BytesIO()
        sf.write(buf, clip.samples, clip.sample_rate, format="WAV", subtype="PCM_16")
        mime = "audio/wav"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def preview_scale(image_size: tuple[int, int]) -> float:
    return min(1.0, PREVIEW_MAX_SIDE / max(image_size))


def _portrait_data_url(image: np.ndarray) -> str:
    from PIL import Image

    h, w = image.shape[:2]
    scale = preview_scale((w, h))
    pil = Image.fromarray(image)
    if scale < 1.0:
        pil = pil.resize((max(2, round(w * scale)), max(2, round(h * scale))), Image.BILINEAR)
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def audio_item(cache: StageCache, clip, key: str) -> dict:
    def build():
        if key not in cache.media:
            cache.media[key] = _audio_data_url(clip)
        return {"data": cache.media[key]}
    return cache.item("a-" + key, build)


def portrait_item(cache: StageCache, analysis, key: str) -> dict:
    def build():
        if key not in cache.media:
            cache.media[key] = _portrait_data_url(analysis.image)
        return {"data": cache.media[key]}
    return cache.item("i-" + key, build)


def motion_item(cache: StageCache, result) -> dict:
    joints = np.asarray(result.joints, dtype=np.float32)
    key = "m-" + digest(np.asarray(result.tokens), joints.shape)
    return cache.item(key, lambda: {"fps": float(MOTION_FPS), "frames": int(joints.shape[0]),
                                    "joints": int(joints.shape[1]), "scale": MOTION_SCALE,
                                    "data": pack_int16(joints, MOTION_SCALE)})


def pose_item(cache: StageCache, poses, portrait_key: str, take_key: str, method: str) -> dict:
    step = max(1, int(round(poses.fps / POSE_PREVIEW_FPS)))
    scale = preview_scale(tuple(poses.image_size))
    key = "p-" + digest(take_key, portrait_key, method, len(poses))

    def build():
        kp = np.asarray(poses.keypoints[::step], dtype=np.float64) * scale
        w, h = poses.image_size
        return {"fps": float(poses.fps) / step, "frames": int(kp.shape[0]), "points": int(kp.shape[1]),
                "scale": POSE_SCALE, "width": max(2, round(w * scale)), "height": max(2, round(h * scale)),
                "data": pack_int16(kp, POSE_SCALE), "scores": pack_uint8(np.asarray(poses.scores[::step]))}
    return cache.item(key, build)


def skeleton3d() -> dict:
    from pipeline.motion.skeleton import JOINT_NAMES, PARENTS

    return {"parents": list(PARENTS), "sides": [joint_side(n) for n in JOINT_NAMES],
            "head": JOINT_NAMES.index("head") if "head" in JOINT_NAMES else -1}


def skeleton2d() -> dict:
    from pipeline.render.pose_maps import drawing_spec

    return drawing_spec()


def build_payload(cache: StageCache, *, clip, audio_key: str, segments: list[tuple], portrait=None,
                  portrait_key: str = "", views: list[View] = (), tokens: np.ndarray | None = None,
                  locked: np.ndarray | None = None, selected: int | None = None,
                  span: tuple[int, int] | None = None, message: str = "") -> dict:
    """The stage's value. ``segments``: (start, end, prompt, locked, seed) tuples."""
    cache.version += 1
    payload: dict[str, Any] = {"v": cache.version, "message": message, "views": [],
                               "skeleton3d": skeleton3d(), "skeleton2d": skeleton2d()}
    if clip is not None:
        payload.update(duration=float(clip.duration_s), audio=audio_item(cache, clip, audio_key),
                       wave=wave_envelope(clip.samples))
    else:
        payload.update(duration=0.0, audio=None, wave=[[], []])
    payload["segments"] = [[float(a), float(b), str(p or ""), bool(lk), int(sd)] for a, b, p, lk, sd in segments]
    payload["selected"] = selected
    payload["span"] = list(span) if span is not None else None
    if tokens is not None:
        lk = np.zeros(len(tokens), dtype=bool) if locked is None or len(locked) != len(tokens) else locked
        payload["tokens"] = {"ids": [int(t) for t in tokens], "locked": "".join("1" if x else "0" for x in lk),
                             "rate": float(TOKENS_PER_SECOND)}
    pitem = portrait_item(cache, portrait, portrait_key) if portrait is not None else None
    payload["portrait"] = pitem
    for view in views:
        entry: dict[str, Any] = {"label": view.label, "motion": None, "pose": None}
        if view.result is not None:
            entry["motion"] = motion_item(cache, view.result)
            if view.poses is not None and portrait is not None:
                entry["pose"] = pose_item(cache, view.poses, portrait_key,
                                          digest(np.asarray(view.result.tokens)), view.method)
        payload["views"].append(entry)
    if not payload["views"] and portrait is not None:
        payload["views"].append({"label": "Portrait", "motion": None, "pose": None})
    return payload
