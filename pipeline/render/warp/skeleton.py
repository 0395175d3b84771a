"""The 2D skeleton the portrait is rigged to: bones, their rest geometry and per-frame transforms.

Each bone maps its rest placement to its current placement with a 2D affine transform: the
torso and head by a similarity fitted to several keypoints (robust to one bad point), limbs by
a rotation about the proximal joint plus a stretch along the bone (foreshortening of an arm that
points at the camera shortens it without making it thinner). Bones whose joints are unknown in a
frame inherit their parent's transform, so they stay attached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.portrait.wholebody import BODY_INDEX as J
from pipeline.portrait.wholebody import FACE, LEFT_HAND, RIGHT_HAND


@dataclass(frozen=True)
class Bone:
    name: str
    start: int        # joint index (133 layout); -1 for the special torso/head bones
    end: int
    parent: str | None
    layer: int        # default drawing order without depth information: higher is in front


BONES: tuple[Bone, ...] = (
    Bone("torso", -1, -1, None, 1),
    Bone("head", -1, -1, "torso", 2),
    Bone("left_upper_arm", J["left_shoulder"], J["left_elbow"], "torso", 3),
    Bone("right_upper_arm", J["right_shoulder"], J["right_elbow"], "torso", 3),
    Bone("left_forearm", J["left_elbow"], J["left_wrist"], "left_upper_arm", 4),
    Bone("right_forearm", J["right_elbow"], J["right_wrist"], "right_upper_arm", 4),
    Bone("left_hand", J["left_wrist"], -1, "left_forearm", 5),
    Bone("right_hand", J["right_wrist"], -1, "right_forearm", 5),
    Bone("left_thigh", J["left_hip"], J["left_knee"], "torso", 0),
    Bone("right_thigh", J["right_hip"], J["right_knee"], "torso", 0),
    Bone("left_shin", J["left_knee"], J["left_ankle"], "left_thigh", 0),
    Bone("right_shin", J["right_knee"], J["right_ankle"], "right_thigh", 0),
)
BONE_NAMES: tuple[str, ...] = tuple(b.name for b in BONES)
BONE_INDEX = {b.name: i for i, b in enumerate(BONES)}
ARM_BONES = frozenset(n for n in BONE_NAMES if "arm" in n or "hand" in n)
HAND_SLICES = {"left_hand": LEFT_HAND, "right_hand": RIGHT_HAND}
HEAD_POINTS = np.r_[np.arange(0, 5), FACE.start + np.array([0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35,
                                                           36, 39, 42, 45])]
"""Points that move only with the head: the body's eyes, ears and nose, and of the 68 face points the
upper jaw line, the nose and the eye corners (lips, chin, lids and brows move on their own)."""
TORSO_POINTS = np.array([J["left_shoulder"], J["right_shoulder"], J["left_hip"], J["right_hip"]])
TORSO_WEIGHTS = np.array([1.0, 1.0, 0.15, 0.15])
TYPICAL_LENGTH = {"left_upper_arm": 0.8, "right_upper_arm": 0.8, "left_forearm": 0.68, "right_forearm": 0.68}
"""A limb's 2D length in shoulder widths when it lies in the image plane (adult proportions)."""
UNFOLD_START, UNFOLD_FULL = 1.05, 1.6
"""A limb stretched this far along itself (start .. full) has unfolded: the renderer's forearm
tube takes over from the photo's texture (stretch.py) and the hand follows the forearm."""
HAND_EXTENSION = 0.45
"""Without hand keypoints the hand is the forearm extended by this share of its length."""


def unfold_weight(transform: np.ndarray, a: np.ndarray, b: np.ndarray,
                  span: tuple[float, float] = (UNFOLD_START, UNFOLD_FULL)) -> float:
    """How far the bone a -> b mapped by ``transform`` (2x3) has unfolded, 0..1 (``span``: from
    start to full, in shares of its rest length; default UNFOLD_START .. UNFOLD_FULL)."""
    v = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    length = float(np.hypot(*v))
    if length < 1e-6:
        return 0.0
    stretch = float(np.hypot(*(np.asarray(transform)[:, :2] @ v))) / length
    return float(np.clip((stretch - span[0]) / (span[1] - span[0]), 0.0, 1.0))


def similarity_fit(src: np.ndarray, dst: np.ndarray, scale_limits: tuple[float, float],
                   weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted least-squares 2D similarity (Umeyama) src -> dst as a 2x3 matrix, scale clamped."""
    wts = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    wts = wts / max(float(wts.sum()), 1e-12)
    mu_s, mu_d = wts @ src, wts @ dst
    a, b = src - mu_s, dst - mu_d
    var = float((wts * (a ** 2).sum(1)).sum())
    if len(src) < 2 or var < 1e-9:
        m = np.eye(2, 3)
        m[:, 2] = mu_d - mu_s
        return m
    cov = (b * wts[:, None]).T @ a
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag([1.0, d]) @ vt
    scale = float(np.clip((s[0] + d * s[1]) / var, *scale_limits))
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def limb_transform(a0: np.ndarray, b0: np.ndarray, a1: np.ndarray, b1: np.ndarray,
                   stretch_limits: tuple[float, float]) -> np.ndarray:
    """Rotate about the proximal joint and stretch along the bone: rest segment -> current."""
    v0, v1 = b0 - a0, b1 - a1
    l0, l1 = float(np.hypot(*v0)), float(np.hypot(*v1))
    if l0 < 1e-6 or l1 < 1e-6:
        m = np.eye(2, 3)
        m[:, 2] = a1 - a0
        return m
    u0, u1 = v0 / l0, v1 / l1
    r0 = np.array([[u0[0], -u0[1]], [u0[1], u0[0]]])
    r1 = np.array([[u1[0], -u1[1]], [u1[1], u1[0]]])
    lin = r1 @ np.diag([float(np.clip(l1 / l0, *stretch_limits)), 1.0]) @ r0.T
    m = np.zeros((2, 3))
    m[:, :2] = lin
    m[:, 2] = a1 - lin @ a0
    return m


@dataclass
class RestSkeleton:
    """Bone geometry of the portrait in render pixels, and which bones the rig uses."""

    keypoints: np.ndarray          # (133, 2)
    known: np.ndarray              # (133,) bool
    present: np.ndarray            # (n_bones,) bool
    segments: np.ndarray           # (n_bones, 2, 2) start/end of limb bones (rest)
    torso_quad: np.ndarray         # (4, 2): l_shoulder, r_shoulder, r_hip, l_hip
    head_center: np.ndarray
    head_radius: float
    shoulder_width: float
    face_height: float
    end_on: np.ndarray | None = None
    """(n_bones,) in [0, 1]: how much each limb bone points at the camera in the photo (1 = seen
    end-on, its 2D length far below a typical limb's): such a bone's 2D direction says little,
    and its texture is short."""


def _hand_end(kp: np.ndarray, known: np.ndarray, bone: Bone, use: np.ndarray | None = None) -> np.ndarray:
    """Hand bone end: centre of the known hand points, else the forearm extended."""
    sl = HAND_SLICES[bone.name]
    idx = np.arange(sl.start, sl.stop)[1:]
    mask = known[idx] if use is None else use
    if mask.sum() >= 3:
        return kp[idx[mask]].mean(0)
    elbow = kp[J["left_elbow"] if bone.name == "left_hand" else J["right_elbow"]]
    return kp[bone.start] + HAND_EXTENSION * (kp[bone.start] - elbow)


def build_rest_skeleton(keypoints: np.ndarray, scores: np.ndarray, min_score: float,
                        face_box: tuple[float, float, float, float],
                        image_size: tuple[int, int] | None = None) -> RestSkeleton:
    """Rest bones from the portrait pose; a missing torso is guessed from the face box, a forearm
    whose wrist the photo does not show from where the wrist must be (``image_size``: w, h)."""
    kp = np.asarray(keypoints, dtype=np.float64).copy()
    known = np.asarray(scores) >= min_score
    x0, y0, x1, y1 = face_box
    face_w, face_h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    fc = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    ls, rs, lh, rh = (J[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    if not (known[ls] and known[rs]):           # head-only portrait: shoulders below the chin
        kp[ls] = fc + [0.9 * face_w, 1.2 * face_h]
        kp[rs] = fc + [-0.9 * face_w, 1.2 * face_h]
    sw = float(np.hypot(*(kp[ls] - kp[rs])))
    mid_sh = (kp[ls] + kp[rs]) / 2
    down = np.array([-(kp[ls] - kp[rs])[1], (kp[ls] - kp[rs])[0]]) / max(sw, 1e-6)
    if down[1] < 0:
        down = -down
    hips_known = known[lh] and known[rh]
    if not hips_known:
        kp[lh] = kp[ls] + 1.5 * sw * down * 0.9
        kp[rh] = kp[rs] + 1.5 * sw * down * 0.9
    quad = np.stack([kp[ls], kp[rs], kp[rh], kp[lh]])
    face_idx = np.arange(FACE.start, FACE.stop)
    fk = known[face_idx]
    if fk.sum() >= 10:
        pts = kp[face_idx[fk]]
        face_height = float(pts[:, 1].max() - pts[:, 1].min())
        head_center = pts.mean(0)
    else:
        face_height = face_h
        head_center = fc
    head_radius = 0.75 * max(face_height, face_w)
    present = np.zeros(len(BONES), bool)
    segments = np.zeros((len(BONES), 2, 2))
    present[BONE_INDEX["torso"]] = True
    present[BONE_INDEX["head"]] = True
    segments[BONE_INDEX["torso"]] = [mid_sh, (kp[lh] + kp[rh]) / 2]
    segments[BONE_INDEX["head"]] = [mid_sh, head_center]
    for i, bone in enumerate(BONES):
        if bone.start < 0:
            continue
        if bone.end >= 0:
            ok = known[bone.start] and known[bone.end]
            end = kp[bone.end]
            if bone.name.endswith("forearm") and known[bone.start] and not known[bone.end]:
                # a wrist out of the picture (or hidden): the forearm goes on to where mediapipe
                # put it outside the frame, else straight on from the upper arm
                outside = image_size is not None and not (
                    0 <= end[0] < image_size[0] and 0 <= end[1] < image_size[1])
                if not (outside and np.isfinite(end).all()):
                    shoulder = kp[BONES[BONE_INDEX[bone.parent]].start]
                    end = kp[bone.start] + 0.85 * (kp[bone.start] - shoulder)
                kp[bone.end] = end
                ok = True
            if bone.name.endswith("thigh"):
                ok = ok and hips_known
        else:
            ok = bool(known[bone.start]) and present[BONE_INDEX[bone.parent]]
            end = _hand_end(kp, known, bone)
        parent_ok = bone.parent is None or present[BONE_INDEX[bone.parent]]
        present[i] = bool(ok and parent_ok)
        segments[i] = [kp[bone.start], end]
    end_on = np.zeros(len(BONES))
    for i, bone in enumerate(BONES):
        if bone.name in TYPICAL_LENGTH and present[i]:
            ratio = float(np.hypot(*(segments[i, 1] - segments[i, 0]))) / (TYPICAL_LENGTH[bone.name] * max(sw, 1.0))
            end_on[i] = float(np.clip((0.75 - ratio) / 0.45, 0.0, 1.0))
    return RestSkeleton(kp, known, present, segments, quad, head_center, float(head_radius), max(sw, 1.0),
                        max(face_height, 1.0), end_on)


def _rigid_about(pivot0: np.ndarray, pivot1: np.ndarray, lin: np.ndarray) -> np.ndarray:
    m = np.zeros((2, 3))
    m[:, :2] = lin
    m[:, 2] = pivot1 - lin @ pivot0
    return m


def _rotation_of(m: np.ndarray) -> np.ndarray:
    """The rotation part of a 2x2 linear map R @ S (S symmetric), as a 2x2 matrix."""
    angle = np.arctan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1])
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _angle_of(m: np.ndarray) -> float:
    return float(np.arctan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1]))


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _scale_of(m: np.ndarray) -> float:
    return float(np.sqrt(max(abs(np.linalg.det(m[:, :2])), 1e-12)))


def bone_transforms(rest: RestSkeleton, keypoints: np.ndarray, scores: np.ndarray, min_score: float,
                    head_limits: tuple[float, float], torso_limits: tuple[float, float],
                    stretch_limits: tuple[float, float], frame_size: tuple[int, int] | None = None,
                    end_on_stretch: float = 1.0) -> np.ndarray:
    """(n_bones, 2, 3) affine transforms rest -> this frame, chained so that limbs stay attached.

    The torso and head are similarities fitted to their keypoints; every limb bone starts where
    its parent carries its joint (the shoulder where the torso puts it, the elbow where the upper
    arm ends), turns towards its next keypoint and stretches along itself (foreshortening) within
    ``stretch_limits``, so a joint never comes apart however the keypoints disagree. A hand is
    rigid: it turns with its forearm and keeps its size (the torso's scale). A bone whose
    keypoints are unknown in this frame moves rigidly with its parent; keypoints outside
    ``frame_size`` (width, height) count as known whatever their score. A bone the photo shows
    end-on (``rest.end_on``) may stretch up to ``end_on_stretch``, and a hand on such a forearm
    turns with the torso rather than with the forearm's unreliable 2D direction.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    known = np.asarray(scores) >= min_score
    if frame_size is not None:
        # a joint the pose puts outside the picture has no confidence there but keeps its place:
        # a hand raised out of the frame still turns its forearm up
        w, h = frame_size
        outside = (kp[:, 0] < 0) | (kp[:, 0] >= w) | (kp[:, 1] < 0) | (kp[:, 1] >= h)
        known |= outside & np.isfinite(kp).all(1)
    asked = known.copy()
    known &= rest.known
    end_on = rest.end_on if rest.end_on is not None else np.zeros(len(BONES))
    out = np.tile(np.eye(2, 3), (len(BONES), 1, 1))
    use = known[TORSO_POINTS]
    torso_pts = TORSO_POINTS[use]
    if len(torso_pts) >= 2:
        # the shoulders lead: a half-body photo's hips are guesses, and an offset between the
        # photo's hips and the motion's would turn and scale the whole torso
        out[0] = similarity_fit(rest.keypoints[torso_pts], kp[torso_pts], torso_limits, TORSO_WEIGHTS[use])
    head_pts = HEAD_POINTS[known[HEAD_POINTS]]
    if len(head_pts) >= 2:
        out[1] = similarity_fit(rest.keypoints[head_pts], kp[head_pts], head_limits)
    else:
        out[1] = out[0]
    torso_scale = _scale_of(out[0])
    for i, bone in enumerate(BONES[2:], start=2):
        parent = out[BONE_INDEX[bone.parent]]
        start0 = rest.segments[i, 0]
        start1 = parent[:, :2] @ start0 + parent[:, 2]          # where the parent carries the joint
        if not rest.present[i] or not known[bone.start]:
            out[i] = parent
            continue
        if bone.end < 0:                                         # the hand: rigid with the forearm
            turn = _rotation_of(parent[:, :2])
            fore = BONE_INDEX[bone.parent]
            if end_on[fore] > 0:   # a forearm seen end-on in the photo: its 2D turn is mostly noise
                torso_turn = _angle_of(out[0][:, :2])
                angle = torso_turn + (1.0 - end_on[fore]) * _wrap(_angle_of(turn) - torso_turn)
                # ... until it unfolds: then the hand continues the forearm's direction now
                unfold = unfold_weight(parent, *rest.segments[fore])
                fore_now = parent[:, :2] @ (rest.segments[fore, 1] - rest.segments[fore, 0])
                hand_axis = rest.segments[i, 1] - start0
                if unfold > 0 and float(np.hypot(*hand_axis)) > 1e-6 and float(np.hypot(*fore_now)) > 1e-6:
                    along = float(np.arctan2(*fore_now[::-1]) - np.arctan2(*hand_axis[::-1]))
                    angle = angle + unfold * _wrap(along - angle)
                turn = _rotation(angle)
            out[i] = _rigid_about(start0, start1, turn * torso_scale)
            continue
        if not asked[bone.end]:          # (the rest end may be a guess: a wrist out of the photo)
            out[i] = parent
            continue
        # a limb seen end-on in the photo may unfold to its full length (its short texture stretches)
        lo, hi = stretch_limits
        limits = stretch_limits
        if end_on[i] > 0 and bone.name in TYPICAL_LENGTH:
            # as far as a limb of adult proportions reaches (a little more: the motion's may be
            # longer), never beyond ``end_on_stretch``
            rest_len = max(float(np.hypot(*(rest.segments[i, 1] - start0))), 1e-6)
            reach = 1.15 * TYPICAL_LENGTH[bone.name] * rest.shoulder_width * torso_scale / rest_len
            limits = (lo, hi + end_on[i] * max(min(reach, end_on_stretch) - hi, 0.0))
        out[i] = limb_transform(start0, rest.segments[i, 1], start1, kp[bone.end], limits)
    return out
