"""Joint positions <-> the 263-d HumanML3D motion feature, batched in torch, wrapped for numpy.

Feature layout per frame (22 joints):
  [0]        root angular velocity about Y (the half-angle, as HumanML3D stores it)
  [1:3]      root linear velocity on the XZ plane, in the root's own frame
  [3]        root height
  [4:67]     root-relative positions of joints 1..21, in the root's frame
  [67:193]   6D rotations of joints 1..21 (HumanML3D's IK against its canonical bone directions)
  [193:259]  joint velocities of all 22 joints, in the root's frame
  [259:263]  foot contacts (left ankle, left foot, right ankle, right foot)

The extraction follows HumanML3D's procedure step by step (retarget to one target skeleton, put on
the floor, start at the origin facing +Z, IK with a smoothed facing direction) so that features
computed here are interchangeable with the public dataset's.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.constants import FEATURE_DIM, NUM_JOINTS
from pipeline.motion import skeleton as sk
from pipeline.motion.quaternion import qbetween, qinv, qmul, qrot, quat_to_cont6d, y_rotation

FOOT_CONTACT_THRESHOLD: float = 0.002
"""Squared per-frame displacement (m^2) under which a foot joint counts as planted (HumanML3D)."""

FACING_SMOOTH_SIGMA: float = 20.0
"""Gaussian smoothing (frames) of the facing direction before the root rotation is taken."""

# Slices of the feature vector, named once so other modules never hard-code them.
N = NUM_JOINTS
ROOT_ROT_VEL = slice(0, 1)
ROOT_LIN_VEL = slice(1, 3)
ROOT_HEIGHT = slice(3, 4)
RIC = slice(4, 4 + (N - 1) * 3)
ROT6D = slice(RIC.stop, RIC.stop + (N - 1) * 6)
LOCAL_VEL = slice(ROT6D.stop, ROT6D.stop + N * 3)
FOOT_CONTACT = slice(LOCAL_VEL.stop, LOCAL_VEL.stop + 4)
FEATURE_GROUPS: tuple[slice, ...] = (ROOT_ROT_VEL, ROOT_LIN_VEL, ROOT_HEIGHT, RIC, ROT6D, LOCAL_VEL,
                                     FOOT_CONTACT)
assert FOOT_CONTACT.stop == FEATURE_DIM


def skeleton_offsets(bone_lengths: np.ndarray) -> np.ndarray:
    """HumanML3D-style skeleton offsets: each canonical bone direction scaled by a bone length."""
    return sk.RAW_OFFSETS * np.asarray(bone_lengths, dtype=np.float64)[:, None]


TARGET_OFFSETS: np.ndarray = skeleton_offsets(sk.bone_lengths(sk.REST_POSE))
"""The target skeleton every motion is retargeted to before feature extraction (our rest pose)."""


def _gaussian_smooth_time(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian filter along dim -2 (time) with edge-value padding, as scipy's mode='nearest'."""
    radius = int(4.0 * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = (kernel / kernel.sum()).flip(0)
    lead, (n_frames, n_ch) = x.shape[:-2], x.shape[-2:]
    flat = x.reshape(-1, n_frames, n_ch).transpose(1, 2).reshape(-1, 1, n_frames)
    padded = torch.cat([flat[..., :1].expand(-1, -1, radius), flat,
                        flat[..., -1:].expand(-1, -1, radius)], dim=-1)
    out = F.conv1d(padded, kernel.view(1, 1, -1))
    return out.reshape(-1, n_ch, n_frames).transpose(1, 2).reshape(*lead, n_frames, n_ch)


def _facing_direction(joints: torch.Tensor, hip_sign: float = 1.0) -> torch.Tensor:
    """Unit forward direction on the ground plane from the hips and shoulders, (..., 3).

    hip_sign=-1 reproduces HumanML3D's IK, which unpacks its face-joint list in a different order
    and so subtracts the hip vector from the shoulder vector; its features depend on that quirk.
    """
    r_hip, l_hip, r_sdr, l_sdr = sk.FACE_JOINTS
    across = hip_sign * (joints[..., r_hip, :] - joints[..., l_hip, :]) + (joints[..., r_sdr, :] - joints[..., l_sdr, :])
    across = across / torch.linalg.norm(across, dim=-1, keepdim=True)
    up = across.new_tensor([0.0, 1.0, 0.0]).expand_as(across)
    forward = torch.linalg.cross(up, across, dim=-1)
    return forward / torch.linalg.norm(forward, dim=-1, keepdim=True)


def inverse_kinematics(joints: torch.Tensor, smooth_forward: bool) -> torch.Tensor:
    """HumanML3D's IK: per-joint quaternions (..., T, 22, 4) turning canonical bones onto the motion.

    The root quaternion turns the facing direction onto +Z; each other joint's quaternion is the
    rotation of the bone ending at it, relative to the accumulated rotation along its chain (the
    arm chains start again from the root's rotation, a HumanML3D convention kept for compatibility).
    """
    forward = _facing_direction(joints, hip_sign=-1.0)
    if smooth_forward:
        forward = _gaussian_smooth_time(forward, FACING_SMOOTH_SIGMA)
        forward = forward / torch.linalg.norm(forward, dim=-1, keepdim=True)
    root_quat = qbetween(forward, forward.new_tensor([0.0, 0.0, 1.0]).expand_as(forward))
    # The released HumanML3D data was made with the first frame's root rotation set to identity
    # (the clip was already turned to face +Z); keep that so our features match theirs.
    root_quat = root_quat.clone()
    root_quat[..., 0, :] = root_quat.new_tensor([1.0, 0.0, 0.0, 0.0])
    quats = joints.new_zeros(joints.shape[:-1] + (4,))
    quats[..., 0, :] = root_quat
    raw = torch.as_tensor(sk.RAW_OFFSETS, dtype=joints.dtype, device=joints.device)
    for chain in sk.KINEMATIC_CHAIN:
        acc = root_quat
        for parent, child in zip(chain[:-1], chain[1:]):
            bone = joints[..., child, :] - joints[..., parent, :]
            bone = bone / torch.linalg.norm(bone, dim=-1, keepdim=True)
            local = qmul(qinv(acc), qbetween(raw[child].expand_as(bone), bone))
            quats[..., child, :] = local
            acc = qmul(acc, local)
    return quats


def forward_kinematics_quat(quats: torch.Tensor, root_pos: torch.Tensor,
                            offsets: torch.Tensor) -> torch.Tensor:
    """Inverse of `inverse_kinematics`: joints (..., T, 22, 3) from its quaternions and offsets."""
    joints = quats.new_zeros(quats.shape[:-1] + (3,))
    joints[..., 0, :] = root_pos
    for chain in sk.KINEMATIC_CHAIN:
        acc = quats[..., 0, :]
        for parent, child in zip(chain[:-1], chain[1:]):
            acc = qmul(acc, quats[..., child, :])
            joints[..., child, :] = qrot(acc, offsets[child].expand(acc.shape[:-1] + (3,))) + joints[..., parent, :]
    return joints


def retarget_to_skeleton(joints: torch.Tensor, target_offsets: np.ndarray) -> torch.Tensor:
    """Same motion on the target skeleton: IK, then FK with the target's bone lengths.

    The root path is scaled by the ratio of lower-leg lengths (first frame), as in HumanML3D.
    """
    target = torch.as_tensor(target_offsets, dtype=joints.dtype, device=joints.device)
    lengths = torch.linalg.norm(joints[..., 0, :, :] - joints[..., 0, [max(p, 0) for p in sk.PARENTS], :], dim=-1)
    a, b = sk.LOWER_LEG
    src_leg = lengths[..., a] + lengths[..., b]
    tgt_leg = torch.linalg.norm(target[a]) + torch.linalg.norm(target[b])
    scale = (tgt_leg / src_leg)[..., None, None]
    quats = inverse_kinematics(joints, smooth_forward=False)
    return forward_kinematics_quat(quats, joints[..., :, 0, :] * scale, target)


def _foot_contacts(joints: torch.Tensor) -> torch.Tensor:
    def planted(ids: tuple[int, int]) -> torch.Tensor:
        step = joints[..., 1:, list(ids), :] - joints[..., :-1, list(ids), :]
        return ((step ** 2).sum(-1) < FOOT_CONTACT_THRESHOLD).to(joints.dtype)
    return torch.cat([planted(sk.FOOT_LEFT), planted(sk.FOOT_RIGHT)], dim=-1)


def joints_to_features_torch(joints: torch.Tensor, target_offsets: np.ndarray | None = TARGET_OFFSETS,
                             ) -> torch.Tensor:
    """263-d features (..., T-1, 263) from joint positions (..., T, 22, 3), batched.

    target_offsets: the skeleton to retarget to first (None keeps the motion's own skeleton).
    """
    if target_offsets is not None:
        joints = retarget_to_skeleton(joints, target_offsets)
    # Floor at the lowest joint, first root position at the XZ origin, first frame facing +Z.
    floor = joints[..., 1].amin(dim=(-2, -1), keepdim=True)
    joints = joints - torch.stack([torch.zeros_like(floor), floor, torch.zeros_like(floor)], -1)
    origin = joints[..., :1, :1, :] * joints.new_tensor([1.0, 0.0, 1.0])
    joints = joints - origin
    forward0 = _facing_direction(joints[..., 0, :, :])
    face_z = qbetween(forward0, forward0.new_tensor([0.0, 0.0, 1.0]).expand_as(forward0))
    joints = qrot(face_z[..., None, None, :], joints)

    contacts = _foot_contacts(joints)
    quats = inverse_kinematics(joints, smooth_forward=True)
    cont6d = quat_to_cont6d(quats)
    r_rot = quats[..., 0, :]                                           # (..., T, 4)
    root = joints[..., 0, :]
    lin_vel = qrot(r_rot[..., 1:, :], root[..., 1:, :] - root[..., :-1, :])
    rot_vel = qmul(r_rot[..., 1:, :], qinv(r_rot[..., :-1, :]))

    local = joints - root[..., None, :] * joints.new_tensor([1.0, 0.0, 1.0])
    local = qrot(r_rot[..., None, :], local)
    local_vel = qrot(r_rot[..., :-1, None, :], joints[..., 1:, :, :] - joints[..., :-1, :, :])

    lead = joints.shape[:-3]
    n = joints.shape[-3] - 1
    return torch.cat([
        torch.asin(rot_vel[..., 2:3].clamp(-1.0, 1.0)),
        lin_vel[..., [0, 2]],
        local[..., :-1, 0, 1:2],
        local[..., :-1, 1:, :].reshape(*lead, n, -1),
        cont6d[..., :-1, 1:, :].reshape(*lead, n, -1),
        local_vel.reshape(*lead, n, -1),
        contacts,
    ], dim=-1)


def recover_root(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Root rotation quaternions (..., T, 4) and root positions (..., T, 3) by integrating velocities."""
    rot_vel = features[..., 0]
    angle = torch.cumsum(torch.cat([torch.zeros_like(rot_vel[..., :1]), rot_vel[..., :-1]], -1), -1)
    r_rot = y_rotation(2.0 * angle)   # the feature stores the half-angle
    step = torch.zeros(features.shape[:-1] + (3,), dtype=features.dtype, device=features.device)
    step[..., 1:, 0] = features[..., :-1, 1]
    step[..., 1:, 2] = features[..., :-1, 2]
    r_pos = torch.cumsum(qrot(qinv(r_rot), step), dim=-2)
    r_pos[..., 1] = features[..., 3]
    return r_rot, r_pos


def features_to_joints_torch(features: torch.Tensor) -> torch.Tensor:
    """Joint positions (..., T, 22, 3) from 263-d features (..., T, 263), batched and differentiable."""
    r_rot, r_pos = recover_root(features)
    local = features[..., RIC].reshape(features.shape[:-1] + (NUM_JOINTS - 1, 3))
    world = qrot(qinv(r_rot)[..., None, :], local)
    world = world + (r_pos * r_pos.new_tensor([1.0, 0.0, 1.0]))[..., None, :]
    return torch.cat([r_pos[..., None, :], world], dim=-2)


def _check_joints(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected joint positions of shape (frames, {NUM_JOINTS}, 3), got {joints.shape}")
    if joints.shape[0] < 2:
        raise ValueError("a motion needs at least 2 frames to have velocities")
    if not np.isfinite(joints).all():
        raise ValueError("joint positions contain NaN or infinite values")
    return joints


def joints_to_features(joints: np.ndarray, target_offsets: np.ndarray | None = TARGET_OFFSETS) -> np.ndarray:
    """263-d features (T-1, 263) float32 from joints (T, 22, 3) in metres, Y up (float64 inside)."""
    tensor = torch.from_numpy(_check_joints(joints))
    with torch.no_grad():
        return joints_to_features_torch(tensor, target_offsets).numpy().astype(np.float32)


def features_to_joints(features: np.ndarray) -> np.ndarray:
    """Joint positions (T, 22, 3) float32 from 263-d features (T, 263)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise ValueError(f"expected features of shape (frames, {FEATURE_DIM}), got {features.shape}")
    with torch.no_grad():
        return features_to_joints_torch(torch.from_numpy(features)).numpy().astype(np.float32)


def group_normalised_std(std: np.ndarray) -> np.ndarray:
    """Per-dimension std averaged within each feature group, as HumanML3D's statistics are.

    Averaging keeps the relative weight of, e.g., all joint positions the same, so a model does
    not over-fit the few dimensions that barely move.
    """
    out = np.asarray(std, dtype=np.float64).copy()
    for group in FEATURE_GROUPS:
        out[group] = out[group].mean()
    return out


__all__ = [
    "FEATURE_GROUPS", "TARGET_OFFSETS", "features_to_joints", "features_to_joints_torch",
    "group_normalised_std", "joints_to_features", "joints_to_features_torch", "recover_root",
    "retarget_to_skeleton", "skeleton_offsets",
]


def root_track(features: np.ndarray) -> np.ndarray:
    """(T, 3) per-frame root ground position x, z and heading yaw (radians) of 263-d features, such
    that ``joints = Ry(yaw) @ local + (x, 0, z)`` with ``local = to_local(joints, track)``: the
    decomposition a viewer uses to receive an edit as a local change (the root path is integrated
    over the whole clip, the local pose is not). Ry(a) = [[cos a, 0, sin a], [0, 1, 0], [-sin a, 0, cos a]]."""
    with torch.no_grad():
        f = torch.from_numpy(np.asarray(features, dtype=np.float64))
        rot, pos = recover_root(f)
        x_axis = qrot(qinv(rot), f.new_tensor([1.0, 0.0, 0.0]).expand(*f.shape[:-1], 3)).numpy()
    yaw = np.arctan2(-x_axis[..., 2], x_axis[..., 0])
    return np.stack([pos[..., 0].numpy(), pos[..., 2].numpy(), yaw], axis=-1)


def to_local(joints: np.ndarray, track: np.ndarray) -> np.ndarray:
    """Joints (T, J, 3) in the root's heading frame (the inverse of ``root_track``'s composition)."""
    j = np.asarray(joints, dtype=np.float64)
    d = j - np.stack([track[:, 0], np.zeros(len(track)), track[:, 1]], axis=-1)[:, None]
    c, s = np.cos(track[:, 2])[:, None], np.sin(track[:, 2])[:, None]
    return np.stack([c * d[..., 0] - s * d[..., 2], d[..., 1], s * d[..., 0] + c * d[..., 2]], axis=-1)


def _mirror_index() -> np.ndarray:
    """Joint index -> its left-right counterpart (itself for the spine and head)."""
    names = sk.JOINT_NAMES
    swap = {"left": "right", "right": "left"}
    out = []
    for name in names:
        side = name.split("_", 1)[0]
        out.append(names.index(name.replace(side, swap[side], 1)) if side in swap else names.index(name))
    return np.asarray(out)


MIRROR_JOINT = _mirror_index()
"""MIRROR_JOINT[j]: the joint on the other side of the body (j itself for the spine and head)."""


def mirror_features(features: np.ndarray) -> np.ndarray:
    """The same motion reflected left-right (x -> -x, left and right joints swapped), frame by frame
    in the 263-d feature space (..., T, 263): what ``joints_to_features(mirror_joints(joints))``
    gives (pipeline.data.build.mirror_joints, the dataset's mirrored copies), without leaving the
    root's frame, so it can be applied to a span of a longer motion. Root turns change direction,
    sideways root velocity and every x coordinate change sign, rotations become M R M (M the x
    reflection) and left / right joints and foot contacts swap."""
    f = np.array(features, dtype=np.float32, copy=True)
    if f.shape[-1] != FEATURE_DIM:
        raise ValueError(f"expected features with {FEATURE_DIM} values per frame, got shape {f.shape}")
    lead = f.shape[:-1]
    out = f.copy()
    out[..., ROOT_ROT_VEL] = -f[..., ROOT_ROT_VEL]
    out[..., 1] = -f[..., 1]                                               # sideways root velocity
    ric = f[..., RIC].reshape(*lead, N - 1, 3)[..., MIRROR_JOINT[1:] - 1, :] * np.float32([-1, 1, 1])
    out[..., RIC] = ric.reshape(*lead, -1)
    rot = f[..., ROT6D].reshape(*lead, N - 1, 6)[..., MIRROR_JOINT[1:] - 1, :]
    out[..., ROT6D] = (rot * np.float32([1, -1, -1, -1, 1, 1])).reshape(*lead, -1)   # columns of M R M
    vel = f[..., LOCAL_VEL].reshape(*lead, N, 3)[..., MIRROR_JOINT, :] * np.float32([-1, 1, 1])
    out[..., LOCAL_VEL] = vel.reshape(*lead, -1)
    out[..., FOOT_CONTACT] = f[..., FOOT_CONTACT][..., [2, 3, 0, 1]]
    return out
