"""Analytic two-bone inverse kinematics for arms (hand targets) and legs (planted feet).

Both limbs are a ball joint and a hinge: the hinge angle comes from the target distance (law of
cosines, solved exactly for our rest offsets, which are slightly bent), the ball joint aligns the
limb with the target and turns the elbow/knee toward a pole direction. All frames at once.
"""

from __future__ import annotations

import numpy as np

from pipeline.motion.skeleton import rest_offsets
from .pose import (ARM_JOINTS, KNEE_LIMITS, LEG_JOINTS, LIMITS, arm_rotation, collar_rotation,
                   elbow_rotation)
from pipeline.motion.rotations import MIRROR_X, frame, rot_x

OFFSETS = rest_offsets()
X_AXIS = np.array([1.0, 0.0, 0.0])
DOWN = np.array([0.0, -1.0, 0.0])


def solve_hinge(a: np.ndarray, b: np.ndarray, reach: np.ndarray, sign: float,
                lo: float, hi: float) -> np.ndarray:
    """Hinge angle (degrees, clipped to [lo, hi]) putting the chain end at distance `reach`.

    The chain is bone `a` then bone `b` turned by rot_x(sign * angle) at the hinge; among the
    two solutions the one bending the natural way is taken, and unreachable targets give the
    straightest (or most bent) allowed angle.
    """
    big_a = a[1] * b[1] + a[2] * b[2]
    big_b = sign * (a[2] * b[1] - a[1] * b[2])
    const = a[0] * b[0]
    rho = np.hypot(big_a, big_b)
    alpha = np.arctan2(big_b, big_a)
    d = (np.asarray(reach) ** 2 - a @ a - b @ b) / 2.0 - const
    angle = alpha + np.arccos(np.clip(d / rho, -1.0, 1.0))
    return np.clip(np.degrees(angle), lo, hi)


def max_reach(a: np.ndarray, b: np.ndarray) -> float:
    """Length of the chain at hinge angle 0 (the straightest it may get)."""
    return float(np.linalg.norm(a + b))


def arm_ik(side: str, target: np.ndarray, pole: np.ndarray, collar: np.ndarray) -> np.ndarray:
    """Arm channels (T, 4): abduction, flexion, twist, elbow flexion, putting the wrist on `target`.

    target: (T, 3) wrist position in the chest frame (spine3's frame, origin at spine3), in the
    body's own coordinates. pole: (T, 3) where the elbow should stick out from the
    shoulder-wrist line, side-relative (x is outward for either arm). collar: (T, 3) the side's
    collar channels (they move the shoulder).
    """
    left = ARM_JOINTS["left"]
    a, b = OFFSETS[left["elbow"]], OFFSETS[left["wrist"]]
    target = np.asarray(target, dtype=np.float64)
    if side == "right":
        target = target @ MIRROR_X
    pole = np.broadcast_to(np.asarray(pole, dtype=np.float64), target.shape)
    shoulder = OFFSETS[left["collar"]] + collar_rotation(collar) @ OFFSETS[left["shoulder"]]
    to_wrist = target - shoulder
    lo, hi = LIMITS[left["elbow"], 0]
    elbow = solve_hinge(a, b, np.linalg.norm(to_wrist, axis=-1), -1.0, lo, hi)
    chain = a + elbow_rotation(elbow) @ b
    chain_frame = frame(chain, np.broadcast_to(a, chain.shape))  # the elbow's side of the line
    target_frame = frame(to_wrist, pole)
    rot = target_frame @ np.swapaxes(chain_frame, -1, -2)
    return np.concatenate([arm_channels(rot), elbow[:, None]], axis=-1)


def arm_channels(rot: np.ndarray) -> np.ndarray:
    """Inverse of pose.arm_rotation: (abduction, flexion, twist) degrees from (T, 3, 3)."""
    d = rot @ DOWN
    elevation = np.degrees(np.arccos(np.clip(-d[:, 1], -1.0, 1.0)))
    azimuth = np.arctan2(d[:, 2], d[:, 0])
    swing = np.stack([elevation * np.cos(azimuth), elevation * np.sin(azimuth)], axis=-1)
    channels = np.concatenate([swing, np.zeros((len(rot), 1))], axis=-1)
    twist_rot = np.swapaxes(arm_rotation(channels), -1, -2) @ rot
    channels[:, 2] = np.degrees(np.arctan2(twist_rot[:, 0, 2], twist_rot[:, 0, 0]))
    return channels


def lower_root_for_reach(root: np.ndarray, pelvis_rot: np.ndarray, ankles: np.ndarray) -> np.ndarray:
    """Root lowered just enough that both ankle targets are reachable with unlocked knees.

    Hip-knee compensation: a bow or a wide step raises/moves the hips away from planted feet;
    dropping the pelvis (bending the knees a little) keeps the feet where they are.
    """
    drop = np.zeros(len(root))
    for k, side in enumerate(("left", "right")):
        leg = LEG_JOINTS[side]
        reach = max_reach(OFFSETS[leg["knee"]], OFFSETS[leg["ankle"]]) - 1e-6
        hip = root + pelvis_rot @ OFFSETS[leg["hip"]]
        v = hip - ankles[:, k]
        horizontal = v[:, 0] ** 2 + v[:, 2] ** 2
        allowed = np.sqrt(np.maximum(reach ** 2 - horizontal, 0.0))
        drop = np.maximum(drop, v[:, 1] - allowed)
    out = root.copy()
    out[:, 1] -= drop
    return out


def leg_ik(side: str, root: np.ndarray, pelvis_rot: np.ndarray, ankle: np.ndarray,
           foot_rot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local rotations (hip, knee, ankle), each (T, 3, 3), planting the ankle at `ankle` (world)
    with the foot's world orientation `foot_rot`; the knee points over the toes."""
    leg = LEG_JOINTS[side]
    a, b = OFFSETS[leg["knee"]], OFFSETS[leg["ankle"]]
    pelvis_t = np.swapaxes(pelvis_rot, -1, -2)
    hip = root + pelvis_rot @ OFFSETS[leg["hip"]]
    to_ankle = (pelvis_t @ (ankle - hip)[..., None])[..., 0]
    knee_angle = solve_hinge(a, b, np.linalg.norm(to_ankle, axis=-1), 1.0, *KNEE_LIMITS)
    knee = rot_x(np.radians(knee_angle))
    chain = a + knee @ b
    forward = (pelvis_t @ foot_rot)[..., 2]  # foot's forward axis in the pelvis frame
    hip_rot = frame(to_ankle, forward) @ np.swapaxes(frame(chain, np.cross(chain, X_AXIS)), -1, -2)
    knee_global = pelvis_rot @ hip_rot @ knee
    ankle_rot = np.swapaxes(knee_global, -1, -2) @ foot_rot
    return hip_rot, knee, ankle_rot

