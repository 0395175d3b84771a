"""Stepping and turning: real steps, one foot at a time (lifted, carried, planted), the body
following. Step forward/back/sideways and turning in place with pivot steps."""

from __future__ import annotations

import numpy as np

from .build import Timeline, base_params
from .captions import NUMBER_WORDS
from .easing import delayed
from .gait import Step, apply_steps
from .motion import REST_ANKLES, Motion
from .pose import NECK, SPINE, SPINE_WEIGHTS, toward
from .registry import register
from pipeline.motion.rotations import rot_y

FOOT = {"left": 0, "right": 1}


def _schedule(params: dict, rng: np.random.Generator, placements: list[tuple[int, np.ndarray, float]],
              swing: float = 0.55, pause: float = 0.22) -> tuple[Motion, list[Step]]:
    """Timed steps for a list of (foot, landing position, landing yaw), one after another."""
    tl = Timeline(params, rng, jitter=0.08)
    steps = []
    for foot, position, yaw in placements:
        start = tl.after(pause)
        end = tl.after(swing)
        steps.append(Step(foot, start, end - start, position, yaw))
    return tl.motion(), steps


def sample_step(direction: str):
    def sample(rng: np.random.Generator) -> dict:
        p = base_params(rng, side="both", repetitions=(1, 3), speed=(0.7, 1.4))
        if direction in ("left", "right"):
            p["side"] = direction
            p["length"] = float(rng.uniform(0.22, 0.34) * p["amplitude"])
        else:
            p["side"] = str(rng.choice(["left", "right"]))  # the leading foot
            base = (0.28, 0.45) if direction == "forward" else (0.22, 0.34)
            p["length"] = float(rng.uniform(*base) * p["amplitude"])
        p["direction"] = direction
        p["lift"] = float(rng.uniform(0.06, 0.11))
        p["steps_word"] = "a step" if p["repetitions"] == 1 else \
            f"{NUMBER_WORDS[p['repetitions']]} steps"
        p["count_matters"] = False
        return p
    return sample


def build_step(params: dict, rng: np.random.Generator) -> Motion:
    """Forward/back: alternate feet `repetitions` times, then the trailing foot closes alongside.
    Sideways: the leading foot steps out and the other closes in, `repetitions` times."""
    direction, n, length = params["direction"], params["repetitions"], params["length"]
    placements = []
    if direction in ("forward", "back"):
        sign = 1.0 if direction == "forward" else -1.0
        foot = FOOT[params["side"]]
        for i in range(n):
            placements.append((foot, REST_ANKLES[foot] + [0, 0, sign * (i + 1) * length], 0.0))
            foot = 1 - foot
        placements.append((foot, REST_ANKLES[foot] + [0, 0, sign * n * length], 0.0))
    else:
        lead = FOOT[params["side"]]
        sign = toward(params["side"])
        for i in range(n):
            for foot in (lead, 1 - lead):
                placements.append((foot, REST_ANKLES[foot] + [sign * (i + 1) * length, 0, 0], 0.0))
    swing = 0.55 if direction != "back" else 0.6
    motion, steps = _schedule(params, rng, placements, swing=swing)
    motion = apply_steps(motion, steps, params["lift"],
                         arm_swing=55.0 if direction in ("forward", "back") else 0.0)
    if direction == "forward":   # a slight forward lean of the chest into the walk
        lean = 3.0 * (motion.ankles[:, :, 2].max(1) - motion.ankles[:, :, 2].min(1)) / 0.4
        for j, w in zip(SPINE, SPINE_WEIGHTS):
            motion.angles[:, j, 0] += w * lean
    return motion


for _direction, _captions in {
    "forward": ("{subj} takes {steps_word} forward.",
                "{subj} steps forward{adv} and stops.",
                "{subj} walks forward a little, leading with the {side} foot.",
                "{subj} moves forward by taking {steps_word}."),
    "back": ("{subj} takes {steps_word} backward.",
             "{subj} steps back{adv}.",
             "{subj} moves backward, starting with the {side} foot.",
             "{subj} backs up by taking {steps_word}."),
    "left": ("{subj} steps to the left.",
             "{subj} takes {steps_word} sideways to their left.",
             "{subj} sidesteps to the left{adv}.",
             "{subj} shuffles to the left and brings their feet together."),
    "right": ("{subj} steps to the right.",
              "{subj} takes {steps_word} sideways to their right.",
              "{subj} sidesteps to the right{adv}.",
              "{subj} shuffles to the right and brings their feet together."),
}.items():
    register(f"step_{_direction}", build_step, sample_step(_direction), _captions,
             locomotion="step", region="legs")


def sample_turn(direction: str):
    def sample(rng: np.random.Generator) -> dict:
        p = base_params(rng, side=direction, speed=(0.7, 1.4))
        p["angle"] = float(rng.choice([60.0, 90.0, 90.0, 120.0, 180.0]) + rng.uniform(-10, 10))
        p["amount"] = "around" if p["angle"] > 150 else ""
        p["count_matters"] = False
        return p
    return sample


def build_turn(params: dict, rng: np.random.Generator) -> Motion:
    """Pivot steps around the body's centre, the turning-side foot first, each foot turning at
    most 45 degrees past the other; the head leads the turn and the chest follows."""
    sign, angle = toward(params["side"]), params["angle"]
    n_steps = max(2, int(np.ceil(angle / 45.0)) + 1)
    center = REST_ANKLES.mean(axis=0)
    lead = FOOT[params["side"]]
    placements = []
    for i in range(n_steps):
        foot = lead if i % 2 == 0 else 1 - lead
        yaw = sign * min(angle, (i + 1) * angle / (n_steps - 1))
        position = center + rot_y(np.radians(yaw)) @ (REST_ANKLES[foot] - center)
        placements.append((foot, position, yaw))
    motion, steps = _schedule(params, rng, placements, swing=0.5, pause=0.15)
    motion = apply_steps(motion, steps, 0.06, weight_shift=0.35, arm_swing=0.0)
    heading = motion.foot_yaw.mean(axis=1)
    ahead = delayed(heading, motion.fps, -0.3) - heading  # where the body is about to face
    motion.angles[:, NECK, 2] += np.clip(0.8 * ahead, -40.0, 40.0)
    for j, w in zip(SPINE, SPINE_WEIGHTS):
        motion.angles[:, j, 2] += w * np.clip(0.4 * ahead, -20.0, 20.0)
    return motion


for _side in ("left", "right"):
    register(f"turn_{_side}", build_turn, sample_turn(_side), (
        f"{{subj}} turns {{amount}} to the {_side}.",
        f"{{subj}} steps in place and turns to their {_side}{{adv}}.",
        f"{{subj}} turns {{amount}} toward the {_side}, moving their feet.",
        f"{{subj}} rotates their body to face the {_side}.",
    ), locomotion="turn", region="legs")

