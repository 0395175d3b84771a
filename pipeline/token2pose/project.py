"""Direct 3D -> 2D: the baseline token2pose and its fallback.

The decoded 22-joint motion goes through the portrait's camera to COCO body + feet keypoints.
For template clips without hands or a face (mocap), ``attach_canonical_parts`` adds a relaxed hand
following each forearm and a neutral face following the head, so every pose has all 133 points.
"""

from __future__ import annotations

import numpy as np

from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.portrait.wholebody import FACE, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND
from pipeline.token2pose.camera import WeakPerspectiveCamera, yaw_matrix
from pipeline.token2pose.mapping import NUM_BODY_FEET, body_frame, smpl_to_body_feet
from pipeline.token2pose.shapes import neutral_face, relaxed_hand

HAND_LENGTH_M = 0.19
"""Wrist to middle fingertip of an adult, to size the canonical hand from the body's scale."""
EYE_DISTANCE_M = 0.064
TEMPLATE_FACE = neutral_face()
TEMPLATE_HANDS = {"left": relaxed_hand("left"), "right": relaxed_hand("right")}
_FACE_ANCHORS = np.array([[-0.5, -0.3], [0.5, -0.3], [0.0, 0.0]])   # right eye, left eye, nose tip


def project_body(joints: np.ndarray, camera: WeakPerspectiveCamera) -> np.ndarray:
    """Pixels (T, 23, 2) of the COCO body + feet keypoints of a motion (T, 22, 3)."""
    return camera.project(smpl_to_body_feet(joints))


def facing_camera(joints: np.ndarray, camera: WeakPerspectiveCamera) -> np.ndarray:
    """(T,) how much the head faces the camera: 1 frontal, 0 in profile, < 0 turned away."""

    forward, _ = body_frame(np.asarray(joints, dtype=np.float64))
    return (forward @ yaw_matrix(camera.yaw).T)[..., 2]


def _rotation(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def canonical_hands(body: np.ndarray, hand_length_px: float) -> np.ndarray:
    """(T, 42, 2) left then right relaxed hands at the wrists, turned with each forearm."""
    out = []
    for side in ("left", "right"):
        wrist, elbow = body[:, B[f"{side}_wrist"]], body[:, B[f"{side}_elbow"]]
        angle = np.arctan2(*(wrist - elbow)[:, ::-1].T)
        rot = _rotation(angle)                                     # (T, 2, 2)
        shape = TEMPLATE_HANDS[side] * hand_length_px
        out.append(wrist[:, None, :] + np.einsum("tij,kj->tki", rot, shape))
    return np.concatenate(out, axis=1)


def canonical_face(body: np.ndarray) -> np.ndarray:
    """(T, 68, 2) neutral face mapped by the affine that puts its eyes and nose on the body's."""
    target = np.stack([body[:, B["right_eye"]], body[:, B["left_eye"]], body[:, B["nose"]]], axis=1)
    src = np.concatenate([_FACE_ANCHORS, np.ones((3, 1))], axis=1)            # (3, 3)
    affine = np.linalg.solve(src, target)                                      # (T, 3, 2)
    pts = np.concatenate([TEMPLATE_FACE, np.ones((len(TEMPLATE_FACE), 1))], axis=1)
    return np.einsum("kj,tjd->tkd", pts, affine)


def canonical_parts(keypoints: np.ndarray, scores: np.ndarray, *, hands: bool, face: bool,
                    hand_length: float) -> None:
    """Draw canonical hands and/or face onto poses (T, 133, 2) in place, from their body points.

    Face scores follow the nose's (a head turned away shows no face).
    """
    body = keypoints[:, :NUM_BODY_FEET].astype(np.float64)
    if hands:
        keypoints[:, LEFT_HAND.start:RIGHT_HAND.stop] = canonical_hands(body, hand_length)
        scores[:, LEFT_HAND.start:RIGHT_HAND.stop] = 1.0
    if face:
        keypoints[:, FACE] = canonical_face(body)
        scores[:, FACE] = scores[:, B["nose"], None]


def whole_body_from_motion(joints: np.ndarray, camera: WeakPerspectiveCamera) -> tuple[np.ndarray, np.ndarray]:
    """(T, 133, 2) keypoints and (T, 133) scores of a motion seen through ``camera``, with
    canonical hands and face; face points get score 0 while the head is turned away."""
    body = project_body(joints, camera)
    t = len(body)
    keypoints = np.zeros((t, NUM_KEYPOINTS, 2))
    scores = np.ones((t, NUM_KEYPOINTS))
    keypoints[:, :NUM_BODY_FEET] = body
    toward = facing_camera(joints, camera)
    for name in ("nose", "left_eye", "right_eye"):
        scores[:, B[name]] = (toward > 0.2)
    canonical_parts(keypoints, scores, hands=True, face=True, hand_length=HAND_LENGTH_M * camera.scale)
    return keypoints, scores


__all__ = ["EYE_DISTANCE_M", "HAND_LENGTH_M", "canonical_face", "canonical_parts", "canonical_hands", "facing_camera",
           "project_body", "whole_body_from_motion"]
