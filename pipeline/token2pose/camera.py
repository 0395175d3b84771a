"""A weak-perspective camera fitted to the portrait: body yaw, scale, in-plane roll, translation.

Talking portraits are shot from a few metres with a long lens, so weak perspective (orthographic
projection times a scale) is accurate enough and fits robustly from the few torso points a
half-body photo shows. The fit uses the torso and head only: the arms of the portrait and of the
motion's first frame are in different poses and would pull the camera off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.motion.skeleton import REST_POSE
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.token2pose.mapping import MP, mediapipe_axes_to_smpl, smpl_to_body_feet

FIT_POINTS: dict[int, float] = {
    B["left_shoulder"]: 1.0, B["right_shoulder"]: 1.0, B["left_hip"]: 1.0, B["right_hip"]: 1.0,
    B["nose"]: 0.5, B["left_eye"]: 0.3, B["right_eye"]: 0.3, B["left_ear"]: 0.3, B["right_ear"]: 0.3,
}
"""Keypoints (COCO index) the camera is fitted to, with their weights."""

HEAD_WIDTH_M = 0.16
YAW_SEARCH_DEG = np.arange(-30.0, 30.1, 5.0)
"""Yaw offsets tried around the prior from the portrait's 3D landmarks."""


def yaw_matrix(yaw: float) -> np.ndarray:
    """Rotation about +Y by ``yaw`` radians (a body facing +Z turns toward +X for positive yaw)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


@dataclass
class WeakPerspectiveCamera:
    """pixel = scale * R2(roll) @ (x, -y) of (R_yaw @ X) + translation."""

    scale: float                   # pixels per metre
    yaw: float = 0.0               # radians, applied to the body before projecting
    roll: float = 0.0              # radians, in-plane rotation of the image
    translation: tuple[float, float] = (0.0, 0.0)
    residual_px: float = 0.0       # weighted RMS fitting error on the fit points

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) of 3D points (..., 3) in metres, Y up."""
        rotated = np.asarray(points, dtype=np.float64) @ yaw_matrix(self.yaw).T
        flat = np.stack([rotated[..., 0], -rotated[..., 1]], axis=-1)
        c, s = np.cos(self.roll), np.sin(self.roll)
        r2 = np.array([[c, -s], [s, c]])
        return self.scale * flat @ r2.T + np.asarray(self.translation)


def _similarity_2d(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[float, float, np.ndarray, float]:
    """Weighted Umeyama fit dst ~ s R src + t in 2D (no reflection): (s, angle, t, weighted RMS)."""
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    u, sig, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag([1.0, d]) @ vt
    var = (w * (a ** 2).sum(1)).sum()
    scale = (sig[0] + d * sig[1]) / max(var, 1e-12)
    t = mu_d - scale * rot @ mu_s
    err = np.sqrt((w * ((scale * a @ rot.T - b) ** 2).sum(1)).sum())
    return float(scale), float(np.arctan2(rot[1, 0], rot[0, 0])), t, float(err)


def yaw_prior(portrait: PortraitAnalysis) -> float:
    """Body yaw (radians) from the portrait's 3D world landmarks; 0 when they are missing."""
    world = np.asarray(portrait.world_landmarks, dtype=np.float64)
    if world.shape[0] < 33 or not np.all(np.isfinite(world[:, :3])):
        return 0.0
    p = mediapipe_axes_to_smpl(world[:, :3])
    across = (p[MP["left_shoulder"]] - p[MP["right_shoulder"]]) + (p[MP["left_hip"]] - p[MP["right_hip"]])
    if np.hypot(across[0], across[2]) < 1e-6:
        return 0.0
    return float(np.clip(np.arctan2(-across[2], across[0]), -np.pi / 3, np.pi / 3))


def fit_camera(portrait: PortraitAnalysis, joints: np.ndarray | None = None,
               min_score: float = 0.3) -> WeakPerspectiveCamera:
    """Camera that maps the 22-joint pose ``joints`` (22, 3) (rest pose by default) onto the portrait.

    Fitted to the portrait's visible torso and head keypoints; with fewer than two of those, the
    face box alone sets the scale (a head is about 16 cm wide) and the nose sits on the face centre.
    """
    joints = REST_POSE if joints is None else np.asarray(joints, dtype=np.float64)
    ref = smpl_to_body_feet(joints - joints[0] * np.array([1.0, 0.0, 1.0]))
    kp = portrait.pose.keypoints[0].astype(np.float64)
    ok = (portrait.pose.scores[0] >= min_score) & np.asarray(portrait.visible, dtype=bool)
    ids = [i for i in FIT_POINTS if ok[i]]
    if len(ids) < 2 or not any(ok[i] for i in (B["left_shoulder"], B["right_shoulder"])):
        x0, y0, x1, y1 = portrait.face_box
        scale = max(x1 - x0, 1.0) / HEAD_WIDTH_M
        cam = WeakPerspectiveCamera(scale=scale)
        nose = cam.project(ref[B["nose"]])
        cam.translation = tuple(np.asarray(portrait.face_center, dtype=np.float64) - nose)
        return cam
    weights = np.array([FIT_POINTS[i] for i in ids])
    prior = yaw_prior(portrait)
    best, best_cost = None, np.inf
    for offset in np.deg2rad(YAW_SEARCH_DEG):
        yaw = float(np.clip(prior + offset, -np.pi / 2, np.pi / 2))
        rotated = ref[ids] @ yaw_matrix(yaw).T
        src = np.stack([rotated[:, 0], -rotated[:, 1]], axis=1)
        # Small penalty away from the prior: with few points the residual alone is flat in yaw.
        scale, roll, t, err = _similarity_2d(src, kp[ids], weights)
        cost = err * (1.0 + 0.1 * abs(offset))
        if cost < best_cost:
            best, best_cost = WeakPerspectiveCamera(scale, yaw, roll, (float(t[0]), float(t[1])), err), cost
    assert best is not None
    return best


__all__ = ["WeakPerspectiveCamera", "fit_camera", "yaw_matrix", "yaw_prior"]
