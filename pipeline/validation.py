"""Checks at the edge: every number a user can type, and every motion file a user can hand in.

Why one module: the CLI (argparse types), the studio's handlers and the project reader must agree
on what a seed, a frame rate or a motion file may be, and each must refuse bad input with a message
that says what was wrong and what to do, before any work or allocation. Everything here raises
``InputError`` (a ValueError), which the CLI prints as ``error: ...`` and the studio as a warning.
"""

from __future__ import annotations

import argparse
import math
import zipfile
from pathlib import Path

import numpy as np

from pipeline.constants import CODEBOOK_SIZE

MAX_SEED: int = 2**31 - 1
"""Seeds are 0..2**31-1: they fit numpy, torch, JSON and the browser's numbers exactly."""

FPS_RANGE: tuple[float, float] = (1.0, 60.0)
RESOLUTION_RANGE: tuple[int, int] = (64, 2048)
BLINK_RATE_RANGE: tuple[float, float] = (0.0, 60.0)
ARTICULATION_RANGE: tuple[float, float] = (0.0, 2.0)
TIME_RANGE_S: tuple[float, float] = (0.0, 3600.0)
"""Times typed on the timeline (split at, add at, lengths): no timeline is longer than an hour."""

MAX_BVH_BYTES: int = 64 * 1024 * 1024
"""The largest BVH read (the CMU takes are 4 MB; 64 MB is ~15 min of a 31-joint rig at 120 fps)."""
MAX_MOTION_SECONDS: float = 1800.0
"""The longest motion a BVH may describe (frame count x Frame Time): half an hour."""
MAX_BVH_DEPTH: int = 128
"""The deepest joint chain in a BVH hierarchy (real rigs: under 30)."""
MAX_MOTION_FILE_BYTES: int = 256 * 1024 * 1024
MAX_UPLOAD_BYTES: int = 200 * 1024 * 1024
"""The largest upload the studio's server accepts (Gradio refuses bigger ones while they stream in):
a project zip is at most 200 MB, and 10 minutes of 48 kHz stereo 24-bit WAV is 173 MB."""


class InputError(ValueError):
    """Input a user gave that cannot be used; the message says what was wrong and what to do."""


# ----------------------------------------------------------------------------- numbers

def _as_float(value, what: str) -> float:
    if isinstance(value, bool):
        raise InputError(f"{what} must be a number, got {value!r}")
    if isinstance(value, str) and "_" in value:   # Python's float() reads "1_0" as 10
        raise InputError(f"{what} must be a plain number, got {value[:40]!r}")
    try:
        x = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(x):
        raise InputError(f"{what} must be a finite number, got {value!r}")
    return x


def check_number(value, what: str, lo: float, hi: float) -> float:
    """``value`` as a float in [lo, hi]; InputError naming ``what`` and the range otherwise.

    Strings are read as plain decimals: ``1_0`` is refused, not read as 10."""
    x = _as_float(value, what)
    if not lo <= x <= hi:
        raise InputError(f"{what} must be between {lo:g} and {hi:g}, got {x:g}")
    return x


def check_int(value, what: str, lo: int, hi: int) -> int:
    """``value`` as a whole number in [lo, hi] (1.0 is fine, 1.5 is not)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        x = int(value)
    else:
        f = _as_float(value, what)
        if f != int(f):
            raise InputError(f"{what} must be a whole number, got {f:g}")
        x = int(f)
    if not lo <= x <= hi:
        raise InputError(f"{what} must be a whole number from {lo} to {hi}, got {_short(x)}")
    return x


def _short(x: int) -> str:
    text = str(x)
    return text if len(text) <= 24 else f"{float(x):.3g}"


def check_seed(value, what: str = "the seed") -> int:
    """A seed: a whole number from 0 to MAX_SEED (blank means 0)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    return check_int(value, what, 0, MAX_SEED)


def wrap_seed(seed: int) -> int:
    """Seed arithmetic (a base seed plus a segment's seed, a re-roll's +1) kept inside the range."""
    return int(seed) % (MAX_SEED + 1)


def check_fps(value, what: str = "the frame rate") -> float:
    return check_number(value, what, *FPS_RANGE)


def check_resolution(value, what: str = "the resolution") -> int:
    return check_int(value, what, *RESOLUTION_RANGE)


def check_blink_rate(value, what: str = "the blink rate") -> float:
    return check_number(value, what, *BLINK_RATE_RANGE)


def check_time(value, what: str) -> float:
    return check_number(value, what, *TIME_RANGE_S)


def arg_range(kind: str, lo: float, hi: float):
    """An argparse ``type=`` that reads an int (kind 'int') or a float and checks its range, so a
    bad option stops at parsing with ``error: argument --fps: ...`` instead of a traceback."""
    def parse(text: str):
        try:
            return check_int(text, "value", int(lo), int(hi)) if kind == "int" else check_number(text, "value", lo, hi)
        except InputError as err:
            raise argparse.ArgumentTypeError(str(err).replace("value ", "", 1)) from None
    parse.__name__ = kind  # argparse names the type in its messages
    return parse


def check_user_segments(segments: list[tuple[float, float, str | None]], labels: list[str], duration_s: float,
                        min_s: float) -> None:
    """Segments a user typed (``labels``: how they typed each, e.g. ``--segment '0:2:wave'``),
    checked before the gaps between them are filled, so a message names their segment and not a
    filled-in gap's number; a prompted segment shorter than ``min_s`` (one motion token) would
    silently lose its prompt, so it is refused."""
    tol = 1e-3
    order = sorted(range(len(segments)), key=lambda k: segments[k][0])
    for k in order:
        start, end, prompt = segments[k]
        if end <= start:
            raise InputError(f"{labels[k]} ends ({end:g} s) before it starts ({start:g} s)")
        if start > duration_s - tol or end > duration_s + tol:
            raise InputError(f"{labels[k]} reaches past the end of the audio ({duration_s:.2f} s)")
        if prompt and end - start < min_s - tol:
            raise InputError(f"{labels[k]} lasts {end - start:g} s; a prompted segment needs at least "
                             f"{min_s:g} s (one motion token), or its prompt could not act")
    for a, b in zip(order, order[1:]):
        if segments[b][0] < segments[a][1] - tol:
            raise InputError(f"{labels[a]} and {labels[b]} overlap; give segments that do not")


# ----------------------------------------------------------------------------- motion files

def load_npz_array(path: str | Path, key: str, *, made_by: str) -> np.ndarray:
    """Array ``key`` of a user's .npz, read without pickle; InputError for anything else (a missing
    file, an .npy, a truncated or non-zip file, object arrays, a missing key). ``made_by`` says
    which command writes such files, for the message."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    if path.suffix.lower() != ".npz":
        raise InputError(f"{name} is not an .npz; give the .npz written by {made_by}")
    size = path.stat().st_size
    if size > MAX_MOTION_FILE_BYTES:
        raise InputError(f"{name} is {size / 1e6:.0f} MB; a motion file is at most "
                         f"{MAX_MOTION_FILE_BYTES / 1e6:.0f} MB")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{name} is not a valid .npz (not a zip archive: truncated or another kind of "
                         f"file); write it again with {made_by}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if key not in data.files:
                raise InputError(f"{name} has no '{key}' array (it has: {', '.join(data.files) or 'nothing'}); "
                                 f"write it with {made_by}")
            array = data[key]
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        # numpy's own message for object arrays suggests allow_pickle=True: never pass that on.
        reason = "it holds Python objects, which are never unpickled" if "pickle" in str(err).lower() \
            else "it is damaged or truncated"
        raise InputError(f"{name} could not be read as a motion file ({reason}); write it again with "
                         f"{made_by}") from None
    return array


def load_npy_array(path: str | Path, *, made_by: str) -> np.ndarray:
    """A user's .npy read without pickle; InputError for a missing, truncated or object file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path.name}: no such file")
    size = path.stat().st_size
    if size > MAX_MOTION_FILE_BYTES:
        raise InputError(f"{path.name} is {size / 1e6:.0f} MB; a motion file is at most "
                         f"{MAX_MOTION_FILE_BYTES / 1e6:.0f} MB")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        reason = "it holds Python objects, which are never unpickled" if "pickle" in str(err).lower() \
            else "it is damaged, truncated or not an .npy"
        raise InputError(f"{path.name} could not be read as a joint array ({reason}); write it again with "
                         f"{made_by}") from None


def check_tokens(tokens: np.ndarray, expected: int, name: str) -> np.ndarray:
    """Motion tokens as int64, checked against the audio they animate: 1-D, integer, ids inside the
    codebook, and exactly ``expected`` of them (the audio's token count)."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise InputError(f"{name}: 'tokens' must be a 1-D array of codebook ids, got shape {tokens.shape}")
    if not np.issubdtype(tokens.dtype, np.integer):
        raise InputError(f"{name}: 'tokens' must hold whole numbers (codebook ids), got {tokens.dtype}")
    if len(tokens) != expected:
        raise InputError(f"{name} has {len(tokens)} motion tokens but this audio needs {expected}: it was "
                         "made for other audio; generate the motion for this audio with "
                         "`python -m pipeline generate AUDIO`")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= CODEBOOK_SIZE):
        raise InputError(f"{name}: token ids must be 0..{CODEBOOK_SIZE - 1}; found "
                         f"{int(tokens.min())}..{int(tokens.max())}")
    return tokens.astype(np.int64)


def check_joints(joints: np.ndarray, name: str, max_frames: int) -> np.ndarray:
    """A (T, 22, 3) finite float joint array of at most ``max_frames`` frames."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) == 0:
        raise InputError(f"{name}: joints must have shape (frames, 22, 3), got {joints.shape}")
    if not np.issubdtype(joints.dtype, np.floating) and not np.issubdtype(joints.dtype, np.integer):
        raise InputError(f"{name}: joints must be numbers, got {joints.dtype}")
    if len(joints) > max_frames:
        raise InputError(f"{name} has {len(joints)} frames; at most {max_frames} are written")
    joints = joints.astype(np.float64)
    if not np.isfinite(joints).all():
        raise InputError(f"{name}: joints contain NaN or infinite values")
    return joints
