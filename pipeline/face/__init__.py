"""The talking face in the 2D poses: lips and jaw from the mouth track, blinks, brow raises."""

from __future__ import annotations

import numpy as np

from pipeline.face.keypoints import STABLE, animate_face, eyelid_gap, face_frame, mouth_opening
from pipeline.portrait.wholebody import WholeBodyPose
from pipeline.render.audio_drive import blink_closure
from pipeline.speech.visemes import MouthTrack

BLINK_DURATION_S = 0.15
"""The warp renderer's default blink length, so the poses' lids and the render blink together."""


def talking_face(pose: WholeBodyPose, mouth: MouthTrack | None, *, blink_rate_per_min: float = 15.0,
                 seed: int = 0, strength: float = 1.0) -> WholeBodyPose:
    """``pose`` with speaking lips and jaw (``mouth``), blinks at ``blink_rate_per_min`` (the same
    seeded timing as the renderers' ``blink_closure``) and small brow raises on stressed syllables."""
    from pipeline.speech.brows import brow_raise

    n = len(pose)
    fps = pose.fps or (mouth.fps if mouth is not None else 25.0)
    if mouth is not None:
        mouth = mouth.resampled(fps, n)
    closure = blink_closure(n, fps, blink_rate_per_min, BLINK_DURATION_S, seed)
    brows = brow_raise(mouth, fps, n) if mouth is not None else np.zeros(n, dtype=np.float32)
    return animate_face(pose, mouth, closure, brows, strength)


__all__ = ["STABLE", "animate_face", "eyelid_gap", "face_frame", "mouth_opening", "talking_face"]
