"""Where the speaker pauses: voice activity, pause intervals, and suggested timeline segments.

Voice activity is energy based with hysteresis: 25 ms frames every 10 ms, their level in dB
compared with two thresholds set between the clip's noise floor (5th percentile) and its peak
level (99th percentile). A frame above the upper threshold starts speech; speech continues while
frames stay above the lower one. Gaps shorter than ``MIN_GAP_S`` (stop consonants, short
breaths inside a phrase) are closed.

The timeline is then cut in the middle of pauses; stretches longer than ``max_segment_s`` with
no pause are cut at their quietest point, and boundaries that would leave a segment shorter than
``min_segment_s`` are dropped (longer pauses win).
"""

from __future__ import annotations

import numpy as np

from pipeline.audio.io import AudioClip
from pipeline.constants import MOTION_FPS

ANALYSIS_RATE = 100
"""Analysis frames per second (10 ms hop); a multiple of MOTION_FPS."""
FRAME_SECONDS = 0.025
MIN_GAP_S = 0.12
"""Silences shorter than this inside speech are not pauses (stops, short breaths)."""
MIN_BURST_S = 0.04
"""Isolated sounds shorter than this are not speech (clicks)."""
PEAK_MARGIN_DB = 35.0
"""The upper threshold sits at most this far below the peak level."""
HYSTERESIS_DB = 6.0


def _frame_db(clip: AudioClip) -> np.ndarray:
    hop = clip.sample_rate // ANALYSIS_RATE
    win = int(round(FRAME_SECONDS * clip.sample_rate))
    y = np.pad(clip.samples.astype(np.float64), (win // 2, win // 2))
    n = 1 + (len(y) - win) // hop if len(y) >= win else 1
    c = np.concatenate([[0.0], np.cumsum(y * y)])
    starts = np.arange(n) * hop
    ends = np.minimum(starts + win, len(y))
    energy = (c[ends] - c[starts]) / win
    return 10.0 * np.log10(np.maximum(energy, 1e-12))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(d[0::2].tolist(), d[1::2].tolist()))


def _activity_fine(clip: AudioClip) -> tuple[np.ndarray, np.ndarray]:
    """(speech mask, level in dB) per 10 ms analysis frame."""
    db = _frame_db(clip)
    peak, floor = np.percentile(db, 99), np.percentile(db, 5)
    high = max(peak - PEAK_MARGIN_DB, floor + 0.4 * (peak - floor))
    low = max(high - HYSTERESIS_DB, floor + 0.25 * (peak - floor))
    above_low = db > low
    active = np.zeros_like(above_low)
    for a, b in _runs(above_low):
        if np.any(db[a:b] > high):
            active[a:b] = True
    min_gap = int(round(MIN_GAP_S * ANALYSIS_RATE))
    for a, b in _runs(~active):
        if a > 0 and b < len(active) and b - a < min_gap:
            active[a:b] = True
    min_burst = int(round(MIN_BURST_S * ANALYSIS_RATE))
    for a, b in _runs(active):
        if b - a < min_burst:
            active[a:b] = False
    return active, db


def speech_activity(clip: AudioClip) -> np.ndarray:
    """Boolean voice activity per motion frame (``clip.num_motion_frames`` values at MOTION_FPS)."""
    fine, _ = _activity_fine(clip)
    per = ANALYSIS_RATE // MOTION_FPS
    rows = clip.num_motion_frames
    need = rows * per
    f = fine.astype(np.float32)
    f = np.pad(f, (0, max(0, need - len(f))), mode="edge")[:need]
    return f.reshape(rows, per).mean(axis=1) >= 0.5


def find_pauses(clip: AudioClip, min_pause_s: float = 0.25) -> list[tuple[float, float]]:
    """Pauses inside the speech (not the leading or trailing silence), as (start, end) seconds."""
    fine, _ = _activity_fine(clip)
    out = []
    for a, b in _runs(~fine):
        if a == 0 or b >= len(fine):
            continue
        if (b - a) / ANALYSIS_RATE >= min_pause_s:
            out.append((a / ANALYSIS_RATE, min(b / ANALYSIS_RATE, clip.duration_s)))
    return out


def _snap(t: float) -> float:
    """Round a time to the motion-frame grid (1 / MOTION_FPS)."""
    return round(t * MOTION_FPS) / MOTION_FPS


def suggest_segments(clip: AudioClip, min_pause_s: float = 0.25, min_segment_s: float = 1.0,
                     max_segment_s: float = 8.0) -> list[tuple[float, float]]:
    """Cut ``[0, clip.duration_s]`` into contiguous segments at the speaker's pauses.

    Boundaries sit in the middle of pauses of at least ``min_pause_s`` (rounded to the motion
    frame grid, 1 / MOTION_FPS); segments shorter than ``min_segment_s`` are avoided by dropping
    the boundaries of the shorter pauses first; segments longer than ``max_segment_s`` are cut
    at their quietest point. The first segment starts at 0 and the last ends at the duration.
    """
    if min_pause_s <= 0 or min_segment_s <= 0 or max_segment_s <= 0:
        raise ValueError("min_pause_s, min_segment_s and max_segment_s must be positive")
    if min_segment_s > max_segment_s:
        raise ValueError(f"min_segment_s ({min_segment_s}) must not exceed max_segment_s ({max_segment_s})")
    dur = float(clip.duration_s)
    if dur <= min_segment_s:
        return [(0.0, dur)]
    eps = 1e-6

    # 1) pause midpoints, longest pauses first, kept while every segment stays >= min_segment_s
    pauses = find_pauses(clip, min_pause_s)
    pauses.sort(key=lambda p: (-(p[1] - p[0]), p[0]))
    bounds: list[float] = []
    for a, b in pauses:
        t = _snap(0.5 * (a + b))
        if t < min_segment_s - eps or dur - t < min_segment_s - eps:
            continue
        if all(abs(t - u) >= min_segment_s - eps for u in bounds):
            bounds.append(t)
    bounds.sort()

    # 2) long stretches: cut at the quietest point (smoothed level), recursively
    _, db = _activity_fine(clip)
    k = max(1, int(round(0.2 * ANALYSIS_RATE)))
    smooth = np.convolve(np.pad(db, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k, mode="valid")

    def split(s: float, e: float) -> list[float]:
        if e - s <= max_segment_s + eps:
            return []
        lo, hi = s + min_segment_s, e - min_segment_s
        if hi - lo < 1.0 / MOTION_FPS:
            t = _snap(0.5 * (s + e))
        else:
            ia, ib = int(np.ceil(lo * ANALYSIS_RATE)), int(np.floor(hi * ANALYSIS_RATE)) + 1
            window = smooth[ia:min(ib, len(smooth))]
            if window.size == 0:
                t = _snap(0.5 * (s + e))
            else:
                # quietest point; ties broken towards the middle of the stretch
                centre = 0.5 * (s + e) * ANALYSIS_RATE
                idx = np.arange(ia, ia + window.size)
                j = int(np.lexsort((np.abs(idx - centre), np.round(window, 1)))[0])
                t = _snap(idx[j] / ANALYSIS_RATE)
        if not (s + eps < t < e - eps):
            t = 0.5 * (s + e)
        return split(s, t) + [t] + split(t, e)

    edges = [0.0] + bounds + [dur]
    final = [0.0]
    for s, e in zip(edges[:-1], edges[1:]):
        final += split(s, e) + [e]
    final[-1] = dur
    return [(float(a), float(b)) for a, b in zip(final[:-1], final[1:])]
