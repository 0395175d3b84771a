"""Visemes estimated from the spectrum, for speech the English phone models cannot read.

Language-independent cues only: loudness opens and closes the mouth, the first two formants
(from LPC) tell open (high F1), rounded (low F2) and wide (high F2) vowels apart, strong energy
above 4 kHz marks sibilants, and a short loudness dip between voiced stretches reads as a lip
closure. The result is a viseme segmentation in the same form as the phone-based one, so both
go through the same coarticulation blending.
"""

from __future__ import annotations

import numpy as np

FRAME_RATE = 100
WINDOW_S = 0.025
SILENCE_DBFS = -55.0
DYNAMIC_RANGE_DB = 30.0


def _frames(samples: np.ndarray, sample_rate: int, n: int) -> np.ndarray:
    hop = sample_rate // FRAME_RATE
    win = int(WINDOW_S * sample_rate)
    padded = np.pad(np.asarray(samples, dtype=np.float32), (win // 2, win))
    idx = np.arange(n)[:, None] * hop + np.arange(win)[None, :]
    return padded[np.clip(idx, 0, len(padded) - 1)]


def _formants(frames: np.ndarray, sample_rate: int, voiced: np.ndarray, order: int = 14) -> np.ndarray:
    """(n, 2) F1, F2 in Hz from LPC roots of pre-emphasised, windowed frames (0 where unvoiced)."""
    import librosa

    out = np.zeros((len(frames), 2), dtype=np.float32)
    idx = np.flatnonzero(voiced)
    if idx.size == 0:
        return out
    x = frames[idx].astype(np.float64)
    x = np.concatenate([x[:, :1], x[:, 1:] - 0.97 * x[:, :-1]], axis=1) * np.hamming(x.shape[1])
    x += 1e-6 * np.random.default_rng(0).standard_normal(x.shape)  # keeps LPC defined on flat frames
    coeffs = librosa.lpc(x, order=order, axis=-1)
    for k, a in zip(idx, coeffs):
        if not np.all(np.isfinite(a)):
            continue
        roots = np.roots(a)
        roots = roots[np.imag(roots) > 0]
        freqs = np.angle(roots) * sample_rate / (2 * np.pi)
        bw = -np.log(np.abs(roots) + 1e-12) * sample_rate / np.pi
        keep = np.sort(freqs[(freqs > 200) & (freqs < 4000) & (bw < 500)])
        if keep.size >= 2:
            out[k] = keep[:2]
        elif keep.size == 1:
            out[k, 0] = keep[0]
    return out


def spectral_features(samples: np.ndarray, sample_rate: int, num_frames: int | None = None) -> dict[str, np.ndarray]:
    """Per 10 ms frame: 'level' (0..1 loudness), 'db', 'f1', 'f2', 'hf' (share of energy above 4 kHz)."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    n = num_frames if num_frames is not None else int(np.ceil(len(samples) * FRAME_RATE / sample_rate))
    frames = _frames(samples, sample_rate, n)
    spec = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frames.shape[1], 1.0 / sample_rate)
    band = spec[:, (freqs >= 200) & (freqs <= 3500)].sum(axis=1)
    total = spec[:, freqs >= 100].sum(axis=1) + 1e-12
    db = 10 * np.log10(band * 2.0 / (frames.shape[1] * np.sum(np.hanning(frames.shape[1]) ** 2)) + 1e-12)
    loud = db[db > SILENCE_DBFS]
    ref = float(np.percentile(loud, 95)) if loud.size else 0.0
    floor = max(ref - DYNAMIC_RANGE_DB, SILENCE_DBFS)
    level = np.clip((db - floor) / max(ref - floor, 1e-3), 0, 1) if loud.size else np.zeros(n)
    hf = spec[:, freqs >= 4000].sum(axis=1) / total
    voiced = (level > 0.35) & (hf < 0.4)
    formants = _formants(frames, sample_rate, voiced)
    return {"level": level.astype(np.float32), "db": db.astype(np.float32), "f1": formants[:, 0],
            "f2": formants[:, 1], "hf": hf.astype(np.float32), "voiced": voiced}


def _vowel_class(f1: float, f2: float) -> str:
    if f2 <= 0 or f1 <= 0:
        return "EH"
    if f2 < 1150 and f1 < 550:
        return "UW"
    if f2 < 1350:
        return "OW"
    if f2 > 1900 and f1 < 520:
        return "IY"
    if f1 > 650:
        return "AA"
    return "EH"


def _closures(level: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Frames of short loudness dips (30-160 ms) between louder stretches: stop / bilabial closures."""
    n = len(level)
    dip = np.zeros(n, dtype=bool)
    low = level < 0.2
    i = 0
    while i < n:
        if not low[i]:
            i += 1
            continue
        j = i
        while j < n and low[j]:
            j += 1
        if 4 <= j - i <= 14 and i > 0 and j < n:
            before = level[max(0, i - 12):i].max()
            after = level[j:j + 12].max()
            if min(before, after) > 0.75 and voiced[max(0, i - 12):i].any() and voiced[j:j + 12].any():
                dip[i:j] = True
        i = j
    return dip


def spectral_visemes(samples: np.ndarray, sample_rate: int,
                     num_frames: int | None = None) -> tuple[list[tuple[str, float, float]], dict[str, np.ndarray]]:
    """Viseme segments (name, start_s, end_s) estimated from the spectrum, and the features."""
    feats = spectral_features(samples, sample_rate, num_frames)
    level, hf, voiced = feats["level"], feats["hf"], feats["voiced"]
    f1 = _median(feats["f1"], voiced)
    f2 = _median(feats["f2"], voiced)
    dips = _closures(level, voiced)
    labels = []
    for k in range(len(level)):
        if dips[k]:
            labels.append("MBP")
        elif level[k] < 0.12:
            labels.append("rest")
        elif hf[k] > 0.45:
            labels.append("S")
        elif voiced[k]:
            labels.append(_vowel_class(float(f1[k]), float(f2[k])))
        else:
            labels.append("TDN")
    return _runs(labels, min_frames=3), feats


def _median(x: np.ndarray, mask: np.ndarray, width: int = 5) -> np.ndarray:
    """Median filter over the masked (voiced) frames only: formant tracks jitter frame to frame."""
    out = x.copy()
    idx = np.flatnonzero(mask)
    for pos, k in enumerate(idx):
        lo, hi = max(0, pos - width // 2), min(len(idx), pos + width // 2 + 1)
        neigh = idx[lo:hi]
        neigh = neigh[np.abs(neigh - k) <= width]
        vals = x[neigh]
        vals = vals[vals > 0]
        if vals.size:
            out[k] = float(np.median(vals))
    return out


def _runs(labels: list[str], min_frames: int) -> list[tuple[str, float, float]]:
    """Runs of equal labels as segments in seconds; runs shorter than ``min_frames`` merge into the
    previous one (closures excepted: they are short by nature)."""
    runs: list[list] = []
    for k, lab in enumerate(labels):
        if runs and runs[-1][0] == lab:
            runs[-1][2] = k + 1
        else:
            runs.append([lab, k, k + 1])
    merged: list[list] = []
    for lab, a, b in runs:
        if merged and b - a < min_frames and lab != "MBP":
            merged[-1][2] = b
        elif merged and merged[-1][0] == lab:
            merged[-1][2] = b
        else:
            merged.append([lab, a, b])
    return [(lab, a / FRAME_RATE, b / FRAME_RATE) for lab, a, b in merged]
