"""The canonical 2D pose: COCO-WholeBody / DWPose, 133 keypoints with confidences.

Every 2D stage speaks this one format (portrait analysis, token2pose, pose maps, renderers), so
that poses from mediapipe, from the relation bank and from projection are interchangeable and
DWPose-trained models (MimicMotion's pose path) read them without conversion.

Layout (index ranges are half-open):
  body   0:17    COCO order: nose, l_eye, r_eye, l_ear, r_ear, l_shoulder, r_shoulder, l_elbow,
                 r_elbow, l_wrist, r_wrist, l_hip, r_hip, l_knee, r_knee, l_ankle, r_ankle
  feet   17:23   l_big_toe, l_small_toe, l_heel, r_big_toe, r_small_toe, r_heel
  face   23:91   the 68 iBUG/dlib face points (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47,
                 lips 48-67), in that order
  l_hand 91:112  21 points, MediaPipe/OpenPose hand order (wrist, thumb 1-4, index 5-8, ...)
  r_hand 112:133

Coordinates are pixels of the image they belong to, x right, y down. A keypoint that is not
known has confidence 0 (its coordinates are then meaningless but finite).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NUM_KEYPOINTS = 133
BODY = slice(0, 17)
FEET = slice(17, 23)
FACE = slice(23, 91)
LEFT_HAND = slice(91, 112)
RIGHT_HAND = slice(112, 133)
HANDS = slice(91, 133)

BODY_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
              "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
FEET_NAMES = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
              "right_heel")
BODY_INDEX = {name: i for i, name in enumerate(BODY_NAMES)}
FEET_INDEX = {name: 17 + i for i, name in enumerate(FEET_NAMES)}

# Face points inside the 68 (add FACE.start for the 133 index).
FACE_JAW = slice(0, 17)
FACE_MOUTH = slice(48, 68)
FACE_INNER_LIPS = slice(60, 68)
FACE_LEFT_EYE = slice(42, 48)    # the person's left eye (image right for a frontal face)
FACE_RIGHT_EYE = slice(36, 42)


@dataclass
class WholeBodyPose:
    """A sequence of 133-keypoint poses in one image's pixel frame.

    keypoints: (T, 133, 2) float32 pixels; scores: (T, 133) float32 in [0, 1];
    image_size: (width, height) of the image the pixels refer to; fps: frames per second of the
    sequence (0 for a single still pose).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    fps: float = 0.0

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.scores = np.asarray(self.scores, dtype=np.float32)
        if self.keypoints.ndim == 2:
            self.keypoints = self.keypoints[None]
        if self.scores.ndim == 1:
            self.scores = self.scores[None]
        if self.keypoints.shape[1:] != (NUM_KEYPOINTS, 2):
            raise ValueError(f"keypoints must be (T, {NUM_KEYPOINTS}, 2), got {self.keypoints.shape}")
        if self.scores.shape != self.keypoints.shape[:2]:
            raise ValueError(f"scores must be (T, {NUM_KEYPOINTS}), got {self.scores.shape}")
        if not np.all(np.isfinite(self.keypoints)):
            raise ValueError("keypoints contain NaN or infinity; mark unknown points with score 0")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def frame(self, i: int) -> "WholeBodyPose":
        return WholeBodyPose(self.keypoints[i:i + 1].copy(), self.scores[i:i + 1].copy(),
                             self.image_size, self.fps)

    def to_json(self, decimals: int = 2) -> dict:
        """A plain-JSON description: per frame, the 133 keypoints flattened as x, y, score (the
        COCO keypoint convention) in this module's layout, with the parts' index ranges."""
        triples = np.concatenate([np.round(self.keypoints, decimals), np.round(self.scores, 3)[..., None]], axis=-1)
        return {"format": "coco-wholebody-133", "fps": float(self.fps), "image_size": list(self.image_size),
                "parts": {name: [part.start, part.stop] for name, part in
                          (("body", BODY), ("feet", FEET), ("face", FACE), ("left_hand", LEFT_HAND),
                           ("right_hand", RIGHT_HAND))},
                "body_names": list(BODY_NAMES), "feet_names": list(FEET_NAMES),
                "frames": [{"keypoints": f.reshape(-1).tolist()} for f in triples]}

    @classmethod
    def from_json(cls, data: dict) -> "WholeBodyPose":
        if data.get("format") != "coco-wholebody-133":
            raise ValueError(f"not a coco-wholebody-133 pose file (format {data.get('format')!r})")
        triples = np.asarray([f["keypoints"] for f in data["frames"]], dtype=np.float32).reshape(-1, NUM_KEYPOINTS, 3)
        return cls(triples[..., :2], triples[..., 2], tuple(data["image_size"]), float(data.get("fps", 0.0)))


def write_pose_json(pose: WholeBodyPose, path: str | Path) -> Path:
    """``pose.to_json()`` written to ``path`` (compact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pose.to_json(), separators=(",", ":")), encoding="utf-8")
    return path
