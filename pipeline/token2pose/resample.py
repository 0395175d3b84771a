"""Resample pose parameters from the motion rate to the video rate by linear interpolation."""

from __future__ import annotations

import numpy as np


def num_frames_at(n_frames: int, src_fps: float, dst_fps: float) -> int:
    """Frames covering the same duration (n_frames / src_fps seconds) at dst_fps."""
    return int(round(n_frames * dst_fps / src_fps))


def sample_positions(n_frames: int, src_fps: float, dst_fps: float) -> np.ndarray:
    """Fractional source-frame index of every output frame (output frame j is at j / dst_fps s)."""
    n_out = num_frames_at(n_frames, src_fps, dst_fps)
    return np.clip(np.arange(n_out) * (src_fps / dst_fps), 0.0, max(n_frames - 1, 0))


def interpolate(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """values (T, ...) sampled at fractional frame positions (M,), linearly; (M, ...)."""
    values = np.asarray(values, dtype=np.float64)
    lo = np.floor(positions).astype(int)
    hi = np.minimum(lo + 1, len(values) - 1)
    frac = (positions - lo).reshape((-1,) + (1,) * (values.ndim - 1))
    return values[lo] * (1.0 - frac) + values[hi] * frac


def resample(values: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """values (T, ...) at src_fps -> (round(T * dst / src), ...) at dst_fps."""
    return interpolate(values, sample_positions(len(values), src_fps, dst_fps))


def smooth_time(values: np.ndarray, sigma: float) -> np.ndarray:
    """Edge-padded Gaussian filter of values (T, ...) along time, ``sigma`` in frames (0: none)."""
    values = np.asarray(values, dtype=np.float64)
    t = len(values)
    if sigma <= 0 or t < 2:
        return values.copy()
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(values[:1], radius, 0), values, np.repeat(values[-1:], radius, 0)])
    return sum(w * padded[i:i + t] for i, w in enumerate(kernel))


__all__ = ["interpolate", "num_frames_at", "resample", "sample_positions", "smooth_time"]
