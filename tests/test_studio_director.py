"""The Director page: the project model and its zip, the timeline logic, the page's handlers on the
bundled examples, and the running app driven by a script (gradio_client)."""

from __future__ import annotations

import base64
import json
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest

from components.stage import unpack_int16
from studio import timeline as tl
from studio.project import (
    Project,
    ProjectError,
    autosave,
    new_session_id,
    open_project,
    restore_autosave,
    save_project,
    session_dir,
)
from studio.timeline import Segment, TimelineError

REPO = Path(__file__).resolve().parents[1]
PORTRAIT = REPO / "assets" / "examples" / "astronaut.jpg"
SPEECH = REPO / "assets" / "examples" / "speech.wav"


# ----------------------------------------------------------------------------- timeline logic

def _segs(*cuts, duration=6.0):
    edges = [0.0, *cuts, duration]
    return [Segment(a, b) for a, b in zip(edges[:-1], edges[1:])]


def test_from_pauses_covers_the_audio():
    segs = tl.from_pauses([(0.0, 1.95), (1.95, 4.3), (4.3, 6.86)], 6.86)
    assert [(s.start, s.end) for s in segs] == [(0.0, 1.95), (1.95, 4.3), (4.3, 6.86)]
    assert tl.validate(segs, 6.86) == segs
    assert tl.from_pauses([], 3.0) == [Segment(0.0, 3.0)]


def test_split_merge_delete_keep_coverage_and_fields():
    segs = tl.set_prompt(_segs(2.0, 4.0), 1, "waves")
    split = tl.split(segs, 3.0)
    assert [(s.start, s.end) for s in split] == [(0, 2), (2, 3), (3, 4), (4, 6)]
    assert split[1].prompt == split[2].prompt == "waves"
    merged = tl.merge_with_next(split, 1)
    assert [(s.start, s.end, s.prompt) for s in merged] == [(0, 2, ""), (2, 4, "waves"), (4, 6, "")]
    deleted = tl.delete(merged, 1)
    assert [(s.start, s.end) for s in deleted] == [(0, 4), (4, 6)] and deleted[0].prompt == ""
    first = tl.delete(merged, 0)
    assert first[0].start == 0.0 and first[0].end == 4.0 and first[0].prompt == "waves"
    for bad in (lambda: tl.split(segs, 0.1), lambda: tl.merge_with_next(segs, 2),
                lambda: tl.delete([Segment(0, 6)], 0), lambda: tl.delete(segs, 7)):
        with pytest.raises(TimelineError):
            bad()
    assert segs == tl.set_prompt(_segs(2.0, 4.0), 1, "waves")  # inputs never modified


def test_resize_clamps_without_overlap_and_add_carves_a_segment():
    segs = _segs(2.0, 4.0)
    moved = tl.resize(segs, 1, start=1.0, end=5.0)
    assert [(s.start, s.end) for s in moved] == [(0, 1), (1, 5), (5, 6)]
    squeezed = tl.resize(segs, 0, end=10.0)  # clamped: every later segment keeps MIN_SEGMENT_S
    tl.validate(squeezed, 6.0)
    assert squeezed[-1].end == 6.0 and all(s.duration >= tl.MIN_SEGMENT_S - 1e-9 for s in squeezed)
    added = tl.add(segs, 1.0, 3.0, "raises both arms", seed=2)
    assert [(s.start, s.end, s.prompt) for s in added] == [(0, 1, ""), (1, 3, "raises both arms"),
                                                         (3, 4, ""), (4, 6, "")]
    tl.validate(added, 6.0)
    assert tl.set_locked(tl.set_seed(segs, 2, 7), 2, True)[2] == Segment(4.0, 6.0, "", 7, True)


def test_table_edits_move_borders_from_either_side_and_keep_rows():
    segs = _segs(2.0, 4.0)
    rows = tl.to_rows(segs)
    rows[0][1] = 2.5          # end of row 1
    rows[2][0] = 3.5          # start of row 3
    rows[1][2] = "waves"
    rows[2][4] = True
    new = tl.from_rows(segs, rows, 6.0)
    assert [(s.start, s.end) for s in new] == [(0, 2.5), (2.5, 3.5), (3.5, 6)]
    assert new[1].prompt == "waves" and new[2].locked
    with pytest.raises(TimelineError, match="rows"):
        tl.from_rows(segs, rows[:2], 6.0)
    rows[0][1] = "soon"
    with pytest.raises(TimelineError, match="number"):
        tl.from_rows(segs, rows, 6.0)


def test_history_undo_redo():
    h = tl.History(limit=3)
    for k in range(5):
        h.push(k)
    assert h.undo_stack == [2, 3, 4]
    assert h.undo(5) == 4 and h.redo(4) == 5
    h.push(9)
    assert not h.can_redo
    with pytest.raises(TimelineError):
        tl.History().undo(0)


# ----------------------------------------------------------------------------- project zip

def _project(tmp_path: Path) -> Project:
    portrait = tmp_path / "p.jpg"
    portrait.write_bytes(PORTRAIT.read_bytes())
    audio = tmp_path / "a.wav"
    audio.write_bytes(SPEECH.read_bytes())
    p = Project(portrait_file=str(portrait), audio_file=str(audio), duration_s=6.0,
                segments=_segs(2.0, 4.0), name="demo")
    p.checkpoint()
    p.segments = tl.set_prompt(p.segments, 1, "waves with the right hand")
    p.tokens = np.arange(30, dtype=np.int64) * 7
    p.locked = np.arange(30) % 3 == 0
    p.add_take("take 1")
    p.settings = {"seed": 3}
    return p


def test_project_round_trips_through_the_zip(tmp_path):
    p = _project(tmp_path)
    path = save_project(p, tmp_path / "out" / "project.zip")
    with zipfile.ZipFile(path) as zf:
        assert {"project.json", "portrait.jpg", "audio.wav", "tokens.npy", "locked.npy"} <= set(zf.namelist())
    back = open_project(path, tmp_path / "opened")
    assert back.segments == p.segments and back.name == "demo" and back.settings == {"seed": 3}
    np.testing.assert_array_equal(back.tokens, p.tokens)
    np.testing.assert_array_equal(back.locked, p.locked)
    assert Path(back.portrait_file).read_bytes() == PORTRAIT.read_bytes()
    assert Path(back.audio_file).read_bytes() == SPEECH.read_bytes()
    assert back.takes[0].tokens == p.tokens.tolist()
    back.undo()
    assert back.segments == _segs(2.0, 4.0) and back.tokens is None


def _rezip(src: Path, dst: Path, replace: dict) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in replace:
                if replace[name] is not None:
                    zout.writestr(name, replace[name])
            else:
                zout.writestr(name, zin.read(name))
        for name, data in replace.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)
    return dst


def test_corrupt_projects_give_clear_errors_and_never_unpickle(tmp_path):
    import io
    import pickle

    good = save_project(_project(tmp_path), tmp_path / "good.zip")
    not_zip = tmp_path / "junk.zip"
    not_zip.write_bytes(b"this is not a zip")
    data = json.loads(zipfile.ZipFile(good).read("project.json"))
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    overlap = dict(data, segments=[{"start": 0, "end": 4, "prompt": "", "seed": 0, "locked": False},
                                   {"start": 2, "end": 6, "prompt": "", "seed": 0, "locked": False}])
    cases = {
        "not a zip": (not_zip, "not a zip"),
        "no json": (_rezip(good, tmp_path / "a.zip", {"project.json": None}), "no project.json"),
        "bad json": (_rezip(good, tmp_path / "b.zip", {"project.json": "{oops"}), "damaged"),
        "pickle": (_rezip(good, tmp_path / "c.zip", {"tokens.npy": pickled.getvalue()}), "not a plain numeric"),
        "codes": (_rezip(good, tmp_path / "d.zip", {"tokens.npy": _npy(np.full(30, 999))}), "codebook"),
        "overlap": (_rezip(good, tmp_path / "e.zip", {"project.json": json.dumps(overlap)}), "timeline"),
        "traversal": (_rezip(good, tmp_path / "f.zip", {"../evil.txt": "x"}), "unexpected path"),
        "newer": (_rezip(good, tmp_path / "g.zip", {"project.json": json.dumps(dict(data, version=99))}), "newer"),
    }
    calls = []
    real_loads = pickle.loads
    pickle.loads = lambda *a, **k: calls.append(a) or real_loads(*a, **k)
    try:
        for label, (path, match) in cases.items():
            with pytest.raises(ProjectError, match=match):
                open_project(path, tmp_path / "dest")
    finally:
        pickle.loads = real_loads
    assert not calls
    assert not (tmp_path / "evil.txt").exists()


def _npy(array) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def test_autosave_is_per_session_and_ids_are_checked(tmp_path):
    p = _project(tmp_path)
    a, b = new_session_id(), new_session_id()
    autosave(p, a, tmp_path / "sessions")
    assert restore_autosave(a, tmp_path / "sessions").segments == p.segments
    assert restore_autosave(b, tmp_path / "sessions") is None
    assert restore_autosave("../../etc", tmp_path / "sessions") is None
    with pytest.raises(ProjectError):
        session_dir("../x", tmp_path)


# ----------------------------------------------------------------------------- handlers on the examples

@pytest.fixture(scope="module")
def short_speech(tmp_path_factory) -> Path:
    """The first 2.4 s of the example speech (keeps generation and rendering quick)."""
    from pipeline.audio import load_audio, save_wav

    clip = load_audio(str(SPEECH))
    out = tmp_path_factory.mktemp("speech") / "short.wav"
    return save_wav(load_audio((clip.sample_rate, clip.samples[: int(2.4 * clip.sample_rate)])), out)


@pytest.fixture(scope="module")
def page():
    from studio import director_page
    return director_page


def test_example_speech_is_bundled_and_cut_at_pauses(page):
    from pipeline.audio import load_audio
    clip = load_audio(str(SPEECH))
    assert 6.0 <= clip.duration_s <= 8.0
    out = page.load_speech(str(SPEECH), None)
    session = out[0]
    assert len(session.project.segments) >= 2 and "✓" in out[-1]
    assert out[4] == tl.to_rows(session.project.segments)
    stage = out[3]
    assert len(stage["segments"]) == len(session.project.segments)
    assert stage["duration"] == pytest.approx(clip.duration_s, abs=1e-3)
    assert stage["audio"]["data"].startswith("data:audio/")
    low, high = stage["audio"]["wave"]  # the waveform travels with the speech, once
    assert len(low) == len(high) > 100 and max(max(high), -min(low)) == pytest.approx(1.0, abs=1e-3)
    assert "speech" in (REPO / "assets" / "examples" / "README.md").read_text().lower()


@pytest.mark.slow
def test_handlers_analyze_generate_regenerate_render(page, short_speech, tmp_path):
    from pipeline.video import probe_video

    out = page.analyze_portrait(str(PORTRAIT), page.new_session())
    session = out[0]
    assert session.portrait is not None and out[1].shape[2] == 3 and "portrait" in out[2]
    # the overlay differs from the photo (the skeleton is drawn)
    assert np.abs(out[1].astype(int) - session.portrait.image.astype(int)).sum() > 0

    out = page.load_speech(str(short_speech), session)
    session = out[0]
    if len(session.project.segments) == 1:
        out = page.split_segment(1.2, session)
        assert "✓" in out[-1], out[-1]
    rows = tl.to_rows(session.project.segments)
    rows[0][2] = "a person waves with the right hand"
    out = page.edit_segments(rows, session)
    assert session.project.segments[0].prompt == "a person waves with the right hand"

    out = page.generate_motion(0, session)
    assert "✓" in out[-1], out[-1]
    tokens = session.project.tokens.copy()
    assert len(tokens) == 12 and session.result.joints.shape == (48, 22, 3)
    view = out[3]["views"][0]
    # what the page draws: local joints (1 mm steps) turned and moved by the root track
    local = unpack_int16(view["motion"]["data"], view["motion"]["scale"], (48, 22, 3))
    track = np.frombuffer(base64.b64decode(view["motion"]["track"]), dtype="<f4").reshape(48, 3).astype(np.float64)
    c, s_ = np.cos(track[:, 2])[:, None], np.sin(track[:, 2])[:, None]
    joints = np.stack([c * local[..., 0] + s_ * local[..., 2] + track[:, :1], local[..., 1],
                       -s_ * local[..., 0] + c * local[..., 2] + track[:, 1:2]], axis=-1)
    assert np.abs(joints - session.result.joints).max() <= 1e-3
    pose = view["pose"]
    assert pose["frames"] == len(session.poses.keypoints[::2]) and pose["points"] == 133
    assert session.poses is not None and len(session.poses) == round(2.4 * 25)

    # a short span under one prompt often resamples to the same codes; try seeds until one differs
    for span_seed in range(5, 45):
        out = page.regenerate_span(3, 6, span_seed, session)
        assert "✓" in out[-1], out[-1]
        if not np.array_equal(session.project.tokens, tokens):
            break
    assert not np.array_equal(session.project.tokens, tokens), "40 seeds gave the same span"
    # an edit resends the new motion and poses, not the speech or the portrait the page holds
    edited = out[3]
    assert "data" not in edited["audio"] and "data" not in edited["portrait"]
    assert "data" in edited["views"][0]["motion"] and "data" in edited["views"][0]["pose"]
    assert edited["views"][0]["motion"]["key"] != view["motion"]["key"]
    new = session.project.tokens
    np.testing.assert_array_equal(new[:3], tokens[:3])
    np.testing.assert_array_equal(new[7:], tokens[7:])

    page.lock_span(0, 5, session)
    assert session.project.locked[:6].all() and not session.project.locked[6:].any()
    before = session.project.tokens.copy()
    out = page.regenerate_span(0, 5, 9, session)  # all locked: refused, nothing changes
    assert "locked" in out[-1] and np.array_equal(session.project.tokens, before)

    out = page.undo(session)  # the lock goes away again
    assert not session.project.locked.any()

    v = page.render_video("warp", 256, 25, 15, 0, session)
    assert "✓" in v[-1], v[-1]
    info = probe_video(v[1])
    assert info["video"] and info["audio"] and info["frames"] == round(2.4 * 25)
    failed = page.render_video("diffusion", 256, 25, 15, 0, session)
    assert "unavailable" in failed[-1] and session.files["video"] == v[1]

    exported = page.export_motion(session)
    kinds = {Path(f).suffix for f in exported[6]}
    assert {".bvh", ".npz", ".mp4", ".json"} <= kinds
    from pipeline.portrait.wholebody import WholeBodyPose
    poses_json = next(f for f in exported[6] if f.endswith(".json"))
    back = WholeBodyPose.from_json(json.loads(Path(poses_json).read_text()))
    assert len(back) == len(session.poses) and back.image_size == session.poses.image_size
    assert np.abs(back.keypoints - session.poses.keypoints).max() <= 0.005 + 1e-4

    saved = page.save_project_file(session)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"junk")
    kept = page.open_project_file(str(bad), session)
    assert kept[0] is session and "unchanged" in kept[-1] and session.project.tokens is not None

    opened = page.open_project_file(saved, page.new_session())
    np.testing.assert_array_equal(opened[0].project.tokens, session.project.tokens)
    np.testing.assert_array_equal(opened[0].result.tokens, session.project.tokens)
    assert opened[0].portrait is not None


def test_bad_inputs_warn_and_keep_the_project(page, tmp_path):
    out = page.load_speech(str(SPEECH), None)
    session = out[0]
    segments = list(session.project.segments)
    silent = tmp_path / "silence.wav"
    from pipeline.audio import save_wav
    from pipeline.audio.io import AudioClip
    save_wav(AudioClip(np.zeros(16000, np.float32), 16000), silent)
    kept = page.load_speech(str(silent), session)
    assert kept[0] is session and session.project.segments == segments and "⚠" in kept[-1]
    not_image = tmp_path / "x.jpg"
    not_image.write_bytes(b"no")
    kept = page.analyze_portrait(str(not_image), session)
    assert kept[0] is session and "⚠" in kept[-1]
    kept = page.merge_segment(99, session)
    assert "no segment 99" in kept[-1]
    kept = page.regenerate_span(0, 3, 1, session)
    assert "generate the motion first" in kept[-1]


def test_restore_session_on_page_load(page, tmp_path):
    root = tmp_path / "sessions"
    out = page.restore_session("", None, root)
    sid = out[-1]
    assert len(sid) == 32 and out[0].session_id == sid
    page.load_speech(str(SPEECH), out[0])
    again = page.restore_session(sid, None, root)
    assert again[-1] == sid and again[0].project.segments == out[0].project.segments
    other = page.restore_session("", None, root)
    assert other[-1] != sid and not other[0].project.segments
    # A user who loaded speech before the page load finished keeps it (and it gets autosaved).
    early = page.load_speech(str(SPEECH), None)[0]
    late = page.restore_session("", early, root)
    assert late[0] is early and early.session_id == late[-1]
    assert (root / late[-1] / "autosave.zip").is_file()


# ----------------------------------------------------------------------------- the running app

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_serves_the_director_to_a_script(tmp_path, short_speech, monkeypatch):
    from gradio_client import Client, handle_file

    from studio.layout import build_app, launch_style

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(dataset_dir=tmp_path / "no-dataset", sessions_root=tmp_path / "sessions")
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_style())
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path / "dl"))
        names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
        assert {"/analyze_portrait", "/load_speech", "/generate", "/regenerate_span", "/render",
                "/save_project", "/open_project", "/lock_span", "/undo", "/export_motion", "/add_segment",
                "/compare_with", "/use_take", "/copy_span"} <= names
        out = client.predict(handle_file(str(PORTRAIT)), api_name="/analyze_portrait")
        assert "✓" in out[-1]
        out = client.predict(handle_file(str(short_speech)), api_name="/load_speech")
        assert "✓" in out[-1]
        table = out[3]
        rows = table["data"] if isinstance(table, dict) else table
        rows[0][2] = "a person raises both arms"
        out = client.predict({"headers": tl.TABLE_HEADERS, "data": rows}, api_name="/edit_segments")
        out = client.predict(0, api_name="/generate")
        assert "Motion generated" in out[-1], out[-1]
        stage = out[2]
        stage = json.loads(stage) if isinstance(stage, str) else stage
        assert stage["views"][0]["motion"]["frames"] == 4 * len(stage["tokens"]["ids"])
        out = client.predict("projection", api_name="/compare_with")
        assert "Comparing with" in out[-1], out[-1]
        stage = json.loads(out[2]) if isinstance(out[2], str) else out[2]
        assert len(stage["views"]) == 2
        saved = client.predict(api_name="/save_project")
        path = saved if isinstance(saved, str) else saved["value"]
        with zipfile.ZipFile(path) as zf:
            project = json.loads(zf.read("project.json"))
        assert project["segments"][0]["prompt"] == "a person raises both arms" and project["has_tokens"]
    finally:
        demo.close()


@pytest.mark.slow
def test_browser_loads_examples_and_generates(tmp_path, monkeypatch):
    """The page in a real browser (Debian's chromium through Playwright): Load examples, Generate."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("needs /usr/bin/chromium")
    from studio.layout import build_app, launch_style

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(dataset_dir=tmp_path / "no-dataset", sessions_root=tmp_path / "sessions")
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_style())
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded", timeout=60_000)
                status = page.locator("#director-status")
                page.get_by_role("button", name="Load examples").click()
                sync_api.expect(status).to_contain_text("Speech loaded", timeout=60_000)
                page.get_by_role("button", name="Generate", exact=True).click()
                sync_api.expect(status).to_contain_text("Motion generated", timeout=90_000)
                stage = page.locator("#director-stage .vs-stage")
                sync_api.expect(stage).to_have_attribute("data-views", "1")
                assert stage.get_attribute("data-frame3d") == "0"
                # the session id is in this browser's storage and its autosave on disk
                sessions = list((tmp_path / "sessions").glob("*/autosave.zip"))
                assert len(sessions) == 1
            finally:
                browser.close()
    finally:
        demo.close()


def test_idle_sessions_are_pruned_and_others_kept(tmp_path):
    import os
    import time

    from studio.project import prune_sessions

    root = tmp_path / "sessions"
    p = _project(tmp_path)
    old, fresh = new_session_id(), new_session_id()
    autosave(p, old, root)
    autosave(p, fresh, root)
    stranger = root / "not-a-session"
    stranger.mkdir()
    week_ago = time.time() - 8 * 86400
    os.utime(root / old / "autosave.zip", (week_ago, week_ago))
    assert prune_sessions(root, max_age_days=7) == [old]
    assert not (root / old).exists() and (root / fresh / "autosave.zip").is_file() and stranger.is_dir()
    assert prune_sessions(tmp_path / "missing") == []
