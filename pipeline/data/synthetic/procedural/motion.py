"""The editable description of a procedural clip (Motion) and its conversion to joint positions.

An action fills a Motion: per-frame anatomical angles for the upper body, the pelvis position,
where each ankle is planted (and the foot's heading), and optional wrist targets for gestures
defined by contact (clap, hands on hips). `to_joints` turns it into skeleton positions: hand
targets by arm IK, legs by leg IK so planted feet never slide, then forward kinematics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.constants import MOTION_FPS
from pipeline.motion.skeleton import REST_PELVIS_HEIGHT, REST_POSE, forward_kinematics
from .ik import OFFSETS, arm_ik, leg_ik, lower_root_for_reach
from .pose import (ARM_JOINTS, HEAD, LEG_JOINTS, NECK, PELVIS, RELAXED, SPINE, arm_rotation, clamp,
                   collar_rotation, elbow_rotation, euler_rotation, local_rotations)
from pipeline.motion.rotations import MIRROR_X, normalize, rot_x, rot_y

REST_ROOT = np.array([0.0, REST_PELVIS_HEIGHT, 0.0])
REST_ANKLES = np.stack([REST_POSE[LEG_JOINTS[s]["ankle"]] for s in ("left", "right")]) + REST_ROOT
"""World ankle positions of the two feet [left, right] when standing at the origin."""


@dataclass
class HandTarget:
    """A wrist target in the chest frame (body coordinates) and the elbow's pole direction
    (side-relative: +x is outward for either arm). `weight` (0..1) is how far the hand has
    travelled from where the keyed arm puts it to the target; on the way it bulges by `arc`
    (side-relative) so it goes around the body rather than through it."""

    position: np.ndarray
    pole: np.ndarray
    weight: np.ndarray
    arc: np.ndarray = field(default_factory=lambda: np.array([0.05, 0.0, 0.08]))


@dataclass
class Motion:
    """Per-frame description of a clip; see the module docstring."""

    angles: np.ndarray                  # (T, 22, 3) degrees, pose.py channels
    root: np.ndarray                    # (T, 3) pelvis position, world
    ankles: np.ndarray                  # (T, 2, 3) ankle targets [left, right], world
    foot_yaw: np.ndarray                # (T, 2) degrees, + turns the foot to the left
    foot_pitch: np.ndarray              # (T, 2) degrees, + points the toes down
    hands: dict[str, HandTarget] = field(default_factory=dict)
    fps: int = MOTION_FPS
    planned_seconds: float = 0.0        # how long the action's phases wanted to be

    @property
    def n_frames(self) -> int:
        return self.angles.shape[0]

    @property
    def t(self) -> np.ndarray:
        """Frame times in seconds."""
        return np.arange(self.n_frames) / self.fps

    @classmethod
    def standing(cls, duration: float, fps: int = MOTION_FPS) -> "Motion":
        """`duration` seconds of relaxed standing at the origin, feet planted."""
        n = max(int(round(duration * fps)), 2)
        return cls(
            angles=np.broadcast_to(RELAXED, (n, *RELAXED.shape)).copy(),
            root=np.broadcast_to(REST_ROOT, (n, 3)).copy(),
            ankles=np.broadcast_to(REST_ANKLES, (n, 2, 3)).copy(),
            foot_yaw=np.zeros((n, 2)), foot_pitch=np.zeros((n, 2)), fps=fps,
        )


# ---------------------------------------------------------------------------------------------
# landmarks in the chest frame, for wrist targets that must touch the body

def head_point(angles: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(T, 3) chest-frame position of a point fixed to the head, `offset` from the head joint
    in the head's rest orientation (e.g. the forehead is about (0, 0.06, 0.10))."""
    neck = euler_rotation(angles[:, NECK])
    return OFFSETS[NECK] + neck @ (OFFSETS[HEAD] + np.asarray(offset, dtype=np.float64))


def pelvis_point(angles: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(T, 3) chest-frame position of a point fixed to the pelvis, `offset` from the pelvis joint."""
    r1, r2, r3 = (euler_rotation(angles[:, j]) for j in SPINE)
    spine3 = OFFSETS[SPINE[0]] + r1 @ OFFSETS[SPINE[1]] + r1 @ r2 @ OFFSETS[SPINE[2]]
    chest = r1 @ r2 @ r3
    return (np.swapaxes(chest, -1, -2) @ (np.asarray(offset) - spine3)[..., None])[..., 0]


def arm_points(side: str, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chest-frame shoulder, elbow and wrist positions (each (T, 3)) of the keyed arm."""
    left = ARM_JOINTS["left"]
    arm = ARM_JOINTS[side]
    shoulder = OFFSETS[left["collar"]] + collar_rotation(angles[:, arm["collar"]]) @ OFFSETS[left["shoulder"]]
    upper = arm_rotation(angles[:, arm["shoulder"]])
    elbow = shoulder + upper @ OFFSETS[left["elbow"]]
    wrist = elbow + upper @ elbow_rotation(angles[:, arm["elbow"], 0]) @ OFFSETS[left["wrist"]]
    points = (shoulder, elbow, wrist)
    return tuple(p @ MIRROR_X for p in points) if side == "right" else points


def resolve_hands(motion: Motion) -> np.ndarray:
    """The motion's angles with each hand target reached by IK.

    The wrist travels (by the target's weight) from where the keyed arm holds it to the target
    and the elbow's pole turns from the keyed elbow direction to the target's, so a weight of 0
    reproduces the keyed arm exactly and the reach never snaps or flips the forearm.
    """
    angles = motion.angles.copy()
    for side, target in motion.hands.items():
        arm = ARM_JOINTS[side]
        keyed = clamp(angles)
        shoulder, elbow, wrist = arm_points(side, keyed)
        line = normalize(wrist - shoulder)
        rel = elbow - shoulder
        pole0 = normalize(rel - (rel * line).sum(-1, keepdims=True) * line)
        flip = MIRROR_X if side == "right" else np.eye(3)
        e = np.clip(target.weight, 0.0, 1.0)[:, None]
        arc = np.asarray(target.arc, dtype=np.float64) @ flip
        position = wrist + e * (target.position - wrist) + np.sin(np.pi * e) * arc
        pole = normalize((1 - e) * (pole0 @ flip) + e * normalize(target.pole))
        solved = arm_ik(side, position, pole, keyed[:, arm["collar"]])
        active = e[:, 0] > 0
        angles[active, arm["shoulder"]] = solved[active, :3]
        angles[active, arm["elbow"], 0] = solved[active, 3]
    return angles


def foot_rotations(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    return rot_y(np.radians(yaw)) @ rot_x(np.radians(pitch))


def to_joints(motion: Motion) -> np.ndarray:
    """(T, 22, 3) float64 joint positions: clamped angles, leg IK on the foot targets, FK."""
    angles = clamp(motion.angles)
    rots = local_rotations(angles)
    pelvis_rot = rots[:, PELVIS]
    root = lower_root_for_reach(motion.root, pelvis_rot, motion.ankles)
    for k, side in enumerate(("left", "right")):
        leg = LEG_JOINTS[side]
        foot_rot = foot_rotations(motion.foot_yaw[:, k], motion.foot_pitch[:, k])
        hip, knee, ankle = leg_ik(side, root, pelvis_rot, motion.ankles[:, k], foot_rot)
        rots[:, leg["hip"]], rots[:, leg["knee"]], rots[:, leg["ankle"]] = hip, knee, ankle
    return forward_kinematics(rots, root)
