"""A limb texture that can stretch: the limb's cross-section, repeated along its bone.

A forearm that points at the camera in the photo is a few pixels long there; when the motion
turns it sideways it must become several times longer, and stretching the photo's few pixels
drags the hand's edge, a shadow or the cuff into streaks down the arm. What can be stretched
without streaks is a texture that does not change along the bone: the limb's colour profile
across its width (skin or sleeve, lit on one side, shaded on the other), the median of each
offset from the bone over the limb's length. The renderer crossfades from the photo's own
texture to this one as the bone stretches, so the photo's pose still shows the photo.
"""

from __future__ import annotations

import numpy as np

STRETCH_START = 1.05
STRETCH_FULL = 1.6
"""The profile texture starts showing at this stretch and fully replaces the photo at the next."""


def straightened_texture(image: np.ndarray, region: np.ndarray, a: np.ndarray, b: np.ndarray,
                         source: np.ndarray | None = None) -> np.ndarray:
    """``image`` with ``region`` (H, W float) replaced by the cross-section profile of bone a -> b.

    ``source`` (H, W bool) selects the pixels the profile is measured on (default: region > 0.5).
    Works on colour (H, W, 3) and on opacity (H, W) images alike.
    """
    if image.ndim == 2:
        return straightened_texture(np.repeat(image[..., None], 3, -1), region, a, b, source)[..., 0].copy()
    out = image.copy()
    inside = region > 0.02
    src = (region > 0.5) if source is None else source
    v = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    length = float(np.hypot(*v))
    if length < 1e-6 or not src.any():
        return out
    n = np.array([-v[1], v[0]]) / length
    ys, xs = np.nonzero(inside)
    offset = np.round((xs - a[0]) * n[0] + (ys - a[1]) * n[1]).astype(np.int64)
    sy, sx = np.nonzero(src)
    src_off = np.round((sx - a[0]) * n[0] + (sy - a[1]) * n[1]).astype(np.int64)
    lo, hi = int(src_off.min()), int(src_off.max())
    colours = image[sy, sx].astype(np.float64)
    profile = np.zeros((hi - lo + 1, 3))
    have = np.zeros(hi - lo + 1, bool)
    for k in range(lo, hi + 1):
        sel = src_off == k
        if sel.sum() >= 2:
            profile[k - lo] = np.median(colours[sel], axis=0)
            have[k - lo] = True
    if not have.any():
        return out
    idx = np.arange(lo, hi + 1)
    for c in range(3):
        profile[:, c] = np.interp(idx, idx[have], profile[have, c])
    # a light smoothing across the width: the profile is a shape, not a noise pattern
    kernel = np.array([0.25, 0.5, 0.25])
    padded = np.pad(profile, ((1, 1), (0, 0)), mode="edge")
    profile = sum(kernel[i] * padded[i:i + len(profile)] for i in range(3))
    out[ys, xs] = np.clip(profile[np.clip(offset, lo, hi) - lo] + 0.5, 0, 255).astype(np.uint8)
    return out


def stretch_weight(transform: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """How far the profile texture replaces the photo for a bone mapped by ``transform`` (2x3)."""
    v = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    length = float(np.hypot(*v))
    if length < 1e-6:
        return 0.0
    stretch = float(np.hypot(*(np.asarray(transform)[:, :2] @ v))) / length
    return float(np.clip((stretch - STRETCH_START) / (STRETCH_FULL - STRETCH_START), 0.0, 1.0))
