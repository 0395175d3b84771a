"""Token -> bank window lookup: a best path through the candidates, then crossfaded borders.

Token by token, the candidates are the bank's windows of that code; a dynamic programme picks
the sequence that best continues itself (each window's first frame against the previous
window's last frame, extrapolated by its velocity; consecutive windows of one source clip
continue perfectly) while staying near the projection of the decoded motion, in pose and in
frame-to-frame motion (one code covers a still pose and small movements about it: a still
decoded motion should get a still window, not a gesture that happens to share the code, or a
chain of free continuations drifts away from it). Codes the bank lacks fall back to the
projection window. Borders are then crossfaded: the jump between two windows (beyond the local
velocity) is spread over ``crossfade`` frames on both sides (two windows: a one-window ramp
left a visible kink). Any further temporal filter is applied by the caller to bank and
projection alike. (Crossfading only the bank's correction of the projected pose was tried
and was jerkier: the projection's own wobble then adds to the bank's.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.constants import TOKEN_DOWNSAMPLE
from pipeline.token2pose.bank import RelationBank
from pipeline.token2pose.resample import smooth_time
from pipeline.token2pose.windows import SHAPE_POINTS

SHAPE_WEIGHTS = np.array([0.5, 1.0, 1.0, 1.0, 1.0, 1.5, 1.5, 0.7, 0.7, 0.5, 0.5, 0.4, 0.4])
"""Weights of SHAPE_POINTS in the costs: the wrists and arms matter most for a talking person."""


@dataclass
class LookupConfig:
    fidelity: float = 4.0          # weight of the mean distance to the projected decoded motion
    velocity: float = 64.0         # weight of the window's frame-to-frame motion mismatch (summed over
                                   # its 3 steps) with the decoded motion
    continuity: float = 16.0       # weight of the border jump between consecutive windows
    crossfade: int = 8             # frames on each side of a border that share its jump
    smooth_sigma: float = 0.0      # extra Gaussian filter (frames at 20 fps) after the crossfade; the
                                   # api filters bank and projection alike (api.SMOOTH_SIGMA) instead


@dataclass
class LookupResult:
    keypoints: np.ndarray          # (4N, 133, 2) normalised poses
    scores: np.ndarray             # (4N, 133)
    entries: np.ndarray            # (N,) bank entry per token, -1 where projection filled in
    coverage: float                # share of tokens served by the bank

    @property
    def from_bank(self) -> np.ndarray:
        return self.entries >= 0


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Weighted mean point distance over SHAPE_POINTS; broadcasts over leading axes."""
    d = np.linalg.norm(a[..., SHAPE_POINTS, :] - b[..., SHAPE_POINTS, :], axis=-1)
    return (d * SHAPE_WEIGHTS).sum(-1) / SHAPE_WEIGHTS.sum()


def _path(cands: list[np.ndarray], unary: list[np.ndarray], windows: list[np.ndarray],
          ids: list[np.ndarray], bank: RelationBank, cfg: LookupConfig) -> list[int]:
    """Viterbi over per-token candidates; returns the chosen candidate index per token."""
    cost = unary[0].copy()
    back: list[np.ndarray] = []
    for i in range(1, len(cands)):
        prev, cur = windows[i - 1], windows[i]
        predicted = prev[:, -1] + (prev[:, -1] - prev[:, -2])                 # (P, K, 2)
        jump = _distance(cur[None, :, 0], predicted[:, None])                   # (P, C)
        pi, ci = ids[i - 1], ids[i]
        if (pi >= 0).any() and (ci >= 0).any():
            same = ((bank.source[np.maximum(pi, 0)][:, None] == bank.source[np.maximum(ci, 0)][None])
                    & (bank.window[np.maximum(pi, 0)][:, None] + 1 == bank.window[np.maximum(ci, 0)][None])
                    & (pi[:, None] >= 0) & (ci[None] >= 0))
            jump = np.where(same, 0.0, jump)
        total = cost[:, None] + cfg.continuity * jump
        back.append(np.argmin(total, axis=0))
        cost = total.min(axis=0) + unary[i]
    choice = [int(np.argmin(cost))]
    for b in reversed(back):
        choice.append(int(b[choice[-1]]))
    return choice[::-1]


def crossfade(poses: np.ndarray, borders: list[int], frames: int, sigma: float) -> np.ndarray:
    """Spread each border's jump (beyond the local velocity) over ``frames`` on each side, then
    filter lightly in time (edge-padded Gaussian)."""
    out = np.asarray(poses, dtype=np.float64).copy()
    t = len(out)
    if frames > 0:
        correction = np.zeros_like(out)
        for k in borders:
            if k < 2 or k > t - 2:
                continue
            velocity = 0.5 * ((out[k - 1] - out[k - 2]) + (out[k + 1] - out[k]))
            jump = poses[k] - poses[k - 1] - velocity
            span = np.arange(max(k - frames, 0), min(k + frames, t))
            ramp = (span - (k - frames) + 0.5) / (2 * frames)
            ramp = ramp * ramp * (3 - 2 * ramp)                                 # smoothstep
            correction[span] += jump * (ramp - (span >= k))[:, None, None]
        out += correction
    return smooth_time(out, sigma)


def lookup(tokens: np.ndarray, projected: np.ndarray, projected_scores: np.ndarray, bank: RelationBank,
           config: LookupConfig | None = None) -> LookupResult:
    """Normalised 2D poses (4N, 133, 2) for tokens (N,), from the bank where it has the code.

    projected / projected_scores: the decoded motion's own normalised poses (4N, 133, 2) / (4N, 133),
    used as the fidelity target and as the fallback for codes the bank lacks.
    """
    cfg = config or LookupConfig()
    w = TOKEN_DOWNSAMPLE
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    n = len(tokens)
    projected = np.asarray(projected, dtype=np.float64)[: n * w]
    if len(projected) < n * w:
        raise ValueError(f"need {n * w} projected frames for {n} tokens, got {len(projected)}")
    proj_windows = projected.reshape(n, w, *projected.shape[1:])
    cands, unary, windows, ids = [], [], [], []
    for i, code in enumerate(tokens):
        entries = bank.entries_for(int(code))
        if len(entries):
            win = bank.keypoints[entries].astype(np.float64)
            ids.append(entries)
        else:
            win = proj_windows[i][None]
            ids.append(np.array([-1]))
        windows.append(win)
        pose_gap = _distance(win, proj_windows[i][None]).mean(axis=-1)
        motion_gap = _distance(np.diff(win, axis=1), np.diff(proj_windows[i][None], axis=1)).sum(axis=-1)
        unary.append(cfg.fidelity * pose_gap + cfg.velocity * motion_gap)
        cands.append(entries)
    choice = _path(cands, unary, windows, ids, bank, cfg) if n else []
    entries = np.array([ids[i][c] for i, c in enumerate(choice)], dtype=np.int64)
    keypoints = np.concatenate([windows[i][c] for i, c in enumerate(choice)]) if n else projected[:0]
    scores = np.concatenate([bank.scores[e] if e >= 0 else projected_scores[i * w:(i + 1) * w]
                             for i, e in enumerate(entries)]) if n else projected_scores[:0]
    borders = [i * w for i in range(1, n)
               if not (entries[i - 1] >= 0 and entries[i] >= 0
                       and bank.source[entries[i - 1]] == bank.source[entries[i]]
                       and bank.window[entries[i - 1]] + 1 == bank.window[entries[i]])
               and not (entries[i - 1] < 0 and entries[i] < 0)]
    keypoints = crossfade(keypoints, borders, cfg.crossfade, cfg.smooth_sigma)
    coverage = float((entries >= 0).mean()) if n else 0.0
    return LookupResult(keypoints, np.asarray(scores, dtype=np.float32), entries, coverage)


__all__ = ["LookupConfig", "LookupResult", "crossfade", "lookup"]
