"""MediaPipe Holistic results in the project's one 2D format (133 COCO-WholeBody keypoints).

MediaPipe runs offline from the wheel's own models on a laptop CPU, which is why the studio uses
it; everything after this module sees only the 133-keypoint layout of wholebody.py. Holistic's
``left_hand_landmarks`` is the person's left hand (unlike the stand-alone Hands solution, it is
not mirrored), so it goes to LEFT_HAND as is.

Confidence: the pose landmarks' visibility for body and feet. Face-mesh and hand landmarks
carry no per-point confidence in mediapipe; their points get 1.0 when the part was found (the
face and hand models only answer above their own presence threshold) and 0 when not.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .mesh68 import mesh_to_ibug68
from .wholebody import BODY, FACE, FEET_INDEX, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND

# mediapipe pose landmark index for each COCO body keypoint (wholebody.BODY_NAMES order)
POSE33_TO_COCO17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
_MP = {"left_ankle": 27, "right_ankle": 28, "left_heel": 29, "right_heel": 30,
       "left_foot_index": 31, "right_foot_index": 32}
SMALL_TOE_SCORE_FACTOR = 0.5
"""The small toe is estimated, not detected: its confidence is this fraction of the foot's."""
PART_SCORE = 1.0
"""Confidence of face-mesh and hand points of a detected part (mediapipe gives none per point)."""
MODEL_COMPLEXITY = 1
"""0 or 1: the wheel ships the lite and full pose models; 2 (heavy) would need a download."""


def _landmarks_array(landmark_list: Any, width: int, height: int, with_visibility: bool = False) -> np.ndarray:
    points = landmark_list.landmark
    if with_visibility:
        return np.array([[p.x * width, p.y * height, p.visibility] for p in points], dtype=np.float64)
    return np.array([[p.x * width, p.y * height] for p in points], dtype=np.float64)


def pose_landmarks_px(results: Any, width: int, height: int) -> np.ndarray:
    """(33, 3) pose landmarks: x px, y px, visibility; zeros when no person was found."""
    if getattr(results, "pose_landmarks", None) is None:
        return np.zeros((33, 3))
    return _landmarks_array(results.pose_landmarks, width, height, with_visibility=True)


def world_landmarks(results: Any) -> np.ndarray:
    """(33, 3) pose world landmarks in metres (hip-centred); zeros when no person was found."""
    if getattr(results, "pose_world_landmarks", None) is None:
        return np.zeros((33, 3))
    return np.array([[p.x, p.y, p.z] for p in results.pose_world_landmarks.landmark], dtype=np.float64)


def face_mesh_px(results: Any, width: int, height: int) -> np.ndarray | None:
    """(478, 2) face-mesh points in pixels, or None when no face was found."""
    if getattr(results, "face_landmarks", None) is None:
        return None
    return _landmarks_array(results.face_landmarks, width, height)


def face_mesh_depth_px(results: Any, width: int) -> np.ndarray | None:
    """(478,) face-mesh depth in pixels (mediapipe's z is scaled like x), or None without a face."""
    if getattr(results, "face_landmarks", None) is None:
        return None
    return np.array([p.z * width for p in results.face_landmarks.landmark], dtype=np.float64)


def estimate_small_toe(heel: np.ndarray, toe: np.ndarray, ankle: np.ndarray, other_ankle: np.ndarray,
                       knee: np.ndarray) -> np.ndarray:
    """Where the small toe should be, from the foot axis and the side away from the other foot.

    MediaPipe's foot_index is the tip of the foot near the big toe. The small toe sits about
    0.35 foot lengths to the outside of it and slightly back along the foot; the outside is the
    direction away from the other ankle. For a foreshortened foot (pointing at the camera) the
    foot length is taken from a quarter of the shin instead.
    """
    axis = toe - heel
    length = float(np.hypot(*axis))
    shin = float(np.hypot(*(ankle - knee)))
    width = 0.35 * max(length, 0.25 * shin, 1.0)
    outward = ankle - other_ankle
    if length > 1e-6:
        unit = axis / length
        outward = outward - unit * float(outward @ unit)  # perpendicular to the foot axis
    norm = float(np.hypot(*outward))
    if norm < 1e-6:
        return toe.copy()
    return toe + width * outward / norm - 0.15 * axis


def holistic_to_wholebody(results: Any, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(133, 2) pixel keypoints and (133,) confidences from one mediapipe Holistic result.

    ``width``/``height`` are the size of the image that was processed (mediapipe's coordinates
    are normalised to it). Parts that were not detected get confidence 0 and coordinates 0.
    """
    keypoints = np.zeros((NUM_KEYPOINTS, 2), dtype=np.float64)
    scores = np.zeros(NUM_KEYPOINTS, dtype=np.float64)
    pose = pose_landmarks_px(results, width, height)
    if getattr(results, "pose_landmarks", None) is not None:
        idx = np.asarray(POSE33_TO_COCO17)
        keypoints[BODY] = pose[idx, :2]
        scores[BODY] = np.clip(pose[idx, 2], 0.0, 1.0)
        for side, other in (("left", "right"), ("right", "left")):
            heel, toe = pose[_MP[f"{side}_heel"]], pose[_MP[f"{side}_foot_index"]]
            ankle, other_ankle = pose[_MP[f"{side}_ankle"]], pose[_MP[f"{other}_ankle"]]
            knee = pose[25 if side == "left" else 26]
            big, small, heel_i = (FEET_INDEX[f"{side}_big_toe"], FEET_INDEX[f"{side}_small_toe"],
                                  FEET_INDEX[f"{side}_heel"])
            keypoints[big], scores[big] = toe[:2], toe[2]
            keypoints[heel_i], scores[heel_i] = heel[:2], heel[2]
            keypoints[small] = estimate_small_toe(heel[:2], toe[:2], ankle[:2], other_ankle[:2], knee[:2])
            scores[small] = SMALL_TOE_SCORE_FACTOR * min(heel[2], toe[2])
    mesh = face_mesh_px(results, width, height)
    if mesh is not None:
        keypoints[FACE] = mesh_to_ibug68(mesh)
        scores[FACE] = PART_SCORE
    for attr, part in (("left_hand_landmarks", LEFT_HAND), ("right_hand_landmarks", RIGHT_HAND)):
        hand = getattr(results, attr, None)
        if hand is not None:
            keypoints[part] = _landmarks_array(hand, width, height)
            scores[part] = PART_SCORE
    keypoints = np.nan_to_num(keypoints, nan=0.0, posinf=0.0, neginf=0.0)
    scores = np.clip(np.nan_to_num(scores), 0.0, 1.0)
    return keypoints, scores


_shared_lock = threading.Lock()
_shared: dict[str, Any] = {}


def _shared_solution(name: str) -> Any:
    """One lazily created mediapipe solution per kind, shared by the whole process."""
    if name not in _shared:
        import mediapipe as mp

        if name == "holistic":
            _shared[name] = mp.solutions.holistic.Holistic(
                static_image_mode=True, model_complexity=MODEL_COMPLEXITY, refine_face_landmarks=True)
        elif name == "selfie_segmentation":
            _shared[name] = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        elif name == "face_detection":
            # the full-range model also finds the small faces of people further back
            _shared[name] = mp.solutions.face_detection.FaceDetection(model_selection=1,
                                                                      min_detection_confidence=0.5)
        else:
            raise KeyError(name)
    return _shared[name]


def _process(name: str, rgb: np.ndarray) -> Any:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"mediapipe needs an (H, W, 3) RGB uint8 image, got {rgb.shape}")
    with _shared_lock:  # mediapipe graphs are not safe to call from two threads at once
        return _shared_solution(name).process(rgb)


def run_holistic(rgb: np.ndarray) -> Any:
    """MediaPipe Holistic (still-image mode, refined face) on one RGB uint8 image."""
    return _process("holistic", rgb)


def run_selfie_segmentation(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 person mask in [0, 1] (every person in the image, not only one)."""
    mask = _process("selfie_segmentation", rgb).segmentation_mask
    return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)


def run_face_detection(rgb: np.ndarray) -> list[tuple[float, tuple[float, float, float, float]]]:
    """Faces found in the image: (score, (x0, y0, x1, y1) px), largest first."""
    height, width = rgb.shape[:2]
    detections = _process("face_detection", rgb).detections or []
    faces = []
    for det in detections:
        box = det.location_data.relative_bounding_box
        x0, y0 = box.xmin * width, box.ymin * height
        faces.append((float(det.score[0]), (x0, y0, x0 + box.width * width, y0 + box.height * height)))
    faces.sort(key=lambda f: -(f[1][2] - f[1][0]) * (f[1][3] - f[1][1]))
    return faces


class HolisticTracker:
    """MediaPipe Holistic in video mode, fed frame by frame (tracking is faster and steadier).

    Use one tracker per video, as a context manager or closing it when done::

        with HolisticTracker() as tracker:
            for rgb in frames:
                keypoints, scores, world, found = tracker.track(rgb)
    """

    def __init__(self, refine_face_landmarks: bool = True, model_complexity: int = MODEL_COMPLEXITY,
                 smooth_landmarks: bool = True) -> None:
        import mediapipe as mp

        self._holistic = mp.solutions.holistic.Holistic(
            static_image_mode=False, model_complexity=model_complexity, smooth_landmarks=smooth_landmarks,
            refine_face_landmarks=refine_face_landmarks)

    def process(self, rgb: np.ndarray) -> Any:
        """The raw mediapipe result for the next frame of the video."""
        return self._holistic.process(np.ascontiguousarray(rgb, dtype=np.uint8))

    def track(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(133, 2) px keypoints, (133,) scores, (33, 3) world landmarks, whether a person was found."""
        height, width = rgb.shape[:2]
        results = self.process(rgb)
        keypoints, scores = holistic_to_wholebody(results, width, height)
        return keypoints, scores, world_landmarks(results), results.pose_landmarks is not None

    def close(self) -> None:
        self._holistic.close()

    def __enter__(self) -> "HolisticTracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
