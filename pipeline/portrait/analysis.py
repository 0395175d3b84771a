"""Portrait analysis: from an uploaded photo to the person's pose, mask, face and framing.

This is the first stage of the pipeline: token2pose fits generated motion to the skeleton found
here and the renderers animate the pixels under this mask. Photos that cannot give a usable
result (no person, a person too small to see, not an image) stop here with a PortraitError
that tells the user what to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .face import face_midpoint
from .image_io import WORKING_SIZE, ImageSource, load_portrait_image
from .mediapipe_convert import (face_mesh_depth_px, face_mesh_px, holistic_to_wholebody, pose_landmarks_px,
                                run_face_detection, run_holistic, run_selfie_segmentation, world_landmarks)
from .people import count_people, find_people, isolation_crop, person_focus_box
from .types import Framing, PortraitAnalysis, PortraitError
from .wholebody import BODY_INDEX as B
from .wholebody import WholeBodyPose

VISIBLE_SCORE = 0.3
"""A keypoint is visible from this confidence on (DWPose draws from the same threshold)."""
MIN_FACE_PX = 48
"""The face (forehead to chin) must be at least this tall in the working image to animate it."""
MIN_SHOULDER_PX = 40
"""Without a detected face, the shoulders must be at least this far apart."""


def analyze_portrait(source: ImageSource, *, max_side: int = WORKING_SIZE) -> PortraitAnalysis:
    """Analyse one portrait photo (path, bytes, PIL image or RGB array) for animation.

    Raises PortraitError when the photo cannot be animated; the message says why and what to do.
    """
    rgb, original_size, scale = load_portrait_image(source, max_side)
    height, width = rgb.shape[:2]
    warnings: list[str] = []
    if scale < 1.0:
        warnings.append(f"The photo was downscaled from {original_size[0]}x{original_size[1]} to "
                        f"{width}x{height} pixels for analysis and animation.")

    mask = run_selfie_segmentation(rgb)
    people, labels = find_people(mask, run_face_detection(rgb))
    n_people = count_people(people)
    chosen = people[0] if people else None

    if n_people >= 2 and chosen is not None:
        box = person_focus_box(chosen, width, height)
        found = _holistic_in_crop(rgb, box, labels, chosen.label)
        if found.results.pose_landmarks is None:  # isolation failed: let holistic choose on the whole photo
            found = _holistic_on(rgb)
        warnings.append(f"The photo shows {n_people} people; the largest one is animated. "
                        "Crop the photo to one person to choose someone else.")
    else:
        found = _holistic_on(rgb)
        if found.results.pose_landmarks is None and chosen is not None:
            # a small or distant person: look again, closer, where the mask or a face is
            found = _holistic_in_crop(rgb, person_focus_box(chosen, width, height), labels, 0)

    results = found.results
    if results.pose_landmarks is None:
        raise PortraitError("No person was found in the photo. Use a photo of one person facing the camera, "
                            "with at least the head and shoulders in the picture and the face well lit.")

    keypoints, scores = holistic_to_wholebody(results, *found.size)
    keypoints = found.to_image(keypoints)
    landmarks = pose_landmarks_px(results, *found.size)
    landmarks[:, :2] = found.to_image(landmarks[:, :2])
    mesh = face_mesh_px(results, *found.size)
    depth = face_mesh_depth_px(results, found.size[0])
    if mesh is not None:
        mesh = found.to_image(mesh)
        depth = depth / found.scale

    if n_people >= 2 and chosen is not None and chosen.label > 0:
        mask = _mask_of_person(mask, labels, chosen.label)

    face_box = _face_box(mesh, keypoints, scores, width, height)
    if face_box is None:
        raise PortraitError("A body was found but no face. Use a photo where the person's face is visible "
                            "and turned towards the camera.")
    if mesh is None:
        warnings.append("The face could not be traced in detail (turned away, covered or blurred); "
                        "lip and eye motion may look wrong.")
    _check_size(face_box, keypoints, scores, mesh is not None, scale)

    centre = face_midpoint(keypoints, scores)
    if centre is None:
        centre = ((face_box[0] + face_box[2]) / 2, (face_box[1] + face_box[3]) / 2)
    inside = ((keypoints[:, 0] >= 0) & (keypoints[:, 0] < width) & (keypoints[:, 1] >= 0)
              & (keypoints[:, 1] < height))
    visible = inside & (scores > VISIBLE_SCORE)
    framing = classify_framing(visible)
    if framing == "head":
        warnings.append("Only the head is in the picture; gestures will not be visible. "
                        "A half-body photo shows the hand and arm motion.")

    analysis = PortraitAnalysis(
        image=rgb, original_size=original_size, scale=scale,
        pose=WholeBodyPose(keypoints[None].astype(np.float32), scores[None].astype(np.float32), (width, height)),
        landmarks_2d=landmarks.astype(np.float32), world_landmarks=world_landmarks(results).astype(np.float32),
        mask=mask.astype(np.float32), face_box=tuple(float(v) for v in face_box),
        face_center=(float(centre[0]), float(centre[1])), framing=framing, visible=visible, warnings=warnings,
        face_mesh=None if mesh is None else mesh.astype(np.float32),
        face_mesh_depth=None if depth is None else depth.astype(np.float32))
    analysis.warnings.extend(_held_arm_warnings(analysis))
    return analysis


def _held_arm_warnings(analysis: PortraitAnalysis) -> list[str]:
    """What the studio and the CLI say of arms that keep their place in the photo: which, why,
    and what photo would give them gestures."""
    hidden = analysis.hidden_hands
    raised = tuple(side for side in analysis.hands_at_head if side not in hidden)
    out = []
    for sides, said, verb, fix in (
            (hidden, "The photo does not show the person's {which} (behind the back, in a pocket or covered)",
             False, "with the hands in view"),
            (raised, "The person's {which} up at the head (holding something, or touching the face or hair)",
             True, "with the hands lowered")):
        if not sides:
            continue
        both = len(sides) == 2
        which = ("hands" if both else f"{sides[0]} hand") + ((" are" if both else " is") if verb else "")
        arms = "those arms stay" if both else "that arm stays"
        out.append(f"{said.format(which=which)}, so {arms} as in the photo; a photo {fix} gets gestures on both arms.")
    return out


def classify_framing(visible: np.ndarray) -> Framing:
    """"head" without both shoulders, "whole_body" with knees and ankles in view, else "half_body"."""
    if not (visible[B["left_shoulder"]] and visible[B["right_shoulder"]]):
        return "head"
    legs = ("left_knee", "right_knee", "left_ankle", "right_ankle")
    if all(visible[B[name]] for name in legs):
        return "whole_body"
    return "half_body"


@dataclass
class _Found:
    """A holistic result and where the image it ran on sits in the working image."""

    results: Any
    size: tuple[int, int]
    origin: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    def to_image(self, points: np.ndarray) -> np.ndarray:
        return points / self.scale + np.asarray(self.origin)


def _holistic_on(rgb: np.ndarray) -> _Found:
    return _Found(run_holistic(rgb), (rgb.shape[1], rgb.shape[0]))


def _holistic_in_crop(rgb: np.ndarray, box: tuple[int, int, int, int], labels: np.ndarray, keep_label: int) -> _Found:
    crop, (x0, y0, s) = isolation_crop(rgb, box, labels, keep_label)
    return _Found(run_holistic(crop), (crop.shape[1], crop.shape[0]), (x0, y0), s)


def _mask_of_person(mask: np.ndarray, labels: np.ndarray, label: int) -> np.ndarray:
    """The segmentation mask restricted to one person's blob (soft edges kept)."""
    region = cv2.dilate((labels == label).astype(np.uint8), np.ones((15, 15), np.uint8))
    return mask * region.astype(np.float32)


def _face_box(mesh: np.ndarray | None, keypoints: np.ndarray, scores: np.ndarray, width: int,
              height: int) -> tuple[float, float, float, float] | None:
    """Forehead-to-chin box from the face mesh; from the body's eyes, ears and nose without one."""
    if mesh is not None:
        x0, y0 = mesh.min(axis=0)
        x1, y1 = mesh.max(axis=0)
    else:
        head = [B[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
                if scores[B[n]] > VISIBLE_SCORE]
        if len(head) < 3:
            return None
        pts = keypoints[head]
        x0, x1 = pts[:, 0].min(), pts[:, 0].max()
        span = max(x1 - x0, 1.0)
        cy = float(keypoints[B["nose"]][1]) if scores[B["nose"]] > VISIBLE_SCORE else float(pts[:, 1].mean())
        y0, y1 = cy - 0.8 * span, cy + 0.6 * span
        if len(head) < 5:  # one ear hidden: the visible span is about half the face
            x0, x1 = x0 - 0.25 * span, x1 + 0.25 * span
    return (float(np.clip(x0, 0, width)), float(np.clip(y0, 0, height)),
            float(np.clip(x1, 0, width)), float(np.clip(y1, 0, height)))


def _check_size(face_box: tuple[float, float, float, float], keypoints: np.ndarray, scores: np.ndarray,
                has_mesh: bool, scale: float) -> None:
    face_h = face_box[3] - face_box[1]
    hint = ("Crop the photo closer around the person, or use a photo in which they fill more of the "
            "frame (head and shoulders at least a quarter of the picture's height).")
    original = f" ({face_h / scale:.0f} px in the uploaded photo)" if scale < 1.0 else ""
    if face_h < MIN_FACE_PX:
        raise PortraitError(f"The person is too small to animate: their face is {face_h:.0f} px tall{original}, "
                            f"the minimum is {MIN_FACE_PX} px. {hint}")
    ls, rs = B["left_shoulder"], B["right_shoulder"]
    if not has_mesh and scores[ls] > VISIBLE_SCORE and scores[rs] > VISIBLE_SCORE:
        shoulders = float(np.hypot(*(keypoints[ls] - keypoints[rs])))
        if shoulders < MIN_SHOULDER_PX:
            raise PortraitError(f"The person is too small to animate: their shoulders are {shoulders:.0f} px "
                                f"apart, the minimum is {MIN_SHOULDER_PX} px. {hint}")

