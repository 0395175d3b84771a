"""Audio features aligned to the motion frames (MOTION_FPS), one row per motion frame.

Two extractors share one interface (:class:`AudioFeatureExtractor`):

- :class:`LibrosaFeatures` (default, CPU, needs nothing but pip): log-mel bands, loudness,
  onsets, spectral shape and pitch with a voicing flag. 60 s of speech featurise in well under
  a second on two CPU cores.
- :class:`Wav2Vec2Features` (the paper's audio tokens, appendix B): a wav2vec 2.0 model from a
  local folder, the last 12 hidden layers concatenated, resampled from 50 Hz to the motion rate.

Row ``k`` of a feature matrix describes the audio around time ``k / MOTION_FPS`` (the span
``[k, k+1) / MOTION_FPS``); a clip of ``d`` seconds gives ``ceil(d * MOTION_FPS)`` rows. The
generator's :class:`~pipeline.motion.generator.temporal_block.AudioTemporalBlock` then brings the rows to
the token rate (``TOKENS_PER_SECOND``).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from pipeline.audio.io import AudioClip
from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS

AUDIO_ENCODER_ENV = "VERSA_AUDIO_ENCODER"
"""Environment variable: "librosa" or a folder holding a wav2vec 2.0 model."""


class AudioFeatureExtractor:
    """Maps an :class:`AudioClip` to a ``(ceil(duration * MOTION_FPS), dim)`` float32 matrix."""

    name: str = "base"
    dim: int = 0
    frame_rate: int = MOTION_FPS
    """Feature rows per second (always the motion rate)."""

    def __call__(self, clip: AudioClip) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> dict:
        """Plain facts for checkpoints' configs and the UI (name, dim, frame rate)."""
        return {"name": self.name, "dim": int(self.dim), "frame_rate": int(self.frame_rate)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, frame_rate={self.frame_rate})"


def _check_clip(clip: AudioClip) -> None:
    if not isinstance(clip, AudioClip):
        raise TypeError(f"expected an AudioClip (see pipeline.audio.load_audio), got {type(clip).__name__}")
    if clip.sample_rate != AUDIO_SAMPLE_RATE:
        raise ValueError(f"clip is at {clip.sample_rate} Hz; load it with load_audio to get {AUDIO_SAMPLE_RATE} Hz")


def _blocks(x: np.ndarray, num_rows: int, per_row: int) -> np.ndarray:
    """(F, ...) fine frames -> (num_rows, per_row, ...), padding the end by edge replication."""
    need = num_rows * per_row
    if x.shape[0] < need:
        pad = [(0, need - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
        x = np.pad(x, pad, mode="edge")
    return x[:need].reshape((num_rows, per_row) + x.shape[1:])


# ----------------------------------------------------------------------------------------------
# librosa features


class LibrosaFeatures(AudioFeatureExtractor):
    """Hand-made speech features at the motion rate (the default; fast, deterministic).

    Columns (``dim = n_mels + 8``):

    ``0 .. n_mels-1``  log-mel energies (dB),
    ``n_mels + 0``     loudness: frame RMS in dB,
    ``n_mels + 1``     loudness change from the previous row,
    ``n_mels + 2``     onset strength (spectral flux of the log-mel, max over the row),
    ``n_mels + 3``     spectral centroid (log2 of Hz),
    ``n_mels + 4``     spectral flatness (noisiness; high for fricatives and breath),
    ``n_mels + 5``     pitch: log2(f0 / 150 Hz) averaged over voiced frames, 0 when unvoiced,
    ``n_mels + 6``     voiced fraction of the row (0..1),
    ``n_mels + 7``     periodicity (peak normalised autocorrelation, 0..1).

    Normalisation: the waveform is first scaled so that its active speech level (the 95th
    percentile of 10 ms frame RMS) sits at ``REFERENCE_DBFS``; this per-clip gain is the only
    clip-dependent step, so the microphone gain does not change the features. Every column is
    then shifted and scaled by fixed constants (set on speech so columns are roughly zero-mean,
    unit-spread); no per-clip standardisation.
    """

    name = "librosa"
    REFERENCE_DBFS = -20.0
    FINE_RATE = 100  # analysis frames per second (10 ms hop)
    F0_MIN, F0_MAX = 60.0, 500.0
    VOICING_THRESHOLD = 0.5
    # fixed normalisation (offset, scale) per column group, measured on speech
    MEL_OFFSET, MEL_SCALE = -45.0, 20.0
    RMS_OFFSET, RMS_SCALE = -35.0, 15.0
    ONSET_OFFSET, ONSET_SCALE = 1.2, 1.0
    CENTROID_OFFSET, CENTROID_SCALE = 9.2, 1.0
    FLATNESS_OFFSET, FLATNESS_SCALE = -2.6, 1.0

    def __init__(self, n_mels: int = 40) -> None:
        if not 8 <= n_mels <= 128:
            raise ValueError(f"n_mels must be between 8 and 128, got {n_mels}")
        if self.FINE_RATE % MOTION_FPS:
            raise ValueError("the analysis rate must be a multiple of MOTION_FPS")
        self.n_mels = int(n_mels)
        self.dim = self.n_mels + 8
        self.hop = AUDIO_SAMPLE_RATE // self.FINE_RATE
        self.per_row = self.FINE_RATE // MOTION_FPS
        self._mel_basis = None

    def describe(self) -> dict:
        return {**super().describe(), "n_mels": self.n_mels}

    def _mel(self) -> np.ndarray:
        if self._mel_basis is None:
            import librosa

            self._mel_basis = librosa.filters.mel(sr=AUDIO_SAMPLE_RATE, n_fft=512, n_mels=self.n_mels,
                                                  fmin=40.0, fmax=7600.0).astype(np.float32)
        return self._mel_basis

    def __call__(self, clip: AudioClip) -> np.ndarray:
        import librosa

        _check_clip(clip)
        rows = clip.num_motion_frames
        y = clip.samples.astype(np.float32)
        if rows == 0:
            return np.zeros((0, self.dim), np.float32)

        # per-clip gain so that the active speech level sits at REFERENCE_DBFS
        frame_rms = librosa.feature.rms(y=y, frame_length=400, hop_length=self.hop, center=True)[0]
        active = float(np.percentile(frame_rms, 95))
        gain = 10 ** (self.REFERENCE_DBFS / 20) / max(active, 1e-5)
        y = y * np.float32(gain)
        rms = frame_rms * gain

        spec = np.abs(librosa.stft(y, n_fft=512, hop_length=self.hop, win_length=400, center=True)) ** 2
        mel = self._mel() @ spec
        log_mel = 10.0 * np.log10(np.maximum(mel, 1e-10))  # (n_mels, F)
        freqs = np.linspace(0, AUDIO_SAMPLE_RATE / 2, spec.shape[0], dtype=np.float32)[:, None]
        power = spec.sum(axis=0) + 1e-10
        centroid = np.log2(np.maximum((freqs * spec).sum(axis=0) / power, 50.0))
        flatness = np.log10(np.maximum(librosa.feature.spectral_flatness(S=np.sqrt(spec), power=2.0)[0], 1e-6))
        flux = np.maximum(np.diff(log_mel, axis=1, prepend=log_mel[:, :1]), 0.0).mean(axis=0)
        f0, periodicity = _autocorrelation_pitch(y, self.hop, self.F0_MIN, self.F0_MAX)
        # The pitch tracker's frame count can differ by one from the STFT's (its own padding at
        # 8 kHz): bring every track to the STFT's frames before combining them.
        n_fine = log_mel.shape[1]
        f0 = _fit(f0, n_fine)
        periodicity = _fit(periodicity, n_fine)
        rms_db = _fit(20.0 * np.log10(np.maximum(rms, 1e-5)), n_fine)
        voiced = (periodicity > self.VOICING_THRESHOLD) & (rms_db > self.REFERENCE_DBFS - 30.0)

        B = lambda a: _blocks(a, rows, self.per_row)  # noqa: E731
        out = np.empty((rows, self.dim), np.float32)
        out[:, : self.n_mels] = (B(log_mel.T).mean(axis=1) - self.MEL_OFFSET) / self.MEL_SCALE
        loud = (B(rms_db).mean(axis=1) - self.RMS_OFFSET) / self.RMS_SCALE
        out[:, self.n_mels + 0] = loud
        out[:, self.n_mels + 1] = np.diff(loud, prepend=loud[:1])
        out[:, self.n_mels + 2] = (np.log1p(B(flux).max(axis=1)) - self.ONSET_OFFSET) / self.ONSET_SCALE
        out[:, self.n_mels + 3] = (B(centroid).mean(axis=1) - self.CENTROID_OFFSET) / self.CENTROID_SCALE
        out[:, self.n_mels + 4] = (B(flatness).mean(axis=1) - self.FLATNESS_OFFSET) / self.FLATNESS_SCALE
        vb = B(voiced.astype(np.float32))
        logf0 = np.where(voiced, np.log2(np.maximum(f0, 1.0) / 150.0), 0.0)
        nv = vb.sum(axis=1)
        out[:, self.n_mels + 5] = np.where(nv > 0, B(logf0).sum(axis=1) / np.maximum(nv, 1), 0.0)
        out[:, self.n_mels + 6] = vb.mean(axis=1)
        out[:, self.n_mels + 7] = B(periodicity).mean(axis=1)
        return out


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or edge-pad a 1-D frame series to n frames."""
    if len(x) >= n:
        return x[:n]
    return np.pad(x, (0, n - len(x)), mode="edge")


def _autocorrelation_pitch(y: np.ndarray, hop: int, fmin: float, fmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Fast pitch tracker: normalised autocorrelation of 8 kHz frames, computed with the FFT.

    Returns (f0 in Hz, periodicity in [0, 1]) per analysis frame (centred frames, ``hop`` at
    16 kHz). Much faster than pYIN (no Viterbi), with a peak-picking bias towards the shortest
    strong period to avoid octave-down errors.
    """
    import librosa
    import scipy.fft

    sr = AUDIO_SAMPLE_RATE // 2
    y8 = librosa.resample(y, orig_sr=AUDIO_SAMPLE_RATE, target_sr=sr, res_type="soxr_hq").astype(np.float32)
    h = hop // 2
    win = 2 * int(np.ceil(sr / fmin))  # two periods of the lowest pitch
    y8 = np.pad(y8, (win // 2, win // 2))
    frames = librosa.util.frame(y8, frame_length=win, hop_length=h, axis=0).astype(np.float32)  # (F, win)
    frames = frames - frames.mean(axis=1, keepdims=True)
    nfft = scipy.fft.next_fast_len(2 * win - 1, real=True)
    spec = scipy.fft.rfft(frames, n=nfft, axis=1)  # float32 in, complex64 out
    ac = scipy.fft.irfft((spec.real ** 2 + spec.imag ** 2), n=nfft, axis=1)[:, :win]
    lag_min, lag_max = int(np.floor(sr / fmax)), int(np.ceil(sr / fmin))
    lags = np.arange(win, dtype=np.float32)
    # unbiased normalisation: divide by the overlap length, then by the zero-lag energy
    ac = ac / (win - lags)[None, :]
    ac = ac / np.maximum(ac[:, :1], 1e-12)
    seg = ac[:, lag_min: lag_max + 1]
    best = seg.max(axis=1)
    # prefer the first lag reaching 90 % of the best peak (guards against period doubling)
    first = np.argmax(seg >= 0.9 * best[:, None], axis=1)
    idx = first + lag_min
    # local refinement to the peak near `first`, then parabolic interpolation
    rows = np.arange(len(idx))
    for _ in range(3):
        left = ac[rows, np.clip(idx - 1, 1, win - 2)]
        right = ac[rows, np.clip(idx + 1, 1, win - 2)]
        here = ac[rows, idx]
        go_right = (right > here) & (idx + 1 <= lag_max)
        go_left = (left > here) & (idx - 1 >= lag_min)
        idx = np.where(go_right, idx + 1, np.where(go_left, idx - 1, idx))
    a, b, c = ac[rows, np.clip(idx - 1, 0, win - 1)], ac[rows, idx], ac[rows, np.clip(idx + 1, 0, win - 1)]
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (a - c) / np.where(np.abs(denom) > 1e-9, denom, 1.0), 0.0)
    period = idx + np.clip(shift, -0.5, 0.5)
    f0 = sr / np.maximum(period, 1.0)
    periodicity = np.clip(b, 0.0, 1.0)
    return f0.astype(np.float32), periodicity.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# wav2vec 2.0 (the paper's audio tokens)

_W2V_CACHE: dict[str, tuple] = {}
_W2V_LOCK = threading.Lock()
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")


class Wav2Vec2Features(AudioFeatureExtractor):
    """wav2vec 2.0 hidden states from a local folder, the last ``num_layers`` concatenated.

    As in the paper's appendix B, the embeddings of the final 12 transformer layers are
    concatenated (a model with fewer layers contributes all of them), giving
    ``dim = hidden_size * min(12, num_hidden_layers)``. The 50 Hz encoder frames are linearly
    interpolated to the motion rate. Long recordings run in windows of ``chunk_seconds`` with
    ``context_seconds`` of overlap on each side, so memory stays bounded.
    """

    name = "wav2vec2"

    def __init__(self, local_dir: str | Path, num_layers: int = 12, chunk_seconds: float = 30.0,
                 context_seconds: float = 1.0, device: str = "cpu") -> None:
        self.local_dir = Path(local_dir).expanduser().resolve()
        check_model_folder(self.local_dir, "wav2vec 2.0", "facebook/wav2vec2-base-960h")
        self.device = device
        self.chunk_seconds = float(chunk_seconds)
        self.context_seconds = float(context_seconds)
        self._model, self._normalize = self._load()
        cfg = self._model.config
        self.num_layers = int(min(num_layers, cfg.num_hidden_layers))
        self.hidden_size = int(cfg.hidden_size)
        self.dim = self.hidden_size * self.num_layers
        self.stride = int(np.prod(cfg.conv_stride))

    def describe(self) -> dict:
        return {**super().describe(), "folder": str(self.local_dir), "num_layers": self.num_layers}

    def _load(self):
        key = f"{self.local_dir}|{self.device}"
        with _W2V_LOCK:
            if key not in _W2V_CACHE:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from transformers import AutoModel

                try:
                    model = AutoModel.from_pretrained(str(self.local_dir), local_files_only=True)
                except Exception as exc:
                    raise ValueError(f"cannot load a wav2vec 2.0 model from {self.local_dir}: {exc}") from exc
                model.eval().to(self.device)
                normalize = True
                pre = self.local_dir / "preprocessor_config.json"
                if pre.is_file():
                    normalize = bool(json.loads(pre.read_text()).get("do_normalize", True))
                _W2V_CACHE[key] = (model, normalize)
            return _W2V_CACHE[key]

    def _encode(self, y: np.ndarray):
        import torch

        x = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None].to(self.device)
        out = self._model(x, output_hidden_states=True)
        hs = out.hidden_states[-self.num_layers:]
        return torch.cat(hs, dim=-1)[0].float().cpu()  # (frames, dim)

    def __call__(self, clip: AudioClip) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        _check_clip(clip)
        rows = clip.num_motion_frames
        y = clip.samples.astype(np.float32)
        if self._normalize:  # zero mean, unit variance over the whole clip (Wav2Vec2FeatureExtractor)
            y = (y - y.mean()) / np.sqrt(y.var() + 1e-7)
        min_len = 400  # receptive field of the conv feature encoder
        if len(y) < min_len:
            y = np.pad(y, (0, min_len - len(y)))
        chunk = int(round(self.chunk_seconds * AUDIO_SAMPLE_RATE / self.stride)) * self.stride
        ctx = int(round(self.context_seconds * AUDIO_SAMPLE_RATE / self.stride)) * self.stride
        pieces = []
        with torch.inference_mode():
            if len(y) <= chunk + ctx:
                pieces.append(self._encode(y))
            else:
                for start in range(0, len(y), chunk):
                    end = min(start + chunk, len(y))
                    a, b = max(0, start - ctx), min(len(y), end + ctx)
                    if b - a < min_len:
                        break
                    h = self._encode(y[a:b])
                    first = (start - a) // self.stride
                    count = int(np.ceil((end - start) / self.stride))
                    pieces.append(h[first: first + count])
        h = torch.cat(pieces, dim=0)  # (frames at ~50 Hz, dim)
        if rows == 0:
            return np.zeros((0, self.dim), np.float32)
        feats = F.interpolate(h.T[None], size=rows, mode="linear", align_corners=False)[0].T
        return np.ascontiguousarray(feats.numpy(), dtype=np.float32)


def check_model_folder(folder: Path, what: str, example: str, tokenizer: bool = False) -> None:
    """Raise a clear error when ``folder`` lacks a transformers model's files."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {folder}. Put a {what} model there "
                                f"(e.g. the files of {example}: config.json and model.safetensors)")
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any((folder / w).is_file() for w in WEIGHT_FILES):
        missing.append("model.safetensors (or pytorch_model.bin)")
    if missing:
        raise FileNotFoundError(f"{folder} is not a complete {what} model folder: it lacks {', '.join(missing)}. "
                                f"Copy the files of {example} (config.json, model.safetensors) there")


# ----------------------------------------------------------------------------------------------


def load_audio_features(spec: str | Path | None = None) -> AudioFeatureExtractor:
    """The audio feature extractor for ``spec``.

    ``None`` reads the ``VERSA_AUDIO_ENCODER`` environment variable, falling back to
    ``"librosa"`` (the default :class:`LibrosaFeatures`); a folder path loads
    :class:`Wav2Vec2Features` from it.
    """
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        spec = os.environ.get(AUDIO_ENCODER_ENV, "").strip() or "librosa"
    if isinstance(spec, str) and spec.strip().lower() in ("librosa", "default"):
        return LibrosaFeatures()
    path = Path(spec).expanduser()
    if path.is_dir():
        return Wav2Vec2Features(path)
    raise ValueError(f"unknown audio encoder {str(spec)!r}: use 'librosa' or a folder holding a wav2vec 2.0 model "
                     f"(config.json + model.safetensors); set it with --audio-encoder or {AUDIO_ENCODER_ENV}")
