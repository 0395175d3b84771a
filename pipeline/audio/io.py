"""Loading speech recordings: any file or in-memory array -> 16 kHz mono float32 (`AudioClip`).

Files soundfile reads natively (wav, flac, ogg, aiff, ...) are decoded with it; everything else
(mp3, m4a/aac, opus, webm, video containers, ...) is decoded by the ffmpeg binary that the
``imageio_ffmpeg`` wheel ships, to 16 kHz mono f32le. Resampling uses librosa (soxr). Anything
wrong with the recording raises :class:`AudioError`, whose message says what was wrong and what
to do about it; nothing falls back silently.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS

MIN_AUDIO_SECONDS: float = 0.5
"""Shorter recordings are refused (nothing can be animated from them)."""

MAX_AUDIO_SECONDS: float = 600.0
"""Longer recordings are refused (10 minutes); split them and animate the parts."""

SILENCE_RMS_DBFS: float = -60.0
"""A recording whose overall RMS is below this level (dB re full scale) counts as silent."""

SOUNDFILE_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".au", ".caf", ".w64"})
"""Suffixes decoded by soundfile (libsndfile); every other suffix goes through ffmpeg."""

FFMPEG_TIMEOUT_S: float = 120.0


class AudioError(ValueError):
    """The audio cannot be used; the message says what was wrong and what to do."""


@dataclass(eq=False)
class AudioClip:
    """A mono recording at :data:`AUDIO_SAMPLE_RATE`, ready for feature extraction."""

    samples: np.ndarray
    """float32, shape (N,), nominally in [-1, 1]."""
    sample_rate: int = AUDIO_SAMPLE_RATE
    duration_s: float = field(default=0.0)
    path: Path | None = None
    """The file it came from (None for in-memory audio)."""
    source_sample_rate: int | None = None
    """Sample rate of the original recording before resampling (None when ffmpeg decoded it)."""
    warnings: list[str] = field(default_factory=list)
    """What the user should know about how the file was read (e.g. only part of it decoded)."""

    def __post_init__(self) -> None:
        self.samples = np.ascontiguousarray(self.samples, dtype=np.float32).reshape(-1)
        self.duration_s = len(self.samples) / float(self.sample_rate)

    @property
    def num_samples(self) -> int:
        return int(len(self.samples))

    @property
    def num_motion_frames(self) -> int:
        """ceil(duration * MOTION_FPS): the number of 20 fps motion frames the clip spans."""
        return motion_frames_for(self.num_samples, self.sample_rate)

    def slice(self, start_s: float, end_s: float) -> "AudioClip":
        """The part between two times in seconds (clamped to the clip)."""
        a = max(0, int(round(start_s * self.sample_rate)))
        b = min(self.num_samples, int(round(end_s * self.sample_rate)))
        return AudioClip(self.samples[a:max(a, b)].copy(), self.sample_rate, path=self.path,
                         source_sample_rate=self.source_sample_rate)


def motion_frames_for(num_samples: int, sample_rate: int = AUDIO_SAMPLE_RATE) -> int:
    """ceil(num_samples / sample_rate * MOTION_FPS), in exact integer arithmetic."""
    return -(-int(num_samples) * MOTION_FPS // int(sample_rate))


# ----------------------------------------------------------------------------------------------
# decoding


def _to_float(data: np.ndarray) -> np.ndarray:
    """Integer PCM -> float32 in [-1, 1]; floats pass through as float32."""
    data = np.asarray(data)
    if data.dtype == np.bool_ or data.dtype.kind not in "iuf":
        raise AudioError(f"audio samples must be numbers, got an array of {data.dtype}")
    if data.dtype.kind == "f":
        return data.astype(np.float32, copy=False)
    if data.dtype.kind == "u":
        bits = data.dtype.itemsize * 8
        offset = 2 ** (bits - 1)
        return ((data.astype(np.float64) - offset) / offset).astype(np.float32)
    bits = data.dtype.itemsize * 8
    return (data.astype(np.float64) / float(2 ** (bits - 1))).astype(np.float32)


def _downmix(data: np.ndarray) -> np.ndarray:
    """(N,) or (N, C) or (C, N) with few channels -> (N,) mono by averaging the channels."""
    if data.ndim == 1:
        return data
    if data.ndim != 2:
        raise AudioError(f"audio must be a 1-D (mono) or 2-D (samples x channels) array, got shape {data.shape}")
    n0, n1 = data.shape
    # gradio and soundfile give (samples, channels); accept (channels, samples) when obvious
    if n0 <= 8 and n1 > n0:
        data = data.T
    return data.mean(axis=1, dtype=np.float64).astype(np.float32)


def _resample(samples: np.ndarray, sr: int) -> np.ndarray:
    if sr == AUDIO_SAMPLE_RATE:
        return samples.astype(np.float32, copy=False)
    import librosa

    return librosa.resample(samples, orig_sr=sr, target_sr=AUDIO_SAMPLE_RATE, res_type="soxr_hq").astype(np.float32)


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by the imageio_ffmpeg wheel."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a pinned dependency
        raise AudioError("decoding this format needs ffmpeg: pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
TRUNCATED_FRACTION = 0.9
"""Less than this share of the duration a file declares decoded: the file was cut short."""


def _declared_seconds(stderr: str) -> float | None:
    match = _DURATION.search(stderr)
    if not match:
        return None
    h, m, sec = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(sec)


def _decode_ffmpeg(path: Path, warnings: list[str] | None = None) -> np.ndarray:
    """Decode any format ffmpeg knows to 16 kHz mono float32 (at most MAX_AUDIO_SECONDS + 1 s).

    When less decodes than the file's header declares (a download cut short), a line goes to
    ``warnings``: the clip is the part that decoded, and the user is told so."""
    cmd = [
        ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "level+info",
        "-i", str(path), "-vn", "-t", f"{MAX_AUDIO_SECONDS + 1.0:.1f}",
        "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(AUDIO_SAMPLE_RATE), "pipe:1",
    ]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=FFMPEG_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise AudioError(f"decoding {path.name} took longer than {FFMPEG_TIMEOUT_S:.0f} s; "
                         "convert it to WAV and try again") from exc
    text = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        detail = [line for line in text.strip().splitlines() if "[error]" in line or "[fatal]" in line] \
            or text.strip().splitlines()
        tail = detail[-1].replace("[error] ", "").replace("[fatal] ", "") if detail else \
            f"ffmpeg exit status {proc.returncode}"
        raise AudioError(f"cannot read {path.name}: it is not an audio file ffmpeg can decode, or it is damaged "
                         f"({tail}); export it again as WAV, FLAC, OGG or MP3")
    raw = proc.stdout
    usable = len(raw) - len(raw) % 4
    samples = np.frombuffer(raw[:usable], dtype="<f4").astype(np.float32)
    declared = _declared_seconds(text)
    decoded = samples.size / AUDIO_SAMPLE_RATE
    if warnings is not None and declared and decoded < TRUNCATED_FRACTION * min(declared, MAX_AUDIO_SECONDS) - 0.05:
        warnings.append(f"{path.name} says it lasts {declared:.2f} s but only {decoded:.2f} s could be decoded: "
                        "the file is cut short or damaged, so only that part is used. Export or download it again "
                        "for the whole recording")
    return samples


def _read_file(path: Path, warnings: list[str] | None = None) -> tuple[np.ndarray, int, int | None]:
    """(mono samples, their sample rate, the file's own sample rate when known)."""
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path.name} is empty (0 bytes); record or export the audio again")
    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        import soundfile as sf

        try:
            info = sf.info(str(path))
        except Exception:  # noqa: BLE001 - libsndfile's errors vary by version
            info = None  # e.g. a WAV with a codec libsndfile lacks: let ffmpeg try
        if info is not None:
            if info.frames and info.samplerate and info.frames / info.samplerate > MAX_AUDIO_SECONDS + 1.0:
                raise _too_long(info.frames / info.samplerate, path)
            try:
                data, sr = sf.read(str(path), dtype="float32", always_2d=True)
            except Exception as exc:
                raise AudioError(f"cannot read {path.name}: the file is damaged ({exc}); "
                                 "export it again as WAV, FLAC, OGG or MP3") from exc
            if data.shape[0] == 0:
                raise AudioError(f"{path.name} is empty: it holds no audio samples")
            return _downmix(data), int(sr), int(sr)
    return _decode_ffmpeg(path, warnings), AUDIO_SAMPLE_RATE, None


def _too_long(seconds: float, path: Path | None) -> AudioError:
    what = path.name if path is not None else "the recording"
    return AudioError(f"{what} is {seconds / 60:.1f} minutes long; the limit is {MAX_AUDIO_SECONDS / 60:.0f} minutes "
                      f"({MAX_AUDIO_SECONDS:.0f} s). Split it into parts and animate them one by one")


def _validate(samples: np.ndarray, path: Path | None) -> None:
    what = path.name if path is not None else "the recording"
    if samples.size == 0:
        raise AudioError(f"{what} is empty: it holds no audio samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{what} holds invalid samples (NaN or infinity); export it again")
    seconds = samples.size / AUDIO_SAMPLE_RATE
    if seconds < MIN_AUDIO_SECONDS:
        raise AudioError(f"{what} is too short ({seconds:.2f} s); it must be at least {MIN_AUDIO_SECONDS} s long")
    if seconds > MAX_AUDIO_SECONDS:
        raise _too_long(seconds, path)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms <= 10 ** (SILENCE_RMS_DBFS / 20):
        level = "-inf" if rms == 0 else f"{20 * math.log10(rms):.0f}"
        raise AudioError(f"the recording is silent ({what}, level {level} dBFS); check the microphone "
                         "(is it muted or the wrong input?) and record again")


def load_audio(source: "str | Path | tuple[int, np.ndarray] | AudioClip") -> AudioClip:
    """Load a recording as 16 kHz mono float32.

    ``source`` is a file path (any format soundfile or ffmpeg can decode), a ``(sample_rate,
    array)`` tuple as gradio's Audio component gives (int16/int32/uint8/float arrays, mono
    ``(N,)`` or ``(N, channels)``), or an :class:`AudioClip` (validated and returned).
    Raises :class:`AudioError` for unreadable, empty, silent, too short or too long audio.
    """
    path: Path | None = None
    notes: list[str] = []
    if isinstance(source, AudioClip):
        if source.sample_rate != AUDIO_SAMPLE_RATE:
            samples = _resample(source.samples, source.sample_rate)
        else:
            samples = source.samples
        path, src_sr = source.path, source.source_sample_rate or source.sample_rate
    elif isinstance(source, tuple):
        if len(source) != 2:
            raise AudioError("in-memory audio must be a (sample_rate, samples) pair")
        sr, data = source
        if isinstance(sr, np.ndarray) and not isinstance(data, np.ndarray):
            sr, data = data, sr  # (samples, sample_rate), as librosa.load returns
        try:
            sr = int(sr)
        except (TypeError, ValueError) as exc:
            raise AudioError(f"in-memory audio must be (sample_rate, samples); got a sample rate of {sr!r}") from exc
        if sr <= 0:
            raise AudioError(f"the sample rate must be positive, got {sr}")
        data = np.asarray(data)
        if data.size == 0:
            raise AudioError("the recording is empty: it holds no audio samples")
        mono = _downmix(_to_float(data))
        if mono.size / sr > MAX_AUDIO_SECONDS + 1.0:
            raise _too_long(mono.size / sr, None)
        samples, src_sr = _resample(mono, sr), sr
    elif isinstance(source, (str, Path)):
        if isinstance(source, str) and not source.strip():
            raise AudioError("no audio file was given")
        path = Path(source).expanduser()
        data, sr, src_sr = _read_file(path, notes)
        samples = _resample(data, sr)
    else:
        raise AudioError(f"cannot load audio from a {type(source).__name__}; "
                         "give a file path or (sample_rate, samples)")
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    _validate(samples, path)
    return AudioClip(samples, AUDIO_SAMPLE_RATE, path=path, source_sample_rate=src_sr, warnings=notes)


def save_wav(clip: AudioClip, path: str | Path) -> Path:
    """Write a clip as 16-bit PCM WAV (for the video muxer and exports)."""
    import soundfile as sf

    path = Path(path)
    sf.write(str(path), np.clip(clip.samples, -1.0, 1.0), clip.sample_rate, subtype="PCM_16")
    return path
