"""Hostile and careless input (issue 17): bad files and numbers get a clear message in bounded time
and memory, never lock a session, and never lose work.

Every bad file here is made by the test itself (no committed binaries). The CLI cases run as a
small corpus: each must stop with exit status 2 and an ``error:`` line, no traceback, quickly.
"""

from __future__ import annotations

import io
import json
import socket
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import orjson
import pytest

from pipeline.validation import MAX_SEED, InputError, check_int, check_number, check_seed
from studio import timeline as tl

REPO = Path(__file__).resolve().parents[1]
PORTRAIT = REPO / "assets" / "examples" / "astronaut.jpg"
SPEECH = REPO / "assets" / "examples" / "speech.wav"


# ----------------------------------------------------------------------------- helpers

def _motion(n_frames: int = 30) -> np.ndarray:
    """A person standing and turning a little (22 SMPL joints, metres)."""
    from pipeline.motion import skeleton

    rot = np.tile(np.eye(3), (n_frames, 22, 1, 1))
    angle = np.linspace(0, 0.5, n_frames)
    rot[:, 0] = np.stack([np.stack([np.cos(angle), np.zeros_like(angle), np.sin(angle)], -1),
                          np.stack([np.zeros_like(angle), np.ones_like(angle), np.zeros_like(angle)], -1),
                          np.stack([-np.sin(angle), np.zeros_like(angle), np.cos(angle)], -1)], axis=1)
    root = np.stack([np.linspace(0, 0.2, n_frames), np.full(n_frames, skeleton.REST_PELVIS_HEIGHT),
                     np.zeros(n_frames)], -1)
    return skeleton.forward_kinematics(rot, root)


def _bvh_with_frame_time(tmp_path: Path, frame_time: str, n_frames: int = 30, name: str = "m.bvh") -> Path:
    from pipeline.motion.bvh import write_bvh

    path = write_bvh(tmp_path / name, _motion(n_frames))
    lines = path.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("Frame Time:"))
    lines[k] = f"Frame Time: {frame_time}"
    path.write_text("\n".join(lines) + "\n")
    return path


def _bounded(fn, seconds: float = 20.0, megabytes: float = 200.0):
    """fn() with its wall time and Python peak allocation checked; returns its result."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = fn()
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * 1e6, f"allocated {peak / 1e6:.0f} MB"
    return out


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory) -> Path:
    """The first 2.4 s of the example speech."""
    from pipeline.audio import load_audio, save_wav

    clip = load_audio(str(SPEECH))
    out = tmp_path_factory.mktemp("speech") / "short.wav"
    return save_wav(load_audio((clip.sample_rate, clip.samples[: int(2.4 * clip.sample_rate)])), out)


@pytest.fixture(scope="module")
def page():
    from studio import director_page
    return director_page


# ----------------------------------------------------------------------------- the checks themselves

def test_number_checks_refuse_what_python_would_accept():
    assert check_seed("") == 0 and check_seed(None) == 0 and check_seed(7.0) == 7 and check_seed(MAX_SEED) == MAX_SEED
    for bad in (1e30, -1, 2**70, 1.5, "nan", "inf", "1_0", True, "seven"):
        with pytest.raises(InputError):
            check_seed(bad)
    with pytest.raises(InputError, match="plain number"):
        check_number("1_0", "the time", 0, 100)          # float("1_0") is 10.0
    with pytest.raises(InputError, match="between 1 and 60"):
        check_number(0, "the frame rate", 1, 60)
    assert check_int("12", "x", 0, 20) == 12


# ----------------------------------------------------------------------------- 1. BVH frame time

@pytest.mark.parametrize("frame_time", ["1000000", "100"])
def test_bvh_with_a_huge_frame_time_is_refused_before_allocating(tmp_path, frame_time):
    from pipeline.motion.bvh import BvhFormatError
    from pipeline.motion.retarget import load_bvh_motion

    path = _bvh_with_frame_time(tmp_path, frame_time)
    with pytest.raises(BvhFormatError, match="Frame Time") as err:
        _bounded(lambda: load_bvh_motion(path), seconds=10, megabytes=50)
    assert "m.bvh" in str(err.value) and "1800 s" in str(err.value)


def test_bvh_upload_in_the_studio_gets_a_message_and_keeps_the_motion(tmp_path):
    from studio import motion_page

    good = _bvh_with_frame_time(tmp_path, "0.05", name="good.bvh")
    shown = motion_page.load_bvh(str(good), None)
    state = shown[0]
    assert state is not None and state.joints.shape[1:] == (22, 3)
    bad = _bvh_with_frame_time(tmp_path, "1000000", name="huge.bvh")
    out = _bounded(lambda: motion_page.load_bvh(str(bad), state), seconds=10, megabytes=50)
    assert out[0] is state                         # the motion on screen stays
    assert "Frame Time" in out[-1] and "huge.bvh" in out[-1]


def test_bvh_oddities_get_messages_not_tracebacks(tmp_path):
    from pipeline.motion.bvh import BvhFormatError, parse_bvh
    from pipeline.motion.retarget import load_bvh_motion

    empty = _bvh_with_frame_time(tmp_path, "0.05", name="empty.bvh")
    text = empty.read_text().splitlines()
    k = next(i for i, line in enumerate(text) if line.startswith("Frames:"))
    empty.write_text("\n".join(text[:k] + ["Frames: 0", "Frame Time: 0.05"]) + "\n")
    with pytest.raises(BvhFormatError, match="no motion"):
        load_bvh_motion(empty)

    depth = 3000                                   # deeper than Python's recursion limit
    nested = ["HIERARCHY", "ROOT J0", "{", "OFFSET 0 0 0", "CHANNELS 3 Zrotation Xrotation Yrotation"]
    for i in range(1, depth):
        nested += [f"JOINT J{i}", "{", "OFFSET 0 1 0", "CHANNELS 3 Zrotation Xrotation Yrotation"]
    nested += ["}"] * depth + ["MOTION", "Frames: 1", "Frame Time: 0.05", " ".join(["0"] * 3 * depth)]
    deep = tmp_path / "deep.bvh"
    deep.write_text("\n".join(nested) + "\n")
    with pytest.raises(BvhFormatError, match="nested more than"):
        parse_bvh(deep)


# ----------------------------------------------------------------------------- 2. seeds and typed numbers

def _loaded(page, speech: Path):
    out = page.load_speech(str(speech), page.new_session())
    assert "✓" in out[-1], out[-1]
    return out[0]


def test_a_seed_of_1e30_in_the_table_is_refused_and_the_reply_serialises(page, short_speech):
    session = _loaded(page, short_speech)
    before = list(session.project.segments)
    rows = tl.to_rows(before)
    rows[0][3] = 1e30
    out = page.edit_segments(rows, session)
    assert out[0] is session and session.project.segments == before
    assert "⚠" in out[-1] and "seed" in out[-1] and "2147483647" in out[-1]
    rows[0][3] = 12
    out = page.edit_segments(rows, session)
    assert session.project.segments[0].seed == 12
    orjson.dumps(out[4])                           # what Gradio sends back must serialise
    for bad in (1e30, -3, 2.5, float("inf")):
        kept = page.generate_motion(bad, session)
        assert "⚠" in kept[-1] and "seed" in kept[-1] and session.project.tokens is None


def test_typed_times_and_spans_get_messages(page, short_speech):
    session = _loaded(page, short_speech)
    before = list(session.project.segments)
    for bad in (float("inf"), 1e30, "1_0", float("nan")):
        out = page.split_segment(bad, session)
        assert "⚠" in out[-1] and session.project.segments == before
        out = page.add_segment(bad, 1.0, session)
        assert "⚠" in out[-1] and session.project.segments == before
    assert "Motion generated" in page.generate_motion(0, session)[-1]
    assert page.select_span(float("inf"), 3, session) is not None   # no OverflowError
    out = page.regenerate_span(float("inf"), 3, 1, session)
    assert "⚠" in out[-1] and "first token" in out[-1] and "OverflowError" not in out[-1]
    out = page.render_video("warp", 20000, 25, 15, 0, session)
    assert "resolution" in out[-1] and "2048" in out[-1]
    out = page.render_video("warp", 256, 1e5, 15, 0, session)
    assert "frame rate" in out[-1]
    out = page.render_video("warp", 256, 25, 1e9, 0, session)
    assert "blink" in out[-1]


def _project_with_seed(page, speech: Path, folder: Path, seed) -> tuple[Path, str]:
    """A saved project whose first segment has a prompt and (written into the json) ``seed``."""
    session = _loaded(page, speech)
    rows = tl.to_rows(session.project.segments)
    rows[0][2] = "a person waves"
    page.edit_segments(rows, session)
    saved = Path(page.save_project_file(session))
    out = folder / "seeded.zip"
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "project.json":
                project = json.loads(data)
                project["segments"][0]["seed"] = seed
                project["settings"] = {"fps": 1e9, "resolution": 20000, "seed": 5}
                project["duration_s"] = "nan"
                data = json.dumps(project).encode()
            dst.writestr(info, data)
    return out, project["segments"][0]["prompt"]


def test_opening_a_project_with_a_bad_seed_resets_it_says_so_and_keeps_the_rest(page, short_speech, tmp_path):
    path, prompt = _project_with_seed(page, short_speech, tmp_path, 1e30)
    out = page.open_project_file(str(path), page.new_session())
    session = out[0]
    assert "Opened" in out[-1] and "reset" in out[-1].lower() and "seed 1e" in out[-1], out[-1]
    assert session.project.segments[0].seed == 0 and session.project.segments[0].prompt == prompt
    assert "fps" not in session.project.settings and session.project.settings["seed"] == 5
    assert session.project.duration_s == pytest.approx(session.clip.duration_s, abs=0.01)
    orjson.dumps(out[4])
    out = page.generate_motion(0, session)
    assert "Motion generated" in out[-1], out[-1]


def test_restore_survives_a_bad_saved_seed(page, short_speech, tmp_path):
    from studio import project as proj

    root = tmp_path / "sessions"
    sid = page.restore_session("", None, root)[-1]
    path, prompt = _project_with_seed(page, short_speech, tmp_path, 10**30)
    session_zip = proj.session_dir(sid, root) / proj.AUTOSAVE_NAME
    session_zip.parent.mkdir(parents=True, exist_ok=True)
    session_zip.write_bytes(path.read_bytes())
    out = page.restore_session(sid, None, root)
    assert "Restored" in out[-2] and "reset" in out[-2].lower(), out[-2]
    assert out[0].project.segments[0].prompt == prompt and out[0].project.segments[0].seed == 0
    orjson.dumps(out[4])
    again = page.restore_session(sid, None, root)     # the repaired autosave restores cleanly
    assert "Restored" in again[-2] and "reset" not in again[-2].lower()


def test_project_format_version_and_duration_messages(tmp_path):
    from studio.project import Project, ProjectError, open_project, save_project
    from studio.timeline import Segment

    saved = save_project(Project(duration_s=2.0, segments=[Segment(0.0, 2.0)]), tmp_path / "p.zip")
    project = json.loads(zipfile.ZipFile(saved).read("project.json"))
    project["version"] = "1"
    bad = tmp_path / "v.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("project.json", json.dumps(project))
    with pytest.raises(ProjectError) as err:
        open_project(bad, tmp_path / "x")
    assert "newer" not in str(err.value) and "version" in str(err.value)


# ----------------------------------------------------------------------------- 3. render --motion

def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_render_motion_tokens_are_checked_against_the_audio_first(tmp_path, short_speech, capsys):
    from pipeline.__main__ import main

    n = 12                                          # 2.4 s of speech: 12 tokens
    cases = {
        "many.npz": (np.zeros(200_000, np.int64), "200000 motion tokens but this audio needs 12"),
        "few.npz": (np.zeros(n - 1, np.int64), "needs 12"),
        "range.npz": (np.full(n, 900, np.int64), "0..511"),
        "float.npz": (np.zeros(n, np.float32), "whole numbers"),
        "shape.npz": (np.zeros((n, 2), np.int64), "1-D"),
    }
    for name, (tokens, message) in cases.items():
        path = _npz(tmp_path / name, tokens=tokens)
        code = _bounded(lambda: main(["render", str(PORTRAIT), str(short_speech), "--motion", str(path),
                                      "--out", str(tmp_path / "v.mp4")]), seconds=15, megabytes=100)
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, (name, err)
    assert not (tmp_path / "v.mp4").exists()


def _truncated_npz(tmp_path: Path) -> Path:
    path = _npz(tmp_path / "cut.npz", tokens=np.zeros(12, np.int64), joints=np.zeros((48, 22, 3)))
    path.write_bytes(path.read_bytes()[:-40])
    return path


def _object_npz(tmp_path: Path) -> Path:
    path = tmp_path / "obj.npz"
    np.savez(path, tokens=np.array([{"a": 1}], dtype=object), joints=np.array([None], dtype=object))
    return path


def _not_zip(tmp_path: Path) -> Path:
    path = tmp_path / "text.npz"
    path.write_text("hello")
    return path


def _npy(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.npy"
    np.save(path, np.zeros(12, np.int64))
    return path


BAD_MOTION_FILES = {"truncated": _truncated_npz, "objects": _object_npz, "not a zip": _not_zip, "npy": _npy}


@pytest.mark.parametrize("kind", sorted(BAD_MOTION_FILES))
def test_bad_motion_files_in_the_cli_get_messages_that_never_advise_pickle(kind, tmp_path, short_speech, capsys):
    from pipeline.__main__ import main

    path = BAD_MOTION_FILES[kind](tmp_path)
    runs = [["render", str(PORTRAIT), str(short_speech), "--motion", str(path), "--out", str(tmp_path / "v.mp4")]]
    if kind != "npy":
        runs.append(["export-bvh", str(path), str(tmp_path / "o.bvh")])
    for argv in runs:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error:") and path.name in err, err
        assert "pickle" not in err.replace("never unpickled", ""), err
        assert str(tmp_path) not in err                 # the user's file name, not a server path


# ----------------------------------------------------------------------------- 8. CLI options

BAD_OPTIONS = [
    ["--fps", "0"], ["--fps", "-25"], ["--fps", "0.001"], ["--fps", "1e5"], ["--resolution", "0"],
    ["--resolution", "20000"], ["--blink-rate", "1e9"], ["--seed", "-1"], ["--seed", str(2**70)],
    ["--articulation", "nan"], ["--fps", "1_0"],
]


@pytest.mark.parametrize("option", BAD_OPTIONS, ids=lambda o: " ".join(o))
def test_render_options_are_range_checked_by_argparse(option, tmp_path, capsys):
    from pipeline.__main__ import main

    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as stop:
        main(["render", str(PORTRAIT), str(SPEECH), "--out", str(tmp_path / "v.mp4"), *option])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and option[0] in err and "Traceback" not in err, err
    assert time.perf_counter() - t0 < 2


def test_generate_seed_and_segment_are_checked(capsys):
    from pipeline.__main__ import main

    with pytest.raises(SystemExit):
        main(["generate", str(SPEECH), "--seed", str(2**70)])
    assert "--seed" in capsys.readouterr().err
    assert main(["generate", str(SPEECH), "--segment", "1_0:2:wave"]) == 2
    assert "plain number" in capsys.readouterr().err


def test_generate_names_the_file_it_writes(tmp_path, short_speech, capsys):
    from pipeline.__main__ import main

    assert main(["generate", str(short_speech), "--out", str(tmp_path / "motion")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'motion.npz'}:" in out and (tmp_path / "motion.npz").is_file()


# ----------------------------------------------------------------------------- 4. undo a recording

def test_undo_after_loading_another_recording_brings_the_first_back(page, short_speech, tmp_path):
    from studio import project as proj

    session = _loaded(page, short_speech)
    assert "Motion generated" in page.generate_motion(0, session)[-1]
    first_audio, first_tokens = session.project.audio_file, session.project.tokens.copy()
    first_segments = list(session.project.segments)
    out = page.load_speech(str(SPEECH), session)
    assert "✓" in out[-1] and session.project.tokens is None
    assert session.clip.duration_s > 5

    out = page.undo(session)
    assert "✓" in out[-1] and "back" in out[-1], out[-1]
    assert session.project.audio_file == first_audio and session.clip.duration_s == pytest.approx(2.4, abs=0.01)
    np.testing.assert_array_equal(session.project.tokens, first_tokens)
    assert session.project.segments == first_segments and session.result is not None

    out = page.redo(session)                       # and the second recording comes back too
    assert "✓" in out[-1] and session.clip.duration_s > 5 and session.project.tokens is None
    page.undo(session)
    assert "✓" in page.regenerate_span(0, 3, 7, session)[-1]     # the motion fits its clip again

    # the step survives a save and an open (the earlier recording travels in the zip)
    first_tokens = session.project.tokens.copy()
    page.load_speech(str(SPEECH), session)
    reopened = page.open_project_file(page.save_project_file(session), page.new_session())[0]
    assert reopened.clip.duration_s > 5
    page.undo(reopened)
    assert reopened.clip.duration_s == pytest.approx(2.4, abs=0.01)
    np.testing.assert_array_equal(reopened.project.tokens, first_tokens)
    assert reopened.project.audio_file != first_audio and Path(reopened.project.audio_file).is_file()
    assert proj.MAX_HISTORY_AUDIO >= 1


# ----------------------------------------------------------------------------- 10. disk leaks

def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_a_project_that_fails_to_open_leaves_nothing_and_restores_add_no_copies(page, short_speech, tmp_path):
    root = tmp_path / "sessions"
    out = page.restore_session("", None, root)
    session, sid = out[0], out[-1]
    page.load_speech(str(short_speech), session)
    page.analyze_portrait(str(PORTRAIT), session)
    folder = session.folder()
    before = _files(folder)

    # a valid-looking project whose audio does not decode: opening fails after extraction
    bad = tmp_path / "bad-audio.zip"
    meta = {"format": "versastudio-project", "version": 1, "duration_s": 2.0, "audio": "audio.wav",
            "segments": [{"start": 0.0, "end": 2.0, "prompt": "", "seed": 0, "locked": False}]}
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.json", json.dumps(meta))
        zf.writestr("audio.wav", b"\0" * 2_000_000)
    kept = page.open_project_file(str(bad), session)
    assert kept[0] is session and "⚠" in kept[-1]
    assert _files(folder) == before

    first = page.restore_session(sid, None, root)
    assert "Restored" in first[-2]
    after_one = _files(folder)
    for _ in range(2):
        assert "Restored" in page.restore_session(sid, None, root)[-2]
    assert _files(folder) == after_one


# ----------------------------------------------------------------------------- 5. sessions root elsewhere

def _bad_portraits(folder: Path) -> dict[str, str]:
    """Uploads Gradio's own image check used to turn into a bare 'Error': path -> expected words."""
    import struct
    import zlib

    text = folder / "notes.jpg"
    text.write_text("not a photo")
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)     # claims 20000 x 20000, holds nothing

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    huge = folder / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return {str(text): "not an image file", str(empty): "not an image file", str(huge): "too many pixels"}


def _portrait_16bit(folder: Path) -> Path:
    """The example portrait as a 16-bit greyscale PNG (values up to 65535)."""
    from PIL import Image

    grey = np.asarray(Image.open(PORTRAIT).convert("L"), dtype=np.uint16) * 257
    path = folder / "deep.png"
    Image.fromarray(grey.astype(np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_api_refuses_a_huge_seed_and_serves_renders_downloads_but_not_the_browser_key(
        tmp_path, short_speech, monkeypatch):
    """A script (gradio_client) on a server whose sessions root is outside cwd and the (moved)
    temp dir. A script's session has no browser id, so its files go to the temp dir; the browser
    case, where they go to the sessions root, is tests/test_hostile_input_browser.py."""
    import tempfile
    import urllib.error
    import urllib.request

    from gradio_client import Client, handle_file

    from pipeline.video import probe_video
    from studio.layout import build_app, launch_style

    systemp = tmp_path / "systemp"
    systemp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systemp))
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    root = tmp_path / "sessions"
    assert not str(root).startswith(tempfile.gettempdir()) and not str(root).startswith(str(Path.cwd()))

    demo = build_app(dataset_dir=tmp_path / "no-dataset", sessions_root=root)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_style(root))
    try:
        from pipeline.validation import MAX_UPLOAD_BYTES

        assert demo.max_file_size == MAX_UPLOAD_BYTES          # bigger uploads stop while streaming in
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path / "dl"))
        for name, message in _bad_portraits(tmp_path).items():   # the project's loader speaks, not Gradio
            out = client.predict(handle_file(name), api_name="/analyze_portrait")
            assert "⚠" in out[-1] and message in out[-1] and Path(name).name in out[-1], out[-1]
            assert str(systemp) not in out[-1] and "/gradio/" not in out[-1]    # no server paths
        out = client.predict(handle_file(str(_portrait_16bit(tmp_path))), api_name="/analyze_portrait")
        assert "Portrait analysed" in out[-1], out[-1]
        assert "✓" in client.predict(handle_file(str(PORTRAIT)), api_name="/analyze_portrait")[-1]
        out = client.predict(handle_file(str(short_speech)), api_name="/load_speech")
        assert "✓" in out[-1]
        rows = out[3]["data"] if isinstance(out[3], dict) else out[3]
        rows[0][3] = 1e30                            # refused, and the session keeps answering
        out = client.predict({"headers": tl.TABLE_HEADERS, "data": rows}, api_name="/edit_segments")
        assert "⚠" in out[-1] and "seed" in out[-1]
        assert "Motion generated" in client.predict(0, api_name="/generate")[-1]
        video, downloads, status = client.predict("warp", 256, 25, 15, 0, api_name="/render")
        assert "Rendered" in status, status
        path = video["video"] if isinstance(video, dict) else video
        assert probe_video(path)["frames"] == 60
        out = client.predict(api_name="/export_motion")
        assert "Exported" in out[-1], out[-1]
        files = out[5] if isinstance(out[5], list) else []
        assert {Path(f if isinstance(f, str) else f["path"]).suffix for f in files} >= {".bvh", ".npz"}
        saved = client.predict(api_name="/save_project")
        assert zipfile.is_zipfile(saved if isinstance(saved, str) else saved["value"])
        secret = root / ".browser-secret"
        assert secret.is_file()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/file={secret}", timeout=10)
    finally:
        demo.close()


# ----------------------------------------------------------------------------- 6. a killed render

def test_a_killed_render_leaves_no_video_under_its_name_and_the_next_render_cleans_up(tmp_path):
    import os
    import subprocess
    import sys
    import tempfile

    from pipeline.audio.io import AudioClip
    from pipeline.video import probe_video, write_video

    out = tmp_path / "video.mp4"
    script = f"""
import os, signal
import numpy as np
from pipeline.audio.io import AudioClip
from pipeline.video import write_video

def frames():
    for i in range(10_000):
        if i == 20:
            os.kill(os.getpid(), signal.SIGKILL)       # the server is killed mid-render
        yield np.full((64, 64, 3), i % 255, np.uint8)

clip = AudioClip(np.random.default_rng(0).normal(0, 0.1, 16000 * 4).astype(np.float32), 16000)
write_video(frames(), clip, {str(out)!r}, 25)
"""
    temp_before = set(Path(tempfile.gettempdir()).glob("render-*"))
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=120)
    assert proc.returncode == -9
    time.sleep(1.0)                                  # ffmpeg finishes its file when its input ends
    assert not out.exists()
    left = list(tmp_path.glob(".*partial-*"))        # the leftovers sit beside the target, named so
    assert left and all(p.name.startswith(".video.partial-") for p in left)
    assert set(Path(tempfile.gettempdir()).glob("render-*")) <= temp_before   # nothing left in /tmp
    old = time.time() - 2 * 3600
    for path in left:
        os.utime(path, (old, old))
    clip = AudioClip(np.random.default_rng(1).normal(0, 0.1, 16000).astype(np.float32), 16000)
    good = write_video((np.zeros((64, 64, 3), np.uint8) for _ in range(25)), clip, tmp_path / "next.mp4", 25)
    assert probe_video(good)["frames"] == 25
    assert not list(tmp_path.glob(".*partial-*"))   # the killed render's leftovers are gone


# ----------------------------------------------------------------------------- the fuzz corpus

def _bad_audio(folder: Path) -> list[str]:
    text = folder / "talk.wav"
    text.write_text("RIFF but not really")
    empty = folder / "empty.mp3"
    empty.write_bytes(b"")
    cut = folder / "cut.wav"
    cut.write_bytes(SPEECH.read_bytes()[:30])              # a header and no samples
    return [str(text), str(empty), str(cut)]


def _bad_projects(folder: Path) -> list[str]:
    junk = folder / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    no_json = folder / "nojson.zip"
    with zipfile.ZipFile(no_json, "w") as zf:
        zf.writestr("readme.txt", "hi")
    slip = folder / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../../evil.json", "{}")
        zf.writestr("project.json", "{}")
    many = folder / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(40):
            zf.writestr(f"f{i}.txt", "x")
    damaged = folder / "damaged.zip"
    with zipfile.ZipFile(damaged, "w") as zf:
        zf.writestr("project.json", "{not json")
    pickled = folder / "pickled.zip"
    meta = {"format": "versastudio-project", "version": 1, "duration_s": 2.4, "audio": None, "has_tokens": True,
            "segments": [{"start": 0.0, "end": 2.4, "prompt": "", "seed": 0, "locked": False}]}
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(pickled, "w") as zf:
        zf.writestr("project.json", json.dumps(meta))
        zf.writestr("tokens.npy", buf.getvalue())
    return [str(p) for p in (junk, no_json, slip, many, damaged, pickled)]


def test_fuzz_corpus_gets_messages_in_bounded_time_and_a_good_project_stays_unchanged(page, short_speech, tmp_path):
    """Every bad input a page (or a script through the API: the same handlers) can send, against a
    session holding a good project: each gets a warning within 20 s and 200 MB, the project and its
    autosave are exactly as before."""
    root = tmp_path / "sessions"
    out = page.restore_session("", None, root)
    session, sid = out[0], out[-1]
    page.analyze_portrait(str(PORTRAIT), session)
    page.load_speech(str(short_speech), session)
    if len(session.project.segments) == 1:
        page.split_segment(1.2, session)
    assert "Motion generated" in page.generate_motion(0, session)[-1]
    autosaved = root / sid / "autosave.zip"
    saved_json = zipfile.ZipFile(autosaved).read("project.json")
    before = session.project.copy()
    n = len(session.project.tokens)
    rows = tl.to_rows(session.project.segments)

    def table(col: int, value) -> list[list]:
        bad = [list(r) for r in rows]
        bad[0][col] = value
        return bad

    calls = [(page.analyze_portrait, (p,)) for p in _bad_portraits(tmp_path)]
    calls += [(page.load_speech, (p,)) for p in _bad_audio(tmp_path)]
    calls += [(page.open_project_file, (p,)) for p in _bad_projects(tmp_path)]
    calls += [(page.edit_segments, (table(3, v),)) for v in (1e30, -1, 2**64, "x", 0.5)]
    calls += [(page.edit_segments, (table(1, v),)) for v in ("nan", "1_0", None, float("inf"))]
    calls += [(page.edit_segments, (rows[:-1],)), (page.edit_segments, ([[0, 0, "", 0, False]] * 9,))]
    calls += [(page.split_segment, (v,)) for v in (float("nan"), 1e300, "1_0", -5)]
    calls += [(page.add_segment, (v, 1.0)) for v in (float("inf"), 1e300)]
    calls += [(page.add_segment, (0.5, v)) for v in (float("nan"), -1, 1e300)]
    calls += [(page.merge_segment, (v,)) for v in (0, 99, float("inf"), "x")]
    calls += [(page.delete_segment, (v,)) for v in (0, 99, float("nan"))]
    calls += [(page.reroll_segment, (v,)) for v in (0, 1e30)]
    calls += [(page.resize_border, (v, 1.0)) for v in (-1, 99, float("inf"))]
    calls += [(page.generate_motion, (v,)) for v in (1e30, -1, 2**63, float("nan"), "x")]
    calls += [(page.regenerate_span, (a, b, 0)) for a, b in ((0, n), (-1, 2), (3, 1), (float("inf"), 2), (0, 1e30))]
    calls += [(page.regenerate_span, (0, 2, v)) for v in (1e30, -1)]
    calls += [(page.lock_span, (a, b)) for a, b in ((0, n), (float("nan"), 1))]
    calls += [(page.compare_with, (v,)) for v in ("take:99", "take:x", "take:-1")]
    calls += [(page.use_take, (v,)) for v in ("take:99", None)]
    calls += [(page.copy_span, ("take:0", a, b)) for a, b in ((0, n + 5), (float("inf"), 1))]
    for fn, args in calls:
        out = _bounded(lambda: fn(*args, session), seconds=20, megabytes=200)
        assert out[0] is session and "⚠" in out[-1], (fn.__name__, args, out[-1])
        assert "Traceback" not in out[-1] and str(tmp_path) not in out[-1], (fn.__name__, args, out[-1])
    renders = [("warp", 20000, 25, 15, 0), ("warp", 0, 25, 15, 0), ("warp", 256, 1e5, 15, 0), ("warp", 256, -25, 15, 0),
               ("warp", 256, 25, 1e9, 0), ("warp", 256, 25, 15, 2**70), ("nope", 256, 25, 15, 0)]
    for args in renders:
        out = _bounded(lambda: page.render_video(*args, session), seconds=20, megabytes=200)
        assert "⚠" in out[-1], (args, out[-1])

    p = session.project
    assert p.segments == before.segments and p.audio_file == before.audio_file
    assert p.portrait_file == before.portrait_file and p.settings == before.settings
    np.testing.assert_array_equal(p.tokens, before.tokens)
    np.testing.assert_array_equal(p.locked, before.locked)
    assert zipfile.ZipFile(autosaved).read("project.json") == saved_json


@pytest.mark.parametrize("segment, message", [
    ("0:0.01:a person waves", "needs at least 0.2 s"),
    ("1.5:1.0:a person waves", "ends (1 s) before it starts"),
    ("0.5:99:a person waves", "past the end of the audio"),
])
def test_generate_segment_messages_name_the_users_segment(segment, message, short_speech, tmp_path, capsys):
    from pipeline.__main__ import main

    assert main(["generate", str(short_speech), "--segment", "1.8:2.2:jump", "--segment", segment,
                 "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert message in err and repr(segment) in err, err
    assert not (tmp_path / "m.npz").exists()


def test_overlapping_segments_are_named(short_speech, capsys):
    from pipeline.__main__ import main

    assert main(["generate", str(short_speech), "--segment", "0.2:1.2:wave", "--segment", "1.0:2.0:jump"]) == 2
    err = capsys.readouterr().err
    assert "'0.2:1.2:wave'" in err and "'1.0:2.0:jump'" in err and "overlap" in err, err


def test_a_truncated_mp3_loads_its_decoded_part_and_says_so(page, tmp_path):
    import subprocess

    from pipeline.audio import load_audio
    from pipeline.audio.io import ffmpeg_exe

    whole = tmp_path / "talk.mp3"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(SPEECH), "-c:a", "libmp3lame", "-b:a", "64k",
                    str(whole)], check=True)
    assert load_audio(str(whole)).warnings == []
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    clip = load_audio(str(cut))
    assert clip.duration_s < 0.7 * load_audio(str(whole)).duration_s
    assert len(clip.warnings) == 1 and "cut.mp3" in clip.warnings[0] and "only" in clip.warnings[0]
    out = page.load_speech(str(cut), page.new_session())
    assert "Speech loaded" in out[-1] and "could be decoded" in out[-1] and str(tmp_path) not in out[-1]


def test_start_up_removes_partials_of_killed_renders_and_nothing_else(tmp_path):
    import os

    from studio import project as proj
    from studio.layout import build_app

    root = tmp_path / "sessions"
    files = proj.session_dir(proj.new_session_id(), root) / "files"
    files.mkdir(parents=True)
    stale, live, video = files / ".render-1.partial-ab12cd34.mp4", files / ".render-2.partial-ef56ab78.mp4", \
        files / "render-0.mp4"
    for path in (stale, live, video):
        path.write_bytes(b"x")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(video, (old, old))
    build_app(dataset_dir=tmp_path / "no-dataset", sessions_root=root)
    assert not stale.exists() and live.exists() and video.exists()


def test_articulation_out_of_range_is_refused_not_clipped(page, short_speech):
    session = _loaded(page, short_speech)
    for bad in (1e30, -1, float("nan"), "1_0"):
        out = page.set_speech_text("", bad, "en", session)
        assert "⚠" in out[-1] and "articulation" in out[-1] and session.project.articulation == 1.0
    out = page.set_speech_text("", 1.5, "en", session)
    assert session.project.articulation == 1.5


def test_earlier_recordings_never_push_a_saved_project_past_what_opens(tmp_path, monkeypatch):
    from studio import project as proj
    from studio.timeline import Segment

    files = []
    for i in range(3):
        path = tmp_path / f"a{i}.wav"
        path.write_bytes(b"\0" * 3000)
        files.append(str(path))
    p = proj.Project(audio_file=files[2], duration_s=2.0, segments=[Segment(0.0, 2.0)])
    for f in files[:2]:
        p.history.undo_stack.append(proj.Snapshot([Segment(0.0, 1.0)], None, None, f, 1.0))
    from pipeline.project import archive

    monkeypatch.setattr(archive, "MAX_ZIP_BYTES", 16 * 1024 * 1024 + 3000 + 3500)   # room for one more only
    saved = proj.save_project(p, tmp_path / "p.zip")
    names = zipfile.ZipFile(saved).namelist()
    assert sum(n.startswith(proj.HISTORY_AUDIO_PREFIX) for n in names) == 1
    back = proj.open_project(saved, tmp_path / "open")
    assert len(back.history.undo_stack) == 1 and Path(back.history.undo_stack[0].audio_file).is_file()
