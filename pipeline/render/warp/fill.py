"""Filling what the photo does not show, once per portrait: the background behind the person and
the shirt behind the arms.

Telea inpainting draws streaks and a star where they meet; patch copying (xphoto's shift-map)
clones whole objects (a second space shuttle, a stray hand) into the hole and takes seconds.
This fill is a push-pull pyramid (normalised convolution): the known pixels are averaged down
a Gaussian pyramid with their coverage, and the hole takes the coarsest level that has data,
refined level by level back up. It continues colours and soft gradients from every side at
once, like the defocused backgrounds of most portraits, with no streaks, and costs milliseconds.
A little of the surrounding grain is added back so the fill does not read as a flat smear.
The fill may draw only from ``known`` pixels, so the shirt behind an arm is made of shirt, not
of the background beside it.
"""

from __future__ import annotations

import cv2
import numpy as np


def pyramid_fill(image: np.ndarray, hole: np.ndarray, known: np.ndarray | None = None,
                 grain: float = 0.6, seed: int = 0) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with ``hole`` (H, W bool) filled from the ``known`` pixels.

    ``known`` defaults to everything outside the hole. ``grain`` scales the added noise, matched
    to the high-frequency energy of the known pixels around the hole (0 = smooth fill).
    """
    hole = np.asarray(hole, bool)
    if not hole.any():
        return image.copy()
    src = (~hole) if known is None else (np.asarray(known, bool) & ~hole)
    if not src.any():
        return image.copy()
    img = image.astype(np.float32)
    wgt = src.astype(np.float32)
    levels_c, levels_w = [img * wgt[..., None]], [wgt]
    while min(levels_w[-1].shape) > 4:
        levels_c.append(cv2.pyrDown(levels_c[-1]))
        levels_w.append(cv2.pyrDown(levels_w[-1]))
    # from the coarsest level up: where a level has little data, take the upsampled coarser fill
    fill = levels_c[-1] / np.maximum(levels_w[-1], 1e-6)[..., None]
    for c, wl in zip(reversed(levels_c[:-1]), reversed(levels_w[:-1])):
        up = cv2.pyrUp(fill, dstsize=(wl.shape[1], wl.shape[0]))
        own = c / np.maximum(wl, 1e-6)[..., None]
        trust = np.clip(wl * 4.0, 0.0, 1.0)[..., None]
        fill = own * trust + up * (1.0 - trust)
    out = img.copy()
    if grain > 0:
        detail = img - cv2.GaussianBlur(img, (0, 0), 1.5)
        ring = cv2.dilate(hole.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & src
        # the ring crosses edges (an arm's outline, a collar) whose contrast is not grain: a robust
        # spread (MAD) measures the texture, not the edges
        sigma = float(1.4826 * np.median(np.abs(detail[ring]))) if ring.sum() > 50 else 0.0
        rng = np.random.default_rng(seed)
        noise = cv2.GaussianBlur(rng.standard_normal(img.shape[:2]).astype(np.float32), (0, 0), 0.7)
        noise *= grain * sigma / max(float(noise.std()), 1e-6)
        fill = fill + noise[..., None]
    out[hole] = fill[hole]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def background_plate(image: np.ndarray, person: np.ndarray, grow_px: int,
                     extra: np.ndarray | None = None) -> np.ndarray:
    """The photo with the person (soft mask > 0.5, grown by ``grow_px``) filled away.

    ``extra`` (H, W bool) is filled too: the hands' hulls, whose fingertips segmentation often
    misses (left in the plate, they would stay behind as ghost fingers when the hand moves).
    """
    hole = (person > 0.5) if extra is None else ((person > 0.5) | extra)
    hole = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * grow_px + 1, 2 * grow_px + 1))) > 0
    # the person's soft edge is neither background nor person: do not learn colours from it
    edge = cv2.dilate((person > 0.05).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return pyramid_fill(image, hole, known=~edge)
