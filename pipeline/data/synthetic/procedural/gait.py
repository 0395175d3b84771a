"""Foot placement for stepping and turning: swing trajectories, weight shift, arm counter-swing.

A step lifts one foot off the ground along an arc and plants it at its new place and heading;
the other foot stays exactly where it is. The pelvis first shifts toward the stance foot, then
follows the feet; the pelvis faces the average heading of the feet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .easing import envelope, smootherstep
from .motion import Motion
from .pose import ARM_JOINTS, PELVIS
from pipeline.motion.rotations import rot_y

ROOT_AHEAD_OF_ANKLES = 0.025
"""In the rest pose the pelvis is this far in front of the midpoint of the ankles."""


@dataclass
class Step:
    """Foot 0 (left) or 1 (right) leaves the ground at `start`, lands after `duration` seconds at
    ankle position `position` (world) with heading `yaw` (degrees, + to the left)."""

    foot: int
    start: float
    duration: float
    position: np.ndarray
    yaw: float


def apply_steps(motion: Motion, steps: list[Step], lift: float, weight_shift: float = 0.45,
                arm_swing: float = 55.0) -> Motion:
    """Fill the motion's foot tracks, pelvis position/heading and arm swing from `steps`."""
    t = motion.t
    for foot in (0, 1):
        pos = motion.ankles[:, foot].copy()
        yaw = motion.foot_yaw[:, foot].copy()
        pitch = motion.foot_pitch[:, foot].copy()
        cur_pos, cur_yaw = pos[0].copy(), float(yaw[0])
        for step in sorted((s for s in steps if s.foot == foot), key=lambda s: s.start):
            u = np.clip((t - step.start) / step.duration, 0.0, 1.0)
            e = smootherstep(u)[:, None]
            after = t >= step.start
            pos[after] = (cur_pos + e * (np.asarray(step.position) - cur_pos))[after]
            yaw[after] = (cur_yaw + e[:, 0] * (step.yaw - cur_yaw))[after]
            swing = (u > 0) & (u < 1)
            pos[swing, 1] += lift * np.sin(np.pi * u[swing]) ** 1.2
            pitch[swing] += 10.0 * np.sin(2 * np.pi * u[swing])  # toe-off, then heel strike
            cur_pos, cur_yaw = np.asarray(step.position, dtype=np.float64), step.yaw
        motion.ankles[:, foot], motion.foot_yaw[:, foot], motion.foot_pitch[:, foot] = pos, yaw, pitch
    heading = motion.foot_yaw.mean(axis=1)
    center = motion.ankles.mean(axis=1)
    shift = np.zeros((len(t), 3))
    for step in steps:
        stance = motion.ankles[:, 1 - step.foot]
        bump = envelope(t, step.start - 0.35 * step.duration, 0.35 * step.duration,
                        step.start + 1.1 * step.duration, 0.5 * step.duration, "sine")
        shift += weight_shift * bump[:, None] * (stance - center)
    ahead = rot_y(np.radians(heading)) @ np.array([0.0, 0.0, ROOT_AHEAD_OF_ANKLES])
    motion.root[:, 0] = center[:, 0] + shift[:, 0] + ahead[:, 0]
    motion.root[:, 2] = center[:, 2] + shift[:, 2] + ahead[:, 2]
    motion.angles[:, PELVIS, 2] += heading
    # arms swing against the legs: the arm opposite the leading foot comes forward
    local = (rot_y(-np.radians(heading)) @ (motion.ankles[:, 0] - motion.ankles[:, 1])[..., None])[..., 0]
    lead = local[:, 2]
    motion.angles[:, ARM_JOINTS["left"]["shoulder"], 1] -= arm_swing * lead
    motion.angles[:, ARM_JOINTS["right"]["shoulder"], 1] += arm_swing * lead
    return motion
