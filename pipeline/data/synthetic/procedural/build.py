"""Small helpers shared by the action definitions: parameter draws, a jittered timeline, keyed
pose tracks with per-joint lag, and hand targets."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pipeline.constants import MAX_CLIP_SECONDS
from .easing import keyframes
from .motion import HandTarget, Motion
from .pose import ARM_JOINTS, N_JOINTS, NECK, SPINE, Pose, stack

MIN_CLIP_SECONDS = 2.0

LAGS = np.zeros(N_JOINTS)
"""Seconds each joint trails the keyed timing: elbows lag the shoulder (follow-through), the
spine drags a little, the head leads (people look before they move)."""
for _side in ("left", "right"):
    LAGS[ARM_JOINTS[_side]["collar"]] = 0.02
    LAGS[ARM_JOINTS[_side]["elbow"]] = 0.06
LAGS[list(SPINE)] = 0.04
LAGS[NECK] = -0.05


def base_params(rng: np.random.Generator, side: str | None = None,
                sides: Sequence[str] = ("left", "right"), repetitions: tuple[int, int] = (1, 1),
                speed: tuple[float, float] = (0.65, 1.5),
                amplitude: tuple[float, float] = (0.75, 1.2)) -> dict:
    """The parameters every action shares, drawn at random (all overridable by the caller)."""
    return {
        "side": side if side is not None else str(rng.choice(list(sides))),
        "amplitude": float(rng.uniform(*amplitude)),
        "speed": float(rng.uniform(*speed)),
        "repetitions": int(rng.integers(repetitions[0], repetitions[1] + 1)),
        "lead_in": float(rng.uniform(0.15, 0.7)),
        "hold": float(rng.uniform(0.4, 1.2)),
        "tail": float(rng.uniform(0.3, 0.8)),
    }


class Timeline:
    """Sequential phase times in seconds, scaled by 1/speed with a little random jitter."""

    def __init__(self, params: dict, rng: np.random.Generator, jitter: float = 0.1):
        self.now = float(params.get("lead_in", 0.3))
        self.speed = float(params.get("speed", 1.0))
        self.tail = float(params.get("tail", 0.5))
        self.rng = rng
        self.jitter = jitter

    def after(self, seconds: float, scaled: bool = True) -> float:
        """Advance by a phase of `seconds` (at speed 1) and return the new time."""
        dt = seconds / self.speed if scaled else seconds
        self.now += dt * (1.0 + self.rng.uniform(-self.jitter, self.jitter))
        return self.now

    def motion(self) -> Motion:
        """A standing Motion long enough for every phase plus the tail (2 to 10 s). If the plan
        is longer than 10 s the clip is cut, and `planned_seconds` tells the caller to speed up."""
        planned = self.now + self.tail
        motion = Motion.standing(float(np.clip(planned, MIN_CLIP_SECONDS, MAX_CLIP_SECONDS)))
        motion.planned_seconds = planned
        return motion


def animate(motion: Motion, times: Sequence[float], poses: Sequence[Pose],
            easings: Sequence[str] | str = "smootherstep", rng: np.random.Generator | None = None,
            lag: float = 1.0) -> Motion:
    """Key the whole upper body: poses at times, eased, each joint lagged by LAGS * lag."""
    lags = LAGS * lag
    if rng is not None:
        lags = lags * rng.uniform(0.7, 1.3)
    t = motion.t[:, None] - lags[None, :]
    motion.angles = keyframes(t, times, stack(poses), easings)
    return motion


def hand_target(motion: Motion, side: str, position: np.ndarray, pole: Sequence[float],
                weight: np.ndarray, arc: Sequence[float] = (0.05, 0.0, 0.08)) -> None:
    """Drive one wrist toward `position` (T, 3) or (3,) in the chest frame as `weight` goes 0 -> 1;
    `pole` and `arc` are side-relative (x outward), see motion.HandTarget."""
    n = motion.n_frames
    position = np.broadcast_to(np.asarray(position, dtype=np.float64), (n, 3)).copy()
    pole = np.broadcast_to(np.asarray(pole, dtype=np.float64), (n, 3)).copy()
    motion.hands[side] = HandTarget(position, pole, np.broadcast_to(weight, (n,)).copy(),
                                    np.asarray(arc, dtype=np.float64))


def mirror_x(point: Sequence[float], side: str) -> np.ndarray:
    """A point given for the left side of the body, moved to `side` (x flipped for the right)."""
    p = np.asarray(point, dtype=np.float64).copy()
    if side == "right":
        p[..., 0] *= -1
    return p
