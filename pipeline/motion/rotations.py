"""Batched rotation matrices (numpy only, any leading shape): the one copy for the runtime and for
the training-data synthesis.

The body rig (``pipeline/body/rig.py``), the BVH writer (``pipeline/motion/bvh.py``) and the
procedural action library (``pipeline/data/synthetic/procedural``) all use these. The procedural
library imports this module, never the other way round: importing the library costs 0.43 s, this
module 6 ms, and the runtime does not pay for the library. Angles are in radians here.
"""

from __future__ import annotations

import numpy as np

MIRROR_X = np.diag([-1.0, 1.0, 1.0])
"""Reflection across the body's sagittal plane (person's left <-> right)."""


def _stack(rows: list[list[np.ndarray]]) -> np.ndarray:
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def rot_x(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return _stack([[i, o, o], [o, c, -s], [o, s, c]])


def rot_y(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return _stack([[c, o, s], [o, i, o], [-s, o, c]])


def rot_z(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return _stack([[c, -s, o], [s, c, o], [o, o, i]])


def axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about unit axes (..., 3) by angles (...) in radians (Rodrigues,
    written out); axes and angles broadcast against each other."""
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    c, s = np.cos(angle), np.sin(angle)
    C = 1 - c
    return np.stack([np.stack([c + x * x * C, x * y * C - z * s, x * z * C + y * s], -1),
                     np.stack([y * x * C + z * s, c + y * y * C, y * z * C - x * s], -1),
                     np.stack([z * x * C - y * s, z * y * C + x * s, c + z * z * C], -1)], -2)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation turning direction a onto b, (..., 3, 3); opposite directions turn by pi
    about an axis perpendicular to a."""
    a, b = _unit(np.asarray(a, dtype=np.float64)), _unit(np.asarray(b, dtype=np.float64))
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(a * b, axis=-1)
    # antiparallel: any axis perpendicular to a
    alt = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]))
    axis = np.where((s < 1e-9)[..., None] & (c < 0)[..., None], _unit(alt), axis / np.maximum(s, 1e-12)[..., None])
    s = np.where((s < 1e-9) & (c < 0), 0.0, s)
    return axis_angle(axis, np.arctan2(s, c))


def mirror(rot: np.ndarray) -> np.ndarray:
    """The same motion on the other side of the body: M R M with M the x reflection."""
    return MIRROR_X @ rot @ MIRROR_X


def normalize(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), eps)


def frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frame (..., 3, 3) whose columns are primary, secondary made orthogonal, and their cross."""
    a = normalize(primary)
    b = normalize(secondary - (secondary * a).sum(-1, keepdims=True) * a)
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors along the last axis."""
    cos = (normalize(u) * normalize(v)).sum(-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
