"""The Director's transcript, language and articulation: saved with the project, aligned into the
timeline's words, falling back with a message, and making the 2D poses talk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.project import Project, open_project, save_project

REPO = Path(__file__).resolve().parents[1]
PORTRAIT = REPO / "assets" / "examples" / "astronaut.jpg"
SPEECH = REPO / "assets" / "examples" / "speech.wav"
SPEECH_TEXT = ("Hello, I am an astronaut. Today I will tell you about space. "
               "Let me show you how big it is!")   # assets/examples/README.md


@pytest.fixture(scope="module")
def page():
    from studio import director_page
    return director_page


def test_transcript_and_articulation_round_trip_through_the_project_zip(tmp_path):
    p = Project(duration_s=0.0, transcript="Ask not what your country can do for you.", articulation=1.4,
                language="other")
    path = save_project(p, tmp_path / "p.zip")
    back = open_project(path, tmp_path / "open")
    assert back.transcript == p.transcript and back.articulation == pytest.approx(1.4)
    assert back.language == "other"
    old = Project()  # a project saved before these fields existed opens with the defaults
    back = open_project(save_project(old, tmp_path / "old.zip"), tmp_path / "open2")
    assert back.transcript == "" and back.articulation == 1.0 and back.language == "en"


def test_the_transcript_aligns_into_timeline_words(page):
    out = page.load_speech(str(SPEECH), None)
    session = out[0]
    out = page.set_speech_text(SPEECH_TEXT, 1.0, "en", session)
    assert out[-1].startswith("✓"), out[-1]
    assert "transcript" in out[-1]
    speech = out[3]["speech"]["data"]
    assert speech["source"] == "aligned"
    words = [w for w, _, _ in speech["words"]]
    assert words[:4] == ["hello", "i", "am", "an"] and words[-1] == "is"
    starts = [a for _, a, _ in speech["words"]]
    assert starts == sorted(starts) and speech["words"][-1][2] <= session.clip.duration_s + 1e-6
    assert len(speech["phones"]) > len(words)
    # the same settings again change nothing and recompute nothing
    again = page.set_speech_text(SPEECH_TEXT, 1.0, "en", session)
    assert again[0] is session


def test_a_transcript_that_does_not_fit_falls_back_and_says_so(page):
    session = page.load_speech(str(SPEECH), None)[0]
    out = page.set_speech_text("The rain in Spain stays mainly in the plain.", 1.0, "en", session)
    assert out[-1].startswith("⚠"), out[-1]
    assert "recognis" in out[-1]
    assert out[3]["speech"]["data"]["source"] == "recognised"
    assert session.project.transcript.startswith("The rain")   # kept, so it can be corrected


def test_the_poses_talk_and_follow_the_articulation(page):
    from pipeline.face import mouth_opening

    session = page.analyze_portrait(str(PORTRAIT), page.new_session())[0]
    session = page.load_speech(str(SPEECH), session)[0]
    session = page.set_speech_text(SPEECH_TEXT, 1.0, "en", session)[0]
    out = page.generate_motion(0, session)
    assert "✓" in out[-1], out[-1]
    key_before = out[3]["views"][0]["pose"]["key"]
    opening = mouth_opening(session.poses)
    assert opening.max() - opening.min() > 0.15           # the face keypoints move with the speech
    out = page.set_speech_text(SPEECH_TEXT, 0.0, "en", session)
    still = mouth_opening(session.poses)
    assert np.ptp(still) < 0.25 * np.ptp(opening)
    assert out[3]["views"][0]["pose"]["key"] != key_before  # the page gets the new poses
