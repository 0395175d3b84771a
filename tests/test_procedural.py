"""Procedural talking-gesture library: shapes, skeleton consistency, human limits measured on the
joint positions, planted feet, real steps, captions, left/right semantics, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from pipeline.constants import MAX_CLIP_SECONDS, MOTION_FPS
from pipeline.data.synthetic.procedural import (ACTIONS, ActionClip, Pose, action_names, generate_action,
                                        sample_library)
from pipeline.data.synthetic.procedural.ik import arm_ik
from pipeline.data.synthetic.procedural.library import build_motion
from pipeline.data.synthetic.procedural.pose import LIMITS, RELAXED, clamp
from pipeline.motion.rotations import angle_between
from pipeline.motion.skeleton import (FOOT_JOINT_HEIGHT, JOINT_INDEX as J, REST_PELVIS_HEIGHT,
                                      REST_POSE, bone_lengths)

DRAWS = 6  # random parameter draws per action
FEET = [J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]]

REQUIRED = {
    "wave_right", "wave_left", "wave_both", "point_forward", "point_left", "point_right",
    "point_up", "clap", "raise_both_arms", "present_open_palm", "shrug", "hands_on_hips",
    "cross_arms", "nod", "shake_head", "bow", "beckon", "stop_sign", "scratch_head", "fist_pump",
    "thumbs_up", "step_forward", "step_back", "step_left", "step_right", "turn_left",
    "turn_right", "idle_sway", "count_on_hand", "hand_on_chest",
}


@pytest.fixture(scope="module")
def clips() -> dict[str, list[ActionClip]]:
    return {name: [generate_action(name, np.random.default_rng([7, k])) for k in range(DRAWS)]
            for name in action_names()}


def _all(clips):
    return [(name, c) for name, cs in clips.items() for c in cs]


# ---------------------------------------------------------------------------------------------
# measuring a skeleton

def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _elbow_angles(j):
    return np.stack([angle_between(j[:, J[f"{s}_elbow"]] - j[:, J[f"{s}_shoulder"]],
                                   j[:, J[f"{s}_wrist"]] - j[:, J[f"{s}_elbow"]])
                     for s in ("left", "right")])


def _knee_angles(j):
    return np.stack([angle_between(j[:, J[f"{s}_knee"]] - j[:, J[f"{s}_hip"]],
                                   j[:, J[f"{s}_ankle"]] - j[:, J[f"{s}_knee"]])
                     for s in ("left", "right")])


def _knee_forwardness(j):
    """Signed distance of each knee in front of its hip-ankle line, along the foot's direction
    (negative would be a hyperextended knee)."""
    out = []
    for s in ("left", "right"):
        hip, knee, ankle, foot = (j[:, J[f"{s}_{p}"]] for p in ("hip", "knee", "ankle", "foot"))
        line = _unit(ankle - hip)
        rel = knee - hip
        perp = rel - (rel * line).sum(-1, keepdims=True) * line
        forward = foot - ankle
        forward[:, 1] = 0.0
        out.append((perp * _unit(forward)).sum(-1))
    return np.stack(out)


def _torso_forward(j):
    across = j[:, J["left_shoulder"]] - j[:, J["right_shoulder"]]
    up = j[:, J["neck"]] - j[:, J["spine3"]]
    return _unit(np.cross(across, up))


def _facing(j):
    across = j[:, J["left_hip"]] - j[:, J["right_hip"]]
    return np.degrees(np.unwrap(np.arctan2(-across[:, 2], across[:, 0])))


def _lift_segments(j, foot: str):
    """(start, end) frame ranges when the ankle is clearly off its planted height."""
    y = j[:, J[f"{foot}_ankle"], 1]
    up = y > y.min() + 0.02
    edges = np.flatnonzero(np.diff(up.astype(int)))
    starts = [0] if up[0] else []
    starts += [e + 1 for e in edges if not up[e]]
    return [(s, s + int(np.argmin(up[s:])) if not up[s:].all() else len(up)) for s in starts]


# ---------------------------------------------------------------------------------------------

def test_registry():
    names = action_names()
    assert len(ACTIONS) >= 30
    assert names == sorted(ACTIONS)
    assert REQUIRED <= set(names)


def test_shapes_and_durations(clips):
    for name, clip in _all(clips):
        assert clip.name == name and clip.synthetic
        assert clip.joints.dtype == np.float32 and clip.joints.ndim == 3
        assert clip.joints.shape[1:] == (22, 3)
        assert np.isfinite(clip.joints).all()
        seconds = len(clip.joints) / MOTION_FPS
        assert 2.0 - 1e-6 <= seconds <= MAX_CLIP_SECONDS + 1e-6, (name, seconds)


def test_bone_lengths_constant(clips):
    rest = bone_lengths(REST_POSE)
    for name, clip in _all(clips):
        err = np.abs(bone_lengths(clip.joints.astype(np.float64)) - rest).max()
        assert err < 1e-3, (name, err)


def test_joint_limits_measured_on_positions(clips):
    for name, clip in _all(clips):
        j = clip.joints.astype(np.float64)
        assert _elbow_angles(j).max() <= 150.0, name
        assert _knee_angles(j).max() <= 150.0, name
        assert _knee_forwardness(j).min() > -0.005, (name, "hyperextended knee")
        neck = angle_between(j[:, J["neck"]] - j[:, J["spine3"]], j[:, J["head"]] - j[:, J["neck"]])
        assert neck.max() <= 85.0, (name, "head/neck", neck.max())
        trunk = angle_between(j[:, J["spine1"]] - j[:, J["pelvis"]], j[:, J["neck"]] - j[:, J["spine3"]])
        assert trunk.max() <= 90.0, (name, "spine", trunk.max())
        for s in ("left", "right"):
            thigh = j[:, J[f"{s}_knee"]] - j[:, J[f"{s}_hip"]]
            hip_flexion = 180.0 - angle_between(j[:, J["spine1"]] - j[:, J["pelvis"]], thigh)
            assert hip_flexion.max() <= 125.0, (name, "hip", hip_flexion.max())
            upper = _unit(j[:, J[f"{s}_elbow"]] - j[:, J[f"{s}_shoulder"]])
            extension = np.degrees(np.arcsin(np.clip(-(upper * _torso_forward(j)).sum(-1), -1, 1)))
            assert extension.max() <= 65.0, (name, "shoulder extension", extension.max())


def test_actions_are_designed_inside_the_limits():
    """The limits table is a safety net, not the design: keyed angles barely touch it."""
    for name in action_names():
        for k in range(3):
            motion, _ = build_motion(name, np.random.default_rng([11, k]))
            excess = np.abs(clamp(motion.angles) - motion.angles).max()
            assert excess < 3.0, (name, excess)


def test_limits_table_and_elbow_never_hyperextends():
    assert LIMITS[J["left_elbow"], 0, 0] == 0.0 and LIMITS[J["right_elbow"], 0, 1] <= 140.0
    far = np.array([[0.9, -0.2, 0.4], [-0.9, 0.5, 0.1]])
    for side in ("left", "right"):
        channels = arm_ik(side, far, (1.0, -1.0, 0.0), np.zeros((2, 3)))
        assert (channels[:, 3] >= 0.0).all()
    hyper = RELAXED.copy()
    hyper[J["left_elbow"], 0] = -30.0
    assert clamp(hyper)[J["left_elbow"], 0] == 0.0


def test_feet_planted_unless_stepping(clips):
    for name, clip in _all(clips):
        if ACTIONS[name].locomotion != "none":
            continue
        drift = np.linalg.norm(clip.joints[:, FEET] - clip.joints[:1, FEET], axis=-1).max()
        assert drift < 0.015, (name, drift)


def test_standing_height_and_floor(clips):
    for name, clip in _all(clips):
        j = clip.joints
        if name == "stand_up":   # starts seated, ends standing
            assert j[0, 0, 1] < REST_PELVIS_HEIGHT - 0.3 and abs(j[-1, 0, 1] - REST_PELVIS_HEIGHT) < 0.02
        else:
            assert abs(j[0, 0, 1] - REST_PELVIS_HEIGHT) < 0.02, name
        lowest = j[:, [J["left_foot"], J["right_foot"]], 1].min()
        assert abs(lowest - FOOT_JOINT_HEIGHT) < 0.01, (name, lowest)


def _check_alternating(name, j):
    segments = sorted([(s, e, f) for f in ("left", "right") for s, e in _lift_segments(j, f)])
    assert len(segments) >= 2, name
    for (s0, e0, f0), (s1, e1, f1) in zip(segments, segments[1:]):
        assert f0 != f1, (name, "same foot twice in a row")
        assert s1 >= e0, (name, "both feet in the air")
    return segments


def test_stepping_moves_the_body_in_alternating_steps(clips):
    stepping = [n for n in action_names() if ACTIONS[n].locomotion == "step"]
    assert {"step_forward", "step_back", "step_left", "step_right"} <= set(stepping)
    expected = {"step_forward": (2, 1), "step_back": (2, -1), "step_left": (0, 1), "step_right": (0, -1)}
    for name in stepping:
        for clip in clips[name]:
            j = clip.joints.astype(np.float64)
            moved = j[-1, 0] - j[0, 0]
            assert np.hypot(moved[0], moved[2]) > 0.15, (name, moved)
            axis, sign = expected[name]
            assert sign * moved[axis] > 0.15, (name, moved)
            _check_alternating(name, j)
            assert j[-1, FEET, 1].max() < FOOT_JOINT_HEIGHT + 0.07  # both feet down at the end


def test_turning_steps_and_changes_facing(clips):
    for name, sign in (("turn_left", 1.0), ("turn_right", -1.0)):
        assert ACTIONS[name].locomotion == "turn"
        for clip in clips[name]:
            j = clip.joints.astype(np.float64)
            facing = _facing(j)
            turned = facing[-1] - facing[0]
            assert abs(turned - sign * clip.params["angle"]) < 15.0, (name, turned)
            _check_alternating(name, j)


def test_captions(clips):
    for name, clip in _all(clips):
        assert len(set(clip.captions)) >= 3, name
        for caption in clip.captions:
            assert caption.endswith(".") and "{" not in caption and "  " not in caption
            assert caption == caption.strip() and caption[0].islower()
    for clip in clips["wave_left"]:
        assert all("right" not in c for c in clip.captions)
        assert any("left" in c for c in clip.captions)
    for clip in clips["wave_both"]:
        assert any("both" in c for c in clip.captions)
    rng = np.random.default_rng(0)
    fast = generate_action("wave_right", rng, speed=1.45)
    assert any("quickly" in c for c in fast.captions)
    slow = generate_action("nod", rng, speed=0.7)
    assert any("slowly" in c for c in slow.captions)
    twice = generate_action("clap", rng, repetitions=2, speed=1.0)
    assert any("twice" in c for c in twice.captions)
    thrice = generate_action("nod", rng, repetitions=3, speed=1.0)
    assert any("three times" in c for c in thrice.captions)


def test_wave_sides_mirror(clips):
    for name, up, down in (("wave_right", "right", "left"), ("wave_left", "left", "right")):
        for clip in clips[name]:
            j = clip.joints
            raised = j[:, J[f"{up}_wrist"], 1] - j[:, J[f"{up}_shoulder"], 1]
            lowered = j[:, J[f"{down}_wrist"], 1] - j[:, J[f"{down}_shoulder"], 1]
            assert raised.max() > 0.15 and lowered.max() < -0.35, name
    for clip in clips["wave_both"]:
        j = clip.joints
        for s in ("left", "right"):
            assert (j[:, J[f"{s}_wrist"], 1] - j[:, J[f"{s}_shoulder"], 1]).max() > 0.15


def test_wave_oscillates_with_the_requested_repetitions():
    for name, side in (("wave_right", "right"), ("wave_left", "left")):
        for reps in (2, 3, 4):
            for style in ("forearm", "overhead"):
                clip = generate_action(name, np.random.default_rng(reps), repetitions=reps, style=style)
                j = clip.joints.astype(np.float64)
                high = j[:, J[f"{side}_wrist"], 1] > j[:, J[f"{side}_shoulder"], 1]
                outward = j[:, J[f"{side}_wrist"], 0] * (1.0 if side == "left" else -1.0)
                peaks, _ = find_peaks(np.where(high, outward, np.nan), prominence=0.015)
                assert len(peaks) == reps, (name, style, reps, len(peaks))
                vx = np.diff(j[high, J[f"{side}_wrist"], 0])
                assert (np.diff(np.sign(vx[np.abs(vx) > 1e-3])) != 0).sum() >= 2 * reps - 1


def test_point_up_wrist_above_head(clips):
    for clip in clips["point_up"]:
        j = clip.joints
        s = clip.params["side"]
        assert (j[:, J[f"{s}_wrist"], 1] - j[:, J["head"], 1]).max() > 0.15


def test_point_left_right_look_and_reach(clips):
    for name, sign in (("point_left", 1.0), ("point_right", -1.0)):
        for clip in clips[name]:
            j = clip.joints
            s = clip.params["side"]
            reach = (j[:, J[f"{s}_wrist"], 0] - j[:, J[f"{s}_shoulder"], 0]) * sign
            assert reach.max() > 0.25, name
            head = j[:, J["head"]] - j[:, J["neck"]]
            assert (head[:, 0] * sign).max() > 0.02, (name, "the head turns toward the target")


def test_clap_hands_meet(clips):
    for clip in clips["clap"]:
        j = clip.joints
        gap = np.linalg.norm(j[:, J["left_wrist"]] - j[:, J["right_wrist"]], axis=-1)
        assert gap.min() < 0.1
        closed = gap < 0.1
        assert (np.diff(closed.astype(int)) == 1).sum() == clip.params["repetitions"]


def test_nod_oscillates_head_pitch():
    for reps in (1, 2, 3, 4):
        clip = generate_action("nod", np.random.default_rng(reps), repetitions=reps)
        v = clip.joints[:, J["head"]] - clip.joints[:, J["neck"]]
        pitch = np.degrees(np.arctan2(v[:, 2], v[:, 1]))
        peaks, _ = find_peaks(pitch, prominence=3.0)
        assert len(peaks) == reps


def test_start_pose_and_relaxed_end():
    start = Pose().arm("right", abduction=60.0, flexion=40.0, elbow=70.0).angles
    clip = generate_action("nod", np.random.default_rng(0), start_pose=start)
    plain = generate_action("nod", np.random.default_rng(0))
    j, p = clip.joints, plain.joints
    assert j[0, J["right_wrist"], 1] - p[0, J["right_wrist"], 1] > 0.2
    assert np.abs(j[-1] - p[-1]).max() < 1e-4
    for name in ("wave_right", "clap", "bow"):
        c = generate_action(name, np.random.default_rng(1))
        rest = generate_action("idle_sway", np.random.default_rng(1)).joints[0]
        assert np.abs(c.joints[-1] - c.joints[-1, :1] - (rest - rest[:1])).max() < 0.06, name
        assert np.abs(c.joints[0] - c.joints[0, :1] - (rest - rest[:1])).max() < 0.06, name


def test_overrides_and_determinism():
    a = generate_action("wave_right", np.random.default_rng(3), repetitions=4)
    b = generate_action("wave_right", np.random.default_rng(3), repetitions=4)
    assert a.params["repetitions"] == 4
    np.testing.assert_array_equal(a.joints, b.joints)
    assert a.captions == b.captions
    first, second = sample_library(1, seed=5), sample_library(1, seed=5)
    assert len(first) == len(ACTIONS)
    assert [c.name for c in first] == action_names()
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x.joints, y.joints)
        assert x.captions == y.captions
    other = sample_library(1, seed=6)
    assert any(x.joints.shape != y.joints.shape or not np.array_equal(x.joints, y.joints)
               for x, y in zip(first, other))


def test_long_plans_are_sped_up_to_fit():
    clip = generate_action("idle_sway", np.random.default_rng(0), repetitions=3, speed=0.6)
    assert len(clip.joints) / MOTION_FPS <= MAX_CLIP_SECONDS + 1e-6
    assert clip.params["speed"] > 0.6
    rest = generate_action("nod", np.random.default_rng(0)).joints[-1]
    end = clip.joints[-1] - clip.joints[-1, :1]
    assert np.abs(end - (rest - rest[:1])).max() < 0.06  # it still gets back to standing
