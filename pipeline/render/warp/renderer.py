"""The CPU warp renderer: the portrait cut into layers, each a skinned 2D mesh, posed frame by frame.

Built once per portrait (limbs.py, fill.py, rig.py): the person is cut into a core layer
(torso, head, legs) and one layer per arm with its hand; the background plate (the person filled
away) and the core's texture (the shirt the arms hid, filled in) are made once. Per frame: bone
transforms from the pose (chained, so limbs stay attached), rotation-blended skinning of each
layer, one rasterisation per layer into an inverse map, one remap of its colour and opacity, and
an alpha composite back to front over the plate. Layers are separate meshes, so nothing tears
where an arm leaves the body, and their borders are the photo's own soft mask edges, never
triangle edges. With per-bone depth from the 3D motion, an arm's bones that are behind the torso
are drawn before it (hidden), the others after it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from pipeline.audio import AudioClip
from pipeline.constants import VIDEO_FPS
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import FACE, WholeBodyPose
from pipeline.render.audio_drive import blink_closure, mouth_openness
from pipeline.jobs import Cancel, Progress, check_cancel

from .config import WarpConfig
from .face import FaceAnimator, face_topology
from .face_params import FaceFrame, FaceMotion
from .fill import background_plate, mirror_along_bone, pyramid_fill, typical_pixels
from .limbs import HAND_POINTS, LimbCut, cut_body
from .raster import rasterize
from .rig import LayerMesh, core_mesh, part_mesh, segment_distance_map, smoothstep
from .skeleton import (BONE_INDEX, BONES, UNFOLD_FULL, UNFOLD_START, bone_transforms, build_rest_skeleton,
                       unfold_weight)
from .skinning import apply_skin
from .stretch import TUBE_HALF_WIDTH, ForearmTube, forearm_tube, hand_skin_alpha, skin_like

_LAYERS = np.array([b.layer for b in BONES], np.float64)
_TORSO = BONE_INDEX["torso"]
CHEEK_POINTS = (50, 280, 117, 346, 205, 425)
"""Face-mesh landmarks on the cheeks (mediapipe's 468-point topology): plain skin, away from the
eyes, brows, lips and beard line."""
TUBE_SHOWS = 4.0
"""A tube giving way to the photo's limb is opaque from 1 / TUBE_SHOWS of the fade on: where it reaches
beyond the photo's limb (a forearm the frame cuts off, stretched to its length) a slow fade-in held a
see-through end on the arm for as long as the limb stayed part-way unfolded."""

CREASE_OPEN = (0.005, 0.03)
"""An elbow this far from its place against the torso (shares of the shoulder width) starts /
ends filling its crease with shirt."""
HAND_MOVED = (0.02, 0.08)
"""A hand this far from its place in the photo (shares of the shoulder width) starts / ends
leaving what is not its skin behind."""
MATERIAL_MIN_PX = 50
"""Fewer known pixels of a limb's material than this are no source to fill its hidden part from
(then the whole part is)."""
BARE_FOREARM_PALM = 0.45
"""A bare forearm's half width is at most this share of its hand's breadth (forearms are a little
narrower than the hand across its knuckles)."""


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


@dataclass
class _Sequence:
    keypoints: np.ndarray     # (T, 133, 2) render px, smoothed
    scores: np.ndarray        # (T, 133)
    depth: np.ndarray | None  # (T, n_bones), larger = farther
    opening: np.ndarray       # (N,)
    closure: np.ndarray       # (N,)
    fps: float

    @property
    def num_frames(self) -> int:
        return len(self.opening)


@dataclass
class _Layer:
    """A mesh with its colour and opacity textures (rest frame, render size)."""

    mesh: LayerMesh
    rgb: np.ndarray       # (H, W, 3) uint8
    alpha: np.ndarray     # (H, W) uint8
    tube: ForearmTube | None = None   # shown instead of the photo's limb as the bone unfolds (stretch.py)
    bone: int = -1
    unfolded_alpha: np.ndarray | None = None
    """(H, W) uint8: a hand's opacity once its forearm has unfolded (its cuff left to the tube), an
    upper arm's without the wide knot of a folded elbow."""
    forearm: int = -1     # the bone whose unfolding switches to ``unfolded_alpha``
    moved_alpha: np.ndarray | None = None
    """(H, W) uint8: a hand's opacity once it has left its place in the photo (see
    WarpRenderer._hand_moved), the pieces joining it to its folded forearm kept."""

    def __post_init__(self) -> None:
        # the triangles back to front by bone (hand over forearm over upper arm): fixed per layer
        self.order = np.argsort(_LAYERS[self.mesh.tri_bone], kind="stable")


class WarpRenderer:
    """Deforms one portrait to follow a pose sequence; build once, render many frames."""

    def __init__(self, portrait: PortraitAnalysis, config: WarpConfig | None = None) -> None:
        cfg = config or WarpConfig()
        self.config = cfg
        w0, h0 = portrait.size
        s = cfg.resolution / float(max(w0, h0))
        self.width, self.height = _even(w0 * s), _even(h0 * s)
        w, h = self.width, self.height
        self.sx, self.sy = w / float(w0), h / float(h0)
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        self.image = cv2.resize(np.ascontiguousarray(portrait.image[..., :3]), (w, h), interpolation=interp)
        mask = cv2.resize(np.asarray(portrait.mask, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        mask = np.clip(mask, 0.0, 1.0)
        mask = np.where(mask > cfg.mask_threshold, mask, 0.0).astype(np.float32)
        if not (mask > 0.5).any():
            raise ValueError("the portrait's person mask is empty; nothing to animate")

        pose = portrait.pose
        kp = pose.keypoints[0].astype(np.float64) * [self.sx, self.sy]
        scores = pose.scores[0].astype(np.float64)
        if portrait.visible is not None and len(portrait.visible) == len(scores):
            scores = np.where(np.asarray(portrait.visible, bool), scores, np.minimum(scores, cfg.min_score * 0.5))
        fx0, fy0, fx1, fy1 = portrait.face_box
        face_box = (fx0 * self.sx, fy0 * self.sy, fx1 * self.sx, fy1 * self.sy)
        self._face_box, self._face_mesh = face_box, portrait.face_mesh
        self.rest = build_rest_skeleton(kp, scores, cfg.min_score, face_box, (w, h))

        # the layers: arms cut out along their measured outline, the core with the hidden shirt filled
        self.cut = cut = cut_body(self.image, mask, self.rest, cfg.feather_px)
        hole_px = max(1, int(round(cfg.hole_dilate_frac * max(w, h))))
        hands = np.zeros((h, w), bool)
        for limb in cut.limbs:
            hands |= limb.hand > 0.05
        # a hand's soft edge and the shadow it casts lie beyond its region: left in the plate they
        # stay behind as the outline of a hand when it moves
        grow = max(1, int(round(cfg.hand_plate_grow_frac * max(w, h))))
        hands = cv2.dilate(hands.astype(np.uint8), cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))) > 0
        self.plate = background_plate(self.image, cut.person, hole_px, hands)
        core_known = (cut.core_alpha > 0.5) & ~cut.core_fill
        if cut.crease is not None:    # (the crease's shadow is no colour for the shirt behind the arm)
            core_known &= ~cut.crease
        self.core_rgb = pyramid_fill(self.image, cut.core_fill & (cut.core_alpha > 0.01), known=core_known)
        self.core_work = self.core_rgb.copy()
        self._creases = self._crease_bands(core_known)
        step = cfg.grid_step * max(w, h) / 512.0
        to_u8 = lambda a: np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)  # noqa: E731
        self.layers: list[_Layer] = [_Layer(
            core_mesh(cut.core_alpha, self.rest, step, cfg.limb_radius, cfg.weight_falloff, cfg.joint_radius),
            self.core_work, to_u8(cut.core_alpha))]
        # the arms' opacity: the person mask, opaque inside the person (a dark sleeve against a dark
        # shirt leaves the segmentation unsure between them, at half its value, and an arm drawn half
        # transparent there lets the torso's fill show through it as it moves); its outline to the
        # background stays soft
        margin = 2 * max(1, int(round(cfg.arm_mask_interior_frac * max(w, h)))) + 1
        interior = cv2.erode((cut.person > 0.1).astype(np.uint8), cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (margin, margin))) > 0
        arm_person = np.where(interior, 1.0, cut.person).astype(np.float32)
        tubes: list[tuple[int, LimbCut, str, np.ndarray, np.ndarray]] = []
        for limb in cut.limbs:
            textures = {}
            for bone, part in limb.parts.items():
                textures[bone] = self.image
                if bone in limb.fills:   # the part's pixels a folded forearm covers: its own colours
                    textures[bone] = self._hidden_part_texture(limb, bone, part)
            for bone, part in limb.parts.items():
                alpha = part * arm_person
                k = BONE_INDEX[bone]
                tube = None
                if "forearm" in bone:     # may unfold far beyond its length in the photo
                    tube = self._forearm_tube(limb, bone, alpha, textures[limb.bones[0]])
                    tubes.append((len(self.layers), limb, bone, alpha, textures[limb.bones[0]]))
                layer = _Layer(part_mesh(bone, alpha, self.rest, step, cfg.shoulder_blend),
                               textures[bone], to_u8(alpha), tube, k)
                if "hand" in bone:
                    skin_only = hand_skin_alpha(self.image, alpha)
                    if skin_only is not None:
                        layer.unfolded_alpha, layer.forearm = to_u8(skin_only), BONE_INDEX[limb.bones[1]]
                        forearm = cv2.dilate((limb.parts[limb.bones[1]] > 0.5).astype(np.uint8),
                                             np.ones((5, 5), np.uint8)) > 0
                        moved = hand_skin_alpha(self.image, alpha, keep_near=forearm)
                        layer.moved_alpha = None if moved is None else to_u8(moved)
                elif bone == limb.bones[0] and limb.wide_elbow is not None:
                    layer.unfolded_alpha = to_u8(alpha * (1.0 - limb.wide_elbow))
                    layer.forearm = BONE_INDEX[limb.bones[1]]
                self.layers.append(layer)
        # clothes are (nearly always) the same on both arms: a forearm that shows bare skin makes the
        # other one bare too, where its own pixels are the shirt behind an end-on forearm
        made = [self.layers[i].tube for i, *_ in tubes]
        if any(t is not None and t.bare for t in made):
            for (i, limb, bone, alpha, upper_texture), t in zip(tubes, made):
                if t is not None and not t.bare:
                    self.layers[i].tube = self._forearm_tube(limb, bone, alpha, upper_texture, bare=True) or t

        self._tubes = {layer.bone: layer.tube for layer in self.layers[1:] if layer.tube is not None}

        # Face seam: the face is painted into the core layer's texture (core_rgb -> core_work) in the
        # rest frame before the warp, so the head bone carries it (pipeline/render/warp/face.py).
        topology = face_topology(portrait.face_mesh, portrait.face_mesh_depth, kp[FACE], scores[FACE] >= cfg.min_score,
                                 (self.sx, self.sy))
        self.face = FaceAnimator(topology, (h, w), cfg.mouth_max_open)
        self._map = np.empty((h, w, 2), np.float32)
        self._seq: _Sequence | None = None
        self.last_alpha: np.ndarray | None = None

    def _forearm_tube(self, limb: LimbCut, bone: str, alpha: np.ndarray, upper_texture: np.ndarray,
                      bare: bool | None = None) -> ForearmTube | None:
        """The tube the forearm ``bone`` of ``limb`` unfolds into (stretch.py), coloured from its own
        pixels, the upper arm by the elbow and the hand, textured with the upper arm's sleeve."""
        cut, cfg = self.cut, self.config
        k = BONE_INDEX[bone]
        a, b = self.rest.segments[k]
        sw = self.rest.shoulder_width
        half = float(np.clip(limb.half_widths[bone], TUBE_HALF_WIDTH[0] * sw, TUBE_HALF_WIDTH[1] * sw))
        # no wider than the upper arm it continues (a slim arm's forearm at the adult default was half
        # as wide again as the arm above its elbow: a raised arm ended in a thick pipe)
        upper_half = float(limb.half_widths[limb.bones[0]])
        if upper_half < TUBE_HALF_WIDTH[1] * sw:
            half = min(half, max(TUBE_HALF_WIDTH[0] * sw, upper_half))
        opaque = (alpha > 0.9) & (limb.hand < 0.05)
        upper_bone = limb.bones[0]
        s_up, e_up = self.rest.segments[BONE_INDEX[upper_bone]]
        upper_own = (limb.parts[upper_bone] * cut.person > 0.9) & (limb.hand < 0.05)
        if upper_bone in limb.fills:
            upper_shown = upper_own & ~limb.fills[upper_bone]
        else:
            upper_shown = upper_own
        by_elbow = upper_own & (
            segment_distance_map(alpha.shape, e_up, e_up) < 0.35 * float(np.hypot(*(e_up - s_up))))
        if by_elbow.sum() < 20:       # the elbow hidden (behind the hand): the upper arm
            by_elbow = upper_own
        skin = self._hand_skin(limb)
        from_face = int(skin.sum()) < 20      # the hand out of the frame or behind the back
        if from_face:
            skin = self._face_skin()

        def tube(half_width: float, bare_arm: bool | None) -> ForearmTube | None:
            return forearm_tube(self.image, opaque, skin, a, b, half_width, cfg.feather_px, by_elbow,
                                upper=(upper_texture, upper_shown, s_up, e_up, float(limb.half_widths[upper_bone])),
                                bare=bare_arm, skin_lights=not from_face)

        made = tube(half, bare)
        # a bare forearm is no wider than its hand: an end-on forearm's blob measured the width of
        # the elbow and the hand's edge, and slim arms unfolded as pipes half as wide again as the
        # palm (halfbody_0048's wave)
        palm = self._palm_width(limb)
        if made is not None and made.bare and palm is not None:
            narrow = max(TUBE_HALF_WIDTH[0] * sw, BARE_FOREARM_PALM * palm)
            if narrow < made.half_width - 0.5:
                made = tube(narrow, True) or made
        return made

    def _palm_width(self, limb: LimbCut) -> float | None:
        """The hand's breadth across its knuckles (index to little finger, px; None: not both known)."""
        start = HAND_POINTS[limb.name].start
        index, little = start + 5, start + 17
        if not (self.rest.known[index] and self.rest.known[little]):
            return None
        return float(np.hypot(*(self.rest.keypoints[index] - self.rest.keypoints[little])))

    def _face_skin(self) -> np.ndarray:
        """(H, W bool) the cheeks' skin: the person's skin colour where no hand shows it. Without it a
        bare forearm whose hand is out of the frame (or behind the back) had nothing to be compared
        with and was taken for a sleeve: the sleeve's colour where it stretched."""
        h, w = self.height, self.width
        out = np.zeros((h, w), bool)
        mesh = self._face_mesh
        if mesh is not None and len(mesh) > max(CHEEK_POINTS):
            pts = mesh[list(CHEEK_POINTS), :2] * [self.sx, self.sy]
            radius = max(2, int(round(0.04 * float(np.ptp(mesh[:, 0]) * self.sx))))
            for x, y in np.round(pts).astype(int):
                cv2.circle(out.view(np.uint8), (int(x), int(y)), radius, 1, -1)
        else:
            x0, y0, x1, y1 = self._face_box
            fw, fh = x1 - x0, y1 - y0
            out[int(y0 + 0.45 * fh):int(y0 + 0.65 * fh), int(x0 + 0.3 * fw):int(x0 + 0.7 * fw)] = True
        return out & (self.cut.person > 0.5)

    def _skin_reference(self, limb: LimbCut) -> np.ndarray | None:
        """The CIELAB chroma (2,) of the hand's skin, at its own keypoints (None: no hand to go by).
        The hand's layer also takes in the shirt between and around the fingers, and on a pale or
        shaded hand the layer's median was a grey that every shirt matched as "skin"."""
        region = (limb.hand > 0.5) & (self.cut.person > 0.5)
        idx = np.arange(HAND_POINTS[limb.name].start, HAND_POINTS[limb.name].stop)
        idx = idx[self.rest.known[idx]]
        if len(idx) < 5 or region.sum() < 20:
            return None
        h, w = region.shape
        pts = np.round(self.rest.keypoints[idx]).astype(int)
        pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
        pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
        on_hand = region[pts[:, 1], pts[:, 0]]
        if on_hand.sum() < 5:
            return None
        return np.median(self.cut.chroma[pts[on_hand, 1], pts[on_hand, 0]], axis=0)

    def _crease_bands(self, core_known: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Per arm (upper arm bone, pixel rows, pixel cols, filled colours (N, 3) float32): the
        crease between that arm and the torso's side (``BodyCut.crease``) and the shirt filled in
        over it from the torso beside it. While the arm lies where the photo has it the crease is
        the photo's; swung away, the shadow it cast stayed on the torso as a dark line down its side."""
        crease = self.cut.crease
        if crease is None or not crease.any() or not self.cut.limbs:
            return []
        filled = pyramid_fill(self.image, (self.cut.core_fill | crease) & (self.cut.core_alpha > 0.01),
                              known=core_known)       # (the core's known pixels, the crease not among them)
        # each crease pixel goes with the arm nearest to it
        dists = [cv2.distanceTransform((limb.region < 0.5).astype(np.uint8), cv2.DIST_L2, 3) for limb in self.cut.limbs]
        nearest = np.argmin(np.stack(dists), axis=0)
        bands = []
        for k, limb in enumerate(self.cut.limbs):
            ys, xs = np.nonzero(crease & (nearest == k))
            if len(ys):
                bands.append((BONE_INDEX[limb.bones[0]], ys, xs, filled[ys, xs].astype(np.float32)))
        return bands

    def _open_creases(self, transforms: np.ndarray) -> None:
        """Fade each arm's crease (``_crease_bands``) into the filled shirt as the arm's elbow
        leaves the torso's side (CREASE_OPEN shoulder widths, relative to the torso's own motion)."""
        lo, hi = (v * self.rest.shoulder_width for v in CREASE_OPEN)
        torso = transforms[_TORSO]
        for bone, ys, xs, filled in self._creases:
            elbow = self.rest.segments[bone][1]
            m = transforms[bone]
            apart = float(np.hypot(*((m[:, :2] - torso[:, :2]) @ elbow + m[:, 2] - torso[:, 2])))
            w = float(smoothstep((apart - lo) / (hi - lo)))
            photo = self.core_rgb[ys, xs]
            self.core_work[ys, xs] = photo if w == 0 else np.clip(
                photo * (1.0 - w) + filled * w + 0.5, 0, 255).astype(np.uint8)

    def _hidden_part_texture(self, limb: LimbCut, bone: str, part: np.ndarray) -> np.ndarray:
        """The photo with the hidden pixels of ``bone`` (``limb.fills``) made up from the limb's
        own, each from the material of the known pixel nearest to it: skin where the arm is bare
        beside it, cloth where the sleeve reaches it. The hidden end of a bare upper arm under a
        short sleeve is more bare arm; filled from the whole part it took in the sleeve's hem (a
        white patch at the elbow of a raised arm), and a long sleeve took in the hand over it.
        Skin is filled smooth (mirrored, it brought along the creases of a bent elbow and the
        fingers of a hand lying against the arm); cloth is mirrored along the bone, keeping its weave."""
        hidden = limb.fills[bone]
        known = (part * self.cut.person > 0.9) & ~hidden & (limb.hand < 0.05)
        segment = self.rest.segments[BONE_INDEX[bone]]

        def cloth_fill(src: np.ndarray, where: np.ndarray) -> np.ndarray:
            cloth = typical_pixels(self.image, src)     # (not the shade under its hem, nor the wall)
            if cloth.sum() >= MATERIAL_MIN_PX:
                src = cloth
            return mirror_along_bone(self.image, where, src, *segment, pyramid_fill(self.image, where, known=src))

        ref = self._skin_reference(limb)
        if ref is None or known.sum() < MATERIAL_MIN_PX:
            return cloth_fill(known, hidden)
        skin = np.zeros_like(known)
        ys, xs = np.nonzero(known)
        skin[ys, xs] = skin_like(self.cut.chroma[ys, xs], ref)
        # the material of each hidden pixel's nearest known pixel
        _, labels = cv2.distanceTransformWithLabels((~known).astype(np.uint8), cv2.DIST_L2, 3,
                                                    labelType=cv2.DIST_LABEL_PIXEL)
        label_is_skin = np.zeros(int(labels.max()) + 1, bool)
        label_is_skin[labels[known]] = skin[known]
        by_skin = hidden & label_is_skin[labels]
        out = self.image.copy()
        for where, src, smooth in ((by_skin, known & skin, True), (hidden & ~by_skin, known & ~skin, False)):
            if not where.any():
                continue
            if src.sum() < MATERIAL_MIN_PX:
                src = known
            filled = pyramid_fill(self.image, where, known=src) if smooth else cloth_fill(src, where)
            out[where] = filled[where]
        return out

    def _hand_skin(self, limb: LimbCut) -> np.ndarray:
        """(H, W bool) the hand's skin: the pixels of its layer with the colour found at its own
        keypoints (``_skin_reference``)."""
        region = (limb.hand > 0.5) & (self.cut.person > 0.5)
        ref = self._skin_reference(limb)
        if ref is None:
            return region
        ab = self.cut.chroma
        ys, xs = np.nonzero(region)
        keep = skin_like(ab[ys, xs], ref)
        if keep.sum() < 20:
            return region
        skin = np.zeros_like(region)
        skin[ys[keep], xs[keep]] = True
        return skin

    # ------------------------------------------------------------------------------------------
    # one frame

    def render_pose(self, keypoints: np.ndarray, scores: np.ndarray, opening: "float | FaceFrame" = 0.0,
                    closure: float = 0.0, depth: np.ndarray | None = None) -> np.ndarray:
        """One frame for a pose given in render pixels (133, 2) with scores (133,).

        ``opening``: the jaw opening, or a whole FaceFrame (then ``closure`` is not used).
        """
        cfg = self.config
        transforms = bone_transforms(self.rest, keypoints, scores, cfg.min_score, cfg.head_scale_limits,
                                     cfg.torso_scale_limits, cfg.limb_stretch_limits, (self.width, self.height),
                                     cfg.end_on_stretch)
        self.face.apply(self.core_rgb, self.core_work, opening, closure)
        self._open_creases(transforms)
        out = self.plate.copy()
        cover = np.zeros((self.height, self.width), np.float32)
        for layer, tris in self._passes(transforms, depth):
            self._draw(layer, transforms, tris, out, cover)
        self.last_alpha = np.clip(cover * 255.0 + 0.5, 0, 255).astype(np.uint8)   # for measurements
        return out

    def _passes(self, transforms: np.ndarray, depth: np.ndarray | None) -> list[tuple[_Layer, np.ndarray]]:
        """(layer, triangle indices) to draw, back to front.

        Without depth the arms are in front of the core. With depth, an arm's triangles whose
        bone is farther than the torso are drawn before the core, so the torso hides them.
        """
        core, arms = self.layers[0], self.layers[1:]
        if depth is None:
            return [(layer, layer.order) for layer in self.layers]
        d = np.asarray(depth, np.float64)
        behind, front = [], []
        for a in arms:
            tri_depth = d[a.mesh.tri_bone]
            far = tri_depth > d[_TORSO] + 1e-6
            mean = float(tri_depth.mean()) if len(tri_depth) else 0.0
            if far.any():
                behind.append((mean, a, a.order[far[a.order]]))
            if (~far).any():
                front.append((mean, a, a.order[~far[a.order]]))
        back_to_front = lambda items: [(a, t) for _, a, t in sorted(items, key=lambda x: -x[0])]  # noqa: E731
        return back_to_front(behind) + [(core, core.order)] + back_to_front(front)

    def _draw(self, layer: _Layer, transforms: np.ndarray, tris: np.ndarray, out: np.ndarray,
              cover: np.ndarray) -> None:
        """Composite one layer's triangles ``tris`` over ``out`` (in place), updating the coverage."""
        if len(tris) == 0:
            return
        mesh = layer.mesh
        verts = apply_skin(mesh.skin, transforms)
        used = verts[mesh.triangles[tris].ravel()]
        lo, hi = used.min(0), used.max(0)
        mix, ends = 0.0, None
        if layer.tube is not None and (mesh.tri_bone[tris] == layer.bone).any():
            mix = unfold_weight(transforms[layer.bone], *self.rest.segments[layer.bone], layer.tube.unfold_span)
            if mix > 0:
                m = transforms[layer.bone]
                ends = [m[:, :2] @ p + m[:, 2] for p in self.rest.segments[layer.bone]]
                t_lo, t_hi = layer.tube.bounds(*ends)
                lo, hi = np.minimum(lo, t_lo), np.maximum(hi, t_hi)
        x0, y0 = np.floor(lo).astype(int) - 1
        x1, y1 = np.ceil(hi).astype(int) + 2
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(self.width, x1), min(self.height, y1)
        if x1 <= x0 or y1 <= y0:
            return
        box = np.s_[y0:y1, x0:x1]
        self._map[box] = -1.0
        rasterize(self._map, verts, mesh.texture_coords, mesh.triangles, tris, layer.alpha)
        crop = self._map[box]
        rgb = self._remap(layer.rgb, crop)
        alpha = self._remap(layer.alpha, crop)
        if layer.unfolded_alpha is not None:
            tube = self._tubes.get(layer.forearm)
            span = tube.unfold_span if tube is not None else (UNFOLD_START, UNFOLD_FULL)
            unfold = unfold_weight(transforms[layer.forearm], *self.rest.segments[layer.forearm], span)
            moved = 0.0
            if layer.moved_alpha is not None:
                moved = (1.0 - unfold) * self._hand_moved(transforms[layer.bone], layer.bone)
            if unfold > 0 or moved > 0:
                mix = alpha * (1.0 - unfold - moved) + self._remap(layer.unfolded_alpha, crop) * unfold
                if moved > 0:
                    mix = mix + self._remap(layer.moved_alpha, crop) * moved
                alpha = np.clip(mix + 0.5, 0, 255).astype(np.uint8)
        if ends is not None:
            tube_rgb, tube_alpha = layer.tube.draw(ends[0], ends[1], (x0, y0), (y1 - y0, x1 - x0))
            rgb, alpha = _crossfade(rgb, alpha, tube_rgb, tube_alpha, mix)
        a = alpha.astype(np.float32) * (1.0 / 255.0)
        out[box] = cv2.blendLinear(rgb, out[box], a, 1.0 - a)
        cover[box] += a * (1.0 - cover[box])

    def _hand_moved(self, transform: np.ndarray, bone: int) -> float:
        """0 .. 1: how far the hand of ``bone`` is from its place in the photo (HAND_MOVED, shares
        of the shoulder width). The shirt between the thumb and the sleeve and the wall around the
        fingers that the hand's layer takes in match their surroundings only there: carried along
        by a beat gesture they showed as a flap of shirt beside the hand."""
        wrist = self.rest.segments[bone][0]
        moved = float(np.hypot(*(transform[:, :2] @ wrist + transform[:, 2] - wrist)))
        lo, hi = HAND_MOVED[0] * self.rest.shoulder_width, HAND_MOVED[1] * self.rest.shoulder_width
        return float(smoothstep((moved - lo) / max(hi - lo, 1e-6)))

    @staticmethod
    def _remap(texture: np.ndarray, crop: np.ndarray) -> np.ndarray:
        return cv2.remap(texture, crop, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    # ------------------------------------------------------------------------------------------
    # sequences

    def prepare(self, poses: WholeBodyPose, audio: AudioClip | None = None, depth: np.ndarray | None = None,
                num_frames: int | None = None, mouth=None, transcript: str | None = None) -> int:
        """Set the pose sequence (and audio, depth) to render; returns the number of frames.

        Without ``num_frames`` the video lasts as long as the audio (round(duration * fps)); the
        last pose is held if the poses end earlier. ``depth``: (T, len(BONES)) per-bone distance
        from the camera (larger = farther), used to draw nearer parts on top. ``mouth``: a
        ``pipeline.speech.visemes.MouthTrack`` to lip-sync to (else one is made from the audio and
        ``transcript``); ``self.face_motion`` then holds the face tracks used.
        """
        if len(poses) == 0:
            raise ValueError("the pose sequence is empty")
        fps = float(poses.fps) if poses.fps and poses.fps > 0 else float(VIDEO_FPS)
        if num_frames is None:
            num_frames = int(round(audio.duration_s * fps)) if audio is not None else len(poses)
        num_frames = max(1, int(num_frames))
        pw, ph = poses.image_size
        kp = poses.keypoints.astype(np.float64) * [self.width / float(pw), self.height / float(ph)]
        sigma = self.config.pose_smoothing_frames
        if sigma > 0 and len(kp) > 1:
            kp = gaussian_filter1d(kp, sigma, axis=0, mode="nearest")
        if depth is not None:
            depth = np.asarray(depth, np.float64)
            if depth.shape != (len(poses), len(BONES)):
                raise ValueError(f"depth must be (frames, {len(BONES)}) = ({len(poses)}, {len(BONES)}), "
                                 f"got {depth.shape}")
        cfg = self.config
        samples = audio.samples if audio is not None else None
        rate = audio.sample_rate if audio is not None else 16000
        closure = blink_closure(num_frames, fps, cfg.blink_rate_per_min, cfg.blink_duration_s, cfg.seed)
        if mouth is None and cfg.mouth_visemes and audio is not None:
            from pipeline.speech.visemes import mouth_track

            mouth = mouth_track(audio, fps, num_frames, transcript, cfg.mouth_strength, cfg.mouth_language)
        if mouth is not None:
            self.face_motion = FaceMotion.from_mouth_track(mouth, closure)
        else:
            self.face_motion = FaceMotion.from_opening(mouth_openness(samples, rate, fps, num_frames, cfg.mouth),
                                                       closure)
        opening = self.face_motion.jaw
        self._seq = _Sequence(kp, poses.scores, depth, opening, closure, fps)
        return num_frames

    @property
    def num_frames(self) -> int:
        return 0 if self._seq is None else self._seq.num_frames

    @property
    def opening(self) -> np.ndarray:
        """The prepared sequence's mouth opening per frame."""
        return np.zeros(0) if self._seq is None else self._seq.opening

    @property
    def closure(self) -> np.ndarray:
        """The prepared sequence's eyelid closure per frame."""
        return np.zeros(0) if self._seq is None else self._seq.closure

    def render_frame(self, i: int) -> np.ndarray:
        """Frame ``i`` of the prepared sequence, (H, W, 3) uint8 RGB."""
        seq = self._seq
        if seq is None:
            raise RuntimeError("call prepare(poses, audio) before render_frame(i)")
        if not 0 <= i < seq.num_frames:
            raise IndexError(f"frame {i} is outside 0..{seq.num_frames - 1}")
        j = min(i, len(seq.keypoints) - 1)
        depth = None if seq.depth is None else seq.depth[j]
        return self.render_pose(seq.keypoints[j], seq.scores[j], self.face_motion.frame(i), float(seq.closure[i]), depth)

    def frames(self, poses: WholeBodyPose, audio: AudioClip | None = None, depth: np.ndarray | None = None,
               num_frames: int | None = None, progress: Progress | None = None,
               cancel: Cancel = None, mouth=None, transcript: str | None = None) -> Iterator[np.ndarray]:
        """Every frame of the sequence, lazily; checks ``cancel`` before each frame."""
        n = self.prepare(poses, audio, depth, num_frames, mouth, transcript)
        for i in range(n):
            check_cancel(cancel)
            frame = self.render_frame(i)
            if progress is not None:
                progress(i + 1, n)
            yield frame


def _crossfade(rgb: np.ndarray, alpha: np.ndarray, rgb2: np.ndarray, alpha2: np.ndarray,
               mix: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo's limb (rgb, alpha) giving way to another texture of a different outline (mix 0..1).

    A linear blend of two outlines is half transparent wherever they differ (a ghost limb); here
    the new outline is opaque early in the fade (TUBE_SHOWS) and the old one stays until its second
    half (their union stays opaque in between), and the colours blend where both are opaque, each
    weighted by its own coverage.
    """
    a1 = alpha.astype(np.float32) * (min(1.0, 2.0 * (1.0 - mix)) / 255.0)
    a2 = alpha2.astype(np.float32) * (min(1.0, TUBE_SHOWS * mix) / 255.0)
    w1, w2 = a1 * (1.0 - mix), a2 * mix
    total = np.maximum(w1 + w2, 1e-6)
    colour = (rgb.astype(np.float32) * (w1 / total)[..., None] + rgb2.astype(np.float32) * (w2 / total)[..., None])
    out_alpha = np.maximum(a1, a2)
    return (np.clip(colour + 0.5, 0, 255).astype(np.uint8),
            np.clip(out_alpha * 255.0 + 0.5, 0, 255).astype(np.uint8))


def render_frames(portrait: PortraitAnalysis, poses: WholeBodyPose, audio: AudioClip | None, *,
                  resolution: int = 512, blink_rate_per_min: float = 15.0, seed: int = 0,
                  depth: np.ndarray | None = None, config: WarpConfig | None = None,
                  progress: Progress | None = None, cancel: Cancel = None) -> Iterator[np.ndarray]:
    """Frames (H, W, 3) uint8 at ``poses.fps`` for the portrait following ``poses``, lips on ``audio``."""
    cfg = replace(config or WarpConfig(), resolution=int(resolution), blink_rate_per_min=float(blink_rate_per_min),
                  seed=int(seed))
    return WarpRenderer(portrait, cfg).frames(poses, audio, depth, progress=progress, cancel=cancel)
