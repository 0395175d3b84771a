"""Prompt understanding: side / count / speed rules, paraphrases to actions, unknown prompts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipeline.text.attributes import action_text, parse_attributes


@pytest.mark.parametrize("prompt, side, direction, reps, speed, intensity", [
    ("a person greets by waving his right arm three times, slowly", "right", None, 3, "slow", None),
    ("kicks with the left leg", "left", None, None, None, None),
    ("points to the left with his right hand", "right", "left", None, None, None),
    ("someone steps to the right twice quickly", None, "right", 2, "fast", None),
    ("she raises both hands up high", "both", None, None, None, "large"),
    ("the man waves with his left", "left", None, None, None, None),
    ("he nods gently a few times", None, None, 3, None, "small"),
    ("claps once", None, None, 1, None, None),
    ("turns right", None, "right", None, None, None),
    ("a person shrugs", None, None, None, None, None),
])
def test_attributes_are_read_from_the_wording(prompt, side, direction, reps, speed, intensity) -> None:
    a = parse_attributes(prompt)
    assert (a.side, a.direction, a.repetitions, a.speed, a.intensity) == (side, direction, reps, speed, intensity)


def test_action_text_neutralises_side_and_drops_counts() -> None:
    assert action_text("Waves with the RIGHT hand three times, slowly.") == "waves with the side hand"
    assert action_text("points to the left") == action_text("points to the right") != action_text("points up")


@pytest.fixture(scope="module")
def understand():
    from pipeline.text import understand as u

    return u


@pytest.mark.parametrize("prompt, action, in_caption", [
    ("a person greets by waving his right arm", "wave_right", "right"),      # waved the LEFT hand before
    ("she says hi with her left hand", "wave_left", "left"),
    ("a person shrugs", "shrug", "shrug"),                                    # gave a beat gesture before
    ("the man turns to his left", "turn_left", "left"),
    ("someone sidesteps to the right", "step_right", "right"),
    ("a woman raises her left hand", "raise_hand", "left"),
    ("he raises both of his hands", "raise_both_arms", "arms" ),
])
def test_paraphrases_give_the_action_on_the_named_side(understand, prompt, action, in_caption) -> None:
    it = understand.interpret_prompt(prompt)
    assert it.known and it.action == action, it
    assert in_caption in it.caption.lower()
    other = {"left": "right", "right": "left"}.get(in_caption)
    if other:
        assert other not in it.caption.lower()


def test_count_and_speed_reach_the_caption(understand) -> None:
    it = understand.interpret_prompt("a person applauds three times, slowly")
    assert it.action == "clap"
    assert "three times" in it.caption and "slowly" in it.caption
    assert it.caption.count("three times") == 1
    plain = understand.interpret_prompt("a person applauds")
    assert "times" not in plain.caption and "twice" not in plain.caption and "slowly" not in plain.caption


def test_mocap_prompts_use_the_mocap_caption(understand) -> None:
    it = understand.interpret_prompt("a person jogs")
    assert it.known and it.action is None and it.source == "mocap" and "run" in it.caption


def test_unknown_prompt_is_reported_with_the_closest_actions(understand) -> None:
    it = understand.interpret_prompt("a person plays the guitar")
    assert not it.known and it.similarity < understand.UNKNOWN_THRESHOLD
    assert it.caption == "a person plays the guitar"          # given verbatim, not forced into an action
    text = it.summary()
    assert "not understood" in text and it.closest[0][0] in text and len(it.closest) >= 3


def test_generation_reports_unknown_prompts_in_its_warnings(understand) -> None:
    from pipeline.motion.generate import DEFAULT_CHECKPOINT_DIR, understand_prompts

    models = SimpleNamespace(understand_prompts=True, checkpoint_dir=DEFAULT_CHECKPOINT_DIR)   # its vocabulary
    captions, found, warnings = understand_prompts(models, [None, "a person rides a bicycle", "a person shrugs",
                                                            "a person shrugs"])
    assert captions[0] is None and captions[1] == "a person rides a bicycle" and "shrug" in captions[2]
    assert captions[2] == captions[3] and set(found) == {"a person rides a bicycle", "a person shrugs"}
    assert len(warnings) == 1 and "bicycle" in warnings[0] and "closest known" in warnings[0]
    off = understand_prompts(SimpleNamespace(understand_prompts=False), ["a person shrugs"])
    assert off == (["a person shrugs"], {}, [])


def test_held_out_prompts_are_not_training_captions(understand) -> None:
    """The paraphrase sets in benchmarks/ are never among the captions the models are trained on."""
    from benchmarks.prompt_sets import IN_VOCABULARY, NEW_ACTIONS, OUT_OF_VOCABULARY

    from pipeline.data.synthetic.procedural import action_names

    entries = understand.procedural_entries(draws=12, actions=action_names()) + understand.mocap_entries()
    trained = {e.text for e in entries} | {e.caption.lower().rstrip(".") for e in entries}
    assert {a for _, a, _ in NEW_ACTIONS} == set(action_names()) - set(understand.GENERATOR_ACTIONS)
    for prompt in [p for p, _, _ in IN_VOCABULARY + NEW_ACTIONS] + OUT_OF_VOCABULARY:
        assert action_text(prompt) not in trained and prompt.lower().rstrip(".") not in trained, prompt


def test_threshold_rule_meets_the_recall_target() -> None:
    import numpy as np

    from benchmarks.prompts import choose_threshold

    out = np.array([0.7, 0.6, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    t = choose_threshold(np.array([0.8]), out)
    assert (out < t).mean() >= 0.9 and 0.6 < t <= 0.7


def test_the_caption_names_the_side_count_and_speed_asked_for(understand) -> None:
    """Templates that do not say the side (\"points up at the sky\") are not used when one is named."""
    for prompt, words in [("a person points upward with his left hand", ("left",)),
                          ("she does a fist pump with her left hand", ("left",)),
                          ("waves with the left hand slowly three times", ("left", "slowly", "three times"))]:
        caption = understand.interpret_prompt(prompt).caption
        assert all(w in caption for w in words), (prompt, caption)


def test_known_actions_are_the_ones_the_shipped_models_were_trained_on(understand) -> None:
    """The vocabulary follows the shipped generator; its classifier was trained on the same library."""
    import json
    from pathlib import Path

    from pipeline.data.synthetic.procedural import action_names

    labels = json.loads((Path(__file__).resolve().parents[1] / "assets" / "checkpoints" / "action_classifier"
                         / "labels.json").read_text())
    labels = labels["labels"] if isinstance(labels, dict) else labels
    actions, _ = understand.generator_vocabulary()        # the shipped generator's vocabulary.json
    assert set(actions) <= set(labels) - {"other"}          # the classifier can score every action offered
    assert set(actions) <= set(action_names())
    it = understand.interpret_prompt("a person does a deep squat")
    assert (it.action == "squat") == ("squat" in actions)   # offered only when the generator knows it


def test_cli_reports_understood_and_unknown_prompts(tmp_path, shared_data, capsys) -> None:
    from pipeline.__main__ import main

    speech = shared_data / "speech" / "jfk.flac"
    assert main(["generate", str(speech), "--segment", "0:4:a person plays the violin",
                 "--segment", "4:8:greets by waving his right arm", "--out", str(tmp_path / "m.npz")]) == 0
    out = capsys.readouterr()
    assert "not understood" in out.err and "violin" in out.err and "closest known" in out.err
    assert "understood:" in out.out and "wave_right" in out.out


def test_vocabulary_follows_the_generator_folder(understand, tmp_path) -> None:
    """A generator folder's vocabulary.json says what prompt understanding may offer; a folder
    without one is the pre-issue-14 generator (43 actions, the BVH descriptions)."""
    import json

    assert understand.generator_vocabulary(tmp_path) == (understand.GENERATOR_ACTIONS,
                                                          understand.TRAINED_MOCAP_DESCRIPTIONS)
    (tmp_path / understand.VOCABULARY_FILE).write_text(json.dumps(
        {"actions": ["wave_left", "wave_right", "kick_front_left", "kick_front_right", "squat"],
         "mocap_descriptions": ["walk"]}))
    assert understand.generator_vocabulary(tmp_path)[0][-1] == "squat"
    vocab = understand.default_vocabulary(tmp_path)
    assert {e.action for e in vocab.entries} == {"wave_left", "wave_right", "kick_front_left", "kick_front_right",
                                                 "squat", None}
    squat, kick, walk = understand.interpret_prompts(
        ["a person does a deep squat", "kicks forward with the right leg", "she strolls along"], vocab)
    assert squat.known and squat.action == "squat"
    assert kick.action == "kick_front_right" and "right" in kick.caption     # the leg named, not the best match's
    assert walk.family == "mocap: walk"
    assert vocab.threshold == understand.UNKNOWN_THRESHOLD == understand.generator_unknown_threshold(tmp_path)


def test_unknown_threshold_follows_the_generator_folder(understand, tmp_path) -> None:
    """vocabulary.json's unknown_threshold (measured for that vocabulary) is the one used; the
    constant is the default for a folder without it; an explicit threshold still wins."""
    import json

    (tmp_path / understand.VOCABULARY_FILE).write_text(json.dumps(
        {"actions": ["wave_left", "wave_right", "squat"], "mocap_descriptions": ["walk"], "unknown_threshold": 0.97}))
    assert understand.generator_unknown_threshold(tmp_path) == 0.97
    vocab = understand.default_vocabulary(tmp_path)
    assert vocab.threshold == 0.97
    it = understand.interpret_prompt("a person does a deep squat", vocab)
    assert not it.known and it.threshold == 0.97 and "< 0.97" in it.summary()   # judged by the folder's threshold
    assert understand.interpret_prompt("a person does a deep squat", vocab, threshold=0.3).known
    (tmp_path / understand.VOCABULARY_FILE).write_text(json.dumps(
        {"actions": ["squat"], "mocap_descriptions": [], "unknown_threshold": 1.5}))
    with pytest.raises(ValueError, match="unknown_threshold"):
        understand.generator_unknown_threshold(tmp_path)


def test_dataset_vocabulary_lists_train_actions_and_takes(tmp_path) -> None:
    import numpy as np

    from pipeline.data.humanml3d import write_clip, write_index
    from pipeline.text.understand import dataset_vocabulary

    feats = np.zeros((8, 263), np.float32)
    joints = np.zeros((8, 22, 3), np.float32)
    for cid in ("syn_nod_000", "Msyn_wave_right_000", "cmu_002_01_00", "Mcmu_002_01_00", "syn_squat_000"):
        write_clip(tmp_path, cid, joints, feats, ["a caption."])
    write_index(tmp_path, {"train": ["syn_nod_000", "Msyn_wave_right_000", "cmu_002_01_00", "Mcmu_002_01_00"],
                           "val": [], "test": ["syn_squat_000"]},
                {"syn_nod_000": ("synthetic", "nod"), "Msyn_wave_right_000": ("synthetic", "wave_left"),
                 "cmu_002_01_00": ("cmu", "x"), "Mcmu_002_01_00": ("cmu", "x mirrored"),
                 "syn_squat_000": ("synthetic", "squat")})
    index = tmp_path / "cmu_index.csv"
    index.write_text("Subject,Trial #,Motion Description\n2,1,walk\n")
    v = dataset_vocabulary(tmp_path, index_path=index)
    assert v == {"actions": ["nod", "wave_left"], "mocap_descriptions": ["walk"]}    # test split left out


def test_store_threshold_writes_the_generators_vocabulary(understand, tmp_path) -> None:
    """benchmarks.prompts --store-threshold: the dev-chosen threshold lands in vocabulary.json,
    which prompt understanding then reads; a folder without vocabulary.json is refused."""
    import json

    from benchmarks.prompts import store_threshold

    with pytest.raises(SystemExit, match="does not exist"):
        store_threshold(tmp_path, 0.6)
    (tmp_path / understand.VOCABULARY_FILE).write_text(json.dumps({"actions": ["squat"], "mocap_descriptions": []}))
    store_threshold(tmp_path, 0.57149)
    data = json.loads((tmp_path / understand.VOCABULARY_FILE).read_text())
    assert data["unknown_threshold"] == 0.571 and data["actions"] == ["squat"]
    assert understand.generator_unknown_threshold(tmp_path) == 0.571
