"""The 22-joint SMPL skeleton used by HumanML3D: names, hierarchy, rest pose, forward kinematics.

Coordinates: metres, Y up, the body faces +Z, the person's left side is +X (SMPL convention).
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

KINEMATIC_CHAIN: tuple[tuple[int, ...], ...] = (
    (0, 2, 5, 8, 11),        # right leg
    (0, 1, 4, 7, 10),        # left leg
    (0, 3, 6, 9, 12, 15),    # spine and head
    (9, 14, 17, 19, 21),     # right arm
    (9, 13, 16, 18, 20),     # left arm
)


def _parents_from_chain(chain: tuple[tuple[int, ...], ...], n: int) -> tuple[int, ...]:
    parents = [-1] * n
    for limb in chain:
        for parent, child in zip(limb[:-1], limb[1:]):
            parents[child] = parent
    return tuple(parents)


PARENTS: tuple[int, ...] = _parents_from_chain(KINEMATIC_CHAIN, len(JOINT_NAMES))

# Unit bone directions of HumanML3D's canonical skeleton (t2m_raw_offsets). The 6D joint rotations
# of the 263-d feature are measured against these directions, so they must stay exactly as they are.
RAW_OFFSETS: np.ndarray = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0],
    [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0],
    [-1, 0, 0], [0, 0, 1], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
    [0, -1, 0],
], dtype=np.float64)

# HumanML3D's feature extraction constants.
FACE_JOINTS: tuple[int, int, int, int] = (2, 1, 17, 16)  # right hip, left hip, right/left shoulder
FOOT_LEFT: tuple[int, int] = (7, 10)    # left ankle, left foot
FOOT_RIGHT: tuple[int, int] = (8, 11)   # right ankle, right foot
LOWER_LEG: tuple[int, int] = (5, 8)     # bones used to compare leg lengths

# Our own rest pose (metres, pelvis at the origin): an adult of about 1.72 m standing upright,
# arms hanging relaxed, feet flat. Built for this project from anthropometric proportions, it is
# the target skeleton that every dataset clip is retargeted to.
REST_POSE: np.ndarray = np.array([
    [0.000, 0.000, 0.000],    # pelvis
    [0.090, -0.070, 0.000],   # left_hip
    [-0.090, -0.070, 0.000],  # right_hip
    [0.000, 0.110, -0.015],   # spine1
    [0.100, -0.465, 0.010],   # left_knee
    [-0.100, -0.465, 0.010],  # right_knee
    [0.000, 0.245, 0.000],    # spine2
    [0.105, -0.865, -0.025],  # left_ankle
    [-0.105, -0.865, -0.025], # right_ankle
    [0.000, 0.300, 0.010],    # spine3
    [0.115, -0.925, 0.100],   # left_foot
    [-0.115, -0.925, 0.100],  # right_foot
    [0.000, 0.510, -0.010],   # neck
    [0.075, 0.420, 0.000],    # left_collar
    [-0.075, 0.420, 0.000],   # right_collar
    [0.000, 0.615, 0.040],    # head
    [0.185, 0.440, -0.015],   # left_shoulder
    [-0.185, 0.440, -0.015],  # right_shoulder
    [0.215, 0.170, -0.030],   # left_elbow
    [-0.215, 0.170, -0.030],  # right_elbow
    [0.235, -0.080, 0.010],   # left_wrist
    [-0.235, -0.080, 0.010],  # right_wrist
], dtype=np.float64)

FOOT_JOINT_HEIGHT: float = 0.05
"""Height of the SMPL foot (toe-base) joint above the floor when standing."""

REST_PELVIS_HEIGHT: float = float(-REST_POSE[:, 1].min() + FOOT_JOINT_HEIGHT)

REST_BODY_HEIGHT: float = 1.72
"""Standing height (m) of REST_POSE's person, top of the head included; turns bone lengths into a height."""


def rest_offsets(rest_pose: np.ndarray = REST_POSE) -> np.ndarray:
    """Offset of each joint from its parent in the rest pose, (22, 3); the root's offset is zero."""
    offsets = np.zeros_like(rest_pose)
    for j, p in enumerate(PARENTS):
        if p >= 0:
            offsets[j] = rest_pose[j] - rest_pose[p]
    return offsets


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Length of the bone ending at each joint, (..., 22); zero for the root."""
    joints = np.asarray(joints)
    parents = np.array([max(p, 0) for p in PARENTS])
    return np.linalg.norm(joints - joints[..., parents, :], axis=-1)


def facing_rotation(frames: np.ndarray) -> np.ndarray:
    """(3, 3) rotation about +Y that turns the body in frames (F, 22, 3) to face +Z.

    Forward is up x (right - left) from the hips and shoulders (HumanML3D's rule), averaged over
    the given frames; a degenerate pose (no horizontal facing) gives the identity.
    """
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    frames = np.asarray(frames, dtype=np.float64)
    across = ((frames[:, r_hip] - frames[:, l_hip]) + (frames[:, r_sdr] - frames[:, l_sdr])).mean(axis=0)
    forward = np.cross([0.0, 1.0, 0.0], across)
    if np.hypot(forward[0], forward[2]) < 1e-8:
        return np.eye(3)
    angle = np.arctan2(forward[0], forward[2])  # heading of forward, measured from +Z toward +X
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def forward_kinematics(local_rotations: np.ndarray, root_positions: np.ndarray,
                       offsets: np.ndarray | None = None) -> np.ndarray:
    """Joint positions from per-joint local rotations (a standard hierarchy, not HumanML3D's).

    local_rotations: (T, 22, 3, 3); joint j's rotation turns the bones of its children, relative
    to its parent's frame. root_positions: (T, 3). offsets: (22, 3) rest offsets, our rest pose by
    default. Returns (T, 22, 3).
    """
    if offsets is None:
        offsets = rest_offsets()
    local_rotations = np.asarray(local_rotations, dtype=np.float64)
    n_frames = local_rotations.shape[0]
    global_rot = np.empty_like(local_rotations)
    joints = np.empty((n_frames, len(PARENTS), 3))
    for j, p in enumerate(PARENTS):  # parents always precede children in this ordering
        if p < 0:
            global_rot[:, j] = local_rotations[:, j]
            joints[:, j] = root_positions
        else:
            joints[:, j] = joints[:, p] + global_rot[:, p] @ offsets[j]
            global_rot[:, j] = global_rot[:, p] @ local_rotations[:, j]
    return joints
