"""The face midpoint and face extent of a 133-keypoint pose.

The paper's composite map centres a fixed-size head mask on the face midpoint of every frame;
portrait analysis reports the same point for the still photo. Both use this one definition so
that the head mask of frame 0 sits exactly where the portrait's face is.
"""

from __future__ import annotations

import numpy as np

from .wholebody import BODY_INDEX, FACE

FACE_SCORE_THRESHOLD = 0.3
MIN_FACE_POINTS = 10
_HEAD_POINTS = tuple(BODY_INDEX[n] for n in ("nose", "left_eye", "right_eye"))
_EAR_POINTS = (BODY_INDEX["left_ear"], BODY_INDEX["right_ear"])


def face_points(keypoints: np.ndarray, scores: np.ndarray, threshold: float = FACE_SCORE_THRESHOLD) -> np.ndarray:
    """(N, 2) confident iBUG face points of one pose (N may be 0)."""
    pts, sc = np.asarray(keypoints)[FACE], np.asarray(scores)[FACE]
    return pts[sc > threshold]


def face_midpoint(keypoints: np.ndarray, scores: np.ndarray,
                  threshold: float = FACE_SCORE_THRESHOLD) -> tuple[float, float] | None:
    """Centre of the 68 face points' bounding box (brows to chin), or None without a face.

    Falls back to the mean of the confident nose and eyes of the body when the face points are
    missing (a pose from a source without face landmarks).
    """
    pts = face_points(keypoints, scores, threshold)
    if len(pts) >= MIN_FACE_POINTS:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2)
    kp, sc = np.asarray(keypoints), np.asarray(scores)
    head = [i for i in _HEAD_POINTS if sc[i] > threshold]
    if not head:
        return None
    centre = kp[head].mean(axis=0)
    return float(centre[0]), float(centre[1])


def face_extent(keypoints: np.ndarray, scores: np.ndarray,
                threshold: float = FACE_SCORE_THRESHOLD) -> tuple[float, float] | None:
    """(width, height) px of the 68 face points' box, or from the ears when the face is missing."""
    pts = face_points(keypoints, scores, threshold)
    if len(pts) >= MIN_FACE_POINTS:
        size = pts.max(axis=0) - pts.min(axis=0)
        return float(size[0]), float(size[1])
    kp, sc = np.asarray(keypoints), np.asarray(scores)
    if all(sc[i] > threshold for i in _EAR_POINTS):
        width = float(np.hypot(*(kp[_EAR_POINTS[0]] - kp[_EAR_POINTS[1]])))
        return width, 1.2 * width
    return None
