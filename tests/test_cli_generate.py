"""`python -m pipeline generate`: speech + prompted segments -> motion files, with clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS
from pipeline.motion.generate import DEFAULT_CHECKPOINT_DIR


@pytest.fixture()
def speechlike_wav(tmp_path):
    """3 s of a voiced tone with a syllable-rate envelope (the generator needs audible audio)."""
    t = np.arange(3 * AUDIO_SAMPLE_RATE) / AUDIO_SAMPLE_RATE
    y = 0.3 * np.sin(2 * np.pi * 150 * t) * np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    path = tmp_path / "speech.wav"
    sf.write(path, y.astype(np.float32), AUDIO_SAMPLE_RATE)
    return path


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT_DIR / "motion_generator" / "model.safetensors").exists(),
                    reason="shipped generator checkpoint missing from assets/")
def test_generate_writes_motion_and_bvh(tmp_path, speechlike_wav, capsys):
    from pipeline.__main__ import main
    from pipeline.motion.bvh import parse_bvh

    out, bvh = tmp_path / "m.npz", tmp_path / "m.bvh"
    code = main(["generate", str(speechlike_wav), "--segment", "0.5:2:a person waves with the right hand",
                 "--out", str(out), "--bvh", str(bvh)])
    assert code == 0, capsys.readouterr().err
    with np.load(out) as data:
        joints, tokens, segments = data["joints"], data["tokens"], data["segments"]
    assert tokens.shape == (15,) and joints.shape == (60, 22, 3) and np.isfinite(joints).all()
    assert [s.split(":")[0] for s in segments] == ["0.00-0.50", "0.50-2.00", "2.00-3.00"]
    assert parse_bvh(bvh).n_frames == len(joints)
    assert len(joints) == 3 * MOTION_FPS


def test_generate_reports_bad_input(tmp_path, speechlike_wav, capsys):
    from pipeline.__main__ import main

    assert main(["generate", str(speechlike_wav), "--segment", "zero:2:wave"]) == 2
    assert "START:END:PROMPT" in capsys.readouterr().err
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(AUDIO_SAMPLE_RATE * 2, np.float32), AUDIO_SAMPLE_RATE)
    assert main(["generate", str(silent), "--out", str(tmp_path / "x.npz")]) == 2
    assert "silent" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.slow
@pytest.mark.skipif(not (DEFAULT_CHECKPOINT_DIR / "motion_generator" / "model.safetensors").exists(),
                    reason="shipped generator checkpoint missing from assets/")
def test_render_from_generated_motion_writes_video_pose_video_and_poses_json(tmp_path, speechlike_wav, capsys):
    """The studio's generate -> render -> downloads, without the UI."""
    import json
    from pathlib import Path

    from pipeline.__main__ import main
    from pipeline.portrait.wholebody import WholeBodyPose
    from pipeline.video import probe_video

    portrait = Path(__file__).resolve().parents[1] / "assets" / "examples" / "astronaut.jpg"
    motion = tmp_path / "m.npz"
    assert main(["generate", str(speechlike_wav), "--out", str(motion)]) == 0
    video, pose_video, poses = tmp_path / "v.mp4", tmp_path / "pose.mp4", tmp_path / "poses.json"
    code = main(["render", str(portrait), str(speechlike_wav), "--motion", str(motion), "--out", str(video),
                 "--resolution", "256", "--pose-video", str(pose_video), "--poses-json", str(poses)])
    assert code == 0, capsys.readouterr().err
    meta = probe_video(video)
    assert meta["video"] and meta["audio"] and abs(meta["frames"] - 3 * 25) <= 1 and max(meta["size"]) == 256
    assert probe_video(pose_video)["video"]
    back = WholeBodyPose.from_json(json.loads(poses.read_text()))
    assert len(back) == meta["frames"] and back.fps == 25 and back.image_size == (512, 512)
    assert (back.scores > 0.3).any(axis=0).sum() > 50  # body, hands and face points are there
    bad = main(["render", str(portrait), str(speechlike_wav), "--motion", str(tmp_path / "missing.npz")])
    assert bad != 0 and "missing.npz" in capsys.readouterr().err
