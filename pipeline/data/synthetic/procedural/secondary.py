"""Motion that nobody keys by hand: follow-through of the torso, shoulders and head, breathing
and idle sway, and the blend from a given start pose.

These layers are what separate a plausible person from a rig playing keyframes: the chest turns
a little into a reach, shoulders lift with raised arms, the head counters the torso, and nothing
is ever perfectly still.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .easing import delayed, ramp, smooth_noise
from .motion import Motion, resolve_hands
from .pose import ARM_JOINTS, NECK, PELVIS, RELAXED, SPINE, SPINE_WEIGHTS, toward


def follow_through(angles: np.ndarray, fps: float, rng: np.random.Generator,
                   strength: float = 1.0) -> np.ndarray:
    """Secondary angles (T, 22, 3) to add: torso/shoulder/head reactions to the arms, lagged."""
    delta = np.zeros_like(angles)
    spine = np.zeros((len(angles), 3))  # whole-spine flexion, lateral, twist
    neck_yaw = np.zeros(len(angles))
    for side in ("left", "right"):
        arm = ARM_JOINTS[side]
        abduction, flexion = angles[:, arm["shoulder"], 0], angles[:, arm["shoulder"], 1]
        elevation = np.hypot(abduction, flexion)
        horizontal = np.sin(np.radians(np.clip(elevation, 0.0, 180.0)))
        forward = horizontal * np.clip(flexion, 0.0, None) / np.maximum(elevation, 1e-6)
        outward = horizontal * np.clip(abduction, 0.0, None) / np.maximum(elevation, 1e-6)
        raised = np.clip((elevation - 60.0) / 110.0, 0.0, 1.0)
        s = toward(side)
        delta[:, arm["collar"], 0] += 16.0 * raised + 3.0 * outward   # shoulders rise with the arm
        delta[:, arm["collar"], 1] += 7.0 * forward                   # and come forward in a reach
        spine[:, 0] += 2.5 * forward                                   # lean into a forward reach
        spine[:, 1] -= s * 4.0 * raised                                # lean away from a raised arm
        spine[:, 2] -= s * 7.0 * forward                               # turn the reaching shoulder in
        neck_yaw += s * 3.0 * forward                                  # head counters the torso
    delta[:, SPINE, :] += spine[:, None, :] * SPINE_WEIGHTS[None, :, None]
    delta[:, NECK, 2] += neck_yaw
    delta *= strength
    delta = gaussian_filter1d(delta, sigma=0.05 * fps, axis=0, mode="nearest")
    return delayed(delta, fps, rng.uniform(0.05, 0.12))


def idle_underlay(motion: Motion, rng: np.random.Generator, strength: float = 1.0) -> Motion:
    """Breathing, a slow postural sway and small head/arm drift, added in place (feet stay put:
    the sway moves the pelvis, and leg IK keeps the ankles where they were)."""
    t = motion.t
    a = motion.angles
    k = strength * rng.uniform(0.7, 1.3)
    breath = np.sin(2 * np.pi * t / rng.uniform(3.2, 4.8) + rng.uniform(0, 2 * np.pi))
    a[:, SPINE[2], 0] -= 0.9 * k * breath        # the chest lifts on the in-breath
    a[:, SPINE[1], 0] -= 0.4 * k * breath
    for side in ("left", "right"):
        a[:, ARM_JOINTS[side]["collar"], 0] += 0.8 * k * breath
    sway_x, sway_z = smooth_noise(t, rng, 0.15), smooth_noise(t, rng, 0.12)
    motion.root[:, 0] += 0.008 * k * sway_x
    motion.root[:, 2] += 0.006 * k * sway_z
    a[:, PELVIS, 1] += 0.8 * k * sway_x          # the pelvis tilts with the weight shift
    a[:, PELVIS, 2] += 0.8 * k * smooth_noise(t, rng, 0.1)
    for c in range(3):
        a[:, NECK, c] += 1.5 * k * smooth_noise(t, rng, 0.25)
    for side in ("left", "right"):
        arm = ARM_JOINTS[side]
        free = 1.0
        if side in motion.hands:
            free = 1.0 - np.clip(motion.hands[side].weight, 0.0, 1.0)
        for c in range(2):
            a[:, arm["shoulder"], c] += 1.2 * k * free * smooth_noise(t, rng, 0.2)
        a[:, arm["elbow"], 0] += 1.5 * k * free * smooth_noise(t, rng, 0.2)
    return motion


def blend_from_start(angles: np.ndarray, t: np.ndarray, start_pose: np.ndarray,
                     seconds: float) -> np.ndarray:
    """Angles that begin at `start_pose` and merge into the action over `seconds` (chaining)."""
    fade = 1.0 - ramp(t, 0.0, seconds, "smootherstep")
    return angles + (np.asarray(start_pose) - RELAXED)[None] * fade[:, None, None]


def apply_layers(motion: Motion, rng: np.random.Generator, start_pose: np.ndarray | None = None,
                 follow: float = 1.0, idle: float = 1.0, start_blend: float = 0.6) -> Motion:
    """The keyed motion with hand targets solved, follow-through and idle layers added, and the
    optional start-pose blend; the result's angles are final (hand targets already applied)."""
    keyed = motion.angles
    secondary = follow_through(resolve_hands(motion), motion.fps, rng, follow)
    motion.angles = keyed + secondary
    motion = idle_underlay(motion, rng, idle)
    motion.angles = resolve_hands(motion)
    motion.hands = {}
    if start_pose is not None:
        motion.angles = blend_from_start(motion.angles, motion.t, start_pose, start_blend)
    return motion
