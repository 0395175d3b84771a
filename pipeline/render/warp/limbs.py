"""Cutting the portrait's person into layers: each arm on its own, and the core (torso, head, legs).

An arm that moves must take all of its own pixels with it and none of the torso's, or the render
shows a ghost sleeve left on the body, a torso shred carried along, or the tear between them. So
each arm is cut out as a tube around its bones whose width is measured on the photo: along each
bone, rays go out on both sides until they leave the person mask. Where both sides reach the
background the arm's own outline is used; where one side runs into the torso (an arm at the
side, touching it) the free side's distance is mirrored; where both run on (an arm across the
chest) a default width is used. The hand is the hull of its keypoints, grown to cover the
fingers, and is added to the person where segmentation lost it (skin colour near the hull).

The core is what is left, plus the torso that the arms hid in the photo: the torso's left and
right outline is read on the rows where it is visible and interpolated across the rows where an
arm covers it, and the hidden part inside is filled once (see fill.py), so a moving arm uncovers
shirt, not a hole and not the background.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.ndimage import median_filter

from pipeline.portrait.wholebody import BODY_INDEX as J
from pipeline.portrait.wholebody import LEFT_HAND, RIGHT_HAND

from .rig import segment_distance_map
from .skeleton import BONE_INDEX, RestSkeleton
from .stretch import SKIN_CHROMA, skin_like

HIDDEN_UPPER_REACH = 1.3
"""The upper arm made up behind a folded forearm or hand reaches this many half widths from its bone."""
ELBOW_REACH = 1.2
"""Beyond this many half widths from its bone, the lower half of an upper arm's layer is not the arm."""
ELBOW_HALF_WIDTH = 0.1
"""An upper arm's half width by the elbow is at most this share of the shoulder width."""
THIN_STRAND = 0.05
"""A piece of an upper arm's layer narrower than this share of the shoulder width is a strand."""
BARE_ROW_SKIN = 0.6
"""A stretch of an upper arm whose pixels are at least this share skin is bare arm."""
ELBOW_ROUND = 1.2
"""The upper arm's layer reaches this many of its half widths past the elbow (its round end)."""
BARE_RUN = 0.035
"""A stretch of an upper arm with at least this much skin across (in shoulder widths) is bare arm."""
ARM_CHAINS: dict[str, tuple[str, str, str]] = {
    "left_arm": ("left_upper_arm", "left_forearm", "left_hand"),
    "right_arm": ("right_upper_arm", "right_forearm", "right_hand"),
}
HAND_POINTS = {"left_arm": LEFT_HAND, "right_arm": RIGHT_HAND}


@dataclass
class LimbCut:
    """One arm in the rest frame: what it takes from the core, and its parts.

    Each part (upper arm, forearm, hand) is a layer of its own that moves rigidly with its bone;
    parts overlap on a round cap at the elbow and the wrist, so a joint can bend by any angle
    like a pin joint, without the fan of stretched texture a blended mesh makes at a sharp bend.
    """

    name: str
    bones: tuple[str, ...]
    region: np.ndarray        # (H, W) float32 in [0, 1]: the arm's own share of each pixel
    parts: dict[str, np.ndarray]    # bone name -> (H, W) float32 opacity of that part's layer
    half_widths: dict[str, float]   # measured half width per bone, px (for tests and the model card)
    fills: dict[str, np.ndarray] = field(default_factory=dict)
    """bone name -> (H, W) bool: pixels of that part the photo does not show (covered by the
    forearm or hand folded over it), whose colour the renderer makes up from the part's own"""
    wide_elbow: np.ndarray | None = None
    """(H, W) float32: the upper arm's pixels by the elbow beyond an arm's width (see
    :func:`_wide_elbow`), which give way as the forearm unfolds"""
    bare_by_elbow: bool = False
    """whether the upper arm is bare along its bone by the elbow (:func:`_bare_below_sleeve`)"""

    @property
    def hand(self) -> np.ndarray:
        return self.parts.get(self.bones[2], np.zeros_like(self.region))


@dataclass
class BodyCut:
    person: np.ndarray        # (H, W) float32 soft person alpha (hands restored)
    limbs: list[LimbCut]
    core_alpha: np.ndarray    # (H, W) float32: the core layer's opacity (arms removed, hidden torso added)
    core_fill: np.ndarray     # (H, W) bool: core pixels whose colour the photo does not show (to fill)
    chroma: np.ndarray | None = None   # (H, W, 2) float32 CIELAB a*, b* of the image (computed once)
    crease: np.ndarray | None = None
    """(H, W) bool: the core's own pixels beside a torso side that an arm hid (the shadowed crease
    between arm and body, under the arm's soft edge): the photo's while the arm lies against
    them, filled as it moves away (the renderer fades between the two)"""


def _sample(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    x = np.clip(np.round(pts[..., 0]).astype(np.int64), 0, w - 1)
    y = np.clip(np.round(pts[..., 1]).astype(np.int64), 0, h - 1)
    inside = (pts[..., 0] >= 0) & (pts[..., 0] <= w - 1) & (pts[..., 1] >= 0) & (pts[..., 1] <= h - 1)
    return mask[y, x] & inside


def _ray_extent(person: np.ndarray, centres: np.ndarray, normal: np.ndarray, cap: float) -> np.ndarray:
    """Distance (px) from each centre along +normal to the first pixel outside the person; inf past cap."""
    steps = np.arange(0.0, cap + 1.0)
    pts = centres[:, None, :] + steps[None, :, None] * normal[None, None, :]
    inside = _sample(person, pts)
    outside = ~inside
    first = np.where(outside.any(1), outside.argmax(1), -1)
    return np.where(first >= 0, first.astype(np.float64), np.inf)


def _crease_extent(edges: np.ndarray, centres: np.ndarray, normal: np.ndarray, lo: float,
                   hi: float) -> np.ndarray:
    """Distance (px) along +normal, within lo..hi, of the strongest edge of ``edges`` (gradient
    magnitude) from each centre; NaN where no edge stands out of the ray (twice its median)."""
    steps = np.arange(max(lo, 1.0), hi + 1.0)
    if len(steps) < 3:
        return np.full(len(centres), np.nan)
    pts = centres[:, None, :] + steps[None, :, None] * normal[None, None, :]
    h, w = edges.shape
    x = np.clip(np.round(pts[..., 0]).astype(np.int64), 0, w - 1)
    y = np.clip(np.round(pts[..., 1]).astype(np.int64), 0, h - 1)
    g = edges[y, x]
    best = g.argmax(1)
    strong = g.max(1) > 2.0 * np.maximum(np.median(g, axis=1), 1e-3)
    return np.where(strong, steps[best], np.nan)


def _tube_polygon(person: np.ndarray, a: np.ndarray, b: np.ndarray, default: float,
                  limits: tuple[float, float], cap: float,
                  edges: np.ndarray | None = None, short_sleeve: bool = False) -> tuple[np.ndarray, float]:
    """Outline polygon of the limb around segment a -> b, and its median half width.

    ``limits`` bound a half width that is mirrored or defaulted; a side that reaches the
    background keeps its own measured extent up to ``cap`` (a loose sleeve is wider than an arm,
    and the part left on the torso would stay behind when the arm moves). A side that runs on into
    the body stops at the crease between limb and body where ``edges`` (gradient magnitude) shows
    one within the limits: an arm hanging against the torso would otherwise take a strip of the
    shirt with it, which swings out like a wing when the arm lifts. A ``short_sleeve`` over a bare
    arm is no wider than twice the widest half width: where its free side measures more (the sleeve
    flares, and the keypoints' bone runs along its inner side) the body's side takes what is left.
    """
    v = b - a
    length = float(np.hypot(*v))
    if length < 2.0:
        return np.zeros((0, 2)), default
    u = v / length
    n = np.array([-u[1], u[0]])
    ts = np.linspace(0.0, 1.0, max(5, int(length / 3.0)))
    centres = a[None, :] + ts[:, None] * v[None, :]
    left = _ray_extent(person, centres, -n, cap)
    right = _ray_extent(person, centres, n, cap)
    lo, hi = limits
    fin_l, fin_r = np.isfinite(left), np.isfinite(right)
    # the side that runs on into the body mirrors the free side (or takes the default); beside a
    # short sleeve's flare, what is left of twice the widest half width (a white sleeve on a white
    # shirt shows no crease, and the mirror took a strip of shirt with the arm that slid over the
    # torso's side at every beat: halfbody_0251; a bulky long sleeve, a suit's, is wide on both sides)
    mirror_l = np.where(fin_r, np.minimum(right, 2.0 * hi - right) if short_sleeve else right, default)
    mirror_r = np.where(fin_l, np.minimum(left, 2.0 * hi - left) if short_sleeve else left, default)
    mirror_l, mirror_r = np.clip(mirror_l, lo, hi), np.clip(mirror_r, lo, hi)
    if edges is not None:
        crease_l = _crease_extent(edges, centres, -n, lo, hi)
        crease_r = _crease_extent(edges, centres, n, lo, hi)
        # a crease is believed where most of the bone shows one (else it is texture), and as one
        # straight line: its median distance (a crease found here and there would notch the outline)
        if np.isfinite(crease_l).mean() > 0.6:
            mirror_l = np.minimum(mirror_l, float(np.nanmedian(crease_l)))
        if np.isfinite(crease_r).mean() > 0.6:
            mirror_r = np.minimum(mirror_r, float(np.nanmedian(crease_r)))
    half_l = np.where(fin_l, np.maximum(left, lo), mirror_l)
    half_r = np.where(fin_r, np.maximum(right, lo), mirror_r)
    k = min(len(ts) // 2 * 2 + 1, 7)
    if k >= 3:
        half_l = median_filter(half_l, size=k, mode="nearest")
        half_r = median_filter(half_r, size=k, mode="nearest")
    half_l = np.convolve(np.pad(half_l, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    half_r = np.convolve(np.pad(half_r, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    poly = np.concatenate([centres - half_l[:, None] * n, (centres + half_r[:, None] * n)[::-1]])
    return poly, float(np.median(np.minimum(half_l, half_r)))


def _bare_below_sleeve(ab: np.ndarray, rest: RestSkeleton, hand_points: slice, s: np.ndarray,
                       e: np.ndarray) -> bool:
    """Whether the upper arm s -> e is bare by its elbow (a short sleeve above it): BARE_ROW_SKIN
    of the pixels on the bone's lower stretch (0.55 .. 0.85 of its length, within 0.03 shoulder
    widths of it) have the chroma of the hand's skin at its keypoints."""
    idx = np.arange(hand_points.start, hand_points.stop)
    pts = rest.keypoints[idx[rest.known[idx]]]
    h, w = ab.shape[:2]
    if len(pts) < 5 or float(np.hypot(*(e - s))) < 8:
        return False
    xs = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    ref = np.median(ab[ys, xs], axis=0)
    u = (e - s) / float(np.hypot(*(e - s)))
    n = np.array([-u[1], u[0]])
    t = np.linspace(0.55, 0.85, 16)[:, None, None]
    off = np.linspace(-0.03, 0.03, 7)[None, :, None] * rest.shoulder_width
    sample = (s + t * (e - s) + off * n).reshape(-1, 2)
    sx = np.clip(np.round(sample[:, 0]).astype(int), 0, w - 1)
    sy = np.clip(np.round(sample[:, 1]).astype(int), 0, h - 1)
    return bool(skin_like(ab[sy, sx], ref).mean() >= BARE_ROW_SKIN)


def _disc(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    canvas = np.zeros(shape, np.float32)
    cv2.circle(canvas, tuple(int(v) for v in np.round(centre * 16)), int(round(radius * 16)), 1.0, -1, cv2.LINE_AA, 4)
    return canvas


def _fill_poly(canvas: np.ndarray, poly: np.ndarray) -> None:
    if len(poly) >= 3:
        cv2.fillPoly(canvas, [np.round(poly * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)


def _hand_region(image: np.ndarray, person: np.ndarray, hand_pts: np.ndarray | None, wrist: np.ndarray,
                 elbow: np.ndarray, fore_half: float) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 hand region and the person mask with the hand's skin restored."""
    h, w = person.shape
    region = np.zeros((h, w), np.float32)
    if hand_pts is not None and len(hand_pts) >= 5:
        span = float(np.hypot(*(hand_pts.max(0) - hand_pts.min(0))))
        grow = max(3.0, 0.18 * span)
        hull = cv2.convexHull(np.vstack([hand_pts, wrist[None]]).astype(np.float32))[:, 0, :]
        _fill_poly(region, hull)
        k = int(2 * round(grow) + 1)
        grown = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        hull_mask = region > 0.5
        # the hand is the skin-coloured part of the grown hull (its fingers), not the shirt around it
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
        xs = np.clip(np.round(hand_pts[:, 0]).astype(int), 0, w - 1)
        ys = np.clip(np.round(hand_pts[:, 1]).astype(int), 0, h - 1)
        ref = np.median(lab[ys, xs], axis=0)
        spread = max(10.0, 1.5 * float(np.median(np.abs(lab[ys, xs] - ref).sum(1))))
        skin = np.clip(2.0 - np.abs(lab - ref).sum(-1) / spread, 0.0, 1.0).astype(np.float32)
        skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        region = grown * np.maximum(skin, 0.35 * hull_mask)
        region = np.where(region > 0.3, 1.0, region / 0.3).astype(np.float32)
        if float((person[hull_mask] > 0.5).mean()) < 0.7:      # segmentation lost much of the hand
            person = np.maximum(person, (skin * hull_mask).astype(np.float32))
    else:
        end = wrist + 0.5 * (wrist - elbow)
        poly, _ = _tube_polygon(person > 0.5, wrist, end, 1.4 * fore_half, (fore_half, 2.0 * fore_half),
                                cap=2.5 * fore_half)
        _fill_poly(region, poly)
        cv2.circle(region, tuple(int(v) for v in np.round(wrist)), int(round(1.3 * fore_half)), 1.0, -1)
    return np.clip(region, 0, 1), person


def _largest_component(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.astype(bool)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def _side_x(a: np.ndarray, b: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """x of the line through a and b at rows ys (extended past both ends)."""
    dy = b[1] - a[1]
    if abs(dy) < 1e-6:
        return np.full(len(ys), (a[0] + b[0]) / 2.0)
    return a[0] + (ys - a[1]) * (b[0] - a[0]) / dy


def _torso_outline_fill(core: np.ndarray, limbs: np.ndarray, top: int, bottom: int, quad: np.ndarray,
                        margin: float) -> np.ndarray:
    """Rows top..bottom: the torso between its outlines, interpolated where a limb covers an outline.

    The outlines stay within ``margin`` px of the shoulder-to-hip sides of ``quad`` (l_shoulder,
    r_shoulder, r_hip, l_hip), so a stray piece of hand cannot widen the torso.
    """
    core = _largest_component(core)
    h, w = core.shape
    fill = np.zeros((h, w), bool)
    rows = np.arange(max(0, top), min(h, bottom))
    if len(rows) < 3:
        return fill
    near_limb = cv2.dilate(limbs.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    left = np.full(len(rows), np.nan)
    right = np.full(len(rows), np.nan)
    for k, y in enumerate(rows):
        xs = np.nonzero(core[y])[0]
        if len(xs) < 3:
            continue
        x0, x1 = xs[0], xs[-1]
        if not near_limb[y, max(0, x0 - 1)]:
            left[k] = x0
        if not near_limb[y, min(w - 1, x1 + 1)]:
            right[k] = x1
    side_a, side_b = _side_x(quad[1], quad[2], rows), _side_x(quad[0], quad[3], rows)
    lo_side, hi_side = np.minimum(side_a, side_b), np.maximum(side_a, side_b)
    left[left < lo_side - margin] = np.nan
    right[right > hi_side + margin] = np.nan
    # under the armpit the torso's side is a little inside the shoulder joint (only a little: a
    # line drawn further in opens a slit of background between torso and arm as the arm swings out)
    if not np.isfinite(left[0]):
        left[0] = lo_side[0] + 0.1 * margin
    if not np.isfinite(right[0]):
        right[0] = hi_side[0] - 0.1 * margin
    # a side the arm hides from armpit to hip lies on the shoulder-to-hip line: an arm that the
    # photo holds against the body covers about half its own width of torso, so a few degrees of
    # swing uncover shirt, not a wedge of background
    for edge, prior in ((left, lo_side), (right, hi_side)):
        ok = np.isfinite(edge)
        edge[:] = np.interp(rows, rows[ok], edge[ok]) if ok.sum() >= 2 else prior
    span = max(3, len(rows) // 40) | 1
    left = median_filter(left, size=span, mode="nearest")
    right = median_filter(right, size=span, mode="nearest")
    cols = np.arange(w)[None, :]
    between = (cols >= left[:, None]) & (cols <= right[:, None])
    fill[rows] = between & limbs[rows]
    return fill


def _adopt_leftovers(person: np.ndarray, limbs: list[LimbCut]) -> None:
    """Bits of the person cut off from the body by the arm cuts (a thumb tip, a sleeve's edge)
    go to the arm they touch, so they move with it instead of staying behind as ghosts."""
    if not limbs:
        return
    claimed = np.zeros(person.shape, bool)
    for limb in limbs:
        claimed |= limb.region >= 0.5
    count, labels, stats, _ = cv2.connectedComponentsWithStats((person & ~claimed).astype(np.uint8), connectivity=8)
    if count <= 2:
        return
    main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    grown = [(limb, bone, cv2.dilate((part >= 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
             for limb in limbs for bone, part in limb.parts.items()]
    for k in range(1, count):
        if k == main:
            continue
        piece = labels == k
        touch = [int((g & piece).sum()) for _, _, g in grown]
        best = int(np.argmax(touch))
        if touch[best] > 0:
            limb, bone, _ = grown[best]
            limb.region = np.maximum(limb.region, piece.astype(np.float32))
            limb.parts[bone] = np.maximum(limb.parts[bone], piece.astype(np.float32))


def _release_shirt_beside_bare_arm(ab: np.ndarray, limb: LimbCut, rest: RestSkeleton) -> None:
    """Below a short sleeve the arm is skin: what the cut took beside it there (the pixels of the
    upper arm's layer that are not skin, on the stretches along the bone that are mostly skin) is the
    shirt of the torso it hangs against, which would ride up with a raised arm as a white strip. They
    go back to the core (after the leftovers were adopted, so they are not taken back)."""
    upper = limb.bones[0]
    hand = limb.hand > 0.5
    part = limb.parts[upper] > 0.5
    s, e = rest.segments[BONE_INDEX[upper]]
    length = float(np.hypot(*(e - s)))
    if hand.sum() < 20 or length < 8:
        return
    along = _along_share(part.shape, s, e)
    # the arm's own stretch: not by the shoulder (the sleeve's seam), not by the elbow (a hand or
    # the forearm over it), and not the hand's pixels
    ys, xs = np.nonzero(part & (along > 0.15) & (along < 0.85) & (limb.hand < 0.05))
    if len(ys) < 50:
        return
    ref = np.median(ab[hand], axis=0)
    skin = skin_like(ab[ys, xs], ref)
    bin_px = max(2.0, 0.04 * length)
    bins = np.floor(along[ys, xs] * length / bin_px).astype(np.int64)
    bins -= bins.min()
    share = np.bincount(bins, weights=skin.astype(np.float64)) / np.maximum(np.bincount(bins), 1)
    pick = ((share[bins] >= BARE_ROW_SKIN) & ~skin) | _shirt_inside_bare_rows(ys, xs, bins, bin_px, skin, s, e, limb.half_widths[upper], rest)
    pick &= limb.parts[limb.bones[1]][ys, xs] < 0.5
    released = np.zeros(part.shape, np.float32)
    released[ys[pick], xs[pick]] = 1.0
    # by the elbow (its crease, the round end past it) the rows are seldom mostly skin: the shirt
    # behind the elbow that the cut took in there goes too when the arm above it is bare (else it
    # rides on the arm's end as a pale disc when the elbow moves in front of the body)
    lower = along[ys, xs] > 0.5
    if lower.sum() >= 20 and skin[lower].mean() >= BARE_ROW_SKIN:
        ey, ex = np.nonzero(part & (along >= 0.85) & (limb.hand < 0.05) & (limb.parts[limb.bones[1]] < 0.5))
        if len(ey):
            shirt = ~skin_like(ab[ey, ex], ref)
            released[ey[shirt], ex[shirt]] = 1.0
    if not released.any():
        return
    limb.parts[upper] = limb.parts[upper] * (1.0 - released)
    limb.region = limb.region * (1.0 - released)


def _shirt_inside_bare_rows(ys: np.ndarray, xs: np.ndarray, bins: np.ndarray, bin_px: float, skin: np.ndarray,
                            s: np.ndarray, e: np.ndarray, half: float, rest: RestSkeleton) -> np.ndarray:
    """(N,) bool: of an upper arm's pixels (``ys``, ``xs``, in stretches ``bins`` along the bone),
    those that are not skin and lie on the torso's side of a stretch's bare arm. A slim arm under a
    flared sleeve is cut as wide as the sleeve, and its bone (the keypoints) may run along its inner
    edge: the rows are half shirt, whatever their share of skin, and the shirt rode out with the arm
    as white shreds hanging by the body (halfbody_0048). A stretch (``bin_px`` long) is bare where
    its skin is BARE_RUN of the shoulder width across (the hand over the arm may hide the rest) and
    lies on the bone, within the arm's half width ``half`` (a sleeve's edge against a warm wall
    passes for skin: halfbody_0204's sleeve went to the torso); what lies beyond that skin towards
    the torso is the torso's."""
    d = (e - s) / max(float(np.hypot(*(e - s))), 1e-6)
    normal = np.array([-d[1], d[0]])
    mid = rest.torso_quad.mean(0)
    if float((mid - s) @ normal) < 0:
        normal = -normal                               # towards the torso
    inward = (xs - s[0]) * normal[0] + (ys - s[1]) * normal[1]
    out = np.zeros(len(ys), bool)
    for b in np.unique(bins):
        row = bins == b
        if skin[row].sum() / bin_px < BARE_RUN * rest.shoulder_width or \
                abs(float(np.median(inward[row & skin]))) > half:
            continue
        edge = np.percentile(inward[row & skin], 95)
        out |= row & ~skin & (inward > edge)
    return out


def _skin_beside_bare_arm(ab: np.ndarray, person: np.ndarray, limbs: list[LimbCut], rest: RestSkeleton) -> None:
    """The skin of a bare arm that the cut left on the core (the inner side of an elbow against
    the body, a forearm's edge under the arm's soft outline) goes to the part whose bone is nearer:
    left on the core it stays by the torso as a blob of skin when the arm moves. Only on a clothed
    torso (a bare torso's skin beside the arm is its own) and only within half the arm's width of
    the arm's lower half and the forearm."""
    if not limbs:
        return
    claimed = np.zeros(person.shape, bool)
    for limb in limbs:
        claimed |= limb.region >= 0.5
    core = person & ~claimed
    quad = rest.torso_quad
    centre = quad.mean(0)
    half = 0.25 * float(np.hypot(*(quad[0] - quad[1])))
    chest = core & (segment_distance_map(person.shape, centre, centre) < half)
    if chest.sum() < 50:
        return
    for limb in limbs:
        hand = limb.hand > 0.5
        if hand.sum() < 20:
            continue
        ref = np.median(ab[hand], axis=0)
        if skin_like(ab[chest], ref).mean() > 0.3:
            return                                   # a bare torso: its skin stays its own
        upper, fore = limb.bones[0], limb.bones[1]
        s, e = rest.segments[BONE_INDEX[upper]]
        _, wr = rest.segments[BONE_INDEX[fore]]
        mid = 0.5 * (s + e)
        reach_u = 1.5 * limb.half_widths[upper]
        d_upper = segment_distance_map(person.shape, mid, e)
        d_fore = segment_distance_map(person.shape, e, wr)
        near = (d_upper < reach_u) | (d_fore < 1.5 * limb.half_widths[fore])
        arm = limb.region >= 0.5
        grow = max(3, 2 * int(round(0.5 * limb.half_widths[upper])) + 1)
        touching = cv2.dilate(arm.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))) > 0
        ys, xs = np.nonzero(core & near & touching)
        if len(ys) == 0:
            continue
        skin = skin_like(ab[ys, xs], ref)
        bare = arm & ~hand & (limb.parts[fore] < 0.5) & (d_upper < reach_u)
        # (or bare along its bone by the elbow: the lower half of the layer also holds the end of a
        # sleeve and the shirt in the crease, and 0066's bare elbows, 0.54 skin, were taken for
        # sleeves: the skin under them stayed on the torso as a ghost of an elbow)
        sleeved = (bare.sum() < 20 or skin_like(ab[bare], ref).mean() < BARE_ROW_SKIN) and not limb.bare_by_elbow
        ys, xs = ys[skin], xs[skin]
        if sleeved:
            # skin beside a sleeve is not the arm's (a bare waist), except the forearm's own by its
            # bone: a sleeve to the elbow left the bare forearm's underside there on the torso, a
            # ghost of an elbow by the waist whenever the arm moved (halfbody_0140)
            own = (d_fore[ys, xs] < 1.5 * limb.half_widths[fore]) & (d_fore[ys, xs] <= d_upper[ys, xs] + 1.0)
            ys, xs = ys[own], xs[own]
        to_fore = (d_fore[ys, xs] < d_upper[ys, xs]) | sleeved
        for bone, pick in ((fore, to_fore), (upper, ~to_fore)):
            moved = np.zeros(person.shape, np.float32)
            moved[ys[pick], xs[pick]] = 1.0
            limb.parts[bone] = np.maximum(limb.parts[bone], moved)
            limb.region = np.maximum(limb.region, moved)
        core[ys, xs] = False


def _bare_arm_shown(ab: np.ndarray, upper: np.ndarray, hidden: np.ndarray, hand: np.ndarray, palm_pts: np.ndarray,
                    s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(H, W bool) the pixels of a bare upper arm that its hand's region took in but the photo
    shows: skin outside the hull of the hand's own keypoints (the hand region grows by skin colour
    and, over a bare arm, spreads onto it around the wrist). They keep the photo's colours: made up
    instead, they come out as streaks of the arm's shaded edge. A sleeved arm gets none (skin on a
    sleeve is a hand's, and would float beside a raised arm)."""
    ref = np.median(ab[hand], axis=0) if hand.sum() >= 20 else None
    if ref is None:
        return np.zeros(hidden.shape, bool)
    along = _along_share(hidden.shape, s, e)
    lower = upper & ~hidden & ~hand & (along > 0.5) & (along < 1.0)
    if lower.sum() < 20 or skin_like(ab[lower], ref).mean() < BARE_ROW_SKIN:
        return np.zeros(hidden.shape, bool)
    palm = np.zeros(hidden.shape, np.float32)
    _fill_poly(palm, cv2.convexHull(palm_pts.astype(np.float32))[:, 0, :])
    span = float(np.hypot(*(palm_pts.max(0) - palm_pts.min(0))))
    k = max(3, 2 * int(round(0.08 * span)) + 1)
    palm = cv2.dilate(palm, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0.5
    shown = hidden & hand & ~palm           # not what a forearm folded over the arm covers
    ys, xs = np.nonzero(shown)
    keep = np.zeros(hidden.shape, bool)
    keep[ys, xs] = skin_like(ab[ys, xs], ref)
    return keep


def _along_share(shape: tuple[int, int], s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(H, W) each pixel's position along the bone s -> e, as a share of its length (0 at s, 1 at e)."""
    length = max(float(np.hypot(*(e - s))), 1e-6)
    u = (e - s) / length
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return ((xx - s[0]) * u[0] + (yy - s[1]) * u[1]) / length


def _stray_skin(ab: np.ndarray, upper: np.ndarray, hand: np.ndarray, reach: float) -> np.ndarray:
    """(H, W float32) the upper arm's pixels within ``reach`` of the hand that have the hand's skin
    colour (``ab``: the image's CIELAB chroma), when the upper arm itself is a sleeve (else none: a
    bare arm's skin is its own)."""
    ref = np.median(ab[hand], axis=0)
    dist = np.hypot(*(ab - ref).transpose(2, 0, 1))
    if upper.sum() < 20 or float(np.median(dist[upper])) < 2 * SKIN_CHROMA:
        return np.zeros(upper.shape, np.float32)
    k = max(3, int(2 * round(reach) + 1))
    near = cv2.dilate(hand.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    return (upper & near & (dist < SKIN_CHROMA)).astype(np.float32)


def _hand_thin_strands_to_forearm(limb: LimbCut, rest: RestSkeleton, sw: float) -> None:
    """Strands thinner than THIN_STRAND of the shoulder width on the upper arm's lower half (a
    thumb's edge, a finger's outline taken in by the arm's cut or its leftovers) go to the forearm:
    on the upper arm they stick out of a raised arm as slivers; on the forearm they stay by the
    elbow and give way to its tube as it unfolds. At rest every pixel is still drawn."""
    upper, fore = limb.bones[0], limb.bones[1]
    part = limb.parts[upper] > 0.5
    if part.sum() < 50:
        return
    s, e = rest.segments[BONE_INDEX[upper]]
    length = float(np.hypot(*(e - s)))
    u = (e - s) / max(length, 1e-6)
    ys, xs = np.nonzero(part)
    k = max(3, int(2 * round(0.5 * THIN_STRAND * sw) + 1))
    body = cv2.morphologyEx(part.astype(np.uint8), cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    body = cv2.dilate(body.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    thin = part & ~body
    lower = ((xs - s[0]) * u[0] + (ys - s[1]) * u[1]) > 0.5 * length
    keep = np.zeros_like(part)
    keep[ys[lower], xs[lower]] = True
    thin &= keep
    if not thin.any():
        return
    moved = thin.astype(np.float32)
    limb.parts[fore] = np.maximum(limb.parts[fore], moved)
    limb.parts[upper] = limb.parts[upper] * (1.0 - moved)


def _elbow_half_width(measured: float, shoulder_width: float) -> float:
    """An upper arm's half width by the elbow: the one measured on its whole part is the sleeve's,
    which may flare, so at most ELBOW_HALF_WIDTH of the shoulder width."""
    return min(measured, ELBOW_HALF_WIDTH * shoulder_width)


def _wide_elbow(limb: LimbCut, rest: RestSkeleton) -> np.ndarray | None:
    """The upper arm's pixels on its lower half farther from its bone than ELBOW_REACH of its half
    width (None: none). Where a forearm folds towards the camera, the photo's elbow is a knot of
    the arm, the forearm's underside and the hand's shadow, wider than the arm: drawn on a raised
    arm it stuck out either side of the elbow as a blob. They stay while the forearm keeps the
    photo's fold (moved to the forearm, they flapped off with it at every beat) and give way as it
    unfolds into its tube, which draws the elbow end of the forearm instead."""
    upper = limb.bones[0]
    part = limb.parts[upper]
    if (part > 0.5).sum() < 50:
        return None
    s, e = rest.segments[BONE_INDEX[upper]]
    shape = part.shape
    hidden = limb.fills.get(upper, np.zeros(shape, bool))
    half = _elbow_half_width(limb.half_widths[upper], rest.shoulder_width)
    wide = (part > 0) & ~hidden & (_along_share(shape, s, e) > 0.5) & (
        segment_distance_map(shape, s, e) > ELBOW_REACH * half)
    return wide.astype(np.float32) if wide.any() else None


def cut_body(image: np.ndarray, mask: np.ndarray, rest: RestSkeleton, feather_px: float = 1.2) -> BodyCut:
    """The arm layers and the core layer of the portrait (all in the render frame)."""
    h, w = mask.shape
    person = np.clip(mask.astype(np.float32), 0.0, 1.0)
    sw = rest.shoulder_width
    cap = 0.35 * sw
    limbs: list[LimbCut] = []
    union = np.zeros((h, w), np.float32)
    seam = max(2, int(round(1.5 * feather_px)))
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.5)
    edges = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    ab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 1:].astype(np.float32) - 128    # CIELAB chroma
    for name, bones in ARM_CHAINS.items():
        upper, fore, hand = (BONE_INDEX[b] for b in bones)
        if not (rest.present[upper] and rest.present[fore]):
            continue
        hard = person > 0.5
        s, e = rest.segments[upper]
        _, wr = rest.segments[fore]
        short = _bare_below_sleeve(ab, rest, HAND_POINTS[name], s, e) if rest.present[hand] else False
        poly_u, half_u = _tube_polygon(hard, s, e, 0.11 * sw, (0.06 * sw, 0.16 * sw), cap, edges, short)
        poly_f, half_f = _tube_polygon(hard, e, wr, 0.09 * sw, (0.04 * sw, 0.14 * sw), cap)
        tube_u, tube_f = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
        _fill_poly(tube_u, poly_u)
        _fill_poly(tube_f, poly_f)
        whole_upper = tube_u > 0.5
        # the cap covers the joint's own pixels, not the torso around a joint that lies over it
        elbow_cap = _disc((h, w), e, 1.15 * max(half_u, half_f)) * cv2.dilate(
            np.maximum(tube_u, tube_f), np.ones((2 * seam + 1, 2 * seam + 1), np.uint8))
        halves = {bones[0]: half_u, bones[1]: half_f}
        hand_region = np.zeros((h, w), np.float32)
        palm_pts = np.zeros((0, 2))
        if rest.present[hand]:
            sl = HAND_POINTS[name]
            idx = np.arange(sl.start, sl.stop)
            pts = rest.keypoints[idx[rest.known[idx]]]
            palm_pts = pts
            hand_region, person = _hand_region(image, person, pts if len(pts) >= 5 else None, wr, e, half_f)
            hand_region = np.maximum(hand_region, _disc((h, w), wr, 1.1 * half_f))
        # a part drawn under another reaches a few pixels under its soft edge (else the two soft
        # edges, laid over each other, let what is beneath show through along the seam)
        under = np.ones((2 * seam + 1, 2 * seam + 1), np.uint8)
        hand_core = cv2.erode(hand_region, under)
        # where the two tubes overlap (a forearm folded over the upper arm in the picture), each
        # pixel goes to the nearer bone
        nearer_fore = segment_distance_map((h, w), e, wr) < segment_distance_map((h, w), s, e)
        tube_u = tube_u * np.where(nearer_fore & (tube_f > 0.5), 0.0, 1.0).astype(np.float32)
        tube_f = tube_f * np.where(~nearer_fore & (tube_u > 0.5), 0.0, 1.0).astype(np.float32)
        fore_part = np.maximum(tube_f, elbow_cap) * (1.0 - hand_core)
        # a forearm the photo shows end-on is a blob around the elbow that unfolds into a tube
        # (stretch.forearm_tube); the upper arm then keeps only its own end, not that blob
        upper_cap = elbow_cap if rest.end_on is None or rest.end_on[fore] < 0.3 else \
            elbow_cap * _disc((h, w), e, half_u) * cv2.dilate(tube_u, under)
        upper_part = np.maximum(tube_u, upper_cap) * (1.0 - cv2.erode(tube_f * (1.0 - elbow_cap), under)) * \
            (1.0 - hand_core)
        # the deltoid, outside the shoulder joint, is the arm's: left on the core it would stay
        # behind as a flap of sleeve when the arm moves (the joint's inner side stays the torso's)
        mid = rest.torso_quad[:2].mean(0)
        out = (s - mid) / max(float(np.hypot(*(s - mid))), 1e-6)
        ys, xs = np.mgrid[0:h, 0:w]
        lateral = ((xs - s[0]) * out[0] + (ys - s[1]) * out[1]) > -0.03 * sw
        deltoid = (_disc((h, w), s, 1.4 * half_u) * (person > 0.5) * lateral).astype(np.float32)
        upper_part = np.maximum(upper_part, deltoid * (1.0 - hand_core))
        # past the elbow's round the upper arm's outline has taken in pieces of the hand or forearm
        # over it (fingers curled under the elbow): on the upper arm they would swing up with it
        # as slivers; on the forearm they give way to its tube when it unfolds
        bone_u = (e - s) / max(float(np.hypot(*(e - s))), 1e-6)
        along_u = (xs - s[0]) * bone_u[0] + (ys - s[1]) * bone_u[1]
        past_elbow = (along_u > float(np.hypot(*(e - s))) + ELBOW_ROUND * half_u).astype(np.float32)
        stray = past_elbow
        if (hand_region > 0.5).sum() >= 20:
            # and, on a sleeved upper arm, the hand's skin beside the hand's region (fingers the hand
            # keypoints' hull missed): pieces of hand left on the sleeve float beside a raised arm
            stray = np.maximum(stray, _stray_skin(ab, upper_part > 0.5, hand_region > 0.5, half_u))
        fore_part = np.maximum(fore_part, upper_part * stray)
        upper_part = upper_part * (1.0 - stray)
        parts = {bones[0]: upper_part, bones[1]: fore_part}
        if hand_region.any():
            parts[bones[2]] = hand_region
        # the arm takes a little more than its outline: what it leaves behind would show as a ghost
        free = 1.0 - union                            # the first arm keeps pixels both claim
        # and the person's soft edge beyond it (the faint outline of a cuff or a hand that the
        # mask barely holds): left on the core it stays behind as the arm's outline drawn in the air
        soft_edge = ((person > 0.01) & (person <= 0.5)).astype(np.float32)
        halo = np.ones((2 * 3 * seam + 1, 2 * 3 * seam + 1), np.uint8)
        for bone in parts:
            grown = cv2.dilate(parts[bone], np.ones((5, 5), np.uint8))
            parts[bone] = np.maximum(grown, cv2.dilate(parts[bone], halo) * soft_edge) * free
        region = np.clip(np.maximum.reduce(list(parts.values())), 0.0, 1.0)
        # a round cap over the shoulder joint rides on the upper arm (its pixels near the joint
        # follow the torso), so a raised arm still meets the shoulder in a full round; the core
        # keeps these pixels too (not part of the arm's claim)
        shoulder_cap = _disc((h, w), s, 1.1 * half_u) * (person > 0.5) * free
        parts[bones[0]] = np.maximum(parts[bones[0]], shoulder_cap)
        # the upper arm behind a forearm or hand folded over it in the photo: made up from the
        # upper arm's own colours, so that the forearm swinging away uncovers an arm, not a hole
        # the torso's fill shows through (the forearm lies over it whenever it is where the photo has it)
        # (within HIDDEN_UPPER_REACH of the arm's half width from its bone: the outline measured where
        # a hand lies over the arm takes in the hand, and a flap that wide would swing up with a
        # raised arm)
        # (beyond the elbow only the joint's own round: a wider cap stuck out either side of a
        # raised arm's elbow as a blob of the fill's colour)
        # (and no wider than an upper arm by the elbow)
        elbow_half = _elbow_half_width(half_u, sw)
        within = (segment_distance_map((h, w), s, e) <= HIDDEN_UPPER_REACH * elbow_half) & (
            _along_share((h, w), s, e) <= 1.0)
        within |= segment_distance_map((h, w), e, e) <= elbow_half
        hidden_upper = whole_upper & (parts[bones[0]] < 0.95) & (person > 0.5) & (free > 0.5) & (
            (parts[bones[1]] > 0.5) | (parts.get(bones[2], np.zeros_like(region)) > 0.5)) & within
        fills = {}
        if hidden_upper.any():
            parts[bones[0]] = np.maximum(parts[bones[0]], hidden_upper.astype(np.float32))
            if len(palm_pts) >= 5:    # of which the photo shows some (a bare arm by the wrist)
                hidden_upper &= ~_bare_arm_shown(ab, parts[bones[0]] > 0.5, hidden_upper, parts[bones[2]] > 0.5,
                                                 palm_pts, s, e)
            fills[bones[0]] = hidden_upper
        limbs.append(LimbCut(name, bones, region, parts, halves, fills, bare_by_elbow=short))
        union = np.maximum(union, region)
    hard_person = person > 0.5
    _adopt_leftovers(hard_person, limbs)
    _skin_beside_bare_arm(ab, hard_person, limbs, rest)
    for limb in limbs:
        _hand_thin_strands_to_forearm(limb, rest, sw)
        limb.wide_elbow = _wide_elbow(limb, rest)
        _release_shirt_beside_bare_arm(ab, limb, rest)
    if feather_px > 0:
        for limb in limbs:
            limb.region = cv2.GaussianBlur(limb.region, (0, 0), feather_px)
            limb.parts = {b: cv2.GaussianBlur(a, (0, 0), feather_px) for b, a in limb.parts.items()}
            if limb.wide_elbow is not None:
                limb.wide_elbow = cv2.GaussianBlur(limb.wide_elbow, (0, 0), feather_px)
    union = np.clip(sum((limb.region for limb in limbs), np.zeros((h, w), np.float32)), 0, 1)
    core_hard = hard_person & (union < 0.5)
    limb_hard = hard_person & (union >= 0.5)
    top = int(np.floor(min(rest.torso_quad[0, 1], rest.torso_quad[1, 1])))
    bottom = int(np.ceil(max(rest.torso_quad[2, 1], rest.torso_quad[3, 1]))) if rest.known[
        [J["left_hip"], J["right_hip"]]].all() else h
    hidden = _torso_outline_fill(core_hard, limb_hard, top, bottom, rest.torso_quad, 0.2 * sw)
    # the core reaches a few pixels under each arm's edge: two soft edges laid over each other
    # would otherwise let the background show through along the seam
    # (only from the core's side: over the background an arm's edge stays the arm's alone)
    reach = cv2.dilate(_largest_component(core_hard).astype(np.uint8), np.ones((2 * seam + 1, 2 * seam + 1), np.uint8))
    # (the hidden torso side joined to the rest before the edges are softened: two soft edges
    # meeting inside the torso left a seam a tenth see-through, a faint dark line down its side)
    keep = cv2.GaussianBlur(np.maximum(np.maximum(1.0 - union, reach.astype(np.float32)), hidden.astype(np.float32)),
                            (0, 0), max(feather_px, 1.0))
    core_alpha = np.clip(person * keep, 0.0, 1.0)
    # colours are made up only under the arms' opaque part: where an arm's edge is soft the core
    # keeps the photo, so the portrait's own pose reproduces the photo exactly
    core_fill = (hidden | limb_hard) & (union >= 0.9) & (core_alpha > 0.02)
    # except beside the torso's side that an arm hid: there the photo's pixels under the arm's soft
    # edge are the crease between arm and body, and kept they stay behind as a dark line down the
    # side of the torso once the arm has moved away from it
    beside_side = cv2.dilate(hidden.astype(np.uint8), np.ones((4 * seam + 1, 4 * seam + 1), np.uint8)) > 0
    core_fill |= beside_side & (union > 0.3) & (core_alpha > 0.02)
    crease = beside_side & ~core_fill & (core_alpha > 0.02) & (person > 0.5)
    return BodyCut(person, limbs, core_alpha.astype(np.float32), core_fill, ab, crease)
