"""The portrait's mesh and its skinning weights.

The mesh is a regular grid triangulated over the (dilated) person mask: regular cells bend
evenly and cost nothing to build. Each vertex is skinned to the bones near it: a score per bone
(distance to the torso polygon, to the head disc, or to a limb segment minus the limb's radius,
so an arm lying over the torso keeps its own pixels), turned into weights that are sharp inside
a body part and blend smoothly only where two parts meet (elbows, shoulders, neck).

A second, "core" layer (torso, head, legs, no arms) covers the area the arms hide in the photo,
textured with that area inpainted, so when an arm moves away the torso shows behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .skeleton import ARM_BONES, BONE_INDEX, BONE_NAMES, BONES, RestSkeleton


@dataclass
class Mesh:
    rest: np.ndarray        # (N, 2) float64 vertex positions in the render frame
    triangles: np.ndarray   # (M, 3) int32
    weights: np.ndarray     # (N, n_bones) float32, rows sum to 1
    tri_bone: np.ndarray    # (M,) int32 dominant bone per triangle
    core_triangles: np.ndarray  # (Mc, 3) int32 triangles of the core layer (indices into core vertices)
    core_weights: np.ndarray    # (N, n_bones) weights without the arms
    core_region: np.ndarray     # (H, W) bool: pixels the arms hide over the core, to inpaint


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.hypot(*(p - (a + t[:, None] * ab)).T)


def _polygon_distance(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """0 inside the (convex or not) polygon, the distance to its boundary outside."""
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    d = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in p])
    return np.maximum(-d, 0.0)


def bone_scores(points: np.ndarray, rest: RestSkeleton, limb_radius: float) -> np.ndarray:
    """(N, n_bones) "how far from this bone" in pixels; absent bones get +inf."""
    sw = rest.shoulder_width
    scores = np.full((len(points), len(BONES)), np.inf)
    scores[:, BONE_INDEX["torso"]] = _polygon_distance(points, rest.torso_quad)
    scores[:, BONE_INDEX["head"]] = np.maximum(np.hypot(*(points - rest.head_center).T) - rest.head_radius, 0.0)
    for i, bone in enumerate(BONES):
        if bone.start < 0 or not rest.present[i]:
            continue
        radius = limb_radius * sw * (0.8 if bone.name.endswith("hand") else 1.0)
        if bone.name.endswith(("thigh", "shin")):
            radius = limb_radius * sw * 1.2
        scores[:, i] = _segment_distance(points, *rest.segments[i]) - radius
    return scores


def _parents() -> np.ndarray:
    return np.array([-1 if b.parent is None else BONE_INDEX[b.parent] for b in BONES])


def skin_weights(points: np.ndarray, scores: np.ndarray, rest: RestSkeleton, falloff_px: float,
                 joint_radius_px: float, allowed: np.ndarray | None = None) -> np.ndarray:
    """Per-vertex weights: 1 for the closest bone, blended with its parent or child near their joint.

    Bones that meet at a joint blend over ``falloff_px`` within ``joint_radius_px`` of the joint
    (an elbow bends smoothly); elsewhere, and between bones that do not touch (a forearm beside
    the torso), the split is sharp so one part does not drag the other along.
    """
    s = scores.copy()
    if allowed is not None:
        s[:, ~allowed] = np.inf
    n, k = s.shape
    parents = _parents()
    best_idx = s.argmin(1)
    best = s[np.arange(n), best_idx][:, None]
    joints = rest.segments[:, 0]                      # a bone's joint with its parent
    d_joint = np.hypot(points[:, None, 0] - joints[None, :, 0], points[:, None, 1] - joints[None, :, 1])
    ramp = np.clip(1.0 - d_joint / max(joint_radius_px, 1e-6), 0.0, 1.0)   # (N, K) per child bone
    sharp = max(0.01 * falloff_px, 0.5)
    cols = np.arange(k)[None, :]
    is_parent = parents[best_idx][:, None] == cols      # k is the parent of the best bone
    is_child = parents[None, :] == best_idx[:, None]    # k is a child of the best bone
    f = np.full((n, k), sharp)
    f = np.where(is_parent, np.maximum(sharp, falloff_px * ramp[np.arange(n), best_idx][:, None]), f)
    f = np.where(is_child, np.maximum(sharp, falloff_px * ramp), f)
    with np.errstate(invalid="ignore"):
        w = np.exp(-(((s - best) / f) ** 2))
    w[~np.isfinite(s)] = 0.0
    w[w < 1e-3] = 0.0
    return (w / w.sum(1, keepdims=True)).astype(np.float32)


def grid_mesh(region: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid vertices and triangles over the cells that touch ``region`` (H, W bool)."""
    h, w = region.shape
    xs = np.unique(np.r_[np.arange(0, w - 1, step), w - 1].round().astype(int))
    ys = np.unique(np.r_[np.arange(0, h - 1, step), h - 1].round().astype(int))
    gx, gy = np.meshgrid(xs, ys)
    # a cell is kept when any of its pixels is in the region
    cum = cv2.integral(region.astype(np.uint8))
    x0, x1 = xs[:-1], xs[1:] + 1
    y0, y1 = ys[:-1], ys[1:] + 1
    counts = (cum[y1][:, x1] - cum[y0][:, x1] - cum[y1][:, x0] + cum[y0][:, x0])
    cy, cx = np.nonzero(counts > 0)
    nx = len(xs)
    v00 = cy * nx + cx
    v01, v10, v11 = v00 + 1, v00 + nx, v00 + nx + 1
    tris = np.concatenate([np.stack([v00, v01, v11], 1), np.stack([v00, v11, v10], 1)])
    used = np.unique(tris)
    remap = -np.ones(gx.size, np.int64)
    remap[used] = np.arange(len(used))
    verts = np.stack([gx.ravel(), gy.ravel()], 1)[used].astype(np.float64)
    return verts, remap[tris].astype(np.int32)


def build_mesh(region: np.ndarray, person: np.ndarray, rest: RestSkeleton, step: float,
               limb_radius: float, falloff: float, joint_radius: float = 0.45) -> Mesh:
    """The skinned mesh over ``region``; ``person`` (bool) is the undilated mask for the core layer."""
    verts, tris = grid_mesh(region, step)
    scores = bone_scores(verts, rest, limb_radius)
    falloff_px = falloff * rest.shoulder_width
    joint_px = joint_radius * rest.shoulder_width
    weights = skin_weights(verts, scores, rest, falloff_px, joint_px)
    tri_w = weights[tris].mean(1)
    tri_bone = tri_w.argmax(1).astype(np.int32)
    core_allowed = np.array([name not in ARM_BONES for name in BONE_NAMES])
    core_weights = skin_weights(verts, scores, rest, falloff_px, joint_px, core_allowed)
    # the core layer: triangles where the core parts (torso polygon, head disc) lie, arms or not
    core_scores = scores[:, core_allowed]
    near_core = (core_scores.min(1) <= 0.0)[tris].all(1)
    arm_idx = [BONE_INDEX[n] for n in ARM_BONES]
    arm_dominant = np.isin(tri_bone, arm_idx)
    core_tris = tris[near_core | ~arm_dominant]
    # pixels of the photo that the arms cover inside the core: inpainted for the core texture
    h, w = region.shape
    arm_px = np.zeros((h, w), np.uint8)
    for t in tris[arm_dominant & near_core]:
        cv2.fillConvexPoly(arm_px, verts[t].round().astype(np.int32), 1)
    core_region = (arm_px > 0) & person
    return Mesh(verts, tris, weights, tri_bone, core_tris.astype(np.int32), core_weights, core_region)
