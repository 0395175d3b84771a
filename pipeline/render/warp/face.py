"""Talking and blinking, painted onto the portrait in its rest frame before the body warp.

Editing the rest-frame photo (and letting the head bone carry the result) keeps the face edits
independent of head and body motion. The jaw drop is a smooth displacement field interpolated
from the 68 face points (lower lip and chin move, upper lip, nose and eyes stay), so the chin
slides over the neck without tearing; the mouth interior is darkened, with a hint of upper
teeth. A blink pulls the upper-lid skin down over the eye and draws the lash line.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# how far each of the 68 points drops with the jaw (1 = the full drop); unlisted points stay
_JAW_DROP = {3: 0.3, 4: 0.6, 5: 0.9, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.0, 10: 1.0, 11: 0.9, 12: 0.6, 13: 0.3,
             48: 0.3, 54: 0.3, 55: 1.0, 56: 1.0, 57: 1.0, 58: 1.0, 59: 1.0, 60: 0.3, 64: 0.3,
             65: 1.0, 66: 1.0, 67: 1.0}
_FIXED = list(range(0, 3)) + list(range(14, 17)) + list(range(27, 54)) + [61, 62, 63]
_MOUTH_DARK = np.array([48, 18, 22], np.float32)
_TEETH = np.array([228, 222, 212], np.float32)
_EYES = (np.arange(36, 42), np.arange(42, 48))


def _interp_curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0])
    px, py = points[order, 0], points[order, 1]
    return np.interp(xs, px, py, left=np.nan, right=np.nan)


@dataclass
class _Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def _clip_box(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> _Box:
    return _Box(int(max(0, np.floor(x0))), int(max(0, np.floor(y0))), int(min(w, np.ceil(x1))),
                int(min(h, np.ceil(y1))))


class FaceAnimator:
    """Mouth opening and blinks for one portrait (68 face points in the render frame)."""

    def __init__(self, face_points: np.ndarray, known: np.ndarray, image_shape: tuple[int, int],
                 max_open: float = 0.12) -> None:
        self.enabled = bool(np.asarray(known).sum() >= 60)
        self.points = np.asarray(face_points, np.float64)
        h, w = image_shape
        self.shape = (h, w)
        if not self.enabled:
            return
        p = self.points
        face_h = float(np.hypot(*(p[8] - (p[19] + p[24]) / 2)))
        face_w = float(np.hypot(*(p[16] - p[0])))
        down = p[8] - p[27]
        down = down / max(np.hypot(*down), 1e-6)
        self.drop = max_open * face_h * down                     # px per unit opening
        # displacement field per unit opening (Gaussian RBF interpolation of the control points)
        ctrl_idx = np.array(sorted(set(_FIXED) | set(_JAW_DROP)))
        ctrl = p[ctrl_idx]
        disp = np.array([_JAW_DROP.get(int(i), 0.0) for i in ctrl_idx])[:, None] * self.drop[None, :]
        sigma = 0.2 * face_w
        d2 = ((ctrl[:, None, :] - ctrl[None, :, :]) ** 2).sum(-1)
        kernel = np.exp(-d2 / (2 * sigma ** 2))
        coef = np.linalg.solve(kernel + 1e-3 * np.eye(len(ctrl)), disp)
        jaw = p[0:17]
        pad = 2.5 * sigma   # the field has faded out this far from the moving points
        self.mouth_box = _clip_box(jaw[5:12, 0].min() - pad, p[30, 1], jaw[5:12, 0].max() + pad,
                                   p[8, 1] + abs(self.drop[1]) + pad, w, h)
        ys, xs = np.mgrid[self.mouth_box.y0:self.mouth_box.y1, self.mouth_box.x0:self.mouth_box.x1]
        grid = np.stack([xs, ys], -1).reshape(-1, 2).astype(np.float64)
        g = np.exp(-((grid[:, None, :] - ctrl[None, :, :]) ** 2).sum(-1) / (2 * sigma ** 2))
        field = (g @ coef).reshape(ys.shape + (2,))
        # taper to zero at the box edges so the edited crop joins the photo seamlessly
        bh, bw = ys.shape
        ramp = max(2.0, 0.15 * min(bh, bw))
        wy = np.clip(np.minimum(np.arange(bh), bh - 1 - np.arange(bh)) / ramp, 0, 1)
        wx = np.clip(np.minimum(np.arange(bw), bw - 1 - np.arange(bw)) / ramp, 0, 1)
        self.field = (field * (wy[:, None] * wx[None, :])[..., None]).astype(np.float32)
        self.grid = np.stack([xs, ys], -1).astype(np.float32)
        # eyes: per-column upper and lower lid lines
        self.eyes = []
        for idx in _EYES:
            e = p[idx]
            ew = float(e[:, 0].max() - e[:, 0].min())
            upper = e[[0, 1, 2, 3]]
            lower = e[[3, 4, 5, 0]]
            opening = float(np.nanmax(_interp_curve(lower, e[:, 0]) - _interp_curve(upper, e[:, 0])))
            lid = max(1.3 * opening, 0.3 * ew)
            box = _clip_box(e[:, 0].min() - 0.2 * ew, e[:, 1].min() - lid - 0.1 * ew, e[:, 0].max() + 0.2 * ew,
                            e[:, 1].max() + 0.15 * ew, w, h)
            cols = np.arange(box.x0, box.x1, dtype=np.float64)
            yu, yl = _interp_curve(upper, cols), _interp_curve(lower, cols)
            inside = np.isfinite(yu) & np.isfinite(yl)
            hgt = np.where(inside, np.maximum(np.nan_to_num(yl) - np.nan_to_num(yu), 0.0), 0.0)
            yu = np.where(inside, yu, np.nanmean(yu) if np.isfinite(yu).any() else box.y0)
            self.eyes.append((box, yu.astype(np.float32), hgt.astype(np.float32), float(lid)))

    # ------------------------------------------------------------------------------------------

    @property
    def boxes(self) -> list[_Box]:
        if not self.enabled:
            return []
        return [self.mouth_box] + [e[0] for e in self.eyes]

    def apply(self, pristine: np.ndarray, work: np.ndarray, opening: float, closure: float) -> None:
        """Write this frame's face into ``work`` (a copy of ``pristine`` outside the face boxes)."""
        if not self.enabled:
            return
        for box in self.boxes:
            work[box.slices] = pristine[box.slices]
        if opening > 1e-3:
            self._mouth(pristine, work, float(opening))
        if closure > 1e-3:
            for eye in self.eyes:
                self._blink(pristine, work, eye, float(min(closure, 1.0)))

    def _mouth(self, src: np.ndarray, work: np.ndarray, o: float) -> None:
        box = self.mouth_box
        maps = self.grid - o * self.field
        crop = cv2.remap(src, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        p = self.points
        upper = p[[60, 61, 62, 63, 64]]
        lower = p[[64, 65, 66, 67, 60]] + o * self.drop * np.array([0.3, 1.0, 1.0, 1.0, 0.3])[:, None]
        upper = upper + o * self.drop * np.array([0.3, 0, 0, 0, 0.3])[:, None]
        origin = np.array([box.x0, box.y0])
        shift = 4
        poly = np.round((np.concatenate([upper, lower]) - origin) * (1 << shift)).astype(np.int32)
        hh, ww = crop.shape[:2]
        mouth = np.zeros((hh, ww), np.float32)
        cv2.fillPoly(mouth, [poly], 1.0, cv2.LINE_AA, shift)
        gap = float(np.hypot(*(o * self.drop)))
        teeth = np.zeros_like(mouth)
        tpoly = np.concatenate([upper, upper[::-1] + self.drop / max(np.hypot(*self.drop), 1e-6) * 0.35 * gap])
        cv2.fillPoly(teeth, [np.round((tpoly - origin) * (1 << shift)).astype(np.int32)], 1.0, cv2.LINE_AA, shift)
        mouth = cv2.GaussianBlur(mouth, (0, 0), 0.8)
        teeth = cv2.GaussianBlur(teeth, (0, 0), 0.8) * mouth * 0.8 * min(1.0, 2.5 * o)
        alpha = (mouth * min(1.0, 0.6 + o))[..., None]
        fill = _MOUTH_DARK[None, None, :] * (1 - teeth[..., None]) + _TEETH[None, None, :] * teeth[..., None]
        out = crop.astype(np.float32) * (1 - alpha) + fill * alpha
        work[box.slices] = np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def _blink(self, src: np.ndarray, work: np.ndarray, eye: tuple, c: float) -> None:
        box, yu, hgt, lid = eye
        ys = np.arange(box.y0, box.y1, dtype=np.float32)[:, None]
        top = yu[None, :] - lid
        edge = yu[None, :] + c * hgt[None, :]
        stretch = lid / (lid + c * hgt[None, :])
        in_band = (ys >= top) & (ys <= edge)
        src_y = np.where(in_band, top + (ys - top) * stretch, ys)
        src_x = np.broadcast_to(np.arange(box.x0, box.x1, dtype=np.float32)[None, :], src_y.shape)
        crop = cv2.remap(src, np.ascontiguousarray(src_x), src_y.astype(np.float32), cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        # the lid skin: slightly evened out towards its mean colour; the lash line a soft dark band
        covered = ((ys >= yu[None, :]) & (ys <= edge)).astype(np.float32)
        skin = crop[(ys < yu[None, :]) & (ys >= top) & (hgt[None, :] > 0)]
        if len(skin):
            tone = np.median(skin, axis=0)
            crop = crop * (1 - 0.3 * c * covered[..., None]) + tone * (0.3 * c * covered[..., None])
        lash = np.exp(-((ys - edge) ** 2) / 2.0) * (hgt[None, :] > 0.5) * (0.55 * c)
        crop = crop * (1 - lash[..., None])
        work[box.slices] = np.clip(crop + 0.5, 0, 255).astype(np.uint8)
