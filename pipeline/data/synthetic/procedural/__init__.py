"""A procedural library of talking-relevant actions on the 22-joint SMPL skeleton.

Real mocap has few conversational gestures, so we synthesise them: each action is a function of
its parameters (side, amplitude, speed, repetitions, timing, an optional start pose) that keys
anatomical joint angles and foot placements, layers secondary motion and idle sway on top, solves
arm and leg IK, and returns joint positions at MOTION_FPS with HumanML3D-style captions.

    clip = generate_action("wave_right", np.random.default_rng(0), repetitions=3)
    clips = sample_library(variations_per_action=10, seed=0)

Modules: easing (time curves), pose (angles, limits, rotations; the matrices come from
pipeline.motion.rotations),
ik (two-bone IK), motion (the Motion description and FK), secondary (follow-through, breathing,
sway), gait (foot steps), build (helpers for actions), captions, registry; the actions live in
gestures, contacts, head_torso and locomotion; library is the public entry point.
"""

from .library import ActionClip, action_names, build_motion, generate_action, sample_library
from .motion import Motion
from .pose import LIMITS, RELAXED, Pose
from .registry import ACTIONS, ActionSpec

__all__ = [
    "ACTIONS", "ActionClip", "ActionSpec", "LIMITS", "Motion", "Pose", "RELAXED", "action_names",
    "build_motion", "generate_action", "sample_library",
]
