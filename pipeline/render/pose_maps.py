"""Pose maps: 133-keypoint poses drawn the way DWPose / OpenPose draws them.

Pose-guided video models (MimicMotion, whose pose encoder the diffusion backend extends) were
trained on DWPose renderings, so the maps must follow that convention exactly: the 18-point
OpenPose body (the neck is the midpoint of the shoulders) with one colour per limb drawn as a
filled ellipse at 60 % brightness and joints as full-colour dots, hands as 20 edges coloured
around the hue circle with blue joint dots, face points as white dots. Conventions from
github.com/IDEA-Research/DWPose (annotator/dwpose/util.py); the code here is the project's own.

The paper's composite map (section 3) keeps only the body below the neck and replaces the head
and face with a fixed-size head mask centred on the face midpoint of each frame, so that lips,
expressions and blinks are left to the audio and face conditions instead of face keypoints.
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from pipeline.portrait.face import face_extent, face_midpoint
from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.portrait.wholebody import FACE, LEFT_HAND, RIGHT_HAND, WholeBodyPose

SCORE_THRESHOLD = 0.3
"""Keypoints at or below this confidence are not drawn (DWPose's threshold)."""
STICK_WIDTH = 4
BODY_DOT_RADIUS = 4
HAND_LINE_WIDTH = 2
HAND_DOT_RADIUS = 4
FACE_DOT_RADIUS = 3
LIMB_BRIGHTNESS = 0.6
"""DWPose dims the limbs (not the joints drawn after them) to 60 %."""
HAND_DOT_COLOR = (0, 0, 255)
FACE_DOT_COLOR = (255, 255, 255)
HEAD_MASK_COLOR = (255, 255, 255)
HEAD_MASK_SCALE = (1.3, 1.6)
"""Default head-mask size as a multiple of the face's (width, height) (68 points span brows to
chin; the head with hair is larger)."""

# The 18 OpenPose body points as COCO-WholeBody indices; the neck (1) is computed.
OPENPOSE_NAMES = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                  "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
                  "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear")
NECK = 1
# OpenPose limbs (0-based point pairs); DWPose draws the first 17, not the ear-shoulder pair.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
         (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
BODY_COLORS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
               (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
               (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))
"""RGB; limb i and body point i share colour i."""
HEAD_POINTS = (0, 14, 15, 16, 17)
"""OpenPose points above the neck: left out of the composite map."""
BELOW_NECK_LIMBS = tuple(i for i, (a, b) in enumerate(LIMBS) if a not in HEAD_POINTS and b not in HEAD_POINTS)
HAND_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
              (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20))


def _hue_rgb(h: float) -> tuple[int, int, int]:
    """RGB 0-255 of hue ``h`` in [0, 1) at full saturation and value (matplotlib's hsv_to_rgb * 255,
    rounded half to even as cv2 does when DWPose hands it float colours)."""
    i, f = int(h * 6.0) % 6, h * 6.0 - int(h * 6.0)
    q, t = 1.0 - f, f
    rgb = ((1, t, 0), (q, 1, 0), (0, 1, t), (0, q, 1), (t, 0, 1), (1, 0, q))[i]
    return tuple(int(round(c * 255)) for c in rgb)


HAND_EDGE_COLORS = tuple(_hue_rgb(i / len(HAND_EDGES)) for i in range(len(HAND_EDGES)))

_OPENPOSE_FROM_COCO = tuple(-1 if n == "neck" else B[n] for n in OPENPOSE_NAMES)


def openpose18(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 18 OpenPose body points (18, 2) and scores (18,) of one 133-keypoint pose."""
    kp = np.zeros((18, 2), dtype=np.float64)
    sc = np.zeros(18, dtype=np.float64)
    for i, j in enumerate(_OPENPOSE_FROM_COCO):
        if j >= 0:
            kp[i], sc[i] = keypoints[j], scores[j]
    ls, rs = B["left_shoulder"], B["right_shoulder"]
    kp[NECK] = (keypoints[ls] + keypoints[rs]) / 2.0
    sc[NECK] = min(scores[ls], scores[rs])
    return kp, sc


def _frame_arrays(pose: WholeBodyPose, frame: int, size: tuple[int, int] | None
                  ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    if not 0 <= frame < len(pose):
        raise IndexError(f"frame {frame} is outside the pose sequence of {len(pose)} frames")
    width, height = size if size is not None else pose.image_size
    kp = pose.keypoints[frame].astype(np.float64)
    if size is not None and tuple(size) != tuple(pose.image_size):
        kp = kp * np.array([width / pose.image_size[0], height / pose.image_size[1]])
    return kp, pose.scores[frame].astype(np.float64), (int(width), int(height))


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _draw_body(canvas: np.ndarray, kp: np.ndarray, sc: np.ndarray, limbs: Sequence[int], points: Sequence[int],
               threshold: float) -> None:
    op_kp, op_sc = openpose18(kp, sc)
    limb_layer = np.zeros_like(canvas)
    for i in limbs:
        a, b = LIMBS[i]
        if op_sc[a] <= threshold or op_sc[b] <= threshold:
            continue
        (x0, y0), (x1, y1) = op_kp[a], op_kp[b]
        length = float(np.hypot(x1 - x0, y1 - y0))
        angle = int(np.degrees(np.arctan2(y1 - y0, x1 - x0)))
        centre = (int((x0 + x1) / 2), int((y0 + y1) / 2))
        polygon = cv2.ellipse2Poly(centre, (int(length / 2), STICK_WIDTH), angle, 0, 360, 1)
        cv2.fillConvexPoly(limb_layer, polygon, BODY_COLORS[i])
    drawn = limb_layer.any(axis=2)
    canvas[drawn] = (limb_layer[drawn] * LIMB_BRIGHTNESS).astype(np.uint8)
    for i in points:
        if op_sc[i] > threshold:
            cv2.circle(canvas, _pt(op_kp[i]), BODY_DOT_RADIUS, BODY_COLORS[i], thickness=-1)


def _draw_hands(canvas: np.ndarray, kp: np.ndarray, sc: np.ndarray, threshold: float) -> None:
    for part in (LEFT_HAND, RIGHT_HAND):
        hand, hand_sc = kp[part], sc[part]
        for (a, b), colour in zip(HAND_EDGES, HAND_EDGE_COLORS):
            if hand_sc[a] > threshold and hand_sc[b] > threshold:
                cv2.line(canvas, _pt(hand[a]), _pt(hand[b]), colour, thickness=HAND_LINE_WIDTH)
        for p, s in zip(hand, hand_sc):
            if s > threshold:
                cv2.circle(canvas, _pt(p), HAND_DOT_RADIUS, HAND_DOT_COLOR, thickness=-1)


def _draw_face(canvas: np.ndarray, kp: np.ndarray, sc: np.ndarray, threshold: float) -> None:
    for p, s in zip(kp[FACE], sc[FACE]):
        if s > threshold:
            cv2.circle(canvas, _pt(p), FACE_DOT_RADIUS, FACE_DOT_COLOR, thickness=-1)


def draw_pose(pose: WholeBodyPose, frame: int = 0, size: tuple[int, int] | None = None, *, body: bool = True,
              hands: bool = True, face: bool = True, threshold: float = SCORE_THRESHOLD) -> np.ndarray:
    """One frame of ``pose`` as a DWPose-style map: (H, W, 3) uint8 RGB on black.

    ``size`` (width, height) defaults to the pose's image size; other sizes rescale the points.
    """
    kp, sc, (width, height) = _frame_arrays(pose, frame, size)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    if body:
        _draw_body(canvas, kp, sc, range(len(LIMBS)), range(18), threshold)
    if hands:
        _draw_hands(canvas, kp, sc, threshold)
    if face:
        _draw_face(canvas, kp, sc, threshold)
    return canvas


def draw_pose_overlay(image: np.ndarray, pose: WholeBodyPose, frame: int = 0, alpha: float = 0.7, **kwargs: Any
                      ) -> np.ndarray:
    """The pose map of one frame blended over ``image`` (RGB uint8) where something is drawn."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got {image.shape}")
    height, width = image.shape[:2]
    drawing = draw_pose(pose, frame, (width, height), **kwargs)
    drawn = drawing.any(axis=2)
    out = image.astype(np.float32).copy()
    out[drawn] = (1.0 - alpha) * out[drawn] + alpha * drawing[drawn].astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def default_head_mask_size(pose: WholeBodyPose, face_box: Sequence[float] | None = None) -> tuple[int, int]:
    """A head-mask (width, height) for a whole sequence: the median face size, enlarged.

    With a portrait's ``face_box`` (forehead to chin), its size is used instead; the mask must
    keep one size for all frames, so it never follows a single frame's face.
    """
    if face_box is not None:
        fw, fh = face_box[2] - face_box[0], face_box[3] - face_box[1]
        return max(2, int(round(1.15 * fw))), max(2, int(round(1.25 * fh)))
    sizes = [face_extent(pose.keypoints[t], pose.scores[t]) for t in range(len(pose))]
    sizes = [s for s in sizes if s is not None]
    if not sizes:
        w = 0.12 * min(pose.image_size)
        return max(2, int(w)), max(2, int(1.3 * w))
    fw, fh = np.median(np.asarray(sizes), axis=0)
    return max(2, int(round(HEAD_MASK_SCALE[0] * fw))), max(2, int(round(HEAD_MASK_SCALE[1] * fh)))


def draw_composite_map(pose: WholeBodyPose, frame: int, face_center: Any = None,
                       head_mask_size: tuple[int, int] | float | None = None, *,
                       size: tuple[int, int] | None = None, hands: bool = True,
                       threshold: float = SCORE_THRESHOLD) -> np.ndarray:
    """The paper's composite map of one frame: body below the neck plus a fixed-size head mask.

    face_center: where the head mask goes in this frame. None: the face midpoint of this
    frame's keypoints (face points, else nose and eyes); an (x, y) pair: that point for every
    frame; a (T, 2) array: one point per frame; a PortraitAnalysis: this frame's face midpoint,
    falling back to the portrait's, with the mask size taken from the portrait's face box.
    head_mask_size: (width, height) px of the filled ellipse, or one number for a circle; the
    same for every frame of a sequence. Coordinates are in the pose's image pixels.
    """
    kp, sc, (width, height) = _frame_arrays(pose, frame, size)
    centre, mask_size = _head_mask_for(pose, frame, face_center, head_mask_size)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    below_neck_points = [i for i in range(18) if i not in HEAD_POINTS]
    _draw_body(canvas, kp, sc, BELOW_NECK_LIMBS, below_neck_points, threshold)
    if hands:
        _draw_hands(canvas, kp, sc, threshold)
    if centre is not None:
        if size is not None and tuple(size) != tuple(pose.image_size):
            sx, sy = width / pose.image_size[0], height / pose.image_size[1]
            centre = (centre[0] * sx, centre[1] * sy)
            mask_size = (mask_size[0] * sx, mask_size[1] * sy)
        axes = (max(1, int(round(mask_size[0] / 2))), max(1, int(round(mask_size[1] / 2))))
        cv2.ellipse(canvas, _pt(np.asarray(centre)), axes, 0, 0, 360, HEAD_MASK_COLOR, thickness=-1)
    return canvas


def _head_mask_for(pose: WholeBodyPose, frame: int, face_center: Any, head_mask_size: Any
                   ) -> tuple[tuple[float, float] | None, tuple[float, float]]:
    face_box = None
    centre = face_midpoint(pose.keypoints[frame], pose.scores[frame])
    if face_center is not None and hasattr(face_center, "face_center") and hasattr(face_center, "face_box"):
        face_box = face_center.face_box
        if centre is None:
            centre = tuple(face_center.face_center)
    elif face_center is not None:
        arr = np.asarray(face_center, dtype=np.float64)
        if arr.shape == (2,):
            centre = (float(arr[0]), float(arr[1]))
        elif arr.ndim == 2 and arr.shape[1] == 2 and len(arr) == len(pose):
            centre = (float(arr[frame, 0]), float(arr[frame, 1]))
        else:
            raise ValueError(f"face_center must be (x, y), ({len(pose)}, 2) or a PortraitAnalysis; got {arr.shape}")
    if head_mask_size is None:
        mask_size = default_head_mask_size(pose, face_box)
    elif np.ndim(head_mask_size) == 0:
        mask_size = (float(head_mask_size), float(head_mask_size))
    else:
        mask_size = (float(head_mask_size[0]), float(head_mask_size[1]))
    return centre, mask_size


VIRTUAL_NECK = 133
"""In ``drawing_spec``: the index of the neck (mid-shoulders) appended after the 133 keypoints."""


def _hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{int(round(c)):02x}" for c in rgb)


def drawing_spec() -> dict:
    """DWPose's look as plain data, for front ends that draw poses themselves (the studio's canvas).

    Points are indices into the 133 keypoints plus ``VIRTUAL_NECK`` (the mid-shoulder point, which
    the caller appends); sizes are in pixels of a pose drawn at its own image size.
    Returns {"edges": [[a, b, colour, width]], "dots": [[i, colour, radius]], "threshold": t}.
    """
    op = [VIRTUAL_NECK if j < 0 else j for j in _OPENPOSE_FROM_COCO]
    edges = [[op[a], op[b], _hex(np.array(BODY_COLORS[i]) * LIMB_BRIGHTNESS), 2 * STICK_WIDTH]
             for i, (a, b) in enumerate(LIMBS)]
    dots = [[op[i], _hex(BODY_COLORS[i]), BODY_DOT_RADIUS] for i in range(18)]
    for part in (LEFT_HAND, RIGHT_HAND):
        edges += [[part.start + a, part.start + b, _hex(colour), HAND_LINE_WIDTH]
                  for (a, b), colour in zip(HAND_EDGES, HAND_EDGE_COLORS)]
        dots += [[k, _hex(HAND_DOT_COLOR), HAND_DOT_RADIUS] for k in range(part.start, part.stop)]
    dots += [[k, _hex(FACE_DOT_COLOR), FACE_DOT_RADIUS] for k in range(FACE.start, FACE.stop)]
    return {"edges": edges, "dots": dots, "threshold": SCORE_THRESHOLD}
