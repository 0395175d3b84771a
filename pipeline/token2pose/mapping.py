"""Joint mappings between the 22-joint SMPL skeleton, COCO-WholeBody and MediaPipe's 33 landmarks.

SMPL -> COCO turns motion into the keypoints the 2D pose speaks: the limb joints map directly,
the face points (nose, eyes, ears) come from the head joint and the head's facing, the six foot
points from the ankle and foot joints. MediaPipe -> SMPL turns template videos into motion the
tokenizer can read: pelvis at the hip midpoint, spine joints interpolated between the hips and
the shoulders in the proportions of our rest pose, neck and head from the shoulders and ears.
"""

from __future__ import annotations

import numpy as np

from pipeline.motion.skeleton import JOINT_INDEX as S
from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.portrait.wholebody import FEET_INDEX as F

NUM_BODY_FEET = 23
"""Body (17) and feet (6) keypoints come first in the 133 layout; token2pose draws them itself."""

DIRECT: dict[int, int] = {
    B["left_shoulder"]: S["left_shoulder"], B["right_shoulder"]: S["right_shoulder"],
    B["left_elbow"]: S["left_elbow"], B["right_elbow"]: S["right_elbow"],
    B["left_wrist"]: S["left_wrist"], B["right_wrist"]: S["right_wrist"],
    B["left_hip"]: S["left_hip"], B["right_hip"]: S["right_hip"],
    B["left_knee"]: S["left_knee"], B["right_knee"]: S["right_knee"],
    B["left_ankle"]: S["left_ankle"], B["right_ankle"]: S["right_ankle"],
}
"""COCO keypoint -> SMPL joint for the keypoints that are the same anatomical point."""

# Face points in the head's frame (metres): forward, up, toward the person's left, from the SMPL
# head joint, which sits at the base of the skull about level with the ears.
HEAD_POINTS: dict[int, tuple[float, float, float]] = {
    B["nose"]: (0.105, 0.035, 0.0),
    B["left_eye"]: (0.085, 0.075, 0.032),
    B["right_eye"]: (0.085, 0.075, -0.032),
    B["left_ear"]: (0.0, 0.03, 0.075),
    B["right_ear"]: (0.0, 0.03, -0.075),
}

# Foot points in the foot's frame (metres): along the foot, up, outward, from the named joint.
FOOT_POINTS: dict[int, tuple[str, tuple[float, float, float]]] = {
    F["left_big_toe"]: ("left_foot", (0.06, -0.03, -0.02)),
    F["left_small_toe"]: ("left_foot", (0.03, -0.03, 0.045)),
    F["left_heel"]: ("left_ankle", (-0.06, -0.06, 0.0)),
    F["right_big_toe"]: ("right_foot", (0.06, -0.03, -0.02)),
    F["right_small_toe"]: ("right_foot", (0.03, -0.03, 0.045)),
    F["right_heel"]: ("right_ankle", (-0.06, -0.06, 0.0)),
}

UP = np.array([0.0, 1.0, 0.0])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def body_frame(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame body forward and left unit vectors (..., 3) from the shoulders and hips."""
    left = (joints[..., S["left_shoulder"], :] - joints[..., S["right_shoulder"], :]
            + joints[..., S["left_hip"], :] - joints[..., S["right_hip"], :])
    left = _unit(left)
    forward = _unit(np.cross(left, UP))
    return forward, left


def smpl_to_body_feet(joints: np.ndarray) -> np.ndarray:
    """3D positions (..., 23, 3) of the COCO body + feet keypoints from SMPL joints (..., 22, 3)."""
    joints = np.asarray(joints, dtype=np.float64)
    out = np.zeros(joints.shape[:-2] + (NUM_BODY_FEET, 3))
    for coco, smpl in DIRECT.items():
        out[..., coco, :] = joints[..., smpl, :]
    body_forward, _ = body_frame(joints)
    head, neck = joints[..., S["head"], :], joints[..., S["neck"], :]
    up = _unit(head - neck)
    left = _unit(np.cross(up, body_forward))        # head's left, tilting with the neck
    forward = _unit(np.cross(left, up))
    for coco, (f, u, s) in HEAD_POINTS.items():
        out[..., coco, :] = head + f * forward + u * up + s * left
    for side in ("left", "right"):
        ankle, foot = joints[..., S[f"{side}_ankle"], :], joints[..., S[f"{side}_foot"], :]
        along = foot - ankle
        along[..., 1] = 0.0
        along = np.where(np.linalg.norm(along, axis=-1, keepdims=True) > 1e-4, _unit(along), body_forward)
        outward = _unit(np.cross(along, UP)) * (1.0 if side == "right" else -1.0)
        for coco, (name, (a, u, o)) in FOOT_POINTS.items():
            if not name.startswith(side):
                continue
            base = joints[..., S[name], :]
            out[..., coco, :] = base + a * along + u * UP + o * outward
    return out


# ---------------------------------------------------------------------------------------------
# MediaPipe Pose (33 landmarks) -> SMPL 22 joints

MP = {name: i for i, name in enumerate((
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index"))}

# Heights along the hip-midpoint -> shoulder-midpoint axis, as shares of that length, from our
# rest pose (hips at -0.07 m, shoulders at 0.44 m relative to the pelvis).
_TORSO = 0.51
SPINE_SHARES: dict[str, float] = {"pelvis": 0.07 / _TORSO, "spine1": 0.18 / _TORSO,
                                  "spine2": 0.315 / _TORSO, "spine3": 0.37 / _TORSO}
NECK_SHARE = 0.4
"""The neck joint lies this share of the way from the shoulder midpoint to the ear midpoint."""
COLLAR_SHARE = 0.4
"""The collar joints lie this share of the way from the shoulder midpoint to each shoulder."""
BALL_OF_FOOT = 0.7
"""SMPL's foot joint (ball of the foot) as a share of the way from the heel to the toe tip."""


def mediapipe_axes_to_smpl(points: np.ndarray) -> np.ndarray:
    """MediaPipe world coordinates (x image right, y down, z away) to ours (Y up, facing +Z).

    A person facing the camera has their left on the image right, so x stays; y and z flip
    (a proper rotation, 180 degrees about x).
    """
    points = np.asarray(points, dtype=np.float64)
    return points * np.array([1.0, -1.0, -1.0])


def mediapipe_to_smpl(world: np.ndarray) -> np.ndarray:
    """SMPL joints (..., 22, 3), metres, Y up, from MediaPipe pose world landmarks (..., 33, 3+).

    Only the first three columns are read (a visibility column may follow).
    """
    p = mediapipe_axes_to_smpl(np.asarray(world)[..., :3])
    m = {name: p[..., i, :] for name, i in MP.items()}
    hip_mid = 0.5 * (m["left_hip"] + m["right_hip"])
    sh_mid = 0.5 * (m["left_shoulder"] + m["right_shoulder"])
    ear_mid = 0.5 * (m["left_ear"] + m["right_ear"])
    axis = sh_mid - hip_mid
    out = np.zeros(p.shape[:-2] + (22, 3))
    for name, share in SPINE_SHARES.items():
        out[..., S[name], :] = hip_mid + share * axis
    neck = sh_mid + NECK_SHARE * (ear_mid - sh_mid)
    out[..., S["neck"], :] = neck
    out[..., S["head"], :] = ear_mid
    for side in ("left", "right"):
        out[..., S[f"{side}_collar"], :] = sh_mid + COLLAR_SHARE * (m[f"{side}_shoulder"] - sh_mid)
        for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            out[..., S[f"{side}_{joint}"], :] = m[f"{side}_{joint}"]
        out[..., S[f"{side}_foot"], :] = (m[f"{side}_heel"]
                                          + BALL_OF_FOOT * (m[f"{side}_foot_index"] - m[f"{side}_heel"]))
    return out


__all__ = ["DIRECT", "MP", "NUM_BODY_FEET", "body_frame", "mediapipe_axes_to_smpl", "mediapipe_to_smpl",
           "smpl_to_body_feet"]
