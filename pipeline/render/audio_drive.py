"""Per-frame face drivers for the CPU renderer: mouth opening from speech energy, eye blinks.

The warp renderer has no learned lip-sync model, so the jaw follows the loudness of the speech
band (vowels are loud and open the mouth, pauses close it) with a short attack and a slower
release, which reads as talking; blinks are drawn from a seeded random process at a natural
rate so that renders are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MouthDriveConfig:
    """How speech energy becomes a mouth opening in [0, 1]."""

    band_hz: tuple[float, float] = (200.0, 3500.0)
    """Energy is measured in the speech band, so hum and hiss do not open the mouth."""
    dynamic_range_db: float = 30.0
    """Levels this far below the loud speech level (95th percentile) count as closed."""
    silence_dbfs: float = -55.0
    """Absolute floor: quieter frames are silence, mouth closed."""
    attack_s: float = 0.03
    release_s: float = 0.08
    gamma: float = 1.3
    """>1 keeps quiet consonants nearly closed and lets vowels open wide."""


def band_energy_db(samples: np.ndarray, sample_rate: int, fps: float, num_frames: int,
                   band_hz: tuple[float, float] = (200.0, 3500.0)) -> np.ndarray:
    """Speech-band energy (dBFS) of a two-frame window centred on each video frame."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    hop = sample_rate / float(fps)
    win = int(round(2 * hop))
    win += win % 2
    padded = np.pad(samples, (win // 2, win // 2 + win))
    starts = np.clip(np.round(np.arange(num_frames) * hop).astype(np.int64), 0, max(0, len(padded) - win))
    frames = padded[starts[:, None] + np.arange(win)[None, :]] * np.hanning(win).astype(np.float32)
    spectrum = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1.0 / sample_rate)
    band = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    # Parseval with the window's energy: a full-scale sine in band reads about 0 dBFS
    power = spectrum[:, band].sum(axis=1) * 2.0 / (win * np.sum(np.hanning(win) ** 2))
    return 10.0 * np.log10(power + 1e-12)


def smooth_attack_release(values: np.ndarray, fps: float, attack_s: float, release_s: float) -> np.ndarray:
    """One-pole follower: rises with time constant ``attack_s``, falls with ``release_s``."""
    up = 1.0 - np.exp(-1.0 / max(fps * attack_s, 1e-6))
    down = 1.0 - np.exp(-1.0 / max(fps * release_s, 1e-6))
    out = np.zeros(len(values), dtype=np.float32)
    level = 0.0
    for i, v in enumerate(values):
        level += (up if v > level else down) * (v - level)
        out[i] = level
    return out


def mouth_openness(samples: np.ndarray | None, sample_rate: int, fps: float, num_frames: int,
                   config: MouthDriveConfig | None = None) -> np.ndarray:
    """Mouth opening per video frame in [0, 1] (0 = closed); all zeros without audio."""
    cfg = config or MouthDriveConfig()
    if samples is None or len(samples) == 0 or num_frames <= 0:
        return np.zeros(max(num_frames, 0), dtype=np.float32)
    db = band_energy_db(samples, sample_rate, fps, num_frames, cfg.band_hz)
    loud = db[db > cfg.silence_dbfs]
    if loud.size == 0:
        return np.zeros(num_frames, dtype=np.float32)
    ref = float(np.percentile(loud, 95))
    floor = max(ref - cfg.dynamic_range_db, cfg.silence_dbfs)
    raw = np.clip((db - floor) / max(ref - floor, 1e-3), 0.0, 1.0) ** cfg.gamma
    raw[db <= cfg.silence_dbfs] = 0.0
    return np.clip(smooth_attack_release(raw, fps, cfg.attack_s, cfg.release_s), 0.0, 1.0)


def blink_closure(num_frames: int, fps: float, rate_per_min: float = 15.0, duration_s: float = 0.15,
                  seed: int = 0) -> np.ndarray:
    """Eyelid closure per frame in [0, 1]: blinks at ``rate_per_min`` on average, seeded.

    Intervals are a fixed refractory part (40 % of the mean) plus an exponential part, so blinks
    never bunch up unnaturally yet stay irregular. Each blink is centred on a frame (so at least
    one frame is fully closed at any frame rate) and lasts about ``duration_s``.
    """
    closure = np.zeros(max(num_frames, 0), dtype=np.float32)
    if num_frames <= 0 or rate_per_min <= 0 or fps <= 0:
        return closure
    rng = np.random.default_rng(seed)
    mean = 60.0 / rate_per_min
    total = num_frames / fps
    t = rng.uniform(0.2, 1.0) * mean  # the first blink comes within one mean interval
    times = np.arange(num_frames) / fps
    half = duration_s / 2.0 + 1.0 / fps
    while t < total:
        centre = round(t * fps) / fps
        dt = np.abs(times - centre)
        bump = np.where(dt < half, 0.5 * (1.0 + np.cos(np.pi * dt / half)), 0.0)
        closure = np.maximum(closure, bump.astype(np.float32))
        t += 0.4 * mean + rng.exponential(0.6 * mean)
    return closure
