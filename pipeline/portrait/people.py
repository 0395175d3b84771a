"""Who is in the photo: person regions from the segmentation mask and the face detector.

MediaPipe Holistic follows one person and picks whichever it likes when there are several. The
studio animates one person, the largest, and tells the user about the others; this module finds
the people (mask components, faces) and prepares a crop in which only the chosen one is left.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MASK_THRESHOLD = 0.5
MIN_BLOB_FRACTION = 0.0005
"""Mask blobs smaller than this fraction of the image are noise, not people (even far away)."""
MIN_PERSON_FRACTION = 0.01
"""A faceless blob counts as a person from this fraction of the image ..."""
FACELESS_PERSON_RATIO = 0.35
"""... and when it is at least this fraction of the largest blob (a person seen from behind)."""
MIN_FACE_SCORE = 0.6
MIN_FACE_RATIO = 0.2
"""Faces smaller than this fraction of the largest face's height are background (posters, crowds)."""


@dataclass
class Person:
    """One person-like region: its box (x0, y0, x1, y1) px, area px, mask component, faces in it."""

    box: tuple[int, int, int, int]
    area: float
    label: int
    faces: list[tuple[float, float, float, float]]


def find_people(mask: np.ndarray, faces: list[tuple[float, tuple[float, float, float, float]]]
                ) -> tuple[list[Person], np.ndarray]:
    """People in the image, largest first, and the mask's component labels (H, W) int32.

    ``faces`` are (score, box) from the face detector. A mask blob with a face in it is a person,
    a large faceless blob too; a confident face outside every blob is a person of its own.
    The list may hold a single small blob when the only person is far away.
    """
    height, width = mask.shape
    image_area = float(height * width)
    binary = (mask > MASK_THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    blobs = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= MIN_BLOB_FRACTION * image_area]
    good_faces = [box for score, box in faces if score >= MIN_FACE_SCORE]
    if good_faces:
        largest_face = max(b[3] - b[1] for b in good_faces)
        good_faces = [b for b in good_faces if b[3] - b[1] >= MIN_FACE_RATIO * largest_face]
    largest_blob = max((float(stats[i, cv2.CC_STAT_AREA]) for i in blobs), default=0.0)

    owner = {k: _blob_under_face(box, labels, blobs) for k, box in enumerate(good_faces)}
    people: list[Person] = []
    for i in blobs:
        x, y, w, h, area = (int(v) for v in stats[i, :5])
        inside = [good_faces[k] for k, blob in owner.items() if blob == i]
        is_person = bool(inside) or (area >= MIN_PERSON_FRACTION * image_area
                                     and area >= FACELESS_PERSON_RATIO * largest_blob)
        if is_person:
            people.append(Person((x, y, x + w, y + h), float(area), i, inside))
    if not people and blobs:  # one small, faceless blob: maybe a distant person, worth a closer look
        i = max(blobs, key=lambda j: stats[j, cv2.CC_STAT_AREA])
        x, y, w, h, area = (int(v) for v in stats[i, :5])
        people.append(Person((x, y, x + w, y + h), float(area), i, []))
    placed = {k for k, blob in owner.items() if blob > 0}
    for k, box in enumerate(good_faces):
        if k not in placed:
            people.append(Person(_body_box_from_face(box, width, height), _face_body_area(box), 0, [box]))
    people.sort(key=lambda p: -p.area)
    return people, labels


def _blob_under_face(box: tuple[float, float, float, float], labels: np.ndarray, blobs: list[int]) -> int:
    """The mask blob that holds this face's head and shoulders (0 if none).

    Small people segment into fragments and the face itself may fall in a hole of the mask, so
    the blob with most pixels in the face box and the area just below it wins.
    """
    height, width = labels.shape
    fw, fh = box[2] - box[0], box[3] - box[1]
    x0, x1 = int(max(0, box[0] - 0.5 * fw)), int(min(width, box[2] + 0.5 * fw))
    y0, y1 = int(max(0, box[1])), int(min(height, box[3] + 1.5 * fh))
    if x1 <= x0 or y1 <= y0 or not blobs:
        return 0
    counts = np.bincount(labels[y0:y1, x0:x1].ravel(), minlength=max(blobs) + 1)
    best = max(blobs, key=lambda i: counts[i])
    return int(best) if counts[best] > 0 else 0


def count_people(people: list[Person]) -> int:
    """How many people: a region holding several faces counts each face."""
    return sum(max(1, len(p.faces)) for p in people)


def _face_body_area(box: tuple[float, float, float, float]) -> float:
    # an upper body is roughly 3 face widths by 4 face heights
    return 12.0 * (box[2] - box[0]) * (box[3] - box[1])


def _body_box_from_face(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    fw, fh = box[2] - box[0], box[3] - box[1]
    cx = (box[0] + box[2]) / 2
    return (int(max(0, cx - 2.5 * fw)), int(max(0, box[1] - 0.8 * fh)),
            int(min(width, cx + 2.5 * fw)), int(height))


def person_focus_box(person: Person, width: int, height: int) -> tuple[int, int, int, int]:
    """The region to analyse for this person: its box, narrowed to its largest face's body
    when the region holds several faces (people standing close merge into one mask blob)."""
    box = person.box
    if len(person.faces) > 1:
        face = max(person.faces, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        fb = _body_box_from_face(face, width, height)
        box = (max(box[0], fb[0]), max(box[1], fb[1]), min(box[2], fb[2]), min(box[3], fb[3]))
    return box


def isolation_crop(rgb: np.ndarray, box: tuple[int, int, int, int], labels: np.ndarray, keep_label: int,
                   margin: float = 0.15, min_side: int = 512) -> tuple[np.ndarray, tuple[float, float, float]]:
    """A crop around ``box`` with other people painted out, upscaled to ``min_side`` if small.

    Returns (crop, (x0, y0, s)): a crop pixel p maps back to the image at p / s + (x0, y0).
    """
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = box
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    # keep the crop roughly square-ish so the pose detector sees the person at a usable scale
    x0, y0 = int(max(0, x0 - mx)), int(max(0, y0 - my))
    x1, y1 = int(min(width, x1 + mx)), int(min(height, y1 + my))
    crop = rgb[y0:y1, x0:x1].copy()
    others = (labels[y0:y1, x0:x1] > 0) & (labels[y0:y1, x0:x1] != keep_label) if keep_label > 0 else None
    if others is not None and others.any():
        others = cv2.dilate(others.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        background = crop[~others]
        fill = np.median(background, axis=0) if len(background) else np.array([128, 128, 128])
        crop[others] = fill.astype(np.uint8)
    s = max(1.0, min_side / max(1, max(crop.shape[:2])))
    if s > 1.0:
        crop = cv2.resize(crop, (round(crop.shape[1] * s), round(crop.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
        s = crop.shape[1] / float(x1 - x0)
    return np.ascontiguousarray(crop), (float(x0), float(y0), float(s))
