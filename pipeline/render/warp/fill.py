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
of the background beside it. Over a large hole (the background behind the whole person) the
average of everything around is a grey ghost of the person; there the rows carry the background in
from the hole's sides (``row_continuation``), so desk tops and wall lines continue into the strips
an arm uncovers.
"""

from __future__ import annotations

import cv2
import numpy as np

from .stretch import SAME_MATERIAL


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
    smooth = pyramid_fill(image, hole, known=~edge)
    return row_continuation(image, smooth, hole | edge)


ROW_REACH = 0.45
"""How far into the hole (a share of the image width) the rows carry the background in from the
hole's sides before the smooth fill takes over."""


def row_continuation(image: np.ndarray, smooth: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``smooth`` with the hole's margins continued along the rows from its sides.

    What an arm uncovers is a strip beside the torso, a few dozen pixels from the background the
    photo shows in the same rows; behind a person the background's lines mostly run across
    (desk tops, a board's frame, the floor line), so each row carries its own background in from
    the hole's sides: the two sides' colours (each the median of a few pixels outside the hole,
    steadied over neighbouring rows) weighted by nearness, so the nearer side leads and no seam
    shows where they meet, fading into the smooth push-pull fill with the distance to the nearer.
    The strips keep the edges that the smooth fill blurs away; the hole's middle, which no motion
    uncovers for long, stays smooth. Image borders are no side (nothing to continue).
    """
    hole = np.asarray(hole, bool)
    h, w = hole.shape
    if not hole.any():
        return smooth
    img = image.astype(np.float32)
    reach = max(4.0, ROW_REACH * w)
    # per row: distance to the hole's left and right sides, and the colour just outside each
    cols = np.arange(w)
    big = float(4 * w)
    left_x = np.where(~hole, cols[None, :], -1)
    left_x = np.maximum.accumulate(left_x, axis=1)                       # last non-hole x at or before
    right_x = np.where(~hole, cols[None, :], w)
    right_x = np.minimum.accumulate(right_x[:, ::-1], axis=1)[:, ::-1]    # first non-hole x at or after
    pad = 3
    # colour outside each side: median over the `pad` pixels beyond it (in the row), then a
    # vertical median over 5 rows so single noisy pixels do not become streaks
    stack = np.stack([np.pad(img, ((0, 0), (pad, pad), (0, 0)), mode="edge")[:, k:k + w] for k in range(2 * pad + 1)])
    left_col = np.median(stack[:pad + 1], axis=0)                         # x-pad .. x
    right_col = np.median(stack[pad:], axis=0)                            # x .. x+pad
    left_col = cv2.medianBlur(np.clip(left_col, 0, 255).astype(np.uint8), 5).astype(np.float32)
    right_col = cv2.medianBlur(np.clip(right_col, 0, 255).astype(np.uint8), 5).astype(np.float32)
    rows = np.arange(h)[:, None]
    lx, rx = np.clip(left_x, 0, w - 1), np.clip(right_x, 0, w - 1)
    from_left, from_right = left_col[rows, lx], right_col[rows, rx]
    dl = np.where(left_x >= 0, cols[None, :] - left_x, big).astype(np.float32)
    dr = np.where(right_x < w, right_x - cols[None, :], big).astype(np.float32)
    # both sides known: interpolated across the run (no seam where the nearer side changes)
    wl = np.where(dl < big, 1.0 / np.maximum(dl, 1.0), 0.0)[..., None]
    wr = np.where(dr < big, 1.0 / np.maximum(dr, 1.0), 0.0)[..., None]
    side = (wl * from_left + wr * from_right) / np.maximum(wl + wr, 1e-9)
    dist = np.minimum(dl, dr)
    alpha = np.clip(1.0 - dist / reach, 0.0, 1.0) ** 1.5
    alpha[~hole] = 0.0
    out = smooth.astype(np.float32)
    # the smooth fill's grain rides on the continued rows too
    grain = out - cv2.GaussianBlur(out, (0, 0), 1.5)
    blended = alpha[..., None] * (side + grain) + (1.0 - alpha[..., None]) * out
    out[hole] = blended[hole]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def typical_pixels(image: np.ndarray, mask: np.ndarray, max_lab: float = SAME_MATERIAL) -> np.ndarray:
    """(H, W bool) the pixels of ``mask`` whose CIELAB colour (L in 0..100) is within ``max_lab``
    of the mask's median (by default: of the same material): what a fill of one material may copy.
    Mirrored into a hidden arm's end, the dark gap under a hem and the wall inside the person
    mask's edge came out as black stripes on the sleeve."""
    mask = np.asarray(mask, bool)
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return mask
    px = np.ascontiguousarray(image[ys, xs, :3], np.uint8).reshape(-1, 1, 3)
    lab = cv2.cvtColor(px, cv2.COLOR_RGB2LAB)[:, 0].astype(np.float64)
    lab[:, 0] *= 100.0 / 255.0
    lab[:, 1:] -= 128.0
    near = np.linalg.norm(lab - np.median(lab, axis=0), axis=1) <= max_lab
    out = np.zeros_like(mask)
    out[ys[near], xs[near]] = True
    return out


def mirror_along_bone(image: np.ndarray, hole: np.ndarray, known: np.ndarray, start: np.ndarray,
                      end: np.ndarray, fallback: np.ndarray, min_run: float = 4.0, inset: float = 2.0) -> np.ndarray:
    """``fallback`` with the ``hole`` of a limb filled by mirroring the limb's own pixels across
    where it disappears (H, W, 3 uint8).

    The part of an upper arm hidden behind a folded forearm or a hand is more of the same arm, so
    the fill has the sleeve's weave, folds and shading instead of a flat average (which on a raised
    arm reads as a patch). A hole pixel with known pixels of the limb beside it, across the bone
    (``start`` -> ``end``) at the same height, takes them mirrored across the nearest edge: a hand
    held over half of a bare upper arm hides more of the skin beside it, and a sleeve's hem, about
    square to the bone, stays at its height (mirrored down the bone, a short sleeve came out as a
    white strip along a bare arm). A hole as wide as the arm (the elbow under a folded forearm)
    takes the pixels of its column along the bone instead, below it when the run there is at
    least ``min_run`` px long, else above it. A mirror bounces inside a run shorter than the hole,
    once at most: a run shorter than half the way back is not used (bounced to and fro inside a few
    pixels of hem beside a hand, the hem's seam came out as a row of stripes where the hand had
    hidden the arm's end).
    Where the mirror falls outside the known pixels, ``fallback`` stays. Across the bone, pixels
    within ``inset`` px of the limb's outline are not mirrored (its shaded edge, the crease against
    the body, came out as streaks).
    """
    hole = np.asarray(hole, bool)
    if not hole.any():
        return fallback
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    length = float(np.hypot(*(end - start)))
    if length < 4:
        return fallback
    u = (end - start) / length
    n = np.array([-u[1], u[0]])

    def bone_frame(py: np.ndarray, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(along, across) of pixels in the bone's frame, px from ``start``."""
        return (px - start[0]) * u[0] + (py - start[1]) * u[1], (px - start[0]) * n[0] + (py - start[1]) * n[1]

    ys, xs = np.nonzero(hole)
    ky, kx = np.nonzero(known)
    if len(ky) < 20:
        return fallback
    along_k, across_k = bone_frame(ky, kx)
    along_h, across_h = bone_frame(ys, xs)
    inside = (along_k >= 0) & (along_k <= length)
    if not inside.any():
        return fallback
    # across the bone, in the row of the hole pixel (either side, the nearer edge); a row that the
    # hole crosses whole takes the nearest row within ``row_reach`` that has a run beside it
    # (rows of one material; the limb's outline, shaded or soft, is left out of the runs)
    limb = (known | hole).astype(np.uint8)
    core = known & (cv2.distanceTransform(limb, cv2.DIST_L2, 3) > inset)
    if core.sum() >= 0.3 * known.sum():
        c_along, c_across = bone_frame(*np.nonzero(core))
        c_in = (c_along >= 0) & (c_along <= length)
        c_along, c_across = c_along[c_in], c_across[c_in]
    else:
        c_along, c_across = along_k[inside], across_k[inside]
    beside = np.full(len(xs), np.nan)
    shift = np.zeros(len(xs))
    row_reach = max(2, int(round(0.12 * length)))
    for d in [0] + [s * k for k in range(1, row_reach + 1) for s in (1, -1)]:
        todo = ~np.isfinite(beside)
        if not todo.any() or len(c_along) == 0:
            break
        found = _mirror_in_lines(c_across, c_along, across_h[todo], along_h[todo] + d, min_run=3.0,
                                 prefer_after=None)
        if d != 0:     # a row where the limb is known at the pixel's own place is not one the hole crosses
            px = np.clip(np.round(xs[todo] + d * u[0]).astype(np.int64), 0, hole.shape[1] - 1)
            py = np.clip(np.round(ys[todo] + d * u[1]).astype(np.int64), 0, hole.shape[0] - 1)
            found[known[py, px]] = np.nan
        idx = np.nonzero(todo)[0]
        beside[idx] = found
        shift[idx] = np.where(np.isfinite(found), d, 0.0)
    src_along, src_across = along_h.copy(), across_h.copy()
    use_beside = np.isfinite(beside)
    src_across[use_beside] = beside[use_beside]
    src_along[use_beside] += shift[use_beside]
    if not use_beside.all():   # the rest along the bone, in its column (the run below preferred)
        src_along[~use_beside] = _mirror_in_lines(along_k[inside], across_k[inside], along_h[~use_beside],
                                                  across_h[~use_beside], min_run=min_run, prefer_after=True)
    ok = np.isfinite(src_along) & np.isfinite(src_across)
    sx = start[0] + np.nan_to_num(src_along) * u[0] + np.nan_to_num(src_across) * n[0]
    sy = start[1] + np.nan_to_num(src_along) * u[1] + np.nan_to_num(src_across) * n[1]
    h, w = hole.shape
    ix, iy = np.round(sx).astype(np.int64), np.round(sy).astype(np.int64)
    ok &= (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    ok[ok] &= known[iy[ok], ix[ok]]
    out = fallback.copy()
    mx = sx[ok].astype(np.float32)[None, :]
    my = sy[ok].astype(np.float32)[None, :]
    if ok.any():
        sampled = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
        out[ys[ok], xs[ok]] = sampled
    return out


def _mirror_in_lines(pos_k: np.ndarray, line_k: np.ndarray, pos_h: np.ndarray, line_h: np.ndarray,
                     min_run: float, prefer_after: bool | None) -> np.ndarray:
    """For each hole pixel (position ``pos_h`` on line ``line_h``, lines 1 px apart): the position
    on its line of the known pixel (``pos_k`` on ``line_k``) it mirrors, NaN where its line has no
    known run of ``min_run`` px next to it. The mirror is taken across the nearest known pixel
    after it (larger position) or before it: ``prefer_after`` True/False picks that side whenever it
    has a run, None the nearer one; it bounces at the far end of the run (assumed contiguous),
    once at most (NaN where that does not reach)."""
    lines_k = np.round(line_k).astype(np.int64)
    lines_h = np.round(line_h).astype(np.int64)
    lo = int(min(lines_k.min(), lines_h.min()))
    bins = int(max(lines_k.max(), lines_h.max())) - lo + 1
    first, last = np.full(bins, np.inf), np.full(bins, -np.inf)     # each line's known extent
    np.minimum.at(first, lines_k - lo, pos_k)
    np.maximum.at(last, lines_k - lo, pos_k)
    base = float(min(pos_k.min(), pos_h.min())) - 1.0
    span = float(max(pos_k.max(), pos_h.max())) - base + 2.0
    keys = np.sort((lines_k - lo) * span + (pos_k - base))
    line = lines_h - lo
    key_h = line * span + (pos_h - base)
    at = np.searchsorted(keys, key_h)

    def neighbour(idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
        found = np.full(len(pos_h), np.nan)
        same = np.zeros(len(pos_h), bool)
        same[valid] = np.floor(keys[idx[valid]] / span).astype(np.int64) == line[valid]
        found[same] = keys[idx[same]] - line[same] * span + base
        return found

    after = neighbour(np.minimum(at, len(keys) - 1), at < len(keys))
    before = neighbour(np.maximum(at - 1, 0), at > 0)
    run_after = last[line] - after
    run_before = before - first[line]
    # (a mirror bounces once at most: through a run of a few pixels, a hem's seam beside a hand
    # came out as a row of stripes)
    can_after = np.isfinite(after) & (run_after >= np.maximum(min_run, 0.5 * (after - pos_h)))
    can_before = np.isfinite(before) & (run_before >= np.maximum(min_run, 0.5 * (pos_h - before)))
    if prefer_after is None:
        use_after = can_after & (~can_before | ((after - pos_h) <= (pos_h - before)))
    else:
        use_after = can_after if prefer_after else can_after & ~can_before
    use_before = can_before & ~use_after
    src = np.full(len(pos_h), np.nan)
    src[use_after] = after[use_after] + _ping_pong(after[use_after] - pos_h[use_after], run_after[use_after])
    src[use_before] = before[use_before] - _ping_pong(pos_h[use_before] - before[use_before], run_before[use_before])
    return src


def _ping_pong(distance: np.ndarray, run: np.ndarray) -> np.ndarray:
    """How far into a run of length ``run`` a mirror that bounces at both of its ends lands after
    ``distance`` (both >= 0): 0 -> run -> 0 -> ..."""
    run = np.maximum(run, 1e-6)
    phase = np.mod(distance, 2.0 * run)
    return np.where(phase <= run, phase, 2.0 * run - phase)
