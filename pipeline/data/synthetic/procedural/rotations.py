"""Batched rotation matrices (numpy, any leading shape) and the left/right mirror.

Angles are in degrees at the public edges of this package; these helpers take radians.
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
    """Rodrigues' formula; `axis` (..., 3) unit vectors, `angle` (...) radians."""
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)[..., None, None]
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    o = np.zeros_like(x)
    k = _stack([[o, -z, y], [z, o, -x], [-y, x, o]])
    eye = np.broadcast_to(np.eye(3), k.shape)
    return eye + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


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
