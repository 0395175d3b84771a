"""Rasterising the deformed mesh into a per-pixel inverse map (numba; one pass per frame).

Warping triangle by triangle with cv2.warpAffine costs a call per triangle; instead every output
pixel gets the rest-frame coordinate it should sample (barycentric interpolation of the rest
vertices), triangles drawn back to front so later (nearer) parts overwrite earlier ones, and one
cv2.remap per frame samples the portrait. numba is already installed as a librosa dependency.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_EPS = -1e-4


@numba.njit(cache=True, nogil=True)
def _rasterize(dst: np.ndarray, src: np.ndarray, tris: np.ndarray, order: np.ndarray,
               out: np.ndarray, alpha: np.ndarray, threshold: int) -> None:
    h, w = out.shape[0], out.shape[1]
    ah, aw = alpha.shape[0], alpha.shape[1]
    for k in range(order.shape[0]):
        t = order[k]
        i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
        x0, y0 = dst[i0, 0], dst[i0, 1]
        x1, y1 = dst[i1, 0], dst[i1, 1]
        x2, y2 = dst[i2, 0], dst[i2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-9:
            continue
        inv = 1.0 / area
        xmin = max(int(math.floor(min(x0, min(x1, x2)))), 0)
        xmax = min(int(math.ceil(max(x0, max(x1, x2)))), w - 1)
        ymin = max(int(math.floor(min(y0, min(y1, y2)))), 0)
        ymax = min(int(math.ceil(max(y0, max(y1, y2)))), h - 1)
        sx0, sy0 = src[i0, 0], src[i0, 1]
        sx1, sy1 = src[i1, 0], src[i1, 1]
        sx2, sy2 = src[i2, 0], src[i2, 1]
        for y in range(ymin, ymax + 1):
            for x in range(xmin, xmax + 1):
                w0 = ((x1 - x) * (y2 - y) - (x2 - x) * (y1 - y)) * inv
                if w0 < _EPS:
                    continue
                w1 = ((x2 - x) * (y0 - y) - (x0 - x) * (y2 - y)) * inv
                if w1 < _EPS:
                    continue
                w2 = 1.0 - w0 - w1
                if w2 < _EPS:
                    continue
                u = w0 * sx0 + w1 * sx1 + w2 * sx2
                v = w0 * sy0 + w1 * sy1 + w2 * sy2
                if out[y, x, 0] >= 0.0:
                    # something is drawn here already: only the opaque part of a nearer layer covers it
                    iu = min(max(int(u + 0.5), 0), aw - 1)
                    iv = min(max(int(v + 0.5), 0), ah - 1)
                    if alpha[iv, iu] < threshold:
                        continue
                out[y, x, 0] = u
                out[y, x, 1] = v


def rasterize(out: np.ndarray, dst: np.ndarray, src: np.ndarray, triangles: np.ndarray,
              order: np.ndarray, alpha: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Draw ``triangles`` (deformed positions ``dst``, rest positions ``src``) into ``out``.

    ``out`` is an (H, W, 2) float32 map, usually pre-filled with -1 (nothing drawn); triangles are
    drawn in ``order``, later ones on top, but a pixel already drawn is only overwritten where the
    source ``alpha`` (uint8, the texture's opacity) reaches ``threshold``: the transparent margin
    around a moving arm must not punch a hole into the torso behind it. Returns ``out``.
    """
    _rasterize(np.ascontiguousarray(dst, np.float32), np.ascontiguousarray(src, np.float32),
               np.ascontiguousarray(triangles, np.int32), np.ascontiguousarray(order, np.int64), out,
               alpha, int(threshold))
    return out
