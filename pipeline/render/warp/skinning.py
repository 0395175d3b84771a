"""Two-bone rotation-blended skinning for the 2D rig.

Linear blend skinning averages the bones' matrices, and the average of two rotations is a
rotation shrunk by cos(half the angle): at a bent elbow the arm pinches to a ribbon, and where an
arm layer blends into the torso the sleeve shrinks or balloons. Here each vertex follows at most
two bones, a parent and its child, and blends them the way a joint moves: the rotation angle is
interpolated (not the matrix), the bones' stretches are averaged, and the result pivots about
the shared joint, which both bones carry to the same place (their transforms are chained, see
skeleton.bone_transforms). A width therefore never shrinks at a joint; only foreshortening (the
stretch along a bone) changes a limb's length.

Pairs of bones that do not share a joint pivot about the vertex itself, which is plain linear
blending of the two positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Skin:
    """How each vertex of one layer follows the bones."""

    rest: np.ndarray       # (N, 2) float64 vertex positions in the rest frame (render px)
    bone_a: np.ndarray     # (N,) int: the dominant bone
    bone_b: np.ndarray     # (N,) int: the second bone (== bone_a where a vertex follows one bone)
    weight_a: np.ndarray   # (N,) float64 in [0.5, 1]
    pivot: np.ndarray      # (N, 2): the joint the pair turns about (the vertex itself if none)


def two_bone_skin(rest: np.ndarray, weights: np.ndarray, parents: np.ndarray,
                  joints: np.ndarray) -> Skin:
    """Keep each vertex's two heaviest bones; pivot parent/child pairs about their joint.

    ``weights`` (N, K) rows sum to 1; ``parents`` (K,) the parent bone index (-1 for the root);
    ``joints`` (K, 2) the rest position where each bone meets its parent.
    """
    rest = np.asarray(rest, np.float64)
    w = np.asarray(weights, np.float64)
    order = np.argsort(-w, axis=1)
    a, b = order[:, 0], order[:, 1] if w.shape[1] > 1 else order[:, 0]
    idx = np.arange(len(w))
    wa, wb = w[idx, a], w[idx, b]
    total = np.maximum(wa + wb, 1e-12)
    weight_a = wa / total
    single = wb <= 1e-6
    b = np.where(single, a, b)
    weight_a = np.where(single, 1.0, weight_a)
    pivot = rest.copy()
    a_child = parents[a] == b      # a is the child: they meet at a's joint
    b_child = parents[b] == a
    pivot[a_child] = joints[a[a_child]]
    pivot[b_child] = joints[b[b_child]]
    return Skin(rest, a.astype(np.int64), b.astype(np.int64), weight_a, pivot)


def rotation_and_stretch(transforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split each 2x3 bone transform's linear part A = R(angle) @ S (S symmetric): (K,), (K, 2, 2)."""
    m = np.asarray(transforms, np.float64)
    angle = np.arctan2(m[:, 1, 0] - m[:, 0, 1], m[:, 0, 0] + m[:, 1, 1])
    c, s = np.cos(angle), np.sin(angle)
    r_inv = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)   # R(-angle)
    stretch = r_inv @ m[:, :, :2]
    return angle, stretch


def apply_skin(skin: Skin, transforms: np.ndarray) -> np.ndarray:
    """Deformed vertex positions (N, 2) for bone transforms (K, 2, 3) rest -> this frame."""
    m = np.asarray(transforms, np.float64)
    angle, stretch = rotation_and_stretch(m)
    a, b, w = skin.bone_a, skin.bone_b, skin.weight_a
    p = skin.pivot

    def move(k: np.ndarray) -> np.ndarray:
        return np.einsum("nij,nj->ni", m[k, :, :2], p) + m[k, :, 2]

    target = w[:, None] * move(a) + (1.0 - w)[:, None] * move(b)
    diff = np.angle(np.exp(1j * (angle[a] - angle[b])))          # wrapped to (-pi, pi]
    theta = angle[b] + w * diff
    s = w[:, None, None] * stretch[a] + (1.0 - w)[:, None, None] * stretch[b]
    local = np.einsum("nij,nj->ni", s, skin.rest - p)
    c, sn = np.cos(theta), np.sin(theta)
    rotated = np.stack([c * local[:, 0] - sn * local[:, 1], sn * local[:, 0] + c * local[:, 1]], 1)
    return target + rotated
