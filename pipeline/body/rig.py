"""Posing a body on the 22-joint motion: the rig's rule, shared by the stage (stage.js mirrors it),
the glTF export and the offline body video.

The rule, per frame, parents first (the same IK rule by which HumanML3D's 263-d feature gets its
joint rotations: the smallest rotation that turns a rest bone onto the moving bone, chained from
the parent), plus two refinements that the feature lacks:
- the pelvis and the chest (joints with several children) take a full frame from two directions
  (pelvis: up the spine and across the hips; chest: up the neck and across the collars), so the
  torso turns about its own axis;
- the upper arm and the thigh get the twist that puts the elbow's and the knee's hinge in the
  plane the limb bends in (swing alone would fold an elbow sideways).
Leaves (head, wrists, toes) keep their parent's rotation. Bones are stretched to the take's
median bone lengths, and forward kinematics from the pelvis gives the rig's joints; their distance
to the motion's joints is the fitting error reported in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.body.model import BodyModel
from pipeline.motion import skeleton as sk
from pipeline.motion.rotations import axis_angle, rotation_between

PARENTS = np.array(sk.PARENTS)
CHILDREN: dict[int, list[int]] = {j: [c for c, p in enumerate(sk.PARENTS) if p == j] for j in range(22)}
FRAMES: dict[int, tuple[int, int, int]] = {0: (3, 1, 2), 9: (12, 13, 14)}
"""Joint -> (child along its up axis, left joint, right joint): a frame from two directions."""
HINGES: dict[int, tuple[int, int, tuple[float, float, float]]] = {
    16: (18, 20, (0.0, 0.0, 1.0)), 17: (19, 21, (0.0, 0.0, 1.0)),    # elbows bend the forearm forward
    1: (4, 7, (0.0, 0.0, -1.0)), 2: (5, 8, (0.0, 0.0, -1.0)),        # knees bend the shin backward
}
"""Upper joint -> (middle joint, end joint, direction the end moves to when the hinge bends)."""
HINGE_BEND = (0.12, 0.4)
"""sin(bend angle) over which the hinge twist fades in (a straight limb has no bend plane)."""


@dataclass
class Pose:
    """Per-frame bone transforms of a posed rig: x_posed = linear[j] @ x_rest + offset[j]."""

    linear: np.ndarray     # (T, 22, 3, 3) rotation times the bone's stretch
    offset: np.ndarray     # (T, 22, 3)
    rotations: np.ndarray  # (T, 22, 3, 3) global rotations
    joints: np.ndarray     # (T, 22, 3) the rig's joints (forward kinematics)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _frame(up: np.ndarray, across: np.ndarray) -> np.ndarray:
    """Columns (x across, y up, z = x cross y) from two directions, (..., 3, 3)."""
    y = _unit(up)
    x = _unit(across - np.sum(across * y, axis=-1, keepdims=True) * y)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def median_bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Median over frames of each bone's length, (22,) (zero for the root)."""
    return np.median(sk.bone_lengths(np.asarray(joints, dtype=np.float64).reshape(-1, 22, 3)), axis=0)


def pose_rig(rest: np.ndarray, joints: np.ndarray, *, lengths: np.ndarray | None = None,
             exact: bool = False) -> Pose:
    """Bone transforms that pose a rig with rest joints ``rest`` (22, 3) on ``joints`` (T, 22, 3).

    ``lengths``: bone lengths to stretch the single-child bones to (default: the take's medians).
    ``exact``: every joint is put on its target (used to fit a body to a skeleton, not for the
    rig's animation, which is forward kinematics)."""
    rest = np.asarray(rest, dtype=np.float64)
    target = np.asarray(joints, dtype=np.float64)
    if target.ndim == 2:
        target = target[None]
    n = target.shape[0]
    if lengths is None:
        lengths = median_bone_lengths(target)
    rest_len = sk.bone_lengths(rest)
    rot = np.zeros((n, 22, 3, 3))
    lin = np.zeros((n, 22, 3, 3))
    pos = np.zeros((n, 22, 3))
    eye = np.eye(3)
    for j in range(22):
        p = sk.PARENTS[j]
        pos[:, j] = target[:, j] if (exact or p < 0) else pos[:, j]
        kids = CHILDREN[j]
        if j in FRAMES:
            c, left, right = FRAMES[j]
            f_rest = _frame(rest[c] - rest[j], rest[left] - rest[right])
            f_now = _frame(target[:, c] - target[:, j], target[:, left] - target[:, right])
            rot[:, j] = f_now @ f_rest.T
            lin[:, j] = rot[:, j]
        elif len(kids) == 1:
            c = kids[0]
            base = rot[:, p] if p >= 0 else np.broadcast_to(eye, (n, 3, 3))
            d_rest = base @ (rest[c] - rest[j])
            swing = rotation_between(d_rest, target[:, c] - pos[:, j])
            r = swing @ base
            if j in HINGES and not exact:  # fitting only moves and stretches parts
                r = _hinge_twist(r, rest, target, pos[:, j], j)
            rot[:, j] = r
            d = _unit(rest[c] - rest[j])
            stretch = lengths[c] / max(rest_len[c], 1e-9)
            lin[:, j] = r @ (eye + (stretch - 1.0) * np.outer(d, d))
        else:
            rot[:, j] = rot[:, p]
            lin[:, j] = rot[:, j]
        for c in kids:
            if not exact:
                pos[:, c] = pos[:, j] + lin[:, j] @ (rest[c] - rest[j])
    offset = pos - np.einsum("tjab,jb->tja", lin, rest)
    return Pose(linear=lin, offset=offset, rotations=rot, joints=pos)


def _hinge_twist(r: np.ndarray, rest: np.ndarray, target: np.ndarray, origin: np.ndarray, j: int) -> np.ndarray:
    """Turns r about the bone so that the rest hinge axis lies on the bend plane's normal."""
    mid, end, bend_dir = HINGES[j]
    upper_rest = rest[mid] - rest[j]
    hinge_rest = _unit(np.cross(upper_rest, np.asarray(bend_dir)))
    a, b = target[:, mid] - origin, target[:, end] - target[:, mid]
    normal = np.cross(a, b)
    sin_bend = np.linalg.norm(normal, axis=-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
    axis = _unit(a)
    pred = (r @ hinge_rest[:, None])[..., 0]
    pred = pred - np.sum(pred * axis, -1, keepdims=True) * axis
    want = normal - np.sum(normal * axis, -1, keepdims=True) * axis
    angle = np.arctan2(np.sum(axis * np.cross(pred, want), -1), np.sum(pred * want, -1))
    lo, hi = HINGE_BEND
    w = np.clip((sin_bend - lo) / (hi - lo), 0.0, 1.0)
    w = w * w * (3 - 2 * w)
    return axis_angle(axis, w * angle) @ r


def skin(body: BodyModel, pose: Pose, frames: slice | None = None) -> np.ndarray:
    """Linear blend skinning of the body's rest mesh, (T, V, 3) float32."""
    lin = pose.linear if frames is None else pose.linear[frames]
    off = pose.offset if frames is None else pose.offset[frames]
    verts = np.asarray(body.vertices, dtype=np.float64)
    idx, w = body.skin_joints.astype(np.int64), np.asarray(body.skin_weights, dtype=np.float64)
    out = np.empty((lin.shape[0], len(verts), 3), dtype=np.float32)
    for t in range(lin.shape[0]):
        m = np.einsum("vk,vkab->vab", w, lin[t][idx])
        o = np.einsum("vk,vka->va", w, off[t][idx])
        out[t] = np.einsum("vab,vb->va", m, verts) + o
    return out


def fit_body(body: BodyModel, skeleton: np.ndarray = sk.REST_POSE) -> BodyModel:
    """The body reshaped so that its rest joints are ``skeleton`` (22, 3): scaled to the skeleton's
    size, then each part moved, turned and stretched onto its bone (the blend of the skinning
    weights smooths the seams). The result's rest pose is the skeleton's."""
    rest = np.asarray(body.joints, dtype=np.float64)
    skel = np.asarray(skeleton, dtype=np.float64)
    scale = sk.bone_lengths(skel).sum() / max(sk.bone_lengths(rest).sum(), 1e-9)
    scaled = BodyModel(name=body.name, vertices=(np.asarray(body.vertices) - rest[0]) * scale,
                       faces=body.faces, skin_joints=body.skin_joints, skin_weights=body.skin_weights,
                       joints=(rest - rest[0]) * scale, info=body.info)
    pose = pose_rig(scaled.joints, skel[None], lengths=sk.bone_lengths(skel), exact=True)
    verts = skin(scaled, pose)[0]
    return BodyModel(name=body.name, vertices=verts, faces=np.asarray(body.faces, dtype=np.int32),
                     skin_joints=body.skin_joints, skin_weights=body.skin_weights,
                     joints=skel.astype(np.float32), info={**body.info, "fitted_to": "motion rest skeleton"})


def joint_error_mm(pose: Pose, joints: np.ndarray) -> float:
    """Mean distance (mm) between the rig's joints and the motion's joints."""
    return float(np.linalg.norm(pose.joints - np.asarray(joints, dtype=np.float64).reshape(pose.joints.shape),
                                axis=-1).mean() * 1000.0)
