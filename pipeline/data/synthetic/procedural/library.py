"""Public entry points: generate one action clip, or a whole reproducible library of them."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from . import contacts, gestures, head_torso, locomotion, whole_body  # noqa: F401  (they self-register)
from pipeline.constants import MAX_CLIP_SECONDS
from .captions import render_captions
from .motion import Motion, to_joints
from .registry import ACTIONS, ActionSpec
from .secondary import apply_layers


@dataclass
class ActionClip:
    """A generated clip: joint positions (T, 22, 3) float32 at MOTION_FPS, captions, parameters."""

    name: str
    joints: np.ndarray
    captions: list[str]
    params: dict = field(default_factory=dict)
    synthetic: bool = True


def action_names() -> list[str]:
    """Registered action names, sorted."""
    return sorted(ACTIONS)


def build_motion(name: str, rng: np.random.Generator, **overrides) -> tuple[Motion, dict]:
    """The finished Motion (all layers applied) and the parameters used; overrides replace drawn
    parameters. `start_pose` (a (22, 3) pose.py angle array) makes the clip begin in that pose."""
    spec = _spec(name)
    params = spec.sample(rng)
    params.update(overrides)
    start_pose = params.pop("start_pose", None)
    state = rng.bit_generator.state
    motion = spec.build(params, rng)
    for _ in range(3):  # too long for a clip: replay the same draws a little faster
        if motion.planned_seconds <= MAX_CLIP_SECONDS:
            break
        params["speed"] = params.get("speed", 1.0) * motion.planned_seconds / MAX_CLIP_SECONDS * 1.05
        rng.bit_generator.state = state
        motion = spec.build(params, rng)
    motion = apply_layers(motion, rng, start_pose=start_pose)
    if start_pose is not None:
        params["start_pose"] = np.asarray(start_pose, dtype=np.float64).tolist()
    return motion, params


def generate_action(name: str, rng: np.random.Generator, **overrides) -> ActionClip:
    """One clip of action `name` with random parameters from `rng` (overridable by keyword)."""
    motion, params = build_motion(name, rng, **overrides)
    joints = to_joints(motion).astype(np.float32)
    captions = render_captions(_spec(name).captions, params, rng)
    return ActionClip(name=name, joints=joints, captions=captions, params=params)


def sample_library(variations_per_action: int, seed: int) -> list[ActionClip]:
    """`variations_per_action` clips of every action; the same seed gives identical clips.
    Each clip has its own rng stream, so adding an action does not change the others."""
    clips = []
    for name in action_names():
        for variation in range(variations_per_action):
            rng = np.random.default_rng([seed, _stable_id(name), variation])
            clips.append(generate_action(name, rng))
    return clips


def _stable_id(name: str) -> int:
    return zlib.crc32(name.encode())


def _spec(name: str) -> ActionSpec:
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}; known: {', '.join(action_names())}") from None
