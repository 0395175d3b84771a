"""Retrieval evaluator: R-precision and FID are right on known embeddings; train / save / load work."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.eval.retrieval import RetrievalConfig, RetrievalEvaluator, frechet_distance, r_precision


def test_r_precision_is_one_for_matching_and_chance_for_random() -> None:
    rng = np.random.default_rng(0)
    motion = rng.normal(size=(64, 16))
    perfect = r_precision(motion + 0.01 * rng.normal(size=motion.shape), motion, repeats=2)
    assert perfect["top1"] == 1.0 and perfect["top3"] == 1.0
    chance = r_precision(rng.normal(size=(64, 16)), motion, repeats=5)
    assert abs(chance["top1"] - 1 / 32) < 0.03 and abs(chance["top3"] - 3 / 32) < 0.05
    with pytest.raises(ValueError, match="at least 32"):
        r_precision(motion[:10], motion[:10])


def test_frechet_distance_zero_for_same_and_grows_with_shift() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 8))
    assert frechet_distance(a, a) < 1e-6
    near, far = frechet_distance(a, a + 0.1), frechet_distance(a, a + 1.0)
    assert 0.05 < near < far and abs(far - 8.0) < 0.5          # |mean shift|^2 = 8 for a shift of 1 in 8 dims


def test_save_load_round_trip_and_embeddings(tmp_path) -> None:
    from pipeline.data.synthetic.procedural import generate_action

    model = RetrievalEvaluator(RetrievalConfig()).eval()
    joints = [generate_action(n, np.random.default_rng(0)).joints for n in ("clap", "squat")]
    emb = model.encode_motion(joints)
    assert emb.shape == (2, 128) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    model.save_pretrained(tmp_path / "ev", card="# card")
    again = RetrievalEvaluator.from_pretrained(tmp_path / "ev")
    assert np.allclose(again.encode_motion(joints), emb, atol=1e-6)
    text = again.encode_text(["a person claps.", "a person squats."])
    assert text.shape == (2, 128)
    with pytest.raises(FileNotFoundError, match="python -m pipeline.train.retrieval"):
        RetrievalEvaluator.from_pretrained(tmp_path / "missing")


def test_training_on_a_small_dataset_learns_to_retrieve(tmp_path) -> None:
    """A few epochs on the synthetic library: train-split retrieval beats chance by far."""
    from pipeline.data.build import build_dataset
    from pipeline.train.retrieval import _load_split, evaluate_split, main

    out = tmp_path / "ds"
    build_dataset(out, None, variations_per_action=1, seed=0)
    metrics = main(["--dataset", str(out), "--out", str(tmp_path / "ev"), "--epochs", "12", "--batch", "32",
                    "--eval-every", "12", "--threads", "1"])
    assert (tmp_path / "ev" / "README.md").is_file() and metrics["train_clips"] >= 32
    model = RetrievalEvaluator.from_pretrained(tmp_path / "ev")
    from pipeline.data.humanml3d import MotionDataset

    r = evaluate_split(model, _load_split(MotionDataset(out), "train"))
    assert r["top3"] > 0.4          # chance is 3/32 = 0.09
