"""Inputs and measures for timing the generator: held-out speech, segment plans, border smoothness.

Used by `python -m benchmarks.motion` (which prints the figures) and by the generator tests; not a
benchmark of its own.

Speech: held-out synthetic co-speech pairs (cache/cospeech test split) concatenated to 60 s,
or a speech-like tone when the pairs are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS

REPO = Path(__file__).resolve().parents[1]
PROMPTS = ["a person waves with the right hand", None, "a person raises both arms", None,
           "a person points forward with the left hand", None, "a person claps their hands", None]


def speech(seconds: float, pairs: Path = REPO / "cache" / "cospeech") -> np.ndarray:
    import soundfile as sf

    out, total = [], 0
    ids = (pairs / "test.txt").read_text().split() if (pairs / "test.txt").exists() else []
    for cid in ids * 10:
        y, sr = sf.read(pairs / "wav" / f"{cid}.wav", dtype="float32")
        if sr != AUDIO_SAMPLE_RATE:
            continue
        out.append(y)
        total += len(y)
        if total >= seconds * AUDIO_SAMPLE_RATE:
            break
    if not out:
        t = np.arange(int(seconds * AUDIO_SAMPLE_RATE)) / AUDIO_SAMPLE_RATE
        return (0.3 * np.sin(2 * np.pi * 150 * t) * np.clip(np.sin(2 * np.pi * 4 * t), 0, None)).astype(np.float32)
    return np.concatenate(out)[: int(seconds * AUDIO_SAMPLE_RATE)]


def segments_for(duration: float, length: float) -> list:
    edges = list(np.arange(0.0, duration, length)) + [duration]
    if edges[-1] - edges[-2] < 1.0 and len(edges) > 2:
        edges.pop(-2)
    return [(float(a), float(b), PROMPTS[i % len(PROMPTS)]) for i, (a, b) in enumerate(zip(edges, edges[1:]))]


def border_velocity(result, frames: int = 2) -> dict:
    """Mean-over-joints speed (m/s) per frame step; steps within `frames` of a segment border vs the rest."""
    speed = np.linalg.norm(np.diff(result.joints, axis=0), axis=-1).mean(-1) * MOTION_FPS  # (T-1,)
    near = np.zeros(len(speed), dtype=bool)
    for _, end, _ in result.segments[:-1]:
        f = int(round(end * MOTION_FPS))
        near[max(0, f - frames):f + frames] = True
    inside = speed[~near]
    return {"border_max": float(speed[near].max()), "border_mean": float(speed[near].mean()),
            "inside_p99": float(np.percentile(inside, 99)), "inside_max": float(inside.max()),
            "inside_mean": float(inside.mean()),
            "ratio_border_max_to_inside_p99": float(speed[near].max() / np.percentile(inside, 99))}
