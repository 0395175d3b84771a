"""A forearm texture that can stretch: a clean tube, the limb's cross-section repeated along its bone.

A forearm that points at the camera in the photo is a short blob around the elbow; when the
motion turns it sideways it must become several times longer, and stretching the photo's pixels
drags the hand's edge, a shadow, the cuff and the gaps of the blob's outline into stripes and
shreds. What can be stretched without streaks is a texture that does not change along the bone:
a tube of a forearm's width, opaque inside, coloured with the limb's profile across its width
(skin or sleeve, lit on one side, shaded on the other). A sleeve is more than a colour: its weave,
folds and shading are those of the upper arm's sleeve, so a sleeved tube is textured with the upper
arm's own pixels resampled in its bone's frame (``sleeve_strip``), and a flat profile is only what
bare skin and limbs without a usable upper arm get. The renderer crossfades from the photo's own
texture to the tube as the bone stretches, so the photo's pose still shows the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .skeleton import UNFOLD_FULL, UNFOLD_START

TUBE_HALF_WIDTH = (0.065, 0.105)
"""A forearm's half width, as a share of the shoulder width (wrist to below the elbow, adults)."""
HALO_PX = 3.0
"""A hand's rim this wide (px) is checked for the background round its fingers."""
HALO_LAB = 22.0
"""A rim pixel farther than this (CIELAB, L in 0..100) from the hand's skin is not the hand."""
TAPER = 0.25
"""The tube is this share of its half width wider at the elbow than at the wrist."""
SAME_MATERIAL = 30.0
"""Colours farther apart than this in CIELAB are different materials (skin, a sleeve, a helmet)."""
SKIN_CHROMA = 14.0
"""Two colours closer than this in CIELAB chroma (a*, b*) are the same skin."""
STRIP_SPAN = (0.15, 0.85)
"""The stretch of the upper arm (shares of its length from the elbow) a sleeve strip is sampled
on: short of the elbow (its crease, a hand or cuff over it) and of the shoulder (the torso's edge)."""
STRIP_WIDTH = 0.85
"""Share of the upper arm's half width a sleeve strip spans (its outline's pixels are half background)."""
ELBOW_GAIN_LIMITS = (0.6, 1.4)
"""A bare tube's elbow end is at most this much darker or brighter than its wrist end."""
ELBOW_HUE_SHIFT = 0.12
"""How far (share) a channel of a bare tube's elbow end may part from the change of light."""
ELBOW_ROUND_LENGTH = 3.0
"""A tube shorter than this many half widths has its elbow end flattened in proportion."""
SLEEVE_UNFOLD = (1.02, 1.3)
"""A sleeved tube textured like its upper arm takes over from the photo's end-on forearm within
this stretch (start, full; the photo's texture otherwise gives way over 1.05 .. 1.6): that blob is
the sleeve's shadowed opening and cuff, which stretched reads as a dark disc, and the sleeve
itself matches the arm it continues."""
STRIP_MIN_VALID = 0.6
"""A strip with fewer of its samples on the upper arm's own pixels is not the sleeve: not used."""
STRIP_ROW_VALID = 0.8
"""A row of the strip with fewer of its samples on the sleeve's own pixels is not used."""
STRIP_MIN_ROWS = 0.3
"""A strip keeps at least this share of its rows (else: not the sleeve, or too little of it shown)."""


def _lab(rgb: np.ndarray) -> np.ndarray:
    px = np.clip(np.asarray(rgb, np.float64), 0, 255).astype(np.uint8).reshape(1, 1, 3)
    lab = cv2.cvtColor(px, cv2.COLOR_RGB2LAB)[0, 0].astype(np.float64)
    return np.array([lab[0] * 100 / 255, lab[1] - 128, lab[2] - 128])


def _chroma(colours: np.ndarray) -> np.ndarray:
    """(N, 2) CIELAB chroma (a*, b*) of ``colours`` (N, 3 RGB)."""
    px = np.clip(colours, 0, 255).astype(np.uint8).reshape(-1, 1, 3)
    return cv2.cvtColor(px, cv2.COLOR_RGB2LAB)[:, 0, 1:].astype(np.float64) - 128


def _chroma_distances(colours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """CIELAB chroma (a*, b*) distance of each of ``colours`` (N, 3 RGB) to ``ref``."""
    return np.hypot(*(_chroma(colours) - _lab(ref)[1:]).T)


def _lab_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(_lab(a) - _lab(b)))


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Brightness (Rec. 601 weights) of each colour of ``rgb`` (..., 3)."""
    return np.asarray(rgb, np.float64) @ np.array([0.299, 0.587, 0.114])


def _saturation(rgb: np.ndarray) -> float:
    """HSV saturation of one colour (0: grey)."""
    rgb = np.asarray(rgb, np.float64)
    return float((rgb.max() - rgb.min()) / max(float(rgb.max()), 1e-6))


def _lit_colour(pixels: np.ndarray) -> np.ndarray:
    """The colour of the lit side of a piece of cloth or skin: the mean of its pixels between the
    70th and the 95th percentile of brightness (an elbow's folds and the shade under an arm
    darken a plain median; the brightest pixels are highlights)."""
    px = pixels.astype(np.float64).reshape(-1, 3)
    luma = _luma(px)
    lo, hi = np.percentile(luma, [70, 95])
    sel = (luma >= lo) & (luma <= hi)
    return px[sel].mean(axis=0) if sel.any() else np.median(px, axis=0)


def _relit(profile: np.ndarray, colour: np.ndarray, roundness: np.ndarray) -> np.ndarray:
    """``colour`` (the limb's material in the light) across the tube with the light and shade the
    measured ``profile`` has across its width, and a round limb's falloff towards its edges."""
    lumas = _luma(profile)
    shade = np.clip(lumas / max(float(np.median(lumas)), 1.0), 0.85, 1.1)
    return colour[None, :] * shade[:, None] * ((0.86 + 0.14 * roundness[:, None]) / 0.96)


def _smooth_profile(profile: np.ndarray, have: np.ndarray, sigma: float) -> np.ndarray:
    """Fill the offsets nobody measured from their neighbours, then blur: lighting, not texture."""
    idx = np.arange(len(profile))
    out = profile.copy()
    for c in range(out.shape[1]):
        out[:, c] = np.interp(idx, idx[have], profile[have, c])
    radius = max(1, int(round(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / max(sigma, 1e-3)) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(out, ((radius, radius), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(out.shape[1])], 1)


@dataclass
class ForearmTube:
    """A forearm as the renderer draws it once it unfolds: a tapered capsule with a colour profile.

    ``profile[k]`` is the colour at ``k - bins`` px across the bone (negative: the bone's left).
    Drawn per frame on the current elbow -> wrist segment (``draw``), so its ends stay round
    however far it unfolds, which a stretched texture cannot do.
    """

    profile: np.ndarray      # (2 * bins + 1, 3) float RGB
    bins: int
    half_width: float        # mid-forearm; TAPER wider at the elbow, narrower at the wrist
    feather_px: float = 1.2
    strip: np.ndarray | None = None
    """(rows, 2 * bins + 1, 3) float32: the sleeve's texture, row 0 at the elbow (``sleeve_strip``);
    None: the flat ``profile`` along the whole tube."""
    bare: bool = False      # bare skin (else a sleeve)
    elbow_gain: np.ndarray | None = None
    """(3,) colour gain of a bare tube at its elbow end (the upper arm's skin there), easing to 1
    (the hand's) at the wrist; None: the profile all along."""

    @property
    def unfold_span(self) -> tuple[float, float]:
        """The stretch (start, full) over which this tube takes over from the photo's forearm."""
        return SLEEVE_UNFOLD if self.strip is not None else (UNFOLD_START, UNFOLD_FULL)

    def bounds(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel box (lo, hi) that the tube on a -> b covers."""
        r = self.half_width * (1.0 + TAPER / 2) + self.feather_px + 1
        return np.minimum(a, b) - r, np.maximum(a, b) + r

    def draw(self, a: np.ndarray, b: np.ndarray, origin: tuple[int, int],
             shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(rgb uint8, alpha uint8) of the tube from elbow ``a`` to wrist ``b`` in a box of ``shape``
        (h, w) whose top-left pixel is ``origin`` (x, y)."""
        h, w = shape
        a = np.asarray(a, np.float64)
        v = np.asarray(b, np.float64) - a
        length = float(np.hypot(*v))
        u = v / length if length > 1e-6 else np.array([0.0, 1.0])
        n = np.array([-u[1], u[0]])
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        dx, dy = xs + (origin[0] - a[0]), ys + (origin[1] - a[1])
        along = dx * u[0] + dy * u[1]
        across = dx * n[0] + dy * n[1]
        t = np.clip(along / max(length, 1e-6), 0.0, 1.0)
        local = self.half_width * (1.0 + TAPER / 2 - TAPER * t)
        # distance to the segment: a capsule, round at the elbow and at the wrist; a short (end-on)
        # forearm's elbow end is flattened into the upper arm's end, where a full round end would
        # stand out beside the hand as a disc that no forearm seen end-on shows
        elbow_round = float(np.clip(length / (ELBOW_ROUND_LENGTH * self.half_width), 0.15, 1.0))
        beyond = np.where(along < 0, -along / elbow_round, np.where(along > length, along - length, 0.0))
        dist = np.sqrt(across ** 2 + beyond ** 2)
        soft = max(self.feather_px, 0.5)
        alpha = np.clip((local - dist) / soft + 0.5, 0.0, 1.0)
        col = np.clip(across * (self.half_width / np.maximum(local, 1e-6)) + self.bins, 0, len(self.profile) - 1)
        if self.strip is not None:
            row = (t * (len(self.strip) - 1)).astype(np.float32)
            rgb = cv2.remap(self.strip, col.astype(np.float32), row, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
            rgb = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
        else:
            colour = self.profile[np.round(col).astype(np.int64)]
            if self.elbow_gain is not None:
                colour = colour * (1.0 + (self.elbow_gain - 1.0) * (1.0 - t)[..., None])
            rgb = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
        return rgb, np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)


def sleeve_strip(texture: np.ndarray, own: np.ndarray, shoulder: np.ndarray, elbow: np.ndarray,
                 upper_half_width: float, bins: int) -> np.ndarray | None:
    """The upper arm's sleeve resampled in its bone's frame: (rows, 2 * bins + 1, 3) float32, row 0
    by the elbow, columns across the bone like a tube's profile (None: too little of it is shown).

    ``texture`` (H, W, 3): the upper arm's layer texture (its hidden pixels already made up);
    ``own`` (H, W bool): the upper arm's own pixels. Across is measured on the same side of the
    "down the arm" direction (shoulder -> elbow here, elbow -> wrist on the forearm), so the sleeve's
    lit side stays on the same side of the arm when the forearm swings.
    """
    shoulder, elbow = np.asarray(shoulder, np.float64), np.asarray(elbow, np.float64)
    v = elbow - shoulder
    length = float(np.hypot(*v))
    if length < 8 or upper_half_width < 2 or bins < 1:
        return None
    u = v / length
    n = np.array([-u[1], u[0]])
    rows = max(8, int(round((STRIP_SPAN[1] - STRIP_SPAN[0]) * length)))
    from_elbow = (STRIP_SPAN[0] + (STRIP_SPAN[1] - STRIP_SPAN[0]) * np.arange(rows) / (rows - 1)) * length
    centres = elbow[None, :] - u[None, :] * from_elbow[:, None]
    across = np.arange(-bins, bins + 1) * (STRIP_WIDTH * upper_half_width / bins)
    pts = centres[:, None, :] + across[None, :, None] * n[None, None, :]
    mx, my = pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32)
    valid = cv2.remap(own.astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) > 0.99
    if valid.mean() < STRIP_MIN_VALID:
        return None
    strip = cv2.remap(np.ascontiguousarray(texture, np.float32), mx, my, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
    # rows that are mostly hidden (a hand held over the elbow, the torso's edge) are left out: made
    # up from their few shown samples they were flat bands of one colour, which the unfolded
    # forearm showed as a disc of plain cloth at its elbow end
    full = valid.mean(axis=1) >= STRIP_ROW_VALID
    if full.sum() < max(8, STRIP_MIN_ROWS * rows):
        return None
    strip, valid = strip[full], valid[full]
    if not valid.all():
        # samples off the sleeve (its outline dips inside the strip): the nearest valid one in the row
        idx = np.arange(strip.shape[1])
        for r in range(len(strip)):
            ok = valid[r]
            if not ok.all():
                for c in range(3):
                    strip[r, ~ok, c] = np.interp(idx[~ok], idx[ok], strip[r, ok, c])
    return strip


def _even_rows(strip: np.ndarray) -> np.ndarray:
    """The strip with the light and shade along the upper arm taken out (the shadow by the torso at
    the elbow, a highlight on the shoulder belong to where it hangs in the photo, not to the
    forearm): each row brought to the strip's brightness, so the weave and the light across the
    arm are what remains."""
    rows = len(strip)
    row_level = _luma(strip).mean(axis=1)
    sigma = max(2.0, 0.08 * rows)
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    smooth = np.convolve(np.pad(row_level, radius, mode="edge"), kernel / kernel.sum(), mode="valid")
    target = float(np.percentile(smooth, 60))
    return np.clip(strip * (target / np.maximum(smooth, 1.0))[:, None, None].astype(np.float32), 0, 255)


def skin_like(ab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(...) bool: which CIELAB chroma values ``ab`` (..., 2) are the skin whose median chroma is
    ``ref`` (2,): its hue, and some of its saturation in that hue (pale skin and white or grey cloth
    are close in chroma alone; a cool white shirt, a little green or blue, is as far from grey as
    pale skin is, the other way: halfbody_0048's blouse passed for her arms' skin)."""
    dist = np.hypot(*(ab - ref).transpose(-1, *range(ab.ndim - 1)))
    size = float(np.hypot(*ref))
    warmth = (ab[..., 0] * ref[0] + ab[..., 1] * ref[1]) / max(size, 1e-6)   # chroma along the skin's hue
    return (dist < 1.5 * SKIN_CHROMA) & (warmth > 0.4 * size)


def hand_skin_alpha(image: np.ndarray, hand_alpha: np.ndarray, keep_near: np.ndarray | None = None) -> np.ndarray | None:
    """The hand layer's opacity without the sleeve's cuff (H, W float32; None: no hand to go by).

    Over an end-on forearm the photo's wrist is the cuff and the sleeve's dark opening, and the
    hand layer takes them in (and the shirt between the thumb and the fingers, inside the hull of
    its keypoints); a forearm that unfolds draws its own wrist, and those pixels riding on the hand
    would stick out of it as wedges of cloth. Removed: the pieces of the layer that are not the
    hand's skin (its hue and some of its saturation) and reach the layer's outline. Kept: the rest,
    the shadows enclosed between the fingers included, and (``keep_near``, H, W bool) the pieces
    that touch those pixels (the cuff joining the hand to a forearm that has not unfolded).
    """
    inside = hand_alpha > 0.5
    if inside.sum() < 30:
        return None
    ys, xs = np.nonzero(hand_alpha > 0.01)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = image[y0:y1, x0:x1]
    ab = cv2.cvtColor(box, cv2.COLOR_RGB2LAB)[..., 1:].astype(np.float32) - 128
    ref = np.median(ab[inside[y0:y1, x0:x1]], axis=0)
    layer = hand_alpha[y0:y1, x0:x1] > 0.3
    skin = skin_like(ab, ref)
    cloth = layer & ~skin
    cloth = cv2.morphologyEx(cloth.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    rim = layer & ~(cv2.erode(layer.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    count, labels = cv2.connectedComponents(cloth, connectivity=8)
    if (layer & skin).sum() < 0.3 * inside.sum():
        return None           # no hand's skin to go by (a glove): as it is
    drop = np.isin(labels, np.unique(labels[rim & (labels > 0)])) if count > 1 else np.zeros_like(layer)
    kept = np.zeros_like(layer)
    if keep_near is not None:     # pieces that join the hand to what it stays attached to
        near = keep_near[y0:y1, x0:x1]
        kept = np.isin(labels, np.unique(labels[near & (labels > 0)])) & (labels > 0) | near
        drop &= ~kept
    # the wall or the desk round the fingers that the segmentation took in: a thin rim of another
    # colour and light than the hand's (often the skin's hue: a tan desk), a halo once it moves
    lab = cv2.cvtColor(box, cv2.COLOR_RGB2LAB).astype(np.float32) * [100.0 / 255.0, 1.0, 1.0]
    core_skin = layer & skin & (cv2.erode(layer.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0)
    if core_skin.sum() >= 20:
        # (padded: the layer touches its own bounding box, and the box's edge is outside it)
        depth = cv2.distanceTransform(np.pad(layer.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
        far = np.linalg.norm(lab - np.median(lab[core_skin], axis=0), axis=-1) > HALO_LAB
        drop |= layer & (depth <= HALO_PX) & far & ~kept
    if not drop.any():
        return None
    # feathered into the kept side only: the dropped pieces are gone to their last pixel
    drop = cv2.dilate(drop.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    keep = 1.0 - np.clip(cv2.GaussianBlur(drop, (0, 0), 0.8) + drop, 0.0, 1.0)
    out = hand_alpha.astype(np.float32).copy()
    out[y0:y1, x0:x1] *= keep
    return out


def forearm_tube(image: np.ndarray, opaque: np.ndarray, skin: np.ndarray, a: np.ndarray, b: np.ndarray,
                 half_width: float, feather_px: float = 1.2,
                 nearby: np.ndarray | None = None,
                 upper: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None = None,
                 bare: bool | None = None, skin_lights: bool = True) -> ForearmTube | None:
    """The tube an end-on forearm unfolds into, coloured like the forearm (None: nothing to go by).

    A forearm the photo shows end-on is a short blob of skin or sleeve, with the elbow, the hand's
    edge and the gaps between them in its outline; stretched along the bone it tears into stripes.
    The tube is what the unfolded forearm must look like: ``half_width`` either side of the bone,
    coloured with the limb's own colour profile across its width, measured on ``opaque`` (H, W
    bool: pixels that certainly are this forearm; bone a -> b in the photo) and blurred into
    lighting; where the photo shows too little of it, the colour of ``nearby`` (H, W bool: the
    upper arm by the elbow, the same sleeve or skin) with a cylinder's shading. Bare skin takes the
    brightness of ``skin`` (H, W bool, the hand). ``upper``: (texture, own pixels, shoulder, elbow,
    half width) of the upper arm: a sleeve (or a bare arm whose upper arm is bare too) is textured
    with its strip (``sleeve_strip``). ``bare``: whether the forearm is bare skin, when the caller
    knows better than this forearm's pixels show (the other arm's; None: decided here).
    ``skin_lights``: whether ``skin`` is lit like the forearm (the hand is; the face, the reference
    where no hand shows, gives the skin's colour only: a bare tube then keeps its own light).
    """
    forced = bare
    if half_width < 1:
        return None
    v = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    length = float(np.hypot(*v))
    u = v / length if length > 1e-6 else np.array([0.0, 1.0])
    n = np.array([-u[1], u[0]])
    soft = max(feather_px, 0.5)
    bins = int(np.ceil(half_width * (1.0 + TAPER / 2)))
    offsets = np.arange(-bins, bins + 1)
    roundness = np.sqrt(np.clip(1.0 - (offsets / (bins + 0.5)) ** 2, 0.0, 1.0))
    hand = np.median(image[skin].astype(np.float64), axis=0) if skin.sum() >= 20 else None
    near = _lit_colour(image[nearby]) if nearby is not None and nearby.sum() >= 20 else None
    # the forearm's own pixels: opaque, within its half width of the bone, along its length
    sy, sx = np.nonzero(opaque)
    along = (sx - a[0]) * u[0] + (sy - a[1]) * u[1]
    across = (sx - a[0]) * n[0] + (sy - a[1]) * n[1]
    inside = (np.abs(across) <= half_width) & (along > -soft) & (along < length + soft)
    sy, sx, across = sy[inside], sx[inside], across[inside]
    colours = image[sy, sx].astype(np.float64)
    # the skin by the elbow (the upper arm's pixels there that have the hand's chroma)
    near_skin = None
    if hand is not None and nearby is not None and nearby.sum() >= 20:
        near_px = image[nearby].astype(np.float64)
        # (with some of the skin's saturation: a pale grey or blue shirt is close to it in chroma)
        near_skin = near_px[skin_like(_chroma(near_px), _lab(hand)[1:])]
    # bare forearm or sleeve? Skin is what has the hand's chroma; a bare forearm measures its skin
    # only, a sleeve its cloth (not the shirt or the wall the blob's outline takes in)
    is_skin = _chroma_distances(colours, hand) < SKIN_CHROMA if hand is not None and len(colours) else None
    bare = bool(forced) if forced is not None else bool(is_skin is not None and is_skin.mean() >= 0.35)
    by_elbow = forced is None and not bare and near_skin is not None and len(near_skin) >= 0.35 * nearby.sum()
    if by_elbow:
        # an end-on forearm's pixels are mostly the shirt behind it: bare also if the arm by the
        # elbow is (a short sleeve ends above it); the few skin pixels of the blob are not used
        bare = True
        across, colours = across[:0], colours[:0]
    elif is_skin is not None:
        keep = is_skin if bare else ~is_skin
        across, colours = across[keep], colours[keep]
    own = np.median(colours, axis=0) if len(colours) >= 20 else None
    profile = np.zeros((len(offsets), 3))
    have = np.zeros(len(offsets), bool)
    if len(colours):
        off = np.clip(np.round(across).astype(np.int64) + bins, 0, len(offsets) - 1)
        for k in np.unique(off):
            sel = off == k
            if sel.sum() >= 3:
                profile[k] = np.median(colours[sel], axis=0)
                have[k] = True
    if have.mean() >= 0.5 and not bare and near is not None:
        # a sleeve the forearm does not share with the upper arm may be something it holds (a
        # helmet, a cup): then the sleeve by the elbow
        if _lab_distance(np.median(profile[have], axis=0), near) > SAME_MATERIAL:
            have[:] = False
    if have.mean() >= 0.5:
        profile = _smooth_profile(profile, have, sigma=0.25 * half_width)
        # the end-on blob is the limb's shadowed underside or end, darker (and skin redder) than the
        # limb in the light; the unfolded forearm faces the light like the hand does (bare skin) or
        # like the same sleeve by the elbow, so it takes that colour with the blob's light and shade
        lit = hand if bare else near
        if bare and not skin_lights and len(colours) >= 20:
            lit = _lit_colour(colours)
        if lit is not None:
            profile = _relit(profile, lit, roundness)
    else:
        # the photo shows (almost) none of it: skin like the hand's, or the sleeve by the elbow,
        # shaded as a cylinder
        base = hand if (bare or near is None) else near
        if base is None:
            return None
        profile = base[None, :] * (0.82 + 0.18 * roundness[:, None])
    strip = None
    if upper is not None:
        strip = sleeve_strip(upper[0], upper[1], upper[2], upper[3], upper[4], bins)
        if strip is not None and hand is not None:
            # a sleeve on both: the upper arm's must be the forearm's material. Bare skin keeps the
            # smooth profile: resampled from an upper arm, skin shows the arm's cross-wise creases
            # and its shade beside the torso as bands across the forearm
            skin = (_chroma_distances(strip.reshape(-1, 3), hand) < SKIN_CHROMA).reshape(strip.shape[:2])
            if bare or (skin.mean(axis=1) > 0.5).mean() > 0.1:
                strip = None
        if strip is not None and own is not None and \
                _lab_distance(np.median(strip.reshape(-1, 3), axis=0), own) > SAME_MATERIAL:
            strip = None      # the forearm the photo shows is not the upper arm's sleeve (rolled up)
        if strip is not None:
            strip = _even_rows(strip)
    elbow_gain = None
    if bare and strip is None and near_skin is not None and len(near_skin) >= 20:
        # a bare forearm meets the upper arm's skin at the elbow, which hangs in the torso's shade
        # and is seldom the hand's colour: the tube runs from the one to the other along its length
        # (mostly a change of light: a hue carried over from pixels the skin test let through, the
        # shirt by a pale hand, turned the elbow end grey-blue)
        target, centre = _lit_colour(near_skin), np.maximum(profile[bins], 1.0)
        light = float(np.clip(_luma(target) / max(float(_luma(centre)), 1.0), *ELBOW_GAIN_LIMITS))
        elbow_gain = light * np.clip(target / centre / light, 1.0 - ELBOW_HUE_SHIFT, 1.0 + ELBOW_HUE_SHIFT)
        # skin in shade is darker and, if anything, more saturated; a greyer elbow end is the shirt
        # the skin test let through (halfbody_0048's forearm swung out grey-beige): light only
        if _saturation(centre * elbow_gain) < _saturation(centre):
            elbow_gain = np.full(3, light)
    return ForearmTube(profile, bins, float(half_width), feather_px, strip, bare, elbow_gain)
