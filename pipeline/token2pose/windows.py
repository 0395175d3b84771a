"""Cut template clips into token windows and keep a diverse few per code.

Shared by both bank builders (videos and the motion dataset): each clip arrives as its tokens
and its 2D poses at 20 fps; windows are normalised per clip (neck at the origin, divided by the
clip's torso length) and, when a code has more windows than the bank keeps, the kept ones are
spread out over the code's pose variety (farthest-point sampling on the arms and torso).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.constants import TOKEN_DOWNSAMPLE
from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.token2pose.bank import RelationBank, RelationBankConfig
from pipeline.token2pose.tree2d import normalise, torso_length

SHAPE_POINTS = np.array([B[n] for n in ("nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                                        "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                                        "right_knee", "left_ankle", "right_ankle")])
"""Keypoints that describe a window's pose for diversity and lookup costs."""


@dataclass
class ClipWindows:
    """One template clip's token windows: codes (N,), normalised keypoints (N, 4, 133, 2), scores."""

    codes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    source: int


def clip_windows(tokens: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, source: int,
                 min_torso_px: float = 1e-3) -> ClipWindows | None:
    """Windows of a clip with tokens (N,) and poses (T, 133, 2) px at 20 fps; only whole windows.

    Returns None for a clip whose torso cannot be measured (no usable normalisation).
    """
    w = TOKEN_DOWNSAMPLE
    n = min(len(tokens), len(keypoints) // w)
    if n == 0:
        return None
    scale = torso_length(keypoints)
    if not np.isfinite(scale) or scale < min_torso_px:
        return None
    norm = normalise(keypoints[: n * w], scale).reshape(n, w, -1, 2)
    return ClipWindows(np.asarray(tokens[:n], dtype=np.int64), norm, scores[: n * w].reshape(n, w, -1), source)


def farthest_points(features: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` rows of ``features`` (M, D) spread out by greedy farthest-point sampling."""
    m = len(features)
    if m <= k:
        return np.arange(m)
    chosen = [int(rng.integers(m))]
    dist = np.linalg.norm(features - features[chosen[0]], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(features - features[nxt], axis=1))
    return np.array(sorted(chosen))


def assemble_bank(clips: list[ClipWindows], config: RelationBankConfig, seed: int = 0) -> RelationBank:
    """A bank from the windows of many clips, at most ``config.max_per_code`` per code (0: all)."""
    clips = [c for c in clips if c is not None and len(c.codes)]
    if not clips:
        return RelationBank.empty(config)
    codes = np.concatenate([c.codes for c in clips])
    keypoints = np.concatenate([c.keypoints for c in clips])
    scores = np.concatenate([c.scores for c in clips])
    source = np.concatenate([np.full(len(c.codes), c.source) for c in clips])
    window = np.concatenate([np.arange(len(c.codes)) for c in clips])
    keep = np.arange(len(codes))
    if config.max_per_code > 0:
        rng = np.random.default_rng(seed)
        shape = keypoints[:, :, SHAPE_POINTS].reshape(len(codes), -1)
        keep = np.concatenate([idx[farthest_points(shape[idx], config.max_per_code, rng)]
                               for code in np.unique(codes) for idx in [np.flatnonzero(codes == code)]])
    return RelationBank(config, codes[keep], keypoints[keep], scores[keep], source[keep], window[keep])


__all__ = ["ClipWindows", "SHAPE_POINTS", "assemble_bank", "clip_windows", "farthest_points"]
