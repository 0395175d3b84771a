"""The whole-body and lower-body actions do what their names say (measured on joint positions)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.text_control import active_side
from pipeline.motion import skeleton as sk
from pipeline.data.synthetic.procedural import ACTIONS, action_names, generate_action
from pipeline.motion.skeleton import REST_PELVIS_HEIGHT

J = sk.JOINT_INDEX
REQUIRED = {"jump_in_place", "jump_forward", "jump_turn", "squat", "sit_down", "stand_up", "kick_front_left",
            "kick_front_right", "kick_side_left", "kick_side_right", "lunge", "march_in_place", "run_in_place",
            "turn_around", "step_touch", "dance_sway", "stretch_up", "reach_up", "pick_up", "push", "pull", "throw",
            "celebrate"}


def clip(name, seed=0, **kw):
    return generate_action(name, np.random.default_rng(seed), **kw)


def _facing(j):
    across = j[:, J["left_hip"]] - j[:, J["right_hip"]]
    return np.degrees(np.unwrap(np.arctan2(-across[:, 2], across[:, 0])))


def test_library_has_at_least_80_actions_with_the_asked_ones() -> None:
    assert len(action_names()) >= 80 and REQUIRED <= set(action_names())


@pytest.mark.parametrize("name", ["jump_in_place", "jump_forward", "jumping_jacks", "celebrate"])
def test_jumps_leave_the_floor_with_both_feet(name) -> None:
    j = clip(name).joints
    low_foot = j[:, [J["left_ankle"], J["right_ankle"]], 1].min(axis=1)
    assert low_foot.max() - low_foot.min() > 0.08                       # both feet up at once
    assert j[:, 0, 1].max() > REST_PELVIS_HEIGHT + 0.1
    travel = np.linalg.norm(j[-1, 0, [0, 2]] - j[0, 0, [0, 2]])
    assert (travel > 0.3) == (name == "jump_forward") and (name != "jump_forward" or j[-1, 0, 2] > 0.3)


def test_jump_turn_and_turn_around_change_facing() -> None:
    turned = clip("jump_turn", side="left", angle=180.0).joints
    assert abs(_facing(turned)[-1] - _facing(turned)[0] - 180) < 20
    around = clip("turn_around", side="right").joints
    assert abs(_facing(around)[-1] - _facing(around)[0] + 180) < 20


def test_squat_sit_and_stand() -> None:
    squat = clip("squat").joints
    assert squat[:, 0, 1].min() < REST_PELVIS_HEIGHT - 0.25 and abs(squat[-1, 0, 1] - REST_PELVIS_HEIGHT) < 0.03
    feet = [J["left_foot"], J["right_foot"]]
    assert np.abs(squat[:, feet] - squat[:1, feet]).max() < 0.015          # feet stay planted
    sit = clip("sit_down").joints
    assert sit[-1, 0, 1] < 0.6 and sit[-1, 0, 2] < -0.15                  # seated, behind where they stood
    stand = clip("stand_up").joints
    assert stand[0, 0, 1] < 0.6 and abs(stand[-1, 0, 1] - REST_PELVIS_HEIGHT) < 0.03


@pytest.mark.parametrize("kind", ["front", "side"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_kicks_use_the_named_leg(kind, side) -> None:
    j = clip(f"kick_{kind}_{side}").joints
    kick, stand = J[f"{side}_ankle"], J[f"{'right' if side == 'left' else 'left'}_ankle"]
    assert j[:, kick, 1].max() > 0.35 and j[:, stand, 1].max() < 0.12
    out = j[:, kick] - j[:1, kick]
    if kind == "front":
        assert out[:, 2].max() > 0.3
    else:
        assert (out[:, 0] * (1 if side == "left" else -1)).max() > 0.2


@pytest.mark.parametrize("side", ["left", "right"])
def test_one_sided_actions_follow_the_side(side) -> None:
    lunge = clip("lunge", side=side).joints
    front = J[f"{side}_ankle"]
    assert lunge[:, front, 2].max() > 0.4 and lunge[:, 0, 1].min() < REST_PELVIS_HEIGHT - 0.2
    reach = clip("reach_up", side=side).joints
    assert reach[:, J[f"{side}_wrist"], 1].max() > reach[:, J["head"], 1].max() + 0.2
    for name in ("throw", "punch", "reach_up", "pick_up"):
        assert active_side(clip(name, side=side).joints) == side, name
    lean = clip("side_stretch", side=side).joints
    sign = 1 if side == "left" else -1
    assert (sign * (lean[:, J["head"], 0] - lean[:, 0, 0])).max() > 0.1
    hop = clip("hop_on_one_foot", side=side).joints
    other = J[f"{'right' if side == 'left' else 'left'}_ankle"]
    assert hop[:, other, 1].max() > hop[:, J[f"{side}_ankle"], 1].max() + 0.05   # the other foot is held up


def test_marching_alternates_and_pick_up_reaches_the_floor() -> None:
    march = clip("march_in_place", repetitions=3).joints
    lifted = march[:, [J["left_ankle"], J["right_ankle"]], 1] > 0.2
    changes = np.flatnonzero(np.diff(lifted.argmax(axis=1)[lifted.any(axis=1)]))
    assert lifted[:, 0].any() and lifted[:, 1].any() and len(changes) >= 3
    pick = clip("pick_up", side="right").joints
    assert pick[:, J["right_wrist"], 1].min() < 0.45
    assert np.linalg.norm(march[-1, 0, [0, 2]] - march[0, 0, [0, 2]]) < 0.05   # in place


def test_new_actions_have_side_consistent_captions() -> None:
    for name in ("kick_front_left", "lunge", "reach_up", "throw", "hop_on_one_foot", "side_stretch", "stomp"):
        for seed in range(4):
            c = clip(name, seed)
            side = c.params["side"]
            wrong = "right" if side == "left" else "left"
            assert any(side in t for t in c.captions) and not any(wrong in t for t in c.captions), (name, c.captions)
    assert all(ACTIONS[n].locomotion in ("none", "step", "turn", "feet", "jump") for n in action_names())
