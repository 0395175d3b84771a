"""The portrait's layers as meshes and how their vertices follow the bones.

Each layer (the core: torso, head, legs; each arm with its hand; see limbs.py) gets its own
regular grid mesh over the pixels it covers: regular cells bend evenly and cost nothing to build,
and because no triangle joins an arm to the torso, nothing tears when they move apart. Vertex
weights come from a score per bone (distance to the torso polygon, to the head disc, or to a
limb segment minus the limb's radius), sharp inside a body part and blended only near a joint;
each vertex then follows its two heaviest bones with rotation blending (skinning.py).
An arm's vertices near the shoulder follow the torso, handing over to the upper arm within a
fraction of the shoulder width, so the arm's top stays on the shoulder however it turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .skeleton import ARM_BONES, BONE_INDEX, BONE_NAMES, BONES, RestSkeleton
from .skinning import Skin, two_bone_skin


@dataclass
class LayerMesh:
    """One layer's mesh in the rest frame and its skinning."""

    name: str
    skin: Skin
    triangles: np.ndarray   # (M, 3) int32
    tri_bone: np.ndarray    # (M,) int32 dominant bone per triangle
    texture_coords: np.ndarray  # (N, 2) where each vertex samples its texture (rest, clamped to the image)

    @property
    def rest(self) -> np.ndarray:
        return self.skin.rest


def segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points (N, 2) to the segment a-b."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.hypot(*(p - (a + t[:, None] * ab)).T)


def segment_distance_map(shape: tuple[int, int], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) distance of every pixel to the segment a-b."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    return segment_distance(np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64), a, b).reshape(h, w)


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
        scores[:, i] = segment_distance(points, *rest.segments[i]) - radius
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


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, the cubic ease in between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def part_weights(points: np.ndarray, rest: RestSkeleton, bone: str, shoulder_blend: float) -> np.ndarray:
    """(N, n_bones) weights of one arm part: rigid with its bone, except at the shoulder.

    An upper arm's vertices hand over from the torso over ``shoulder_blend`` px along the bone,
    starting half of that before the joint, so the top of the sleeve bends instead of shearing off
    and the round of the shoulder goes part of the way with a raised arm (held by the torso up to
    the joint, it stayed behind under the raised sleeve as a flap of cloth); a forearm or a hand
    is rigid (its joints are pin joints between overlapping parts, see limbs.LimbCut).
    """
    k = BONE_INDEX[bone]
    w = np.zeros((len(points), len(BONES)))
    if "upper_arm" not in bone:
        w[:, k] = 1.0
        return w
    s0, e0 = rest.segments[k]
    axis = (e0 - s0) / max(float(np.hypot(*(e0 - s0))), 1e-6)
    along = (points - s0) @ axis
    lead = 0.5 * shoulder_blend
    torso_share = 1.0 - smoothstep((along + lead) / max(shoulder_blend + lead, 1e-3))
    w[:, BONE_INDEX["torso"]] = torso_share
    w[:, k] = 1.0 - torso_share
    return w


def _layer_mesh(name: str, verts: np.ndarray, tris: np.ndarray, weights: np.ndarray,
                rest: RestSkeleton, size: tuple[int, int]) -> LayerMesh:
    skin = two_bone_skin(verts, weights, _parents(), rest.segments[:, 0])
    tri_bone = weights[tris].mean(1).argmax(1).astype(np.int32)
    h, w = size
    coords = np.stack([np.clip(verts[:, 0], 0, w - 1), np.clip(verts[:, 1], 0, h - 1)], 1)
    return LayerMesh(name, skin, tris.astype(np.int32), tri_bone, coords)


def padded_grid_mesh(region: np.ndarray, step: float, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid mesh over ``region`` continued ``pad`` px past the image edges it touches.

    A half-body photo cuts the body at the frame; when the body rises or leans, the cut would
    show as an edge in the picture. The mesh goes on beyond the frame (its texture repeats the
    edge row, see LayerMesh.texture_coords), so the body still fills the frame to its edge.
    """
    if pad <= 0:
        return grid_mesh(region, step)
    big = np.pad(region, pad, mode="edge")
    verts, tris = grid_mesh(big, step)
    return verts - pad, tris


def layer_region(alpha: np.ndarray, grow_px: int) -> np.ndarray:
    """The pixels a layer's mesh must cover: where it has any opacity, grown by ``grow_px``."""
    region = (alpha > 0.004).astype(np.uint8)
    k = 2 * max(1, grow_px) + 1
    return cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0


def core_mesh(alpha: np.ndarray, rest: RestSkeleton, step: float, limb_radius: float, falloff: float,
              joint_radius: float, edge_pad: float = 0.12) -> LayerMesh:
    """The torso, head and legs layer (continued past the frame where the body is cut by it)."""
    pad = int(round(edge_pad * max(alpha.shape)))
    verts, tris = padded_grid_mesh(layer_region(alpha, int(round(step))), step, pad)
    scores = bone_scores(verts, rest, limb_radius)
    allowed = np.array([n not in ARM_BONES for n in BONE_NAMES])
    sw = rest.shoulder_width
    weights = skin_weights(verts, scores, rest, falloff * sw, joint_radius * sw, allowed)
    return _layer_mesh("core", verts, tris, weights.astype(np.float64), rest, alpha.shape)


def part_mesh(bone: str, alpha: np.ndarray, rest: RestSkeleton, step: float, shoulder_blend: float) -> LayerMesh:
    """One arm part (upper arm, forearm or hand) as its own layer."""
    verts, tris = grid_mesh(layer_region(alpha, int(round(step))), step)
    weights = part_weights(verts, rest, bone, shoulder_blend * rest.shoulder_width)
    return _layer_mesh(bone, verts, tris, weights, rest, alpha.shape)
