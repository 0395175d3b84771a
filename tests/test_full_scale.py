"""The full-scale command: plans the paper's sizes, checks its inputs, and runs end to end for a few
steps on the CPU (on the project's own synthetic data in the HumanML3D layout and a BEAT2-layout
fixture: the HumanML3D format fixture itself must never be trained on)."""

from __future__ import annotations

import json

import pytest

from pipeline.train.full_scale import main, plan


def _args(tmp_path, **kw):
    import argparse

    base = dict(humanml3d=str(tmp_path / "h"), beat2=str(tmp_path / "b"), out=str(tmp_path / "out"),
                launcher="accelerate", tokenizer_steps=10, generator_steps=10, audio_steps=10, threads=1,
                dry_run=True)
    base.update(kw)
    return argparse.Namespace(**base)


def test_plan_uses_the_paper_sizes_and_accelerate(tmp_path) -> None:
    stages = plan(_args(tmp_path))
    names = [w for w, _ in stages]
    assert names == ["tokenizer", "text branch", "BEAT2 -> pairs", "audio branch"]
    tok, text = stages[0][1], stages[1][1]
    assert tok[1:4] == ["-m", "accelerate.commands.launch", "-m"]
    assert tok[tok.index("--codebook-size") + 1] == "512" and tok[tok.index("--code-dim") + 1] == "512"
    assert text[text.index("--d-model") + 1] == "384" and text[text.index("--layers") + 1] == "8"
    assert plan(_args(tmp_path, beat2=None))[-1][0] == "text branch"


def test_bad_folders_are_named(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit, match="not a HumanML3D folder"):
        main(["--humanml3d", str(tmp_path), "--out", str(tmp_path / "o"), "--dry-run"])


def test_runs_a_few_steps_on_the_cpu(tmp_path) -> None:
    from pipeline.data.synthetic.cospeech.beat2 import make_beat2_fixture
    from pipeline.data.build import build_dataset

    build_dataset(tmp_path / "h", None, variations_per_action=1, seed=0)
    make_beat2_fixture(tmp_path / "b", n=4, seconds=3.0)
    out = tmp_path / "out"
    code = main(["--humanml3d", str(tmp_path / "h"), "--beat2", str(tmp_path / "b"), "--out", str(out),
                 "--launcher", "python", "--tokenizer-steps", "2", "--generator-steps", "2", "--audio-steps", "2",
                 "--threads", "1"])
    assert code == 0
    tok = json.loads((out / "motion_tokenizer" / "config.json").read_text())
    gen = json.loads((out / "motion_generator" / "config.json").read_text())
    assert tok["codebook_size"] == 512 and tok["code_dim"] == 512
    assert gen["d_model"] == 384 and gen["n_layers"] == 8
    assert (out / "motion_generator" / "model.safetensors").is_file()
    assert "audio" in json.loads((out / "motion_generator" / "train_log.json").read_text())
