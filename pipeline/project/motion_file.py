"""The motion .npz that `generate`, `edit-span`, `export` and the studio's Export write.

Arrays: ``joints`` (T, 22, 3), ``features``, ``tokens`` (N,) int64, ``fps``, ``segments`` (one
"START-END: PROMPT" string per segment, seconds with two decimals) and, when some tokens are kept
fixed, ``locked`` (N,) bool. Written in ONE place (here) so the CLI and the studio agree; read back
with ``allow_pickle=False`` (pipeline/validation.py) for the CLI's edits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def motion_path(path: str | Path) -> Path:
    """The name np.savez really writes (it adds .npz to any other suffix)."""
    path = Path(path)
    return path if path.suffix.lower() == ".npz" else path.with_name(path.name + ".npz")


def segment_labels(segments: Sequence[tuple[float, float, str | None]]) -> np.ndarray:
    """The ``segments`` array: "0.00-2.50: a person waves" (blank prompt: audio-driven)."""
    return np.array([f"{a:.2f}-{b:.2f}: {p or ''}" for a, b, p in segments])


def write_motion_npz(path: str | Path, result, segments: Sequence[tuple[float, float, str | None]] | None = None,
                     locked: np.ndarray | None = None) -> Path:
    """Write a GenerationResult (joints, features, tokens, fps) with its segments (default: the
    result's own) and, if given, the locked-token mask. Returns the path written."""
    out = motion_path(path)
    arrays = {"joints": result.joints, "features": result.features, "tokens": result.tokens, "fps": result.fps,
              "segments": segment_labels(result.segments if segments is None else segments)}
    if locked is not None:
        arrays["locked"] = np.asarray(locked, dtype=bool)
    np.savez(out, **arrays)
    return out


def parse_segment_labels(labels, duration_s: float) -> list[tuple[float, float, str | None]]:
    """The segments of a motion .npz back as (start, end, prompt); the last end is snapped to the
    audio's duration (the labels keep two decimals). ValueError for labels that do not parse."""
    out: list[tuple[float, float, str | None]] = []
    for label in np.asarray(labels).reshape(-1):
        times, sep, prompt = str(label).partition(": ")
        start, dash, end = times.partition("-")
        try:
            a, b = float(start), float(end)
        except ValueError:
            raise ValueError(f"segment label {str(label)[:40]!r} is not 'START-END: PROMPT'") from None
        if not sep or not dash:
            raise ValueError(f"segment label {str(label)[:40]!r} is not 'START-END: PROMPT'")
        out.append((a, b, prompt.strip() or None))
    if out:
        a, _, prompt = out[-1]
        out[-1] = (a, float(duration_s), prompt)
        out[0] = (0.0, out[0][1], out[0][2])
    return out
