"""A PortraitAnalysis drawn from a 3D skeleton, for tests and benchmarks without photo analysis.

It is what the analysis would report for a photo of a person standing in the given pose, seen
by the given camera: keypoints inside the image are visible, the rest are not.
"""

from __future__ import annotations

import numpy as np

from pipeline.motion.skeleton import REST_POSE
from pipeline.portrait.types import Framing, PortraitAnalysis
from pipeline.portrait.wholebody import FACE, WholeBodyPose
from pipeline.token2pose.camera import WeakPerspectiveCamera
from pipeline.token2pose.project import whole_body_from_motion


def synthetic_portrait(framing: Framing = "half_body", size: int = 512, joints: np.ndarray | None = None,
                       camera: WeakPerspectiveCamera | None = None) -> PortraitAnalysis:
    """Portrait of ``joints`` (22, 3) (rest pose by default) through ``camera``.

    Default cameras: "half_body" shows the body down to about the hips, "whole_body" all of it,
    "head" the head and shoulders.
    """
    joints = REST_POSE if joints is None else np.asarray(joints, dtype=np.float64)
    if camera is None:
        scale = {"half_body": 600.0, "whole_body": 250.0, "head": 1400.0}[framing]
        neck_y = {"half_body": 0.22, "whole_body": 0.2, "head": 0.75}[framing] * size
        camera = WeakPerspectiveCamera(scale, 0.0, 0.0, (size / 2, neck_y + 0.5 * scale))
    kp, sc = whole_body_from_motion(joints[None], camera)
    kp, sc = kp[0], sc[0]
    visible = (kp[:, 0] >= 0) & (kp[:, 0] < size) & (kp[:, 1] >= 0) & (kp[:, 1] < size) & (sc > 0)
    pose = WholeBodyPose(kp, sc * visible, (size, size))
    face = kp[FACE]
    box = (float(face[:, 0].min()), float(face[:, 1].min()), float(face[:, 0].max()), float(face[:, 1].max()))
    center = (0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]))
    return PortraitAnalysis(np.full((size, size, 3), 127, np.uint8), (size, size), 1.0, pose,
                            np.zeros((33, 3)), np.full((33, 3), np.nan), np.zeros((size, size), np.float32),
                            box, center, framing, visible)


__all__ = ["synthetic_portrait"]
