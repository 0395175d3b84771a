"""The background plate: the portrait with the person removed, built once per portrait.

The background never moves, so whatever the body uncovers while it moves is taken from this
plate. Telea inpainting is slow at full size, so the hole is filled at a reduced scale and
upsampled; outside the hole the plate is the untouched photo.
"""

from __future__ import annotations

import cv2
import numpy as np


def inpaint_region(image: np.ndarray, hole: np.ndarray, scale: float = 0.25, radius: int = 5) -> np.ndarray:
    """``image`` with the ``hole`` (H, W bool) filled by Telea inpainting done at ``scale``."""
    if not hole.any():
        return image.copy()
    h, w = hole.shape
    scale = float(np.clip(scale, 0.05, 1.0))
    sw, sh = max(8, int(round(w * scale))), max(8, int(round(h * scale)))
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8) * 255, (sw, sh), interpolation=cv2.INTER_AREA)
    small_hole = cv2.dilate((small_hole > 0).astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_hole, radius, cv2.INPAINT_TELEA)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), max(1.0, 0.5 / scale))
    out = image.copy()
    out[hole] = big[hole]
    return out


def background_plate(image: np.ndarray, person: np.ndarray, dilate_px: int, scale: float = 0.25,
                     radius: int = 5) -> np.ndarray:
    """The photo with the person (mask grown by ``dilate_px``) inpainted away."""
    hole = cv2.dilate(person.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))) > 0
    return inpaint_region(image, hole, scale, radius)
