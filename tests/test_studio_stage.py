"""The director's stage: its compact arrays, what an edit resends, and the handlers behind it
(compare takes, pick a take, copy a span, add a segment, drag a border, paint a span)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.stage import STAGE_EVENTS, pack_int16, pack_uint8, unpack_int16, wave_envelope
from studio import timeline as tl
from studio.stage_payload import DELTA_TOLERANCE, StageCache

REPO = Path(__file__).resolve().parents[1]
PORTRAIT = REPO / "assets" / "examples" / "astronaut.jpg"
SPEECH = REPO / "assets" / "examples" / "speech.wav"


def test_int16_packing_round_trips_within_half_a_step_and_clips():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.0, (30, 22, 3))
    back = unpack_int16(pack_int16(x, 1000.0), 1000.0, x.shape)
    assert np.abs(back - x).max() <= 0.5e-3 + 1e-9
    big = unpack_int16(pack_int16(np.array([100.0, -100.0]), 1000.0), 1000.0, (2,))
    np.testing.assert_allclose(big, [32.767, -32.767])
    import base64
    assert list(base64.b64decode(pack_uint8(np.array([0.0, 0.5, 1.0, 2.0])))) == [0, 128, 255, 255]


def test_wave_envelope_is_normalised_and_bounded():
    t = np.linspace(0, 1, 16000, endpoint=False)
    x = 0.25 * np.sin(2 * np.pi * 220 * t)
    low, high = wave_envelope(x, columns=100)
    assert len(low) == len(high) == 100
    assert max(high) == pytest.approx(1.0, abs=2e-3) and min(low) == pytest.approx(-1.0, abs=2e-3)
    assert wave_envelope(np.zeros(0)) == [[], []]


def test_stage_cache_sends_each_item_once_until_forgotten():
    cache = StageCache()
    calls = []
    first = cache.item("k", lambda: calls.append(1) or {"data": "x"})
    again = cache.item("k", lambda: calls.append(1) or {"data": "x"})
    assert first == {"key": "k", "data": "x"} and again == {"key": "k"} and len(calls) == 1
    cache.forget()
    assert cache.item("k", lambda: {"data": "y"}) == {"key": "k", "data": "y"}


def test_pose_drawing_spec_matches_the_dwpose_tables():
    from pipeline.render.pose_maps import BODY_COLORS, HAND_EDGES, LIMBS, VIRTUAL_NECK, drawing_spec

    spec = drawing_spec()
    assert len(spec["edges"]) == len(LIMBS) + 2 * len(HAND_EDGES)
    assert len(spec["dots"]) == 18 + 42 + 68
    indices = {i for e in spec["edges"] for i in e[:2]} | {d[0] for d in spec["dots"]}
    assert max(indices) == VIRTUAL_NECK and min(indices) == 0
    assert spec["dots"][0][1] == "#%02x%02x%02x" % BODY_COLORS[0]  # the nose, full colour
    # neck -> right shoulder, dimmed to 60 % like DWPose's limbs
    assert spec["edges"][0][:3] == [VIRTUAL_NECK, 6, "#990000"]


def test_the_stage_script_names_every_event_the_studio_listens_to():
    js = (REPO / "components" / "stage.js").read_text()
    for name in STAGE_EVENTS:
        assert f"trigger('{name}'" in js, name


# ----------------------------------------------------------------------------- handlers

@pytest.fixture(scope="module")
def page():
    from studio import director_page
    return director_page


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory) -> Path:
    from pipeline.audio import load_audio, save_wav

    clip = load_audio(str(SPEECH))
    out = tmp_path_factory.mktemp("speech") / "short.wav"
    return save_wav(load_audio((clip.sample_rate, clip.samples[: int(3.0 * clip.sample_rate)])), out)


@pytest.fixture()
def generated(page, short_speech):
    session = page.analyze_portrait(str(PORTRAIT), page.new_session())[0]
    session = page.load_speech(str(short_speech), session)[0]
    if len(session.project.segments) == 1:
        page.split_segment(1.5, session)
    rows = tl.to_rows(session.project.segments)
    rows[0][2] = "a person waves with the right hand"
    page.edit_segments(rows, session)
    out = page.generate_motion(0, session)
    assert "✓" in out[-1], out[-1]
    return session


def _views(out) -> list[dict]:
    return out[3]["views"]


def test_compare_two_takes_pick_one_and_copy_a_span(page, generated):
    session = generated
    first = session.project.tokens.copy()
    page.generate_motion(7, session)
    second = session.project.tokens.copy()
    assert not np.array_equal(first, second)
    n = len(first)

    choices = dict((v, k) for k, v in page.compare_choices(session))
    assert {"none", "projection", "take:0", "take:1"} <= set(choices)
    out = page.compare_with("take:0", session)
    assert "✓" in out[-1], out[-1]
    views = _views(out)
    assert len(views) == 2 and views[1]["label"].startswith("Take 1")
    np.testing.assert_array_equal(session.compare_view.result.tokens, first)
    assert isinstance(out[5], dict) and out[5]["value"] == "take:0", out[5]   # the compare dropdown follows

    # copy tokens 2..5 of take 1 into the current motion; a locked token inside stays
    page.lock_span(4, 4, session)
    out = page.copy_span("take:0", 2, 5, session)
    assert "✓" in out[-1] and "1 locked token" in out[-1], out[-1]
    now = session.project.tokens
    np.testing.assert_array_equal(now[[2, 3, 5]], first[[2, 3, 5]])
    assert now[4] == second[4]
    np.testing.assert_array_equal(now[:2], second[:2])
    np.testing.assert_array_equal(now[6:], second[6:])
    np.testing.assert_array_equal(session.result.tokens, now)  # the motion was decoded from them

    out = page.use_take("take:0", session)
    assert "✓" in out[-1], out[-1]
    expected = first.copy()
    expected[4] = second[4]  # still locked
    np.testing.assert_array_equal(session.project.tokens, expected)
    page.undo(session)
    np.testing.assert_array_equal(session.project.tokens, now)
    assert len(session.project.tokens) == n

    kept = page.copy_span("none", 0, 3, session)
    assert "⚠" in kept[-1] and "pick a take" in kept[-1]


def test_bank_against_projection_of_the_same_take_follows_edits(page, generated):
    session = generated
    out = page.compare_with("projection", session)
    views = _views(out)
    assert len(views) == 2 and "projection" in views[1]["label"]
    assert views[1]["motion"] == {"key": views[0]["motion"]["key"]}  # same motion, sent once
    assert views[1]["pose"]["key"] != views[0]["pose"]["key"]
    bank, projection = session.poses.keypoints, session.compare_view.poses.keypoints
    assert bank.shape == projection.shape and np.abs(bank - projection).mean() > 0.5
    page.regenerate_span(0, 3, 11, session)
    np.testing.assert_array_equal(session.compare_view.result.tokens, session.project.tokens)
    out = page.compare_with("none", session)
    assert len(_views(out)) == 1 and session.compare_view is None


def test_timeline_edits_from_the_stage(page, generated):
    session = generated
    segs = session.project.segments
    border = segs[0].end
    out = page.resize_border(0, border + 0.3, session)
    assert "✓" in out[-1], out[-1]
    assert session.project.segments[0].end == pytest.approx(border + 0.3, abs=0.051)
    assert session.project.segments[1].start == session.project.segments[0].end
    out = page.add_segment(0.5, 1.0, session)
    assert "✓" in out[-1], out[-1]
    starts = [s.start for s in session.project.segments]
    assert 0.5 in starts and session.selected == starts.index(0.5)
    tl.validate(session.project.segments, session.project.duration_s)
    kept = page.add_segment(0.0, 0.1, session)
    assert "⚠" in kept[-1]
    assert page.select_span(9, 2, session) == (2, 9) and session.span == (2, 9)
    assert page.select_span(-4, 999, session) == (0, len(session.project.tokens) - 1)
    number, at, _ = page.select_segment(1, session, 1.23)
    assert (number, at) == (2, 1.23) and session.selected == 1


def test_a_reloaded_page_gets_everything_again(page, generated):
    session = generated
    light = page.stage_for(session)
    assert "data" not in light["audio"] and "data" not in light["views"][0]["motion"]
    full = page.resend_stage(session)
    assert full["audio"]["data"] and full["portrait"]["data"] and full["views"][0]["motion"]["data"]


def _decode(text: str, dtype) -> np.ndarray:
    import base64
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def _apply(held: np.ndarray | None, item: dict, name: str, dtype) -> np.ndarray:
    """What components/stage.js does with an item: whole, or the base with its runs replaced."""
    part = _decode(item[name], dtype)
    if "base" not in item:
        return part
    out = held.reshape(-1).copy()
    row = held.size // item["frames"]
    k = 0
    for start, count in item["runs"]:
        out[start * row:(start + count) * row] = part[k:k + count * row]
        k += count * row
    assert k == part.size
    return out


def test_frames_travel_as_deltas_over_what_the_page_holds():
    cache = StageCache()
    a = np.arange(100 * 6, dtype="<i2").reshape(100, 6)
    first = cache.frames_item("motion:0", "k1", lambda: ({"frames": 100}, {"data": a}, {}))
    assert "base" not in first
    np.testing.assert_array_equal(_apply(None, first, "data", "<i2"), a.reshape(-1))
    b = a.copy()
    b[40:45, 2] += 5
    second = cache.frames_item("motion:0", "k2", lambda: ({"frames": 100}, {"data": b}, {}))
    assert second["base"] == "k1" and second["runs"] == [[40, 5]] and _decode(second["data"], "<i2").size == 5 * 6
    np.testing.assert_array_equal(_apply(a, second, "data", "<i2"), b.reshape(-1))
    same = cache.frames_item("motion:0", "k3", lambda: ({"frames": 100}, {"data": b.copy()}, {}))
    assert same["base"] == "k2" and same["data"] == "" and same["runs"] == []
    # two separate changes: two runs; a one-step wobble (float noise) is not a change
    d = b.copy()
    d[10, 0] += 7
    d[90:92, 1] -= 3
    d[50, 3] += 1
    two = cache.frames_item("motion:0", "k3b", lambda: ({"frames": 100}, {"data": d}, {}))
    assert two["runs"] == [[10, 1], [90, 2]]
    held = _apply(b, two, "data", "<i2").reshape(100, 6)
    assert np.abs(held.astype(int) - d).max() <= 1 and held[50, 3] == b[50, 3]
    c = b + 5  # every frame changed: the whole array
    third = cache.frames_item("motion:0", "k4", lambda: ({"frames": 100}, {"data": c}, {}))
    assert "base" not in third
    assert cache.frames_item("motion:0", "k4", lambda: ({}, {}, {})) == {"key": "k4"}
    cache.forget()  # a reloaded page: whole again
    assert "base" not in cache.frames_item("motion:0", "k5", lambda: ({"frames": 100}, {"data": a}, {}))


def test_an_edit_sends_the_changed_frames_and_the_page_rebuilds_the_take(page, tmp_path):
    """20 s of speech, one token regenerated in the middle: the reply carries the frames the edit
    touched (the decoder's reach), and base + delta give exactly the new take."""
    from components.stage import quantize_int16, quantize_uint8
    from pipeline.audio import load_audio, save_wav

    clip = load_audio(str(SPEECH))
    n = 20 * clip.sample_rate
    long_speech = save_wav(load_audio((clip.sample_rate, np.tile(clip.samples, 3)[:n])), tmp_path / "long.wav")
    session = page.analyze_portrait(str(PORTRAIT), page.new_session())[0]
    session = page.load_speech(str(long_speech), session)[0]
    assert "✓" in page.generate_motion(0, session)[-1]
    full = page.resend_stage(session)["views"][0]
    held_motion = _apply(None, full["motion"], "data", "<i2")
    held_xy, held_scores = _apply(None, full["pose"], "data", "<i2"), _apply(None, full["pose"], "scores", np.uint8)
    out = page.regenerate_span(50, 50, 4, session)
    assert "✓" in out[-1], out[-1]
    view = out[3]["views"][0]
    motion, pose = view["motion"], view["pose"]
    assert motion["base"] == full["motion"]["key"]
    assert 0 < len(motion["data"]) < 0.6 * len(full["motion"]["data"])  # the token did change
    assert pose["base"] == full["pose"]["key"] and len(pose["data"]) < 0.6 * len(full["pose"]["data"])
    from pipeline.motion.features import root_track, to_local

    local = to_local(session.result.joints, root_track(session.result.features))
    def off_by(held, item, name, dtype, truth) -> int:
        return int(np.abs(_apply(held, item, name, dtype).astype(np.int64) - truth.reshape(-1)).max())

    # within one quantisation step (1 mm, 1/8 px: float noise the delta does not resend)
    assert off_by(held_motion, motion, "data", "<i2", quantize_int16(local, motion["scale"])) <= DELTA_TOLERANCE
    step = 2
    kp = session.poses.keypoints[::step].astype(np.float64) * (pose["width"] / session.poses.image_size[0])
    rel = kp - kp[:, [5, 6]].mean(axis=1, keepdims=True)
    assert off_by(held_xy, pose, "data", "<i2", quantize_int16(rel, pose["scale"])) <= DELTA_TOLERANCE
    assert off_by(held_scores, pose, "scores", np.uint8, quantize_uint8(session.poses.scores[::step])) <= DELTA_TOLERANCE
