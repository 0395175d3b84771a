"""The 2D body tree token2pose fits to a person: root, bone lengths and bone angles.

A pose is split into a root (the neck, the shoulder midpoint) and one angle per bone; the
person's own bone lengths then rebuild it. Easing, resampling and bank blending all work on the
angles, so every frame keeps the portrait's limb lengths exactly (blending points would shrink
limbs that swing). The tree covers the 23 body + feet keypoints plus two virtual joints: the neck
(index NECK) and the hip midpoint (index HIP_MID).
"""

from __future__ import annotations

import numpy as np

from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.portrait.wholebody import FEET_INDEX as F
from pipeline.token2pose.mapping import NUM_BODY_FEET

NECK = NUM_BODY_FEET          # 23
HIP_MID = NUM_BODY_FEET + 1   # 24
NUM_TREE = NUM_BODY_FEET + 2

BONES: tuple[tuple[int, int], ...] = (
    (NECK, B["left_shoulder"]), (NECK, B["right_shoulder"]),
    (B["left_shoulder"], B["left_elbow"]), (B["left_elbow"], B["left_wrist"]),
    (B["right_shoulder"], B["right_elbow"]), (B["right_elbow"], B["right_wrist"]),
    (NECK, B["nose"]), (B["nose"], B["left_eye"]), (B["nose"], B["right_eye"]),
    (B["left_eye"], B["left_ear"]), (B["right_eye"], B["right_ear"]),
    (NECK, HIP_MID), (HIP_MID, B["left_hip"]), (HIP_MID, B["right_hip"]),
    (B["left_hip"], B["left_knee"]), (B["left_knee"], B["left_ankle"]),
    (B["right_hip"], B["right_knee"]), (B["right_knee"], B["right_ankle"]),
    (B["left_ankle"], F["left_big_toe"]), (B["left_ankle"], F["left_small_toe"]),
    (B["left_ankle"], F["left_heel"]),
    (B["right_ankle"], F["right_big_toe"]), (B["right_ankle"], F["right_small_toe"]),
    (B["right_ankle"], F["right_heel"]),
)
"""(parent, child) in an order where every parent is placed before its children."""

LEG_KEYPOINTS: tuple[int, ...] = (B["left_knee"], B["right_knee"], B["left_ankle"], B["right_ankle"],
                                  *range(17, 23))


def with_virtual(points: np.ndarray) -> np.ndarray:
    """(..., 25, 2) tree points from (..., >=23, 2) keypoints: adds the neck and the hip midpoint."""
    body = np.asarray(points, dtype=np.float64)[..., :NUM_BODY_FEET, :]
    neck = 0.5 * (body[..., B["left_shoulder"], :] + body[..., B["right_shoulder"], :])
    hip = 0.5 * (body[..., B["left_hip"], :] + body[..., B["right_hip"], :])
    return np.concatenate([body, neck[..., None, :], hip[..., None, :]], axis=-2)


def bone_vectors(tree: np.ndarray) -> np.ndarray:
    """(..., n_bones, 2) child - parent for every bone."""
    parents = np.array([a for a, _ in BONES])
    children = np.array([b for _, b in BONES])
    return tree[..., children, :] - tree[..., parents, :]


def bone_angles(tree: np.ndarray) -> np.ndarray:
    """(..., n_bones) angle of each bone in the image plane (radians)."""
    v = bone_vectors(tree)
    return np.arctan2(v[..., 1], v[..., 0])


def bone_lengths_2d(tree: np.ndarray) -> np.ndarray:
    """(..., n_bones) length of each bone in pixels (or whatever unit the points are in)."""
    return np.linalg.norm(bone_vectors(tree), axis=-1)


def rebuild(root: np.ndarray, angles: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Tree points (T, 25, 2) from the neck (T, 2), bone angles (T, n_bones) and lengths (n_bones,)
    or, for lengths that change over time, (T, n_bones)."""
    root = np.asarray(root, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.float64)
    out = np.zeros(root.shape[:-1] + (NUM_TREE, 2))
    out[..., NECK, :] = root
    for k, (parent, child) in enumerate(BONES):
        direction = np.stack([np.cos(angles[..., k]), np.sin(angles[..., k])], axis=-1)
        out[..., child, :] = out[..., parent, :] + lengths[..., k, None] * direction
    return out


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped into [-pi, pi)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


def normalise(points: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """Keypoints (T, K, 2) moved so the neck is at the origin and divided by ``scale``.

    The scale is one number per clip (its torso length), not per frame, so a bend that
    shortens the torso on screen stays visible in the normalised pose.
    """
    tree = with_virtual(points)
    neck = tree[..., NECK, :]
    return (np.asarray(points, dtype=np.float64) - neck[..., None, :]) / np.asarray(scale)[..., None, None]


def torso_length(points: np.ndarray) -> float:
    """Median neck-to-hip-midpoint distance over frames (T, K, 2); the clip's normalising scale."""
    tree = with_virtual(points)
    return float(np.median(np.linalg.norm(tree[..., HIP_MID, :] - tree[..., NECK, :], axis=-1)))


__all__ = ["BONES", "HIP_MID", "LEG_KEYPOINTS", "NECK", "NUM_TREE", "bone_angles",
           "bone_lengths_2d", "bone_vectors", "normalise", "rebuild", "torso_length", "with_virtual", "wrap"]
