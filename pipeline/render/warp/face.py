"""The talking face, drawn onto the portrait in its rest frame before the body warp.

Editing the rest-frame photo (the head bone then carries the result) keeps the face independent
of head and body motion. The face is a mesh (face_mesh.py) whose vertices move with the
articulation of each frame (face_params.FaceFrame):

- the jaw turns about its hinge (the line through the two jaw joints, in 3D with the mesh's
  depth): the chin, the lower lip and the skin between follow one rigid arc, and the cheeks
  blend from it to the skull with harmonic weights, so the skin slides instead of stretching;
- lip width, rounding, upper-lip raise, lower-lip tuck and closure move the lip contours, and
  the skin around follows smoothly, fading out before the nose and the chin's edge;
- the upper eyelid margin comes down to meet the lower one for a blink.

The mesh's rim is feathered into the untouched photo, and the mesh is drawn over it, so the neck
under the chin is covered as the chin comes down, never dragged. Where the lips have parted the
inside of the mouth is painted (mouth_interior.py). All work happens in one crop around the face.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face_mesh import FaceTopology, harmonic_weights, rasterize_inverse, topology_for
from .face_params import FaceFrame
from .mouth_interior import MouthInterior, contour_columns

_SKIRT = 0.025
"""The feathered rim outside the face oval, as a share of the face height (kept thin: it carries
whatever lies just outside the face, background or collar, along with the jaw)."""
_REST_EPS = 1e-3
_CLOSURE_JAW = 0.8
"""Share of the jaw opening taken back when the lips close (m/b/p are said with the jaw up)."""
_LID_PIN_UP, _LID_PIN_LO = 0.35, 0.15
"""On a full blink the lid margins sample the photo this share of the eye's opening beyond them."""
_CREASE_DARK = 0.45
"""How dark the line where the lips touch is drawn (a share of the lips' own brightness)."""
_RING_FOLLOW = (0.9, 0.6)
"""How much of its corner's lip motion the skin one and two mesh rings around a mouth corner takes."""
_SPREAD = 0.24
"""Share of its distance from the mouth's middle a lip vertex moves out on a full spread (ee)."""
_NARROW, _ROUND_NARROW = 0.14, 0.24
"""Shares of its distance from the mouth's middle a lip vertex moves in on a full narrowing
(width -1) and on full rounding; "oo" has both: its corners come in to 62 % of the rest width."""


def face_topology(face_mesh: np.ndarray | None, face_depth: np.ndarray | None, face68: np.ndarray | None,
                  known68: np.ndarray | None, scale: tuple[float, float]) -> FaceTopology | None:
    """The portrait's face topology in render pixels (``scale``: render px per working px)."""
    sx, sy = scale
    mesh = None if face_mesh is None else np.asarray(face_mesh, np.float64)[:, :2] * [sx, sy]
    depth = None if face_depth is None else np.asarray(face_depth, np.float64) * (sx + sy) / 2
    pts = None
    if face68 is not None and (known68 is None or np.asarray(known68).sum() >= 60):
        pts = np.asarray(face68, np.float64)   # already in render px
    return topology_for(mesh, depth, pts)


def _inside(poly: np.ndarray, pts: np.ndarray, tol: float) -> np.ndarray:
    c = np.round(poly).astype(np.float32).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(c, (float(x), float(y)), True) >= -tol for x, y in pts])


class FaceAnimator:
    """Jaw, lips and eyelids for one portrait; build once, ``apply`` per frame."""

    def __init__(self, topology: FaceTopology | None, image_shape: tuple[int, int], max_open: float = 0.12) -> None:
        self.shape = tuple(int(v) for v in image_shape)
        self.topology = topology
        self.enabled = topology is not None and len(topology.triangles) > 20
        if not self.enabled:
            return
        t = topology
        p = t.rest
        n = t.num_vertices
        # the face frame: x across the eyes, y down the face; origin the mouth's middle
        ex = p[t.eye_corners[1]] - p[t.eye_corners[0]]
        self.ax = ex / max(np.hypot(*ex), 1e-6)
        self.ay = np.array([-self.ax[1], self.ax[0]])
        self.origin = np.concatenate([p[t.inner_upper], p[t.inner_lower]]).mean(0)
        rel = p - self.origin
        self.u, self.v = rel @ self.ax, rel @ self.ay
        self.z = np.asarray(t.depth, np.float64)
        brows = (p[t.brows[0]] + p[t.brows[1]]) / 2
        self.face_h = float(np.hypot(*(p[t.chin] - brows)))
        self.mouth_w = max(float(np.hypot(*(p[t.outer_upper[-1]] - p[t.outer_upper[0]]))), 2.0)

        corners = {int(t.outer_upper[0]), int(t.outer_upper[-1]), int(t.inner_upper[0]), int(t.inner_upper[-1])}
        up_poly = np.concatenate([p[t.outer_upper], p[t.inner_upper][::-1]])
        lo_poly = np.concatenate([p[t.outer_lower], p[t.inner_lower][::-1]])
        near = np.hypot(self.u, self.v) < self.mouth_w
        # the contours decide first: on a closed mouth the inner contours lie on both lips' outlines
        up_c = set(t.outer_upper.tolist()) | set(t.inner_upper.tolist())
        lo_c = set(t.outer_lower.tolist()) | set(t.inner_lower.tolist())
        upper = (set(np.nonzero(near & _inside(up_poly, p, 0.3))[0].tolist()) - lo_c) | up_c
        lower = (set(np.nonzero(near & _inside(lo_poly, p, 0.3))[0].tolist()) - up_c - upper) | lo_c
        upper, lower = upper - corners, lower - corners
        self.upper_set = np.array(sorted(upper), np.int64)
        self.lower_set = np.array(sorted(lower), np.int64)
        self.corner_set = np.array(sorted(corners), np.int64)
        # lip thickness at the middle (the inner and outer contours have the middle at their centre)
        iu, ou = t.inner_upper[len(t.inner_upper) // 2], t.outer_upper[len(t.outer_upper) // 2]
        il, ol = t.inner_lower[len(t.inner_lower) // 2], t.outer_lower[len(t.outer_lower) // 2]
        self.upper_thick = max(float(self.v[iu] - self.v[ou]), 1.0)
        self.lower_thick = max(float(self.v[ol] - self.v[il]), 1.0)

        # jaw weights: 1 on the mandible (lower lip, chin, jaw line), 0 on the skull, harmonic between
        oval = set(t.oval.tolist())
        skull = (set(np.nonzero(self.v < self.v[t.nose_base] + 0.1 * (self.v[t.inner_upper].mean()
                                                                        - self.v[t.nose_base]))[0].tolist())
                 | (oval - set(t.jawline.tolist())) | upper)
        ones = lower | set(t.jawline.tolist())
        fixed = sorted(skull | ones | corners)
        vals = [1.0 if i in ones else 0.5 if i in corners else 0.0 for i in fixed]
        self.jaw_w = np.clip(harmonic_weights(n, t.triangles, np.array(fixed), np.array(vals))[:, 0], 0, 1)
        hinge = list(t.hinges)
        self.v_h = float(self.v[hinge].mean())
        self.z_h = float(self.z[hinge].mean())
        self.theta_max = self._solve_angle(max_open * self.face_h)

        # lip handles: every lip vertex; the skin around follows them, fading out by a mouth width
        # the skin ring around each outer corner travels with the corner, so the photo's own dark
        # commissure moves as one piece with it instead of being smeared over the cheek
        outer_corners = (int(t.outer_upper[0]), int(t.outer_upper[-1]))
        nbrs: dict[int, set[int]] = {}
        for tri in t.triangles:
            for a in tri:
                nbrs.setdefault(int(a), set()).update(int(b) for b in tri)
        ring_of, ring_share = {}, {}
        lips = upper | lower | corners
        for oc in outer_corners:
            front = {oc}
            for share in _RING_FOLLOW:
                front = {b for a in front for b in nbrs.get(a, ()) if b not in lips and b not in ring_of}
                for b in front:
                    ring_of[b], ring_share[b] = oc, share
        self.handles = np.array(sorted(upper | lower | corners | set(ring_of)), np.int64)
        pos = {int(i): k for k, i in enumerate(self.handles)}
        self.h_ring = np.array([pos[i] for i in sorted(ring_of)], np.int64)
        self.h_ring_corner = np.array([pos[ring_of[i]] for i in sorted(ring_of)], np.int64)
        self.h_ring_share = np.array([ring_share[i] for i in sorted(ring_of)])
        dist = np.hypot(self.u, self.v)
        far = set(np.nonzero(dist > 1.1 * self.mouth_w)[0].tolist()) | oval
        far |= set(np.nonzero(self.v < self.v[t.nose_base] + 0.02 * self.mouth_w)[0].tolist())
        far -= set(self.handles.tolist())
        zero = np.array(sorted(far), np.int64)
        fixed = np.concatenate([self.handles, zero])
        vals = np.zeros((len(fixed), len(self.handles)))
        vals[np.arange(len(self.handles)), np.arange(len(self.handles))] = 1.0
        self.lip_w = harmonic_weights(n, t.triangles, fixed, vals).astype(np.float64)
        hu = self.u[self.handles]
        self.h_xr = np.clip(hu / (self.mouth_w / 2), -1.2, 1.2)
        # the inner corners' across-the-mouth position: the opening's profile runs from -1 to 1 there
        self.inner_half = max(float(np.abs(self.u[[t.inner_upper[0], t.inner_upper[-1]]]).mean()
                                    / (self.mouth_w / 2)), 0.3)
        self.h_upper = np.isin(self.handles, self.upper_set)
        self.h_lower = np.isin(self.handles, self.lower_set)
        self.h_outer_up = np.isin(self.handles, t.outer_upper[1:-1])
        self.h_outer_lo = np.isin(self.handles, t.outer_lower[1:-1])
        # per lip handle: where it sits between the slit (0) and its lip's outer contour (1)
        hv0 = self.v[self.handles]
        slit_up = contour_columns(np.stack([self.u[t.inner_upper], self.v[t.inner_upper]], 1), hu)
        slit_lo = contour_columns(np.stack([self.u[t.inner_lower], self.v[t.inner_lower]], 1), hu)
        edge_up = contour_columns(np.stack([self.u[t.outer_upper], self.v[t.outer_upper]], 1), hu)
        edge_lo = contour_columns(np.stack([self.u[t.outer_lower], self.v[t.outer_lower]], 1), hu)
        thick_up = np.nan_to_num(slit_up - edge_up)
        thick_lo = np.nan_to_num(edge_lo - slit_lo)
        frac_up = np.nan_to_num((slit_up - hv0) / np.maximum(thick_up, 0.5))
        frac_lo = np.nan_to_num((hv0 - slit_lo) / np.maximum(thick_lo, 0.5))
        self.h_frac = np.clip(np.where(self.h_upper, frac_up, np.where(self.h_lower, frac_lo, 0.0)), 0, 1)
        self.h_frac[self.h_outer_up | self.h_outer_lo] = 1.0

        # eyelids: both margins are handles; the skin up to the brow follows
        eye_idx, eye_fixed = [], set()
        for up, lo in t.eyes:
            centre = p[np.concatenate([up, lo])].mean(0)
            width = float(np.hypot(*(p[up[-1]] - p[up[0]])))
            d = np.hypot(*(p - centre).T)
            eye_fixed |= set(np.nonzero(d > 1.1 * width)[0].tolist()) | {int(up[0]), int(up[-1])}
            eye_idx += [int(i) for i in up[1:-1]] + [int(i) for i in lo[1:-1]]
        self.eye_handles = np.array(eye_idx, np.int64)
        zero = np.array(sorted(eye_fixed - set(eye_idx)), np.int64)
        fixed = np.concatenate([self.eye_handles, zero])
        vals = np.zeros((len(fixed), len(self.eye_handles)))
        vals[np.arange(len(self.eye_handles)), np.arange(len(self.eye_handles))] = 1.0
        w_eye = harmonic_weights(n, t.triangles, fixed, vals)
        # per eyelid-margin vertex, the eye's opening there (rest px): how far a blink carries it
        self.lid_idx, self.lid_open, self.lid_dir = [], [], []
        for up, lo in t.eyes:
            pu, pl = p[up], p[lo]
            gu = np.nan_to_num(contour_columns(pl, pu[1:-1, 0]) - pu[1:-1, 1])
            gl = np.nan_to_num(pl[1:-1, 1] - contour_columns(pu, pl[1:-1, 0]))
            self.lid_idx += [int(i) for i in up[1:-1]] + [int(i) for i in lo[1:-1]]
            self.lid_open += list(np.maximum(gu, 0)) + list(np.maximum(gl, 0))
            self.lid_dir += [-1.0] * len(gu) + [1.0] * len(gl)
        self.lid_idx = np.array(self.lid_idx, np.int64)
        self.lid_open = np.array(self.lid_open)
        self.lid_dir = np.array(self.lid_dir)
        self.eye_rows = np.nonzero(np.abs(w_eye).max(1) > 1e-4)[0]
        self.eye_w = w_eye[self.eye_rows]

        self._build_skirt()
        self._build_crop()
        self.interior = MouthInterior(np.zeros((1, 1, 3), np.uint8), p[t.inner_upper], p[t.inner_lower],
                                      p[t.outer_upper], p[t.outer_lower], max_open * self.face_h)
        self._interior_ready = False

    # ------------------------------------------------------------------------------------------
    # set-up

    def _solve_angle(self, drop: float) -> float:
        """The jaw angle that drops the lower lip's middle by ``drop`` px (bisection on the hinge arc)."""
        t = self.topology
        c = int(t.inner_lower[len(t.inner_lower) // 2])
        e, d = self.v[c] - self.v_h, self.z_h - self.z[c]
        lo, hi = 0.0, 0.8
        for _ in range(40):
            mid = (lo + hi) / 2
            if e * (np.cos(mid) - 1) + d * np.sin(mid) < drop:
                lo = mid
            else:
                hi = mid
        return lo

    def _build_skirt(self) -> None:
        """A feathered ring outside the oval: it moves with the oval and fades into the photo."""
        t = self.topology
        ring = t.oval
        p = t.rest
        centre = p[ring].mean(0)
        out = p[ring] - centre
        out = out / np.maximum(np.hypot(*out.T), 1e-6)[:, None]
        skirt = p[ring] + out * (self.face_h * _SKIRT)
        n = t.num_vertices
        m = len(ring)
        tris = []
        for k in range(m):
            a, b = int(ring[k]), int(ring[(k + 1) % m])
            sa, sb = n + k, n + (k + 1) % m
            tris += [(a, b, sb), (a, sb, sa)]
        self.all_rest = np.concatenate([p, skirt])
        self.partner = np.concatenate([np.arange(n), ring])
        self.all_tris = np.concatenate([t.triangles, np.array(tris, np.int32)]).astype(np.int64)
        self.valpha = np.concatenate([np.ones(n), np.zeros(m)])

    def _build_crop(self) -> None:
        h, w = self.shape
        pts = self.all_rest
        drop = self.theta_max * max(self.z_h - self.z.min(), self.face_h) + 2
        x0, y0 = pts.min(0) - 2
        x1, y1 = pts.max(0) + 2 + np.abs(self.ay) * drop
        self.x0, self.y0 = int(max(0, np.floor(x0))), int(max(0, np.floor(y0)))
        self.x1, self.y1 = int(min(w, np.ceil(x1))), int(min(h, np.ceil(y1)))
        ys, xs = np.mgrid[self.y0:self.y1, self.x0:self.x1].astype(np.float32)
        self._identity = np.stack([xs, ys], -1)
        self._map = self._identity.copy()
        self._alpha = np.zeros(xs.shape, np.float64)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the crop the animator rewrites each frame."""
        return self.x0, self.y0, self.x1, self.y1

    # ------------------------------------------------------------------------------------------
    # per frame

    def vertices(self, f: FaceFrame) -> np.ndarray:
        """(N, 2) moved positions (rest-frame px) of the face vertices for frame ``f``."""
        t = self.topology
        c = float(np.clip(f.lip_closure, 0, 1))
        # to shut the lips on m/b/p the jaw comes most of the way up (the lips seal the rest)
        jaw = float(np.clip(f.jaw, 0, 1.5)) * (1 - _CLOSURE_JAW * c)
        # jaw: each vertex turns by its share of the angle about the hinge line
        phi = jaw * self.theta_max * self.jaw_w
        e, d = self.v - self.v_h, self.z_h - self.z
        dv = e * (np.cos(phi) - 1) + d * np.sin(phi)
        du = -0.04 * phi / max(self.theta_max, 1e-6) * self.u * (self.v > 0)   # the lower face narrows a little
        hv = self.v[self.handles] + dv[self.handles]
        hu = self.u[self.handles] + du[self.handles]
        xr = self.h_xr
        bump = np.sqrt(np.clip(1 - xr ** 2, 0, 1))
        mw = self.mouth_w
        s = float(np.clip(f.width, -1, 1))
        r = float(np.clip(f.rounding, 0, 1))
        # corners: wide spreads them ~24 %, narrow and rounding pull them in to ~62 % on "oo"
        hdu = (_SPREAD if s > 0 else _NARROW) * s * self.u[self.handles] - _ROUND_NARROW * r * self.u[self.handles]
        hdv = -max(s, 0) * 0.03 * mw * np.clip(xr, -1, 1) ** 2
        # rounding everts the lips: each lip grows away from the slit (its outer contour most,
        # the lip between in proportion), so the lips look fuller and pushed forward
        if r > 0:
            hdv += np.where(self.h_upper, -0.05, 0.06) * r * mw * bump * self.h_frac
        hdv += np.where(self.h_upper, -float(np.clip(f.upper_lip, 0, 1)) * 0.06 * mw * (1 - 0.5 * xr ** 2), 0)
        # lower-lip tuck and closure act on the gap left between the inner lips
        gap = self._gap(hu + hdu, hv + hdv)
        lo_lip = float(np.clip(f.lower_lip, 0, 1))
        if lo_lip > 0:
            tuck = lo_lip * np.maximum(gap - 0.45 * self.interior.teeth_show, 0)
            hdv -= np.where(self.h_lower, tuck + np.where(self.h_outer_lo, 0.25 * lo_lip * self.lower_thick, 0), 0)
            gap = self._gap(hu + hdu, hv + hdv)
        tg = float(np.clip(f.tongue, 0, 1))
        if tg > 0:   # th: the lower lip drops off the teeth so the tongue's tip shows between them
            gap = self._gap(hu + hdu, hv + hdv)
            room = np.maximum(2.0 * self.interior.teeth_show - gap, 0) * bump
            hdv += np.where(self.h_lower, tg * room, 0)
        # the upper lip's ends come down with the corners (the corners drop with the jaw, by half)
        ax = np.clip(np.abs(xr) / self.inner_half, 0, 1)
        corner_drop = float(dv[self.corner_set].mean())
        hdv += np.where(self.h_upper, corner_drop * ax ** 4, 0)
        gap = self._gap(hu + hdu, hv + hdv)
        g = np.maximum(gap, 0)
        # the opening's outline: a lens that narrows smoothly into the corners (the lips stay
        # together near the commissures), and on rounded vowels a small round hole in the middle
        prof = np.clip(1 - ax ** 2.2, 0, 1) ** 0.85
        half = 1 - 0.62 * r
        prof = prof * np.clip(1 - (ax / half) ** 2, 0, 1) ** 0.5 if r > 0 else prof
        seal = np.maximum(1 - prof, c)
        hdv += np.where(self.h_lower, -np.where(seal > c, 0.5, 0.65) * seal * g, 0)
        hdv += np.where(self.h_upper, np.where(seal > c, 0.5, 0.35) * seal * g, 0)
        hdu[self.h_ring] = self.h_ring_share * hdu[self.h_ring_corner]
        hdv[self.h_ring] = self.h_ring_share * hdv[self.h_ring_corner]
        if c > 0:
            press = 0.12 * c
            hdv += np.where(self.h_outer_up, press * self.upper_thick, 0)
            hdv -= np.where(self.h_outer_lo, press * self.lower_thick, 0)
        lip = self.lip_w @ np.stack([hdu, hdv], 1)
        du, dv = du + lip[:, 0], dv + lip[:, 1]
        # eyelids
        b = float(np.clip(f.blink, 0, 1))
        if b > 0:
            ed = np.zeros((len(self.eye_handles), 2))
            k = 0
            for up, lo in t.eyes:
                pu, pl = t.rest[up], t.rest[lo]
                yu = contour_columns(pu, pl[1:-1, 0])
                yl = contour_columns(pl, pu[1:-1, 0])
                nu, nl = len(up) - 2, len(lo) - 2
                ed[k:k + nu, 1] = b * 0.8 * (yl - pu[1:-1, 1])
                ed[k + nu:k + nu + nl, 1] = -b * 0.2 * (pl[1:-1, 1] - yu)
                k += nu + nl
            eye = self.eye_w @ np.nan_to_num(ed)
            dv[self.eye_rows] += eye[:, 1]
        return t.rest + du[:, None] * self.ax + dv[:, None] * self.ay

    def _gap(self, hu: np.ndarray, hv: np.ndarray) -> np.ndarray:
        """Per lip handle: the inner-lip gap (face-frame px) at its across-the-mouth position."""
        t = self.topology
        pos = {int(i): k for k, i in enumerate(self.handles)}
        iu = [pos[int(i)] for i in t.inner_upper]
        il = [pos[int(i)] for i in t.inner_lower]
        upper = np.stack([hu[iu], hv[iu]], 1)
        lower = np.stack([hu[il], hv[il]], 1)
        g = contour_columns(lower, hu) - contour_columns(upper, hu)
        return np.nan_to_num(g)

    def apply(self, pristine: np.ndarray, work: np.ndarray, frame: FaceFrame | float = 0.0,
              blink: float | None = None) -> None:
        """Write this frame's face into ``work`` (the photo ``pristine`` everywhere else).

        ``frame``: a FaceFrame, or (the old call) a jaw opening with ``blink`` the eye closure.
        """
        if not self.enabled:
            return
        if not isinstance(frame, FaceFrame):
            frame = FaceFrame(jaw=float(frame), blink=float(blink or 0.0))
        ys, xs = slice(self.y0, self.y1), slice(self.x0, self.x1)
        if max(abs(frame.jaw), abs(frame.width), frame.rounding, frame.upper_lip, frame.lower_lip,
               frame.lip_closure, frame.blink, frame.tongue) < _REST_EPS:
            work[ys, xs] = pristine[ys, xs]
            return
        if not self._interior_ready:
            t = self.topology
            p = t.rest
            self.interior = MouthInterior(pristine, p[t.inner_upper], p[t.inner_lower], p[t.outer_upper],
                                          p[t.outer_lower], self.interior.max_gap)
            self._measure_slit(pristine)
            self._interior_ready = True
        moved = self.vertices(frame)
        dst = moved[self.partner] + (self.all_rest - self.all_rest[self.partner])
        src, pin = self._pinned_texture(moved, frame)
        np.copyto(self._map, self._identity)
        self._alpha.fill(0.0)
        rasterize_inverse(dst - [self.x0, self.y0], src, self.valpha, self.all_tris, self._map, self._alpha)
        warped = cv2.remap(pristine, self._map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        a = self._alpha.astype(np.float32)[..., None]
        out = warped.astype(np.float32) * a + pristine[ys, xs].astype(np.float32) * (1 - a)
        t = self.topology
        self.interior.paint(out, (self.x0, self.y0), moved[t.inner_upper], moved[t.inner_lower], pristine,
                            frame.jaw * (1 - _CLOSURE_JAW * frame.lip_closure), frame.rounding, frame.tongue)
        self._crease(out, moved, pin)
        if frame.blink > 0.3:
            self._lash_line(out, moved, frame.blink)
        work[ys, xs] = np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def _measure_slit(self, image: np.ndarray) -> None:
        """How far the photo's dark line between the lips reaches into each lip, per inner vertex.

        The face mesh puts its inner-lip contours somewhere inside the dark slit of a closed
        mouth, so the lips' own texture carries a band of it; once the lips part (or press
        together) that band would ride on their edges as a dark, speckled fringe. The band's
        extent above and below each inner vertex is measured once on the photo.
        """
        t = self.topology
        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
        ut, lt = self.upper_thick, self.lower_thick
        steps = np.arange(-0.75 * ut, 0.75 * lt + 1e-6, 0.25)
        self.slit_up = np.zeros(len(t.inner_upper))
        self.slit_lo = np.zeros(len(t.inner_lower))
        for j in range(1, len(t.inner_upper) - 1):
            for which, idx in ((0, t.inner_upper[j]), (1, t.inner_lower[j])):
                base = t.rest[idx]
                pts = base[None, :] + steps[:, None] * self.ay[None, :]
                prof = cv2.remap(grey, pts[:, 0].astype(np.float32).reshape(1, -1),
                                 pts[:, 1].astype(np.float32).reshape(1, -1), cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)[0]
                k = int(np.argmin(np.where(np.abs(steps) <= 0.5 * (ut + lt), prof, np.inf)))
                ref_u = float(np.median(prof[steps <= -0.45 * ut]))
                ref_l = float(np.median(prof[steps >= 0.45 * lt]))
                lo = float(prof[k])
                if min(ref_u, ref_l) - lo < 8.0:     # no dark line worth keeping off the lips
                    continue
                up = k
                while up > 0 and prof[up - 1] < lo + 0.5 * (ref_u - lo):
                    up -= 1
                dn = k
                while dn < len(prof) - 1 and prof[dn + 1] < lo + 0.5 * (ref_l - lo):
                    dn += 1
                if which == 0:
                    self.slit_up[j] = float(np.clip(-steps[up], 0, 0.6 * ut))
                else:
                    self.slit_lo[j] = float(np.clip(steps[dn], 0, 0.6 * lt))
        self._src = self.all_rest.copy()

    def _pinned_texture(self, moved: np.ndarray, f: FaceFrame) -> tuple[np.ndarray, np.ndarray]:
        """The mesh's texture points for this frame, and per inner-lip column how far they moved.

        As the lips part (or press, or round) the inner vertices sample the photo from just past
        the dark slit, so each lip's edge shows the lip's own colour; at rest they sample exactly
        where they are (the photo is left as it was).
        """
        t = self.topology
        gap = (moved[t.inner_lower] - moved[t.inner_upper]) @ self.ay
        band = self.slit_up + self.slit_lo + 1.0
        pin = np.clip(np.maximum.reduce([np.maximum(gap, 0) / band, np.full(len(gap), float(f.rounding)),
                                         np.full(len(gap), 0.7 * float(f.lip_closure))]), 0, 1)
        pin[[0, -1]] = 0.0
        src = self._src
        np.copyto(src, self.all_rest)
        src[t.inner_upper] -= (pin * self.slit_up)[:, None] * self.ay
        src[t.inner_lower] += (pin * self.slit_lo)[:, None] * self.ay
        b = float(np.clip(f.blink, 0, 1))
        if b > 0:   # a closing lid shows the lid's skin, not the lashes and the eye squeezed under it
            share = np.where(self.lid_dir < 0, _LID_PIN_UP, _LID_PIN_LO)
            src[self.lid_idx] += (self.lid_dir * share * b * self.lid_open)[:, None] * self.ay
        return src, pin * (self.slit_up + self.slit_lo > 0)

    def _crease(self, out: np.ndarray, moved: np.ndarray, pin: np.ndarray) -> None:
        """A thin soft line where the lips touch, in place of the slit taken off their edges."""
        if not pin.any():
            return
        t = self.topology
        up, lo = moved[t.inner_upper], moved[t.inner_lower]
        x0 = max(int(np.floor(min(up[:, 0].min(), lo[:, 0].min()))), self.x0)
        x1 = min(int(np.ceil(max(up[:, 0].max(), lo[:, 0].max()))) + 1, self.x1)
        if x1 - x0 < 2:
            return
        xs = np.arange(x0, x1, dtype=np.float64)
        top, bot = contour_columns(up, xs), contour_columns(lo, xs)
        ok = np.isfinite(top) & np.isfinite(bot)
        if not ok.any():
            return
        top, bot = np.where(ok, top, 0), np.where(ok, bot, 0)
        mid = (top + bot) / 2
        strength = np.interp(xs, up[:, 0], pin) * np.clip(1.0 - (bot - top) / 1.5, 0, 1) * ok
        y0 = max(int(np.floor(mid[ok].min())) - 2, self.y0)
        y1 = min(int(np.ceil(mid[ok].max())) + 3, self.y1)
        if y1 <= y0:
            return
        ys = np.arange(y0, y1, dtype=np.float64)[:, None]
        dark = _CREASE_DARK * strength * np.exp(-((ys - mid) ** 2) / 0.7)
        region = out[y0 - self.y0:y1 - self.y0, x0 - self.x0:x1 - self.x0]
        region *= (1 - dark[..., None]).astype(np.float32)

    def _lash_line(self, out: np.ndarray, moved: np.ndarray, b: float) -> None:
        """A soft dark line where the closing lid meets the lower lid."""
        for up, _ in self.topology.eyes:
            line = moved[up]
            x0 = max(int(np.floor(line[:, 0].min())), self.x0)
            x1 = min(int(np.ceil(line[:, 0].max())) + 1, self.x1)
            if x1 - x0 < 2:
                continue
            xs = np.arange(x0, x1, dtype=np.float64)
            yc = contour_columns(line, xs)
            y0 = max(int(np.floor(np.nanmin(yc))) - 3, self.y0)
            y1 = min(int(np.ceil(np.nanmax(yc))) + 4, self.y1)
            ys = np.arange(y0, y1, dtype=np.float64)[:, None]
            span = np.clip(1 - np.abs((xs - (x0 + x1) / 2) / max((x1 - x0) / 2, 1)) ** 3, 0, 1)
            dark = 0.45 * (b - 0.3) / 0.7 * np.exp(-((ys - yc) ** 2) / 1.2) * span
            dark = np.nan_to_num(dark)
            region = out[y0 - self.y0:y1 - self.y0, x0 - self.x0:x1 - self.x0]
            region *= (1 - dark[..., None]).astype(np.float32)
