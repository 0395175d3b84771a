"""Which parts of the body are nearer the camera, per frame, from the generated 3D motion.

The 2D poses alone cannot say whether a hand crossing the torso is in front of it or behind it;
the 3D joints the motion generator decoded can. Each bone of the 2D rig gets the depth of the
3D joints it spans, seen through the portrait's camera (its yaw), relative to the torso: larger
is farther. The torso counts as ``TORSO_HALF_DEPTH_M`` thick, so an arm must be that much behind
the torso's centre line to be hidden by it (hands hanging at the sides stay in front and do not
flicker between front and back).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from pipeline.constants import MOTION_FPS
from pipeline.motion.skeleton import JOINT_INDEX as S

from .skeleton import BONES

TORSO_HALF_DEPTH_M = 0.10
BONE_JOINTS: dict[str, tuple[str, ...]] = {
    "torso": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "head": ("head",),
    "left_upper_arm": ("left_shoulder", "left_elbow"),
    "right_upper_arm": ("right_shoulder", "right_elbow"),
    "left_forearm": ("left_elbow", "left_wrist"),
    "right_forearm": ("right_elbow", "right_wrist"),
    "left_hand": ("left_wrist",),
    "right_hand": ("right_wrist",),
    "left_thigh": ("left_hip", "left_knee"),
    "right_thigh": ("right_hip", "right_knee"),
    "left_shin": ("left_knee", "left_ankle"),
    "right_shin": ("right_knee", "right_ankle"),
}


def bone_depth(joints: np.ndarray, yaw: float, num_frames: int, fps: float, src_fps: float = MOTION_FPS,
               smooth_s: float = 0.08) -> np.ndarray:
    """(num_frames, n_bones) depth per rig bone at ``fps`` from joints (T, 22, 3) at ``src_fps``.

    ``yaw``: the portrait camera's body yaw (radians; WeakPerspectiveCamera.yaw). The camera
    looks along -Z at a body facing +Z, so depth = -(rotated z), offset so the torso sits at 0.
    """
    j = np.asarray(joints, np.float64)
    if j.ndim != 3 or j.shape[1:] != (22, 3) or len(j) == 0:
        raise ValueError(f"joints must be (frames, 22, 3), got {j.shape}")
    c, s = np.cos(yaw), np.sin(yaw)
    z = -s * j[..., 0] + c * j[..., 2]                   # rotated z (towards the camera)
    depth = np.stack([-z[:, [S[n] for n in BONE_JOINTS[b.name]]].mean(1) for b in BONES], 1)
    depth -= depth[:, [0]]
    depth[:, 0] = TORSO_HALF_DEPTH_M
    if smooth_s > 0 and len(depth) > 1:
        depth = gaussian_filter1d(depth, smooth_s * src_fps, axis=0, mode="nearest")
    t = np.arange(num_frames) / float(fps) * src_fps
    t = np.clip(t, 0, len(depth) - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(depth) - 1)
    frac = (t - lo)[:, None]
    return depth[lo] * (1 - frac) + depth[hi] * frac


def depth_for_motion(joints: np.ndarray, portrait, num_frames: int, fps: float,
                     src_fps: float = MOTION_FPS) -> np.ndarray:
    """``bone_depth`` through the camera that token2pose fits to ``portrait`` for this motion."""
    from pipeline.token2pose.camera import fit_camera

    joints = np.asarray(joints, np.float64)
    camera = fit_camera(portrait, joints[0])
    return bone_depth(joints, camera.yaw, num_frames, fps, src_fps)
