"""The studio's edits on the command line: `generate --lock`, `edit-span`, `export` and
`render PROJECT.zip`, through pipeline.__main__.main (the same functions as the studio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.constants import AUDIO_SAMPLE_RATE
from pipeline.motion.generate import DEFAULT_CHECKPOINT_DIR

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT_DIR / "motion_generator" / "model.safetensors").exists(),
                                reason="shipped generator checkpoint missing from assets/")
PORTRAIT = Path(__file__).resolve().parents[1] / "assets" / "examples" / "astronaut.jpg"


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    """3 s of a voiced tone with a syllable-rate envelope (15 motion tokens)."""
    t = np.arange(3 * AUDIO_SAMPLE_RATE) / AUDIO_SAMPLE_RATE
    y = 0.3 * np.sin(2 * np.pi * 150 * t) * np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    sf.write(path, y.astype(np.float32), AUDIO_SAMPLE_RATE)
    return path


@pytest.fixture(scope="module")
def motion(wav, tmp_path_factory):
    from pipeline.__main__ import main

    out = tmp_path_factory.mktemp("motion") / "m.npz"
    assert main(["generate", str(wav), "--seed", "0", "--out", str(out)]) == 0
    return out


def _tokens(path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return data["tokens"]


def _project(tmp_path, wav, motion, portrait: bool, settings: dict | None = None):
    from pipeline.project import timeline as tl
    from pipeline.project.archive import save_project
    from pipeline.project.document import Project

    tokens = _tokens(motion)
    locked = np.zeros(len(tokens), bool)
    locked[:3] = True
    p = Project(portrait_file=str(PORTRAIT) if portrait else None, audio_file=str(wav), duration_s=3.0,
                segments=tl.split(tl.whole(3.0), 1.0), tokens=tokens, locked=locked,
                transcript="", settings={"seed": 0, **(settings or {})})
    return save_project(p, tmp_path / "project.zip")


def test_generate_lock_keeps_the_span_of_the_earlier_motion(tmp_path, wav, motion, capsys):
    from pipeline.__main__ import main

    out = tmp_path / "locked.npz"
    code = main(["generate", str(wav), "--seed", "7", "--motion", str(motion), "--lock", "2-5", "--lock", "11-11",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    before, after = _tokens(motion), _tokens(out)
    assert np.array_equal(after[2:6], before[2:6]) and after[11] == before[11]
    assert not np.array_equal(after, before)          # the free tokens were sampled anew (seed 7, not 0)
    with np.load(out, allow_pickle=False) as data:
        assert data["locked"].tolist() == [2 <= i <= 5 or i == 11 for i in range(15)]


@pytest.mark.parametrize("argv, message", [
    (["--lock", "2-5"], "--motion EARLIER.npz"),
    (["--lock", "3-99", "--motion", "{motion}"], "not inside the motion's 15 tokens"),
    (["--lock", "three", "--motion", "{motion}"], "FIRST-LAST"),
])
def test_generate_lock_reports_bad_spans(tmp_path, wav, motion, capsys, argv, message):
    from pipeline.__main__ import main

    argv = [a.replace("{motion}", str(motion)) for a in argv]
    assert main(["generate", str(wav), "--out", str(tmp_path / "x.npz"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_edit_span_changes_only_the_span_and_keeps_locked_tokens(tmp_path, wav, motion, capsys):
    from pipeline.__main__ import main
    from pipeline.motion.bvh import parse_bvh

    out, bvh = tmp_path / "e.npz", tmp_path / "e.bvh"
    code = main(["edit-span", str(motion), str(wav), "--span", "4-9", "--seed", "3", "--prompt",
                 "a person waves with the right hand", "--out", str(out), "--bvh", str(bvh)])
    assert code == 0, capsys.readouterr().err
    before, after = _tokens(motion), _tokens(out)
    assert np.array_equal(after[:4], before[:4]) and np.array_equal(after[10:], before[10:])
    assert not np.array_equal(after[4:10], before[4:10])
    with np.load(out, allow_pickle=False) as data:
        assert data["joints"].shape == (60, 22, 3) and list(data["segments"]) == list(np.load(motion)["segments"])
    assert parse_bvh(bvh).n_frames == 60
    # a motion with locked tokens (from generate --lock): they survive an edit over them
    locked = tmp_path / "l.npz"
    assert main(["generate", str(wav), "--motion", str(motion), "--lock", "5-7", "--out", str(locked)]) == 0
    assert main(["edit-span", str(locked), str(wav), "--span", "0-14", "--seed", "9", "--out", str(out)]) == 0
    assert np.array_equal(_tokens(out)[5:8], _tokens(locked)[5:8])
    assert main(["edit-span", str(locked), str(wav), "--span", "5-7", "--out", str(out)]) == 2
    assert "all locked" in capsys.readouterr().err


def test_edit_span_reports_a_motion_for_other_audio(tmp_path, motion, capsys):
    from pipeline.__main__ import main

    short = tmp_path / "short.wav"
    t = np.arange(2 * AUDIO_SAMPLE_RATE) / AUDIO_SAMPLE_RATE
    sf.write(short, (0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), AUDIO_SAMPLE_RATE)
    assert main(["edit-span", str(motion), str(short), "--span", "1-2"]) == 2
    assert "made for other audio" in capsys.readouterr().err


def test_export_writes_the_projects_motion_as_the_studio_does(tmp_path, wav, motion, capsys):
    from pipeline.__main__ import main
    from pipeline.motion.bvh import parse_bvh

    project = _project(tmp_path, wav, motion, portrait=False)
    code = main(["export", str(project), "--out-dir", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    with np.load(tmp_path / "out" / "motion.npz", allow_pickle=False) as data:
        assert np.array_equal(data["tokens"], _tokens(motion))
        assert data["locked"].tolist() == [i < 3 for i in range(15)]
        assert [s.split(":")[0] for s in data["segments"]] == ["0.00-1.00", "1.00-3.00"]
        assert parse_bvh(tmp_path / "out" / "motion.bvh").n_frames == len(data["joints"]) == 60
    assert not (tmp_path / "out" / "poses.json").exists()      # no portrait, no poses
    assert main(["export", str(wav), "--out-dir", str(tmp_path / "bad")]) == 2
    assert "not a studio project" in capsys.readouterr().err


def test_render_project_without_portrait_says_so(tmp_path, wav, motion, capsys):
    from pipeline.__main__ import main

    project = _project(tmp_path, wav, motion, portrait=False)
    assert main(["render", str(project), "--out", str(tmp_path / "v.mp4")]) == 2
    assert "has no portrait" in capsys.readouterr().err
    assert main(["render", str(PORTRAIT), "--out", str(tmp_path / "v.mp4")]) == 2
    assert "PORTRAIT AUDIO, or one PROJECT.zip" in capsys.readouterr().err
    assert not (tmp_path / "v.mp4").exists()


def test_render_and_export_a_saved_project_with_portrait(tmp_path, wav, motion, capsys):
    """The studio's Save project -> render and Export, without the UI."""
    import json

    from pipeline.__main__ import main
    from pipeline.portrait.wholebody import WholeBodyPose
    from pipeline.video import probe_video

    project = _project(tmp_path, wav, motion, portrait=True)
    video = tmp_path / "v.mp4"
    code = main(["render", str(project), "--out", str(video), "--resolution", "128"])
    assert code == 0, capsys.readouterr().err
    meta = probe_video(video)
    assert meta["video"] and meta["audio"] and abs(meta["frames"] - 3 * 25) <= 1
    assert main(["export", str(project), "--out-dir", str(tmp_path / "out")]) == 0
    back = WholeBodyPose.from_json(json.loads((tmp_path / "out" / "poses.json").read_text()))
    assert len(back) == 75 and back.fps == 25
    assert probe_video(tmp_path / "out" / "pose.mp4")["video"]


def test_render_project_uses_its_saved_render_settings_unless_the_command_gives_them(tmp_path, wav, motion,
                                                                                     capsys):
    """A project saved after a 12 fps, 160 px render renders so again from the CLI; an option given
    on the command line wins; a saved value out of range falls back to the default."""
    from pipeline.__main__ import main
    from pipeline.video import probe_video

    project = _project(tmp_path, wav, motion, portrait=True,
                       settings={"fps": 12.0, "resolution": 160, "blink_rate": 0.0, "render_seed": 3})
    video = tmp_path / "saved.mp4"
    assert main(["render", str(project), "--out", str(video)]) == 0, capsys.readouterr().err
    meta = probe_video(video)
    assert abs(meta["frames"] - 3 * 12) <= 1 and max(meta["size"]) == 160
    video = tmp_path / "given.mp4"
    assert main(["render", str(project), "--out", str(video), "--fps", "10"]) == 0, capsys.readouterr().err
    assert abs(probe_video(video)["frames"] - 3 * 10) <= 1
    bad = _project(tmp_path / "b", wav, motion, portrait=True, settings={"fps": 1e9, "resolution": 160})
    video = tmp_path / "bad.mp4"
    assert main(["render", str(bad), "--out", str(video)]) == 0, capsys.readouterr().err
    assert abs(probe_video(video)["frames"] - 3 * 25) <= 1
