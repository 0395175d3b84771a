"""A pose as per-joint anatomical angles, the human joint limits, and the angles -> rotations map.

A pose is a (22, 3) array of degrees (a track is (T, 22, 3)); each joint reads its three numbers
with its own anatomical meaning, so actions can say "flex the elbow 90 degrees" instead of
writing matrices. Right-side joints use the same meaning as left ones (mirrored), so one number
describes the same movement on either side. Legs are not keyed here: they come from foot targets
by inverse kinematics (see ik.py), which is what keeps the feet planted.

Channels, in degrees:
  pelvis (0), spine1/2/3 (3, 6, 9), neck (12): (pitch forward, roll toward the left, yaw to the left)
  collars (13, 14): (elevation, protraction, unused)
  shoulders (16, 17): (abduction, flexion, external twist) -- the upper arm's swing as a rotation
      vector (abduction raises it sideways, flexion forwards; both raise it diagonally) relative
      to the chest, then a twist about the upper arm
  elbows (18, 19): (flexion, unused, unused)
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from pipeline.motion.skeleton import JOINT_INDEX, JOINT_NAMES
from pipeline.motion.rotations import axis_angle, mirror, rot_x, rot_y, rot_z

N_JOINTS = len(JOINT_NAMES)
PELVIS = JOINT_INDEX["pelvis"]
SPINE = (JOINT_INDEX["spine1"], JOINT_INDEX["spine2"], JOINT_INDEX["spine3"])
SPINE_WEIGHTS = np.array([0.25, 0.35, 0.40])
"""How a whole-spine bend is shared between the three spine joints (upper spine bends more)."""
NECK = JOINT_INDEX["neck"]
HEAD = JOINT_INDEX["head"]

ARM_JOINTS: dict[str, dict[str, int]] = {
    side: {part: JOINT_INDEX[f"{side}_{part}"] for part in ("collar", "shoulder", "elbow", "wrist")}
    for side in ("left", "right")
}
LEG_JOINTS: dict[str, dict[str, int]] = {
    side: {part: JOINT_INDEX[f"{side}_{part}"] for part in ("hip", "knee", "ankle", "foot")}
    for side in ("left", "right")
}
RIGHT_SIDE = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith("right_"))

SHOULDER_MAX_ELEVATION = 175.0
"""Upper-arm elevation from hanging (norm of the swing); beyond it the arm would pass overhead."""
KNEE_LIMITS = (0.0, 140.0)
"""Knee flexion beyond the rest pose's slight bend; 0 is the straight limit (never hyperextended)."""


def _limits() -> np.ndarray:
    lim = np.zeros((N_JOINTS, 3, 2))
    lim[PELVIS] = [(-15, 60), (-10, 10), (-720, 720)]          # hip pitch (bows), tilt, facing
    for j in SPINE:
        lim[j] = [(-10, 25), (-12, 12), (-15, 15)]             # per joint: about 3x in total
    lim[NECK] = [(-45, 50), (-35, 35), (-75, 75)]               # extension/flexion, tilt, rotation
    for side in ("left", "right"):
        arm = ARM_JOINTS[side]
        lim[arm["collar"]] = [(-8, 30), (-15, 20), (0, 0)]      # shrug, protraction
        lim[arm["shoulder"]] = [(-60, 175), (-60, 175), (-90, 100)]
        lim[arm["elbow"]] = [(0, 135), (0, 0), (0, 0)]          # ~10 deg rest bend + 135 < 150
    return lim


LIMITS: np.ndarray = _limits()
"""(22, 3, 2) lower/upper bound of every channel in degrees; unused channels are pinned at 0."""


def clamp(angles: np.ndarray) -> np.ndarray:
    """Angles forced inside the human limits table (plus the shoulder's elevation cone)."""
    out = np.clip(angles, LIMITS[..., 0], LIMITS[..., 1])
    for side in ("left", "right"):
        j = ARM_JOINTS[side]["shoulder"]
        swing = out[..., j, :2]
        norm = np.linalg.norm(swing, axis=-1, keepdims=True)
        out[..., j, :2] = swing * np.minimum(1.0, SHOULDER_MAX_ELEVATION / np.maximum(norm, 1e-9))
    return out


def _relaxed() -> np.ndarray:
    pose = np.zeros((N_JOINTS, 3))
    for side in ("left", "right"):
        pose[ARM_JOINTS[side]["shoulder"]] = (4.0, 5.0, 0.0)
        pose[ARM_JOINTS[side]["elbow"], 0] = 10.0
    return pose


RELAXED: np.ndarray = _relaxed()
"""Relaxed standing: the rest pose with arms hanging a touch forward and elbows softly bent."""


def sides(side: str) -> tuple[str, ...]:
    """'both' -> ('left', 'right'); 'left' -> ('left',)."""
    if side == "both":
        return ("left", "right")
    if side not in ("left", "right"):
        raise ValueError(f"side must be left, right or both, not {side!r}")
    return (side,)


def toward(side: str) -> float:
    """+1 for the person's left, -1 for their right: the sign of a yaw/lean toward that side."""
    return 1.0 if side == "left" else -1.0


def other(side: str) -> str:
    return "right" if side == "left" else "left"


def polar_swing(elevation: float, azimuth: float) -> tuple[float, float]:
    """(abduction, flexion) for an upper arm raised `elevation` deg from hanging, in the direction
    `azimuth` (0 = straight out to the side, 90 = straight forward, >90 across the body)."""
    a = np.radians(azimuth)
    return float(elevation * np.cos(a)), float(elevation * np.sin(a))


class Pose:
    """A (22, 3) degrees pose with chainable setters; every setter returns a new Pose."""

    def __init__(self, angles: np.ndarray | None = None):
        self.angles = (RELAXED if angles is None else np.asarray(angles, dtype=np.float64)).copy()

    def copy(self) -> "Pose":
        return Pose(self.angles)

    def _set(self, joint: int, values: Iterable[float | None]) -> "Pose":
        out = self.copy()
        for k, v in enumerate(values):
            if v is not None:
                out.angles[joint, k] = v
        return out

    def arm(self, side: str, abduction: float | None = None, flexion: float | None = None,
            twist: float | None = None, elbow: float | None = None) -> "Pose":
        """Upper arm swing (abduction/flexion), twist (+ external) and elbow flexion, in degrees."""
        out = self
        for s in sides(side):
            out = out._set(ARM_JOINTS[s]["shoulder"], (abduction, flexion, twist))
            out = out._set(ARM_JOINTS[s]["elbow"], (elbow, None, None))
        return out

    def arm_polar(self, side: str, elevation: float, azimuth: float, twist: float | None = None,
                  elbow: float | None = None) -> "Pose":
        """Upper arm raised `elevation` degrees toward `azimuth` (0 side, 90 front)."""
        abduction, flexion = polar_swing(elevation, azimuth)
        return self.arm(side, abduction, flexion, twist, elbow)

    def collar(self, side: str, elevation: float | None = None,
               protraction: float | None = None) -> "Pose":
        out = self
        for s in sides(side):
            out = out._set(ARM_JOINTS[s]["collar"], (elevation, protraction, None))
        return out

    def spine(self, flexion: float = 0.0, lateral: float = 0.0, twist: float = 0.0) -> "Pose":
        """Whole-spine bend in degrees (+ forward, + toward the left, + turning left), shared out."""
        out = self.copy()
        for j, w in zip(SPINE, SPINE_WEIGHTS):
            out.angles[j] = (flexion * w, lateral * w, twist * w)
        return out

    def head(self, pitch: float | None = None, yaw: float | None = None,
             roll: float | None = None) -> "Pose":
        """Head on the neck: + pitch nods down, + yaw turns left, + roll tilts toward the left."""
        return self._set(NECK, (pitch, roll, yaw))

    def pelvis(self, pitch: float | None = None, roll: float | None = None,
               yaw: float | None = None) -> "Pose":
        """Pelvis in the world: + pitch tips the trunk forward about the hips (a bow)."""
        return self._set(PELVIS, (pitch, roll, yaw))


def stack(poses: Iterable[Pose]) -> np.ndarray:
    """(K, 22, 3) array of the poses, for keyframes."""
    return np.stack([p.angles for p in poses])


# ---------------------------------------------------------------------------------------------
# angles -> local rotation matrices

def euler_rotation(channels: np.ndarray) -> np.ndarray:
    """Rotation for (pitch, roll, yaw) channels (..., 3) of the pelvis, spine and neck."""
    pitch, roll, yaw = channels[..., 0], channels[..., 1], channels[..., 2]
    return rot_y(np.radians(yaw)) @ rot_x(np.radians(pitch)) @ rot_z(-np.radians(roll))


def collar_rotation(channels: np.ndarray) -> np.ndarray:
    """Left-convention collar rotation from (..., 3) channels (elevation, protraction, -)."""
    return rot_z(np.radians(channels[..., 0])) @ rot_y(-np.radians(channels[..., 1]))


def arm_rotation(channels: np.ndarray) -> np.ndarray:
    """Left-convention upper-arm rotation relative to the chest from (abduction, flexion, twist)."""
    rad = np.radians(channels)
    rotvec = np.stack([-rad[..., 1], np.zeros_like(rad[..., 0]), rad[..., 0]], axis=-1)
    angle = np.linalg.norm(rotvec, axis=-1)
    axis = rotvec / np.maximum(angle, 1e-9)[..., None]
    axis = np.where(angle[..., None] > 1e-9, axis, np.array([0.0, 0.0, 1.0]))
    return axis_angle(axis, angle) @ rot_y(rad[..., 2])


def elbow_rotation(flexion: np.ndarray) -> np.ndarray:
    return rot_x(-np.radians(flexion))


def local_rotations(angles: np.ndarray) -> np.ndarray:
    """(T, 22, 3, 3) local rotations for every keyed joint; leg joints are left as identity."""
    n = angles.shape[0]
    rots = np.broadcast_to(np.eye(3), (n, N_JOINTS, 3, 3)).copy()
    for j in (PELVIS, *SPINE, NECK):
        rots[:, j] = euler_rotation(angles[:, j])
    for side in ("left", "right"):
        arm = ARM_JOINTS[side]
        collar = collar_rotation(angles[:, arm["collar"]])
        upper = np.swapaxes(collar, -1, -2) @ arm_rotation(angles[:, arm["shoulder"]])
        elbow = elbow_rotation(angles[:, arm["elbow"], 0])
        if side == "right":
            collar, upper, elbow = mirror(collar), mirror(upper), mirror(elbow)
        rots[:, arm["collar"]] = collar
        rots[:, arm["shoulder"]] = upper
        rots[:, arm["elbow"]] = elbow
    return rots
