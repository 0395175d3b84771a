"""Small brow raises on stressed syllables: the loudest, most open syllable nuclei of a phrase."""

from __future__ import annotations

import numpy as np

from pipeline.speech.visemes import MouthTrack

MIN_SPACING_S = 0.8
"""Brows rise at most about once per phrase accent, not on every syllable."""
RISE_S, FALL_S = 0.12, 0.35


def brow_raise(track: MouthTrack, fps: float, num_frames: int) -> np.ndarray:
    """Brow raise per video frame in [0, 1], from the jaw track's prominent peaks (stressed
    syllables are louder and more open than their neighbours); zeros for a silent track."""
    from scipy.signal import find_peaks

    out = np.zeros(max(num_frames, 0), dtype=np.float32)
    jaw = np.asarray(track.jaw, dtype=np.float32)[:num_frames]
    if jaw.size < 3 or float(jaw.max()) <= 0.05:
        return out
    peaks, props = find_peaks(jaw, prominence=0.15, distance=max(1, int(MIN_SPACING_S * fps)))
    if peaks.size == 0:
        return out
    prom = props["prominences"]
    keep = prom >= np.quantile(prom, 0.5)  # the stronger half of the accents
    t = np.arange(num_frames) / fps
    for p, pr in zip(peaks[keep], prom[keep]):
        amp = float(np.clip(0.3 + 0.6 * pr / max(prom.max(), 1e-6), 0, 1)) * 0.8
        c = p / fps - 0.05  # brows lead the vowel slightly
        dt = t - c
        bump = np.where(dt < 0, np.exp(-(dt / RISE_S) ** 2), np.exp(-(dt / FALL_S) ** 2))
        out = np.maximum(out, (amp * bump).astype(np.float32))
    return np.clip(out, 0, 1)
