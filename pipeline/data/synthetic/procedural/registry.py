"""The action registry: name -> how to sample parameters, build the motion and caption it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .motion import Motion

Builder = Callable[[dict, np.random.Generator], Motion]
Sampler = Callable[[np.random.Generator], dict]


@dataclass(frozen=True)
class ActionSpec:
    """One action: `sample(rng)` draws parameters, `build(params, rng)` makes the Motion,
    `captions` are templates (see captions.py). `locomotion` says what the feet do:
    "none" (planted for the whole clip), "step" (the body travels in alternating steps), "turn"
    (turns in place), "feet" (feet lift or shift but the body stays: kicks, marching, lunges) or
    "jump" (both feet leave the floor)."""

    name: str
    build: Builder
    sample: Sampler
    captions: tuple[str, ...]
    locomotion: str = "none"
    region: str = "arms"


ACTIONS: dict[str, ActionSpec] = {}


def register(name: str, build: Builder, sample: Sampler, captions: Sequence[str],
             locomotion: str = "none", region: str = "arms") -> ActionSpec:
    """Add an action to ACTIONS (names are unique) and return its spec."""
    if name in ACTIONS:
        raise ValueError(f"action {name!r} is already registered")
    if len(set(captions)) < 3:
        raise ValueError(f"action {name!r} needs at least three caption templates")
    spec = ActionSpec(name, build, sample, tuple(captions), locomotion, region)
    ACTIONS[name] = spec
    return spec
