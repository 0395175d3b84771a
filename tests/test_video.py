"""Video out: mp4 streams, frame count against the audio, progress, cancel, bad input, backends."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio import AudioClip, AudioError
from pipeline.render.backends import BackendUnavailable, available_backends, render
from pipeline.jobs import RenderCancelled
from pipeline.video import frame_count, probe_video, read_audio_track, write_video
from tests.test_render_warp import hold, silent_then_loud, synthetic_portrait

FPS = 25.0


def _frames(n: int, w: int = 64, h: int = 48):
    for i in range(n):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[..., 0] = (i * 7) % 255
        frame[:, : (i % w) + 1, 1] = 200
        yield frame


@pytest.fixture(scope="module")
def clip() -> AudioClip:
    return silent_then_loud(1.3)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, clip: AudioClip) -> tuple[Path, list]:
    calls: list = []
    out = tmp_path_factory.mktemp("video") / "clip.mp4"
    path = write_video(_frames(1000), clip, out, FPS, progress=lambda d, t: calls.append((d, t)))
    return path, calls


def test_mp4_has_video_and_audio_and_the_right_length(written: tuple[Path, list], clip: AudioClip) -> None:
    path, _ = written
    info = probe_video(path)
    assert info["video"] and info["audio"]
    assert info["size"] == (64, 48)
    assert abs(info["frames"] - round(clip.duration_s * FPS)) <= 1
    assert abs(read_audio_track(path).duration_s - clip.duration_s) < 0.06


def test_progress_counts_every_frame(written: tuple[Path, list], clip: AudioClip) -> None:
    _, calls = written
    total = frame_count(clip.duration_s, FPS)
    assert calls[-1] == (total, total) and len(calls) == total


def test_short_frame_source_is_held_to_the_audio_length(tmp_path: Path, clip: AudioClip) -> None:
    path = write_video(_frames(5), clip, tmp_path / "short.mp4", FPS)
    assert abs(probe_video(path)["frames"] - round(clip.duration_s * FPS)) <= 1


def test_cancel_midway_removes_the_partial_file(tmp_path: Path, clip: AudioClip) -> None:
    stop = threading.Event()
    out = tmp_path / "cancelled.mp4"

    def progress(done: int, total: int) -> None:
        if done == 10:
            stop.set()

    with pytest.raises(RenderCancelled):
        write_video(_frames(1000), clip, out, FPS, progress=progress, cancel=stop)
    assert not out.exists()


def test_bad_audio_file_gives_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "speech.wav"
    bad.write_bytes(b"this is not audio at all" * 20)
    with pytest.raises(AudioError, match="speech.wav"):
        write_video(_frames(3), bad, tmp_path / "x.mp4", FPS)
    assert not (tmp_path / "x.mp4").exists()


def test_warp_backend_renders_an_mp4(tmp_path: Path) -> None:
    portrait = synthetic_portrait(128)
    audio = silent_then_loud(1.0)
    seen: list = []
    path = render("warp", portrait, hold(portrait, 8), audio, tmp_path / "warp.mp4", resolution=128,
                  progress=lambda d, t: seen.append(d))
    info = probe_video(path)
    assert info["video"] and info["audio"] and info["size"] == (128, 128)
    assert abs(info["frames"] - 25) <= 1 and seen[-1] == 25


def test_backends_report_why_diffusion_is_unavailable(tmp_path: Path) -> None:
    backends = available_backends()
    assert backends["warp"][0] is True
    ok, reason = backends["diffusion"]
    if ok:
        pytest.skip("a GPU and diffusion weights are present here")
    assert "CUDA" in reason and "weights" in reason
    portrait = synthetic_portrait(64)
    with pytest.raises(BackendUnavailable, match="diffusion"):
        render("diffusion", portrait, hold(portrait, 2), silent_then_loud(1.0), tmp_path / "d.mp4")
    with pytest.raises(ValueError, match="unknown render backend"):
        render("oil-paint", portrait, hold(portrait, 2), silent_then_loud(1.0), tmp_path / "d.mp4")
