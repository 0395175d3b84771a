"""Beat consistency (BC) between motion and speech audio.

Definition implemented (the beat-align score of Bailando, Li et al., CVPR 2022, in the audio->motion
direction that co-speech gesture work reports as "BC", e.g. TalkSHOW (Yi et al., CVPR 2023) and
EMAGE (Liu et al., CVPR 2024)):

    BC = 1/|B_a| * sum_{t_a in B_a} exp( - min_{t_m in B_m} (t_a - t_m)^2 / (2 sigma^2) )

with B_a the audio beats (onset times, seconds), B_m the motion beats (times of local minima of the
upper-body joint speed, seconds) and sigma in seconds (default 0.1 s; Bailando uses 3 frames at
60 fps = 0.05 s, EMAGE 0.3 s). Times are in seconds throughout, so results do not depend on the
motion or audio frame rates. Edge cases: no audio beats -> NaN (undefined; skip the clip), no
motion beats -> 0.0.

Motion beats follow the same implementations: per-joint velocity by central differences (of
positions relative to the pelvis by default, so locomotion does not hide the gestures), its norm
averaged over the upper-body joints (spine3, neck, collars, head, shoulders, elbows, wrists), a
light Gaussian smoothing, then local minima (found as peaks of the negated speed with
scipy.signal.find_peaks) that are prominent enough: prominence >= max(min_prominence (m/s),
rel_prominence * (95th - 5th percentile of the speed)), so tiny wiggles in near-still motion are
not counted as beats.

The chance level depends on how dense the motion beats are; compare against `shuffled_baseline`,
which scores each motion against the audio of another clip (a cyclic shift of the pairing).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from pipeline.constants import MOTION_FPS
from pipeline.motion.skeleton import JOINT_INDEX

UPPER_BODY_JOINTS: tuple[int, ...] = tuple(JOINT_INDEX[n] for n in (
    "spine3", "neck", "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist"))
"""Joints whose mean speed defines motion beats (upper body and arms, as EMAGE's upper-body list)."""

DEFAULT_SIGMA: float = 0.1
"""Gaussian width (seconds) of the BC kernel."""


def joint_speed(joints: np.ndarray, fps: float = MOTION_FPS,
                joint_ids: Sequence[int] = UPPER_BODY_JOINTS, root_relative: bool = True) -> np.ndarray:
    """(T,) mean speed (units of joints per second) of the chosen joints, central differences.

    root_relative subtracts the pelvis (joint 0) first, so walking or stepping does not swamp the
    gesture rhythm of the arms and head."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise ValueError(f"expected joints of shape (T, J, 3), got {joints.shape}")
    if root_relative:
        joints = joints - joints[:, :1]
    sel = joints[:, list(joint_ids)]
    if len(sel) < 2:
        return np.zeros(len(sel))
    vel = np.gradient(sel, axis=0) * fps
    return np.linalg.norm(vel, axis=-1).mean(axis=1)


def motion_beats(joints: np.ndarray, fps: float = MOTION_FPS, smooth_sigma: float = 1.0,
                 min_prominence: float = 0.02, rel_prominence: float = 0.1,
                 joint_ids: Sequence[int] = UPPER_BODY_JOINTS, root_relative: bool = True) -> np.ndarray:
    """Times (s) of the local minima of upper-body speed for joints (T, J, 3) at fps.

    smooth_sigma is in frames; a minimum counts when its prominence is at least
    max(min_prominence, rel_prominence * (p95 - p5 of the speed)).
    """
    speed = joint_speed(joints, fps, joint_ids, root_relative)
    if len(speed) < 3:
        return np.zeros(0)
    if smooth_sigma > 0:
        speed = gaussian_filter1d(speed, smooth_sigma, mode="nearest")
    spread = float(np.percentile(speed, 95) - np.percentile(speed, 5))
    prominence = max(min_prominence, rel_prominence * spread)
    minima, _ = find_peaks(-speed, prominence=prominence)
    return minima.astype(np.float64) / fps


ONSET_HOP_SECONDS: float = 0.01
"""Onset-envelope hop (10 ms): librosa's default 512 samples is 32 ms at 16 kHz, too coarse for
sigma = 0.1 s and splits single clicks into two onsets."""


def audio_beats(samples: np.ndarray, sr: int, hop_length: int | None = None) -> np.ndarray:
    """Onset times (s) of an audio signal: librosa.onset.onset_detect, backtrack=False, units='time',
    with a 10 ms hop unless hop_length (samples) is given."""
    import librosa

    if hop_length is None:
        hop_length = max(1, int(round(sr * ONSET_HOP_SECONDS)))
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim > 1:
        y = y.mean(axis=0) if y.shape[0] < y.shape[-1] else y.mean(axis=1)
    if len(y) == 0 or not np.any(y):
        return np.zeros(0)
    return np.asarray(librosa.onset.onset_detect(y=y, sr=sr, hop_length=hop_length, backtrack=False,
                                                 units="time"), dtype=np.float64)


def beat_consistency(motion_beat_times: Sequence[float], audio_beat_times: Sequence[float],
                     sigma: float = DEFAULT_SIGMA) -> float:
    """BC: mean over audio beats of exp(-d^2 / (2 sigma^2)), d = distance to the nearest motion beat.

    NaN when there are no audio beats, 0.0 when there are no motion beats.
    """
    m = np.sort(np.asarray(motion_beat_times, dtype=np.float64).ravel())
    a = np.asarray(audio_beat_times, dtype=np.float64).ravel()
    if len(a) == 0:
        return float("nan")
    if len(m) == 0:
        return 0.0
    idx = np.searchsorted(m, a).clip(1, len(m)) - 1
    nxt = (idx + 1).clip(max=len(m) - 1)
    d = np.minimum(np.abs(a - m[idx]), np.abs(a - m[nxt]))
    return float(np.mean(np.exp(-d ** 2 / (2.0 * sigma ** 2))))


def mean_beat_consistency(pairs: Sequence[tuple[Sequence[float], Sequence[float]]],
                          sigma: float = DEFAULT_SIGMA) -> float:
    """Mean BC over (motion_beat_times, audio_beat_times) pairs, skipping clips without audio beats."""
    scores = [beat_consistency(m, a, sigma) for m, a in pairs]
    scores = [s for s in scores if not np.isnan(s)]
    return float(np.mean(scores)) if scores else float("nan")


def shuffled_baseline(pairs: Sequence[tuple[Sequence[float], Sequence[float]]],
                      rng: np.random.Generator | None = None, sigma: float = DEFAULT_SIGMA,
                      clip_durations: Sequence[float] | None = None) -> float:
    """Mean BC with each motion scored against the audio beats of another clip.

    The pairing is cyclically shifted by a random offset in 1..N-1 (drawn from rng; 1 when rng is
    None), so every clip gets exactly one other clip's audio. With clip_durations (seconds), audio
    beats beyond the motion clip's duration are dropped so longer audio does not dilute the score.
    Needs at least two clips.
    """
    n = len(pairs)
    if n < 2:
        raise ValueError("shuffled_baseline needs at least two (motion, audio) pairs")
    shift = 1 if rng is None else int(rng.integers(1, n))
    shuffled = []
    for i in range(n):
        motion = pairs[i][0]
        audio = np.asarray(pairs[(i + shift) % n][1], dtype=np.float64)
        if clip_durations is not None:
            audio = audio[audio <= clip_durations[i]]
        shuffled.append((motion, audio))
    return mean_beat_consistency(shuffled, sigma)
