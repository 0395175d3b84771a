"""Frames + speech -> an H.264/AAC mp4, streamed through the ffmpeg binary moviepy itself uses.

Frames are piped to ffmpeg one at a time (a long video never sits in memory) and muxed with the
audio in the same pass. moviepy's FFMPEG_VideoWriter forces a yuva420p request and hides the
process, so the pipe is opened here with the same imageio-ffmpeg binary; this lets a cancel kill
ffmpeg at once and remove the partial file. The video has exactly round(duration * fps) frames:
a short frame source is padded with its last frame, a long one is cut.

The mp4 and its audio track are written under temporary names beside the target
(``.<name>.partial-<id>.mp4`` / ``.wav``) and the mp4 renamed when ffmpeg has finished: a process
killed mid-render (ffmpeg closes the file when its input ends) never leaves a complete-looking,
truncated video under the final name. Partials older than PARTIAL_MAX_AGE_S are removed when the
next video is written into the same folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterable

import numpy as np

from pipeline.audio import AudioClip, AudioError, load_audio, save_wav
from pipeline.constants import VIDEO_FPS
from pipeline.jobs import Cancel, Progress, RenderCancelled, is_cancelled


class VideoError(RuntimeError):
    """Writing the video failed; the message carries ffmpeg's own explanation."""


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped with imageio-ffmpeg (moviepy's default)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def frame_count(duration_s: float, fps: float) -> int:
    """Frames a video of ``duration_s`` seconds has at ``fps`` (at least one)."""
    return max(1, int(round(duration_s * fps)))


def _as_clip(audio: "AudioClip | str | Path | tuple") -> AudioClip:
    return audio if isinstance(audio, AudioClip) else load_audio(audio)


def _check_frame(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise VideoError(f"frames must be (H, W, 3) RGB arrays, got shape {frame.shape}")
    frame = frame[..., :3]
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if size is not None and (frame.shape[1], frame.shape[0]) != size:
        raise VideoError(f"frame size changed from {size[0]}x{size[1]} to {frame.shape[1]}x{frame.shape[0]}")
    return np.ascontiguousarray(frame)


def _open_ffmpeg(out_path: Path, size: tuple[int, int], fps: float, wav: Path, crf: int,
                 preset: str) -> subprocess.Popen:
    w, h = size
    cmd = [
        ffmpeg_exe(), "-y", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{w}x{h}", "-pix_fmt", "rgb24", "-r", f"{fps:.6g}",
        "-i", "-", "-i", str(wav),
        "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        # odd sizes are padded by one pixel (yuv420p needs even width and height)
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
        str(out_path),
    ]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _ffmpeg_error(proc: subprocess.Popen) -> str:
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    text = log.read().decode("utf-8", "replace").strip()
    return text.splitlines()[-1] if text else f"ffmpeg exit status {proc.returncode}"


PARTIAL_MARK = ".partial-"
PARTIAL_MAX_AGE_S = 3600.0
"""A partial file this old is a leftover of a killed render (a live one is rewritten every frame)."""


def clean_partials(folder: str | Path, max_age_s: float = PARTIAL_MAX_AGE_S, now: float | None = None) -> list[Path]:
    """Remove the stale partial files (``.*.partial-*``) renders left in ``folder``; returns them."""
    now = time.time() if now is None else now
    removed = []
    try:
        candidates = list(Path(folder).glob(f".*{PARTIAL_MARK}*"))
    except OSError:
        return removed
    for path in candidates:
        try:
            if path.is_file() and now - path.stat().st_mtime > max_age_s:
                path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


def write_video(frames: Iterable[np.ndarray], audio: "AudioClip | str | Path | tuple", out_path: str | Path,
                fps: float = VIDEO_FPS, *, progress: Progress | None = None, cancel: Cancel = None,
                crf: int = 20, preset: str = "veryfast") -> Path:
    """Stream ``frames`` (uint8 RGB) into an H.264 mp4 with the speech as AAC; returns the path.

    The video holds round(audio duration * fps) frames. ``progress(done, total)`` is called
    after each frame; when ``cancel`` (an Event or a callable) asks to stop, ffmpeg is killed,
    the partial file removed and :class:`RenderCancelled` raised.
    """
    clip = _as_clip(audio)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".mp4":
        raise ValueError(f"{out_path.name}: the video is written as .mp4")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    clean_partials(out_path.parent)
    total = frame_count(clip.duration_s, fps)
    proc: subprocess.Popen | None = None
    done = 0
    stem = f".{out_path.stem}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}"
    partial, wav = out_path.with_name(stem + ".mp4"), out_path.with_name(stem + ".wav")
    try:
        save_wav(clip, wav)
        try:
            last = None
            source = iter(frames)
            size = None
            while done < total:
                if is_cancelled(cancel):
                    raise RenderCancelled(f"render cancelled after {done} of {total} frames")
                frame = next(source, None)
                if frame is None:
                    if last is None:
                        raise VideoError("no frames to write")
                    frame = last           # the frames ran out before the audio: hold the last one
                else:
                    frame = _check_frame(frame, size)
                if proc is None:
                    size = (frame.shape[1], frame.shape[0])
                    proc = _open_ffmpeg(partial, size, fps, wav, crf, preset)
                try:
                    proc.stdin.write(frame.tobytes())
                except (BrokenPipeError, OSError) as exc:
                    proc.wait()
                    raise VideoError(f"ffmpeg stopped while writing {out_path.name}: {_ffmpeg_error(proc)}") from exc
                last = frame
                done += 1
                if progress is not None:
                    progress(done, total)
            proc.stdin.close()
            if proc.wait() != 0:
                raise VideoError(f"ffmpeg could not write {out_path.name}: {_ffmpeg_error(proc)}")
            os.replace(partial, out_path)
        except BaseException:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            partial.unlink(missing_ok=True)
            raise
        finally:
            if proc is not None:
                proc.log.close()  # type: ignore[attr-defined]
    finally:
        wav.unlink(missing_ok=True)
    return out_path


def probe_video(path: str | Path) -> dict:
    """What an mp4 holds: {'video': bool, 'audio': bool, 'frames': int, 'size': (w, h), 'fps': float}."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video not found: {path}")
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    info = proc.stderr.decode("utf-8", "replace")
    video = re.search(r"Stream #.*Video: .*?(\d{2,5})x(\d{2,5}).*?([\d.]+) fps", info)
    return {
        "video": video is not None,
        "audio": re.search(r"Stream #.*Audio:", info) is not None,
        "frames": int(frames),
        "size": (int(video.group(1)), int(video.group(2))) if video else None,
        "fps": float(video.group(3)) if video else 0.0,
    }


def read_audio_track(path: str | Path) -> AudioClip:
    """The audio of a written video, decoded back to 16 kHz mono."""
    try:
        return load_audio(Path(path))
    except AudioError as exc:
        raise VideoError(f"{Path(path).name} has no readable audio track: {exc}") from exc
