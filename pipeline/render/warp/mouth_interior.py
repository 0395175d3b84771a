"""The inside of the mouth, painted where the lips have parted.

Drawn column by column between the moved inner-lip contours, so the opening always follows the
lips' own shape. A closed-mouth photo has no inside to show, so it is synthesised from the
photo's own lip colour: a throat that darkens towards the back and the corners, upper teeth
hanging from the upper jaw (they stay with the skull, the lower lip uncovers them), a tongue and
a hint of lower teeth when the jaw is wide. A photo that already shows an open mouth keeps its
own teeth: the part under the upper lip moves with the upper lip, the part over the lower lip
with the lower lip, and only a wider opening than the photo's gets synthesised throat between.
"""

from __future__ import annotations

import cv2
import numpy as np

OPEN_PHOTO_GAP = 0.08
"""A photo whose lips are apart by this share of the mouth width shows its own mouth inside."""
_TEETH = np.array([232.0, 226.0, 214.0], np.float32)


def contour_columns(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The y of a left-to-right contour at each column x (NaN outside its span)."""
    order = np.argsort(points[:, 0], kind="stable")
    px, py = points[order, 0], points[order, 1]
    return np.interp(xs, px, py, left=np.nan, right=np.nan)


class MouthInterior:
    """Paints the mouth inside for one portrait (rest-frame image pixels)."""

    def __init__(self, image: np.ndarray, inner_upper: np.ndarray, inner_lower: np.ndarray,
                 outer_upper: np.ndarray, outer_lower: np.ndarray, max_gap_px: float) -> None:
        self.rest_upper = np.asarray(inner_upper, np.float64)
        self.rest_lower = np.asarray(inner_lower, np.float64)
        corners = np.array([self.rest_upper[0], self.rest_upper[-1]])
        self.centre_x = float(corners[:, 0].mean())
        self.half_w = max(abs(float(corners[1, 0] - corners[0, 0])) / 2, 2.0)
        self.max_gap = max(float(max_gap_px), 1.0)
        self.mouth_w = float(np.hypot(*(outer_upper[-1] - outer_upper[0])))
        xs = np.linspace(corners[:, 0].min(), corners[:, 0].max(), 9)[2:-2]
        gap = contour_columns(self.rest_lower, xs) - contour_columns(self.rest_upper, xs)
        self.photo_open = bool(np.nanmax(gap) > OPEN_PHOTO_GAP * self.mouth_w)
        self.teeth_show = 0.09 * self.mouth_w
        # colours from the photo: the lips' red (median of the lip band), the skin's brightness
        h, w = image.shape[:2]
        lips = np.zeros((h, w), np.uint8)
        cv2.fillPoly(lips, [np.round(np.concatenate([outer_upper, outer_lower[::-1]])).astype(np.int32)], 1)
        cv2.fillPoly(lips, [np.round(np.concatenate([inner_upper, inner_lower[::-1]])).astype(np.int32)], 0)
        px = image[lips > 0].astype(np.float32)
        lip = np.median(px, axis=0) if len(px) > 4 else np.array([150.0, 80.0, 80.0], np.float32)
        self.lip = lip.astype(np.float32)
        lum = float(lip @ np.array([0.299, 0.587, 0.114]))
        self.teeth = (_TEETH * np.clip(0.55 + lum / 300.0, 0.6, 1.0)).astype(np.float32)
        self.throat_edge = (self.lip * 0.34).astype(np.float32)
        self.throat_deep = (self.lip * 0.1 + 4.0).astype(np.float32)
        self.tongue = (self.lip * np.array([0.80, 0.62, 0.62], np.float32)).astype(np.float32)
        if self.photo_open:   # the photo's own darkest inside sets the throat colour
            inside = np.zeros((h, w), np.uint8)
            cv2.fillPoly(inside, [np.round(np.concatenate([inner_upper, inner_lower[::-1]])).astype(np.int32)], 1)
            ipx = image[inside > 0].astype(np.float32)
            grey = ipx @ np.array([0.299, 0.587, 0.114], np.float32) if len(ipx) else np.zeros(0)
            # parted lips over a dark gap show no teeth to keep: synthesise the inside instead
            if len(ipx) <= 8 or np.percentile(grey, 90) < 1.15 * lum:
                self.photo_open = False
            else:
                dark = ipx[np.argsort(ipx.sum(1))[: max(3, len(ipx) // 8)]].mean(0)
                self.throat_deep = np.minimum(dark, self.throat_deep).astype(np.float32)
                self.throat_edge = np.minimum(dark * 1.6 + 6, self.throat_edge).astype(np.float32)

    def paint(self, out: np.ndarray, origin: tuple[int, int], upper: np.ndarray, lower: np.ndarray,
              pristine: np.ndarray, jaw: float, rounding: float, tongue: float = 0.0) -> None:
        """Paint the inside between the current inner-lip contours into ``out`` (a float32 crop).

        ``upper``/``lower``: the moved inner-lip contours in image px; ``origin``: the crop's
        top-left in the image; ``pristine``: the photo (for an open-mouth photo's own teeth).
        """
        ox, oy = origin
        ch, cw = out.shape[:2]
        both = np.concatenate([upper, lower])
        x0 = max(int(np.floor(both[:, 0].min())), ox)
        x1 = min(int(np.ceil(both[:, 0].max())) + 1, ox + cw)
        y0 = max(int(np.floor(upper[:, 1].min())) - 1, oy)
        y1 = min(int(np.ceil(lower[:, 1].max())) + 2, oy + ch)
        if x1 - x0 < 2 or y1 - y0 < 1:
            return
        xs = np.arange(x0, x1, dtype=np.float64)
        top, bot = contour_columns(upper, xs), contour_columns(lower, xs)
        rtop, rbot = contour_columns(self.rest_upper, xs), contour_columns(self.rest_lower, xs)
        ok = np.isfinite(top) & np.isfinite(bot)
        top, bot = np.where(ok, top, 0.0), np.where(ok, np.maximum(bot, top), 0.0)
        rtop = np.where(np.isfinite(rtop), rtop, top)
        rbot = np.where(np.isfinite(rbot), rbot, bot)
        gap = bot - top
        ys = np.arange(y0, y1, dtype=np.float64)[:, None]
        mask = np.clip(ys - top + 0.5, 0, 1) * np.clip(bot - ys + 0.5, 0, 1) * ok
        if not self.photo_open:   # exactly the photo at rest: only a gap wider than the photo's shows
            rest_gap = np.maximum(rbot - rtop, 0.0)
            mask = mask * np.clip((gap - rest_gap) / 1.5, 0, 1)
        if not mask.any():
            return
        xr = np.clip((xs - self.centre_x) / self.half_w, -1.5, 1.5)
        v = np.clip((ys - top) / np.maximum(gap, 1e-3), 0, 1)
        opened = float(np.clip(np.nanmax(np.where(ok, gap, 0)) / self.max_gap, 0, 1))
        col = self._throat(xr, v, ys, top, bot, gap, opened, rounding)
        if self.photo_open:
            col = self._photo_inside(col, pristine, xs, ys, top, bot, rtop, rbot)
        else:
            col = self._teeth(col, xr, ys, top, rtop, rounding)
        if tongue > 0:
            col = self._tongue_tip(col, xr, ys, bot, rtop, tongue)
        # the corners: the lips fold into a soft dark-red commissure, not a black wedge
        fold = np.clip((np.abs(xr) - 0.7) / 0.35, 0, 1) ** 1.5
        col = col * (1 - fold[..., None]) + (self.lip * 0.4) * fold[..., None]
        shadow = 0.5 + 0.5 * np.clip((ys - top) / max(1.5, 0.18 * self.max_gap), 0, 1)   # under the upper lip
        col = col * shadow[..., None]
        region = out[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        # the pixels between the lips that the mesh leaves open still hold the photo: their part of
        # an edge pixel is the neighbouring lip's colour instead, so the lip edges stay clean
        cols = np.arange(x1 - x0)
        ru = np.clip(np.floor(top).astype(int) - y0, 0, y1 - y0 - 1)
        rl = np.clip(np.ceil(bot).astype(int) - y0, 0, y1 - y0 - 1)
        lip_up, lip_lo = region[ru, cols], region[rl, cols]
        hole = (ys > top) & (ys < bot) & ok
        base = np.where((ys < (top + bot) / 2)[..., None], lip_up[None], lip_lo[None])
        base = np.where(hole[..., None], base, region)
        m = mask[..., None].astype(np.float32)
        region[:] = base * (1 - m) + col.astype(np.float32) * m

    def _throat(self, xr, v, ys, top, bot, gap, opened, rounding) -> np.ndarray:
        # darker towards the corners and the back, lit a little low in the middle; then the tongue
        light = (1 - np.minimum(np.abs(xr), 1) ** 1.6) * (0.35 + 0.65 * v)
        light = light * (1 - 0.5 * rounding)
        col = self.throat_deep + (self.throat_edge - self.throat_deep) * light[..., None]
        if opened > 0.15:
            ty = bot - 0.18 * gap                   # the tongue's top rests a little above the lower lip
            tr = np.maximum(0.35 * gap, 1.0)
            dy = (ys - ty) / tr
            t = np.clip(1.0 - (xr / 0.75) ** 2 - np.minimum(dy, 0) ** 2 * 1.0, 0, 1) * (ys >= ty - tr)
            t = np.clip(t * 3.0, 0, 1) * min(1.0, (opened - 0.15) / 0.3) * (1 - 0.6 * rounding)
            shade = (0.55 + 0.45 * np.clip(1 - np.abs(dy), 0, 1)) * (1 - 0.45 * np.abs(np.clip(xr, -1, 1)))
            tongue = self.tongue * shade[..., None]
            col = col * (1 - t[..., None]) + tongue * t[..., None]
            if opened > 0.45:                       # the lower teeth's edges, just over the lower lip
                lt = np.clip(bot - ys - 0.5, 0, None)
                band = np.maximum(0.12 * gap, 1.0)
                lo = np.clip(1 - lt / band, 0, 1) * (lt > 0) * np.clip(1 - (xr / 0.55) ** 2, 0, 1)
                lo = lo * min(1.0, (opened - 0.45) / 0.3) * 0.55
                col = col * (1 - lo[..., None]) + (self.teeth * 0.8) * lo[..., None]
        return col

    def _teeth(self, col, xr, ys, top, rtop, rounding) -> np.ndarray:
        """Upper teeth: fixed to the upper jaw, from the rest lip line down ``teeth_show``."""
        edge = rtop + self.teeth_show * (1 - 0.55 * np.clip(xr, -1, 1) ** 2)
        cover = np.clip(edge - ys + 0.5, 0, 1) * np.clip(1 - (np.abs(xr) / 0.9) ** 4, 0, 1)
        cover = cover * (1 - 0.85 * rounding)
        # incisors read as teeth with faint gaps between them and fading into the dark sides
        gaps = 1 - 0.22 * np.exp(-((np.abs(xr)[None, :] - np.array([[0.0], [0.27], [0.5]])) / 0.035) ** 2).sum(0)
        shade = (1 - 0.55 * np.clip(xr, -1, 1) ** 2) * gaps
        shade = shade * (0.8 + 0.2 * np.clip((edge - ys) / max(self.teeth_show, 1), 0, 1))
        teeth = self.teeth * shade[..., None]
        return col * (1 - cover[..., None]) + teeth * cover[..., None]

    def _tongue_tip(self, col, xr, ys, bot, rtop, amount) -> np.ndarray:
        """The tongue's tip between the teeth (th): a rounded pink tip over the incisors' edges."""
        tip = rtop + self.teeth_show * (1.0 - 0.4 * amount)       # its top, a little over the incisors
        ry = np.maximum(bot - tip, 1.0)
        d = (xr / 0.36) ** 2 + ((ys - bot) / ry) ** 2
        cover = np.clip((1 - d) * 4.0, 0, 1) * (ys <= bot + 0.5) * amount
        shade = 0.78 + 0.3 * np.clip(1 - d, 0, 1) - 0.12 * np.clip((ys - tip) / ry, 0, 1)
        pink = 0.5 * self.lip + 0.5 * np.array([236.0, 150.0, 150.0], np.float32) * (self.teeth[0] / _TEETH[0])
        tongue = pink * shade[..., None]
        return col * (1 - cover[..., None]) + np.minimum(tongue, 255) * cover[..., None]

    def _photo_inside(self, col, pristine, xs, ys, top, bot, rtop, rbot) -> np.ndarray:
        """The photo's own inside: upper half rides on the upper lip, lower half on the lower lip."""
        half = np.maximum(rbot - rtop, 0) / 2
        du, dl = ys - top, bot - ys
        up_w = np.clip(half - du + 0.5, 0, 1)              # within the photo's upper half-gap
        low_w = np.clip(half - dl + 0.5, 0, 1) * (1 - up_w)  # lower teeth go behind the upper ones
        src_up = np.clip(rtop + du, rtop, rtop + half)
        src_low = np.clip(rbot - dl, rbot - half, rbot)
        mapx = np.broadcast_to(xs[None, :], ys.shape[:1] + xs.shape).astype(np.float32)
        up = cv2.remap(pristine, mapx, src_up.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        low = cv2.remap(pristine, mapx, src_low.astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        rest = 1 - up_w - low_w
        return (up.astype(np.float32) * up_w[..., None] + low.astype(np.float32) * low_w[..., None]
                + col * rest[..., None])
