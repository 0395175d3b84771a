"""Sides of one-arm actions: the side measure on clips whose side is known, the feature-space
mirror, and generation on the canonical side mirrored back (issue 14h)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.data.build import mirror_joints
from pipeline.data.synthetic.procedural import generate_action
from pipeline.motion import features as fm
from pipeline.text.understand import PromptInterpretation, side_is_a_parameter
from tests.test_generator import CKPT, needs_assets, speechlike


def test_the_side_measure_names_the_side_of_every_sided_prompt_action():
    from benchmarks.text_control import real_clip_side_check, sided_prompt_actions

    actions = sided_prompt_actions()
    assert {"thinking_pose", "thumbs_up", "wave_both", "kick_front_left", "kick_side_right"} <= set(actions)
    per_action = real_clip_side_check(n_per_side=2, per_action=True)
    assert set(per_action) == set(actions)
    assert min(per_action.values()) == 1.0, {a: v for a, v in per_action.items() if v < 1.0}


def test_kicks_are_sided_by_the_ankles():
    from benchmarks.text_control import active_side, limb_of

    assert limb_of("kick_front_left") == "ankle" and limb_of("thumbs_up") == "wrist" and limb_of(None) == "wrist"
    for side in ("left", "right"):
        joints = generate_action(f"kick_front_{side}", np.random.default_rng(0)).joints
        assert active_side(joints, "ankle") == side
        assert active_side(joints) == "both"           # the arms swing alike: why wrists cannot tell
    with pytest.raises(ValueError, match="limb"):
        active_side(joints, "knee")


@pytest.mark.parametrize("action", ["thumbs_up", "turn_left", "step_left", "fist_pump", "count_on_hand"])
def test_mirror_features_is_the_datasets_mirror(action):
    joints = generate_action(action, np.random.default_rng(3)).joints
    feats = fm.joints_to_features(joints)
    reference = fm.joints_to_features(mirror_joints(joints))
    mirrored = fm.mirror_features(feats)
    assert np.abs(mirrored - reference).max() < 1e-4
    assert np.abs(fm.features_to_joints(mirrored) - mirror_joints(fm.features_to_joints(feats))).max() < 1e-4
    assert np.array_equal(fm.mirror_features(mirrored), feats)      # its own inverse
    assert fm.mirror_features(feats[None]).shape == (1,) + feats.shape  # batched


def test_mirror_joint_table_pairs_left_and_right():
    from pipeline.motion import skeleton as sk

    for j, m in enumerate(fm.MIRROR_JOINT):
        name, other = sk.JOINT_NAMES[j], sk.JOINT_NAMES[m]
        assert fm.MIRROR_JOINT[m] == j
        if "left" in name:
            assert other == name.replace("left", "right")
        elif "right" not in name:
            assert m == j


def test_which_actions_have_their_side_as_a_parameter():
    for action in ("thumbs_up", "beckon", "raise_hand", "stop_sign", "fist_pump", "point_up"):
        assert side_is_a_parameter(action), action
    for action in ("wave_left", "wave_right", "point_left", "step_right", "turn_left", "wave_both",
                   "raise_both_arms", "clap", None, "not_an_action"):
        assert not side_is_a_parameter(action), action


def _it(prompt, action, side, known=True):
    return PromptInterpretation(prompt=prompt, caption=f"a person does {action} with their {side} hand.",
                                known=known, similarity=0.9, family=action, action=action, side=side)


class _Models:
    canonical_side = "right"


def test_canonical_sides_moves_only_left_one_arm_actions():
    from pipeline.motion.generate import canonical_sides

    found = {"L": _it("L", "thumbs_up", "left"), "R": _it("R", "thumbs_up", "right"),
             "W": _it("W", "wave_left", "left"), "U": _it("U", "thumbs_up", "left", known=False)}
    prompts = ["L", "L", None, "R", "W", "U"]
    captions = [found[p].caption if p else None for p in prompts]
    out, mirrored = canonical_sides(_Models(), prompts, captions, found)
    assert mirrored.tolist() == [True, True, False, False, False, False]
    assert out[0] == out[1] == "a person does thumbs_up with their right hand."
    assert out[2:] == captions[2:]
    off = _Models()
    off.canonical_side = None
    assert canonical_sides(off, prompts, captions, found)[1].sum() == 0


@pytest.fixture(scope="module")
def models():
    from pipeline.motion.generate import load_models

    return load_models(CKPT)


LEFT = "she does a fist pump with her left hand"


@needs_assets
def test_a_left_one_arm_action_is_the_mirror_of_the_right_one(models):
    from pipeline.motion.generate import generate, mirror_token_spans

    audio = (16000, speechlike(4.0))
    segs = lambda p: [(0.0, 2.0, None), (2.0, 4.0, p)]     # noqa: E731
    from pipeline.data.build import mirror_caption

    saved = models.canonical_side, models.understand_prompts
    try:
        models.canonical_side = "right"
        left = generate(audio, segs(LEFT), seed=3, models=models)
        assert left.interpretations[LEFT].side == "left"
        models.canonical_side = None
        asked = generate(audio, segs(LEFT), seed=3, models=models)
        models.understand_prompts = False            # the right-handed caption, as the generator got it
        right = generate(audio, segs(mirror_caption(left.interpretations[LEFT].caption)), seed=3, models=models)
    finally:
        models.canonical_side, models.understand_prompts = saved
    mask = torch.tensor([p == LEFT for p in left.token_prompts])
    assert mask.sum() == 10 and not mask[:10].any()
    expected = mirror_token_spans(models, torch.from_numpy(right.tokens), mask).numpy()
    assert np.array_equal(left.tokens, expected)
    assert np.array_equal(left.tokens[:10], right.tokens[:10])      # the audio-driven segment is untouched
    assert not np.array_equal(left.tokens, asked.tokens)            # canonicalisation did something


@needs_assets
def test_edits_and_locks_keep_tokens_exactly_with_a_mirrored_segment(models):

    audio = (16000, speechlike(4.0))
    saved = models.canonical_side
    models.canonical_side = "right"
    try:
        _edits_and_locks(models, audio)
    finally:
        models.canonical_side = saved


def _edits_and_locks(models, audio):
    from pipeline.motion.generate import generate, regenerate_span

    base = generate(audio, [(0.0, 4.0, LEFT)], seed=1, models=models)
    edited = regenerate_span(base, 5, 12, seed=7, models=models)
    assert np.array_equal(edited.tokens[:5], base.tokens[:5]) and np.array_equal(edited.tokens[12:], base.tokens[12:])
    assert not np.array_equal(edited.tokens[5:12], base.tokens[5:12])
    again = regenerate_span(base, 5, 12, seed=7, models=models)
    assert np.array_equal(again.tokens, edited.tokens)
    locks = np.full(base.num_tokens, -1)
    locks[:8] = base.tokens[:8]
    locked = generate(audio, [(0.0, 4.0, LEFT)], locked_tokens=locks, seed=2, models=models)
    assert np.array_equal(locked.tokens[:8], base.tokens[:8])
