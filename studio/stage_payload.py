"""The stage's payload: what the page needs to draw the previews and the timeline of a session.

Heavy items (the speech, the portrait, each take's motion and poses) carry a key and travel once:
the session remembers which keys it sent (``StageCache.sent``), later payloads name them without
their data, and the page keeps them (components/stage.js). A page that lacks one (a reload, a lost
reply) asks with the ``need_media`` event and ``StageCache.forget()`` makes the next payload whole.

Frame arrays (motion, poses) also travel as deltas: when a view's new motion differs from the one
the page holds only in some frames (an edited span), the payload names the old item as ``base``
and carries only the changed frames, as ``runs`` of [start, count]; the page copies the rest
from its cache. The motion goes as local joints plus the root track, the poses as points relative
to the shoulders plus that anchor, so that an edit is local in the arrays too.

Sizes for 60 s of speech: motion 158 kB, poses 500 kB (int16 in base64), speech ~100 kB (Ogg
Vorbis), portrait ~40 kB (JPEG); an edit of one segment sends tens of kB.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import numpy as np

from components.motion_viewer import joint_side
from components.stage import b64_array, quantize_int16, quantize_uint8, wave_envelope
from pipeline.constants import MOTION_FPS, TOKENS_PER_SECOND, VIDEO_FPS

if TYPE_CHECKING:
    from pipeline.audio.io import AudioClip
    from pipeline.body.model import BodyModel
    from pipeline.portrait.types import PortraitAnalysis
    from pipeline.portrait.wholebody import WholeBodyPose

PREVIEW_MAX_SIDE = 512
"""The portrait is sent at most this large; the poses are scaled with it."""
POSE_PREVIEW_FPS = VIDEO_FPS / 2
SHOULDERS = (5, 6)  # COCO-WholeBody left and right shoulder
"""Poses travel at half the video rate; the page interpolates between them."""
MOTION_SCALE = 1000.0   # metres -> millimetres in int16
POSE_SCALE = 8.0        # pixels -> 1/8 pixel in int16
JPEG_QUALITY = 85
DELTA_MAX_SHARE = 0.6
"""A delta is sent when at most this share of the frames changed; otherwise the whole array."""
RUN_GAP = 8
"""Changed frames closer than this are sent as one run (fewer, longer runs)."""
DELTA_TOLERANCE = 1
"""Frames whose values moved by at most this many quantisation steps (float noise flipping a
rounding: 1/8 px, 1 mm) count as unchanged; the page keeps its copy, never more than one step
away (the comparison is against what the page holds, so the error cannot grow)."""


class MotionTake(Protocol):
    """What the stage reads of a take's motion: a GenerationResult, or ``body_stage.clip_take``'s."""

    joints: np.ndarray
    features: np.ndarray
    tokens: np.ndarray


@dataclass
class View:
    """One take as the stage shows it: a label, its motion (GenerationResult) and 2D poses."""

    label: str
    result: MotionTake
    poses: WholeBodyPose | None   # at VIDEO_FPS, or None without a portrait
    method: str = "bank"
    face: str = ""        # what the poses' talking face was made from (part of the poses' cache key)


@dataclass
class _Sent:
    key: str
    arrays: dict[str, np.ndarray]


@dataclass
class StageCache:
    """Per-session memory of what the page already holds, and encoded media."""

    sent: set[str] = field(default_factory=set)
    media: dict[str, tuple[str, dict]] = field(default_factory=dict)  # kind -> (key, encoded): the latest
    last: dict[str, _Sent] = field(default_factory=dict)  # family ("motion:0") -> last frames sent
    version: int = 0

    def forget(self) -> None:
        self.sent.clear()
        self.last.clear()

    def item(self, key: str, build: Callable[[], dict]) -> dict:
        """{"key": key} plus {"data": ...} (and whatever ``build`` adds) when the page lacks it."""
        if key in self.sent:
            return {"key": key}
        self.sent.add(key)
        return {"key": key, **build()}

    def frames_item(self, family: str, key: str, build: Callable[[], dict]) -> dict:
        """Like ``item`` for frame arrays: ``build()`` returns (meta, local, whole): ``local`` maps names
        to quantised (T, ...) arrays sent whole or as the changed frames over the family's previous
        item (when the page has it); ``whole`` maps names to small arrays always sent whole."""
        if key in self.sent:
            return {"key": key}
        meta, arrays, whole = build()
        prev = self.last.get(family)
        self.sent.add(key)
        item = {"key": key, **meta, **{name: b64_array(a) for name, a in whole.items()}}
        if prev is not None and prev.key in self.sent and prev.arrays.keys() == arrays.keys() and \
                all(prev.arrays[n].shape == a.shape for n, a in arrays.items()):
            frames = len(next(iter(arrays.values())))
            changed = np.zeros(frames, dtype=bool)
            for name, a in arrays.items():
                step = np.abs(a.astype(np.int32) - prev.arrays[name].astype(np.int32))
                changed |= (step > DELTA_TOLERANCE).reshape(frames, -1).any(axis=1)
            runs = _runs(np.flatnonzero(changed))
            if sum(b - a for a, b in runs) <= DELTA_MAX_SHARE * frames:
                item.update(base=prev.key, runs=[[a, b - a] for a, b in runs])
                held = {name: prev.arrays[name].copy() for name in arrays}
                for name, a in arrays.items():  # what the page now holds: the base, these frames new
                    for start, stop in runs:
                        held[name][start:stop] = a[start:stop]
                    item[name] = b64_array(np.concatenate([a[start:stop] for start, stop in runs])
                                           if runs else a[:0])
                self.last[family] = _Sent(key, held)
                return item
        self.last[family] = _Sent(key, arrays)
        item.update({name: b64_array(a) for name, a in arrays.items()})
        return item


def _runs(rows: np.ndarray, gap: int = RUN_GAP) -> list[tuple[int, int]]:
    """[start, stop) runs covering ``rows`` (sorted frame indices), joined across gaps <= ``gap``."""
    runs: list[list[int]] = []
    for r in rows.tolist():
        if runs and r - runs[-1][1] <= gap:
            runs[-1][1] = r + 1
        else:
            runs.append([r, r + 1])
    return [(a, b) for a, b in runs]


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


def _media_item(cache: StageCache, kind: str, key: str, encode) -> dict:
    """A media item ("a" speech, "i" portrait): encoded once per key and kept (the latest per kind)
    for a page that asks again."""
    def build():
        held = cache.media.get(kind)
        if held is None or held[0] != key:
            held = (key, encode())
            cache.media[kind] = held
        return held[1]
    return cache.item(f"{kind}-{key}", build)


def audio_item(cache: StageCache, clip: AudioClip, key: str) -> dict:
    """The speech for the page's player and its waveform envelope, sent once per recording."""
    return _media_item(cache, "a", key, lambda: {"data": _audio_data_url(clip), "wave": wave_envelope(clip.samples)})


def portrait_item(cache: StageCache, analysis: PortraitAnalysis, key: str) -> dict:
    return _media_item(cache, "i", key, lambda: {"data": _portrait_data_url(analysis.image)})


def skeleton_item(cache: StageCache) -> dict:
    """How to draw: the 3D skeleton's parents and sides, the 2D pose's DWPose edges; sent once."""
    return cache.item("skeleton", lambda: {"data": {"body3d": skeleton3d(), "pose2d": skeleton2d()}})


def motion_item(cache: StageCache, result: MotionTake, family: str) -> dict:
    """The motion as local joints (root heading frame; an edit changes them only near the edit) and
    the root track (x, z, yaw per frame, float32; integrated, so an edit moves all that follows)."""
    from pipeline.motion.features import root_track, to_local

    joints = np.asarray(result.joints, dtype=np.float32)
    key = "m-" + digest(np.asarray(result.tokens), joints.shape)

    def build():
        track = root_track(result.features)
        meta = {"fps": float(MOTION_FPS), "frames": int(joints.shape[0]), "joints": int(joints.shape[1]),
                "scale": MOTION_SCALE}
        return meta, {"data": quantize_int16(to_local(joints, track), MOTION_SCALE)}, \
            {"track": track.astype("<f4")}
    return cache.frames_item(family, key, build)


def pose_item(cache: StageCache, poses: WholeBodyPose, portrait_key: str, take_key: str, method: str,
              family: str) -> dict:
    """The poses as keypoints relative to the mid-shoulder point (local to an edit) plus that point
    per frame (float32; the body's path across the frame)."""
    step = max(1, int(round(poses.fps / POSE_PREVIEW_FPS)))
    scale = preview_scale(tuple(poses.image_size))
    key = "p-" + digest(take_key, portrait_key, method, len(poses))

    def build():
        kp = np.asarray(poses.keypoints[::step], dtype=np.float64) * scale
        anchor = kp[:, list(SHOULDERS)].mean(axis=1)
        w, h = poses.image_size
        meta = {"fps": float(poses.fps) / step, "frames": int(kp.shape[0]), "points": int(kp.shape[1]),
                "scale": POSE_SCALE, "width": max(2, round(w * scale)), "height": max(2, round(h * scale))}
        local = {"data": quantize_int16(kp - anchor[:, None], POSE_SCALE),
                 "scores": quantize_uint8(poses.scores[::step])}
        return meta, local, {"anchor": anchor.astype("<f4")}
    return cache.frames_item(family, key, build)


def skeleton3d() -> dict:
    from pipeline.motion.skeleton import JOINT_NAMES, PARENTS

    return {"parents": list(PARENTS), "sides": [joint_side(n) for n in JOINT_NAMES],
            "head": JOINT_NAMES.index("head") if "head" in JOINT_NAMES else -1}


def skeleton2d() -> dict:
    from pipeline.render.pose_maps import drawing_spec

    return drawing_spec()


def build_payload(cache: StageCache, *, clip: AudioClip | None, audio_key: str, segments: list[tuple],
                  portrait: PortraitAnalysis | None = None, portrait_key: str = "", views: Sequence[View] = (),
                  tokens: np.ndarray | None = None, locked: np.ndarray | None = None, selected: int | None = None,
                  span: tuple[int, int] | None = None, message: str = "", speech: dict | None = None,
                  body: BodyModel | None = None) -> dict:
    """The stage's value. ``segments``: (start, end, prompt, locked, seed) tuples; ``speech``: the
    timeline's words and phonemes ({"source", "words", "phones"}, times in seconds), sent once per
    content; ``body``: a BodyModel fitted to the motion skeleton (pipeline.body), drawn for every
    view that has motion."""
    cache.version += 1
    payload: dict[str, Any] = {"v": cache.version, "message": message, "views": [],
                               "skeleton": skeleton_item(cache)}
    if clip is not None:
        payload.update(duration=float(clip.duration_s), audio=audio_item(cache, clip, audio_key))
    else:
        payload.update(duration=0.0, audio=None)
    payload["segments"] = [[float(a), float(b), str(p or ""), bool(lk), int(sd)] for a, b, p, lk, sd in segments]
    payload["speech"] = cache.item("s-" + digest(audio_key, speech), lambda: {"data": speech}) \
        if speech is not None and clip is not None else None
    payload["selected"] = selected
    payload["span"] = list(span) if span is not None else None
    if tokens is not None:
        lk = np.zeros(len(tokens), dtype=bool) if locked is None or len(locked) != len(tokens) else locked
        payload["tokens"] = {"ids": [int(t) for t in tokens], "locked": "".join("1" if x else "0" for x in lk),
                             "rate": float(TOKENS_PER_SECOND)}
    pitem = portrait_item(cache, portrait, portrait_key) if portrait is not None else None
    payload["portrait"] = pitem
    for i, view in enumerate(views):
        entry: dict[str, Any] = {"label": view.label, "motion": None, "pose": None}
        if view.result is not None:
            entry["motion"] = motion_item(cache, view.result, f"motion:{i}")
            if view.poses is not None and portrait is not None:
                entry["pose"] = pose_item(cache, view.poses, portrait_key,
                                          digest(np.asarray(view.result.tokens), view.face), view.method, f"pose:{i}")
        payload["views"].append(entry)
    if body is not None and any(v["motion"] is not None for v in payload["views"]):
        from studio.body_stage import body_item  # the skinned body, once per session (issue 13)

        payload["body"] = body_item(cache, body)
    if not payload["views"] and portrait is not None:
        payload["views"].append({"label": "Portrait", "motion": None, "pose": None})
    return payload
