"""How a long video is cut into overlapping windows (no torch: the time estimate uses it too)."""

from __future__ import annotations


def sliding_windows(num_frames: int, window: int, overlap: int) -> list[range]:
    """Frame ranges of at most ``window`` frames, consecutive ones sharing ``overlap`` frames;
    the last one is aligned to the end (it may overlap its neighbour more)."""
    if num_frames <= 0:
        raise ValueError("num_frames must be positive")
    if window <= 0 or not 0 <= overlap < window:
        raise ValueError(f"need window > 0 and 0 <= overlap < window, got window={window}, overlap={overlap}")
    if num_frames <= window:
        return [range(0, num_frames)]
    starts = list(range(0, num_frames - window + 1, window - overlap))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return [range(s, s + window) for s in starts]
