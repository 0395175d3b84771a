"""What portrait analysis hands to the later stages (token2pose, rendering, the studio)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .wholebody import BODY_INDEX, LEFT_HAND, RIGHT_HAND, WholeBodyPose

Framing = Literal["head", "half_body", "whole_body"]
HAND_EDGE = 0.25
"""An unseen wrist beside the body closer than this many shoulder widths to the picture's edge is cut off by it."""
HAND_AT_HEAD = 1.0
"""A wrist above the face's bottom plus this many face heights is a hand at the head (holding a
phone or a camera, on the chin, in the hair)."""


class PortraitError(ValueError):
    """A portrait that cannot be animated; the message says what was wrong and what to do."""


@dataclass
class PortraitAnalysis:
    """One analysed portrait, in the pixel frame of ``image`` (the working copy).

    image: (H, W, 3) uint8 RGB, EXIF-rotated and downscaled so that its long side is at most the
        working size; ``original_size`` / ``scale`` map back to the uploaded file
        (original_px = working_px / scale).
    pose: the person's 133-keypoint COCO-WholeBody pose (one frame) from mediapipe.
    landmarks_2d: (33, 3) mediapipe pose landmarks: x px, y px, visibility.
    world_landmarks: (33, 3) mediapipe pose world landmarks in metres (hip-centred; mediapipe's
        axes: x to the image right, y down, z away from the camera).
    mask: (H, W) float32 person mask in [0, 1] from selfie segmentation.
    face_box: (x0, y0, x1, y1) px; face_center: (x, y) px, the face midpoint (the paper's head
        mask is centred on it).
    framing: "head", "half_body" or "whole_body", from which joints are visible.
    visible: (133,) bool, keypoints that lie inside the image and were detected confidently.
    face_mesh: (478, 2) float32 mediapipe face-mesh points in px (468 + 10 iris), or None when no
        face was traced (and in analyses made before it was kept); the warp renderer builds its
        talking face on it and falls back to the 68 pose face points without it.
    face_mesh_depth: (478,) float32 depth of those points in px (mediapipe's z times the image
        width: smaller is nearer the camera), so the jaw can turn about its hinge in 3D.
    """

    image: np.ndarray
    original_size: tuple[int, int]
    scale: float
    pose: WholeBodyPose
    landmarks_2d: np.ndarray
    world_landmarks: np.ndarray
    mask: np.ndarray
    face_box: tuple[float, float, float, float]
    face_center: tuple[float, float]
    framing: Framing
    visible: np.ndarray
    warnings: list[str] = field(default_factory=list)
    face_mesh: np.ndarray | None = None
    face_mesh_depth: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the working image."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    @property
    def hands_at_head(self) -> tuple[str, ...]:
        """The person's sides whose hand the photo shows up at the head (see :data:`HAND_AT_HEAD`):
        it holds or touches something there, and taking it away would uncover a face, hair or an
        object that the photo does not show, so that arm keeps its place."""
        visible = np.asarray(self.visible, dtype=bool)
        if len(visible) <= max(BODY_INDEX.values()):
            return ()
        kp = self.pose.keypoints[0]
        bottom, height = self.face_box[3], self.face_box[3] - self.face_box[1]
        raised = []
        for side, hand in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
            wrist = BODY_INDEX[f"{side}_wrist"]
            shown = kp[hand][visible[hand]]
            points = shown if len(shown) >= 5 else (kp[[wrist]] if visible[wrist] else shown[:0])
            if height > 0 and len(points) and float(np.median(points[:, 1])) < bottom + HAND_AT_HEAD * height:
                raised.append(side)
        return tuple(raised)

    @property
    def held_arms(self) -> tuple[str, ...]:
        """The sides whose arm keeps its place in the photo: hidden hands and hands at the head."""
        held = set(self.hidden_hands) | set(self.hands_at_head)
        return tuple(side for side in ("left", "right") if side in held)

    @property
    def hidden_hands(self) -> tuple[str, ...]:
        """The person's sides ("left", "right") whose elbow the photo shows but not the hand,
        though the hand would be inside the picture (behind the back, in a pocket, covered; not a
        hand beside the body that the picture's edge cuts off): no render can move that forearm
        without inventing a hand, so the arm keeps its place."""
        visible = np.asarray(self.visible, dtype=bool)
        if len(visible) <= max(BODY_INDEX.values()):
            return ()
        kp = self.pose.keypoints[0]
        width, height = self.size
        trunk = [BODY_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
        trunk = [k for k in trunk if visible[k]]
        shoulders = [BODY_INDEX["left_shoulder"], BODY_INDEX["right_shoulder"]]
        span = float(np.hypot(*(kp[shoulders[0]] - kp[shoulders[1]]))) if visible[shoulders].all() else 0.0
        hidden = []
        for side, hand in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
            wrist = BODY_INDEX[f"{side}_wrist"]
            x, y = kp[wrist]
            inside = bool(np.isfinite(kp[wrist]).all() and 0 <= x < width and 0 <= y < height)
            if not (visible[BODY_INDEX[f"{side}_elbow"]] and inside and not visible[wrist]
                    and int(visible[hand].sum()) < 5):
                continue
            # a wrist beside the body close to the picture's edge is a hand the edge cuts off: the
            # arm may move (its forearm unfolds as a tube); one over the body is behind it
            # (the shoulder points lie on the arms' axes: the trunk's sides are a little inside them)
            inset = 0.15 * span
            behind = len(trunk) >= 2 and kp[trunk, 0].min() + inset <= x <= kp[trunk, 0].max() - inset
            at_edge = span > 0 and min(x, width - 1 - x, height - 1 - y) < HAND_EDGE * span
            if behind or not at_edge:
                hidden.append(side)
        return tuple(hidden)
