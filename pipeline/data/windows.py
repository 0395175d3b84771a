"""Cut long takes into windows of bounded length at natural boundaries (moments of least motion)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d


def body_speed(joints: np.ndarray, fps: float) -> np.ndarray:
    """Mean joint speed per frame (m/s), lightly smoothed; (T,)."""
    step = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=-1) * fps
    speed = np.concatenate([step[:1], step])
    return uniform_filter1d(speed, size=max(1, int(fps * 0.25)))


def cut_points(joints: np.ndarray, fps: float, max_seconds: float, min_seconds: float = 2.0) -> list[tuple[int, int]]:
    """(start, end) frame ranges covering the take, each at most max_seconds long.

    Each cut is placed at the slowest moment in the second half of the allowed span, so windows
    stay long and cuts fall where the body pauses, never leaving a remainder under min_seconds.
    """
    n = len(joints)
    max_len, min_len = int(max_seconds * fps), int(min_seconds * fps)
    if n <= max_len:
        return [(0, n)]
    speed = body_speed(joints, fps)
    windows, start = [], 0
    while n - start > max_len:
        lo = start + max(min_len, max_len // 2)
        hi = min(start + max_len, n - min_len)
        cut = lo + int(np.argmin(speed[lo:hi + 1])) if hi >= lo else min(start + max_len, n - min_len)
        windows.append((start, cut))
        start = cut
    windows.append((start, n))
    return windows
