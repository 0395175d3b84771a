"""Fit a normalised 2D motion to the person in the portrait.

The motion arrives as poses in normalised units (neck at the origin) at 20 fps, plus the
pixel displacement of the neck that the 3D motion's root travel produces through the portrait's
camera. Fitting keeps each bone's direction from the motion and takes its length from the
portrait (limbs rescaled from the root outward); the neck starts where the person stands and
follows the displacement; the first frame is the portrait's own pose and the motion eases out
of it; the portrait's own hands follow the forearms and its face follows the head. Everything is
interpolated to the video rate on the bone angles, so limb lengths stay exact between frames.

Lengths (PersonModel): a bone the photo shows with both ends confidently detected keeps its
photo length in every frame; a bone the photo shows only doubtfully (a low-score elbow) or end-on
takes its mirror bone's length when that one is measured, else the rest pose's through the
camera, and eases to it from its photo length over the same ease as the angles, so the first
frame is still exactly the photo. Forearms also foreshorten: their drawn share of that length
follows the motion's on-screen share relative to the photo's (``forearm_shares``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.constants import MOTION_FPS
from pipeline.motion.skeleton import REST_POSE
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.portrait.wholebody import FACE, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND, WholeBodyPose
from pipeline.portrait.wholebody import FEET_INDEX as F
from pipeline.token2pose.camera import WeakPerspectiveCamera, fit_camera
from pipeline.token2pose.mapping import NUM_BODY_FEET
from pipeline.token2pose.project import HAND_LENGTH_M, TEMPLATE_HANDS, canonical_face, project_body
from pipeline.token2pose.resample import interpolate, sample_positions, smooth_time
from pipeline.token2pose.tree2d import (
    BONES,
    HIP_MID,
    LEG_KEYPOINTS,
    NECK,
    bone_angles,
    bone_lengths_2d,
    rebuild,
    with_virtual,
    wrap,
)

EASE_SECONDS = 0.5
MIN_SCORE = 0.3
DRAWN_SCORE = 0.9
"""Score given to keypoints the portrait did not show but the fitted pose places (inside the frame)."""
HAND_SLICES = {"left": LEFT_HAND, "right": RIGHT_HAND}
HEAD_BONE = BONES.index((NECK, B["nose"]))
FOREARM_BONE = {side: BONES.index((B[f"{side}_elbow"], B[f"{side}_wrist"])) for side in ("left", "right")}
UPPER_ARM_BONE = {FOREARM_BONE[side]: BONES.index((B[f"{side}_shoulder"], B[f"{side}_elbow"])) for side in ("left", "right")}
"""forearm bone -> its upper arm's bone"""
HEAD_POINTS = (B["nose"], B["left_eye"], B["right_eye"], B["left_ear"], B["right_ear"])
HEAD_FRAMING_POINTS = (*HEAD_POINTS, B["left_shoulder"], B["right_shoulder"])


def ease(t: np.ndarray, duration: float = EASE_SECONDS) -> np.ndarray:
    """Smoothstep from 0 at t=0 to 1 at t=duration: the motion's weight against the portrait's pose."""
    if duration <= 0:
        return np.ones_like(np.asarray(t, dtype=np.float64))
    x = np.clip(np.asarray(t, dtype=np.float64) / duration, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


RELIABLE_SCORE = 0.5
"""A bone's photo length is taken as the person's own only where both its ends score at least
this: a keypoint the detector barely found (an elbow behind a held helmet, a wrist at the image
edge) is placed well enough to start the pose from, not well enough to size a limb by."""
FORESHORTENED = 0.5
"""A bone shorter in the photo than this share of its expected length points at the camera."""


def _mirror_index() -> np.ndarray:
    """Tree index of each keypoint's left-right mirror (itself for the nose, neck, hip midpoint)."""
    names = {**{i: n for n, i in B.items()}, **{i: n for n, i in F.items()}}
    by_name = {n: i for i, n in names.items()}
    out = np.arange(NECK + 2)
    for i, name in names.items():
        for a, b in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(a) and name.replace(a, b, 1) in by_name:
                out[i] = by_name[name.replace(a, b, 1)]
    return out


_MIRROR = _mirror_index()
MIRROR_BONE = np.array([BONES.index((int(_MIRROR[a]), int(_MIRROR[b]))) for a, b in BONES])
"""Index in BONES of each bone's left-right mirror (itself for the spine and head bones)."""


@dataclass
class PersonModel:
    """What fitting needs from the portrait: its tree, which parts it shows, its bone lengths.

    Each bone's length (what every frame after the ease is drawn with) comes from, in order:
    the photo, where both ends are reliable and the bone is not seen end-on (``measured``); the
    same bone on the other side, where that one is measured (``mirrored``: a person's limbs are
    symmetric); the rest pose through the portrait's camera. ``start_lengths`` are the photo's
    own 2D lengths wherever it shows both ends (``shown``), so the first frame is the photo.
    """

    tree: np.ndarray            # (25, 2) px, unknown points filled from the camera's rest pose
    known: np.ndarray           # (25,) bool
    lengths: np.ndarray         # (n_bones,) px
    measured: np.ndarray        # (n_bones,) bool: length measured on this bone in the photo
    hand_length_px: float
    torso_px: float
    mirrored: np.ndarray | None = None        # (n_bones,) bool: length from the mirror bone
    shown: np.ndarray | None = None           # (n_bones,) bool: both ends shown (>= MIN_SCORE)
    start_lengths: np.ndarray | None = None   # (n_bones,) px: the photo's 2D length where shown

    @property
    def sized(self) -> np.ndarray:
        """Bones whose length the portrait gives (measured, or mirrored from a measured one)."""
        return self.measured | (self.mirrored if self.mirrored is not None else False)


def person_model(portrait: PortraitAnalysis, camera: WeakPerspectiveCamera | None = None) -> PersonModel:
    """The portrait's 2D skeleton: measured bone lengths where reliably visible, the mirror
    bone's where only that one is, the fitted camera's projection of the rest pose elsewhere (a
    half-body photo has no legs to measure).

    camera: the portrait's camera; by default the one fitted with the rest pose, so that the
    person's proportions depend on the photo alone and not on the motion's first frame.
    """
    if camera is None:
        camera = fit_camera(portrait)
    kp = portrait.pose.keypoints[0].astype(np.float64)
    score = portrait.pose.scores[0].astype(np.float64)
    visible = np.asarray(portrait.visible, dtype=bool)
    body_known = (score >= MIN_SCORE) & visible
    body_sure = (score >= RELIABLE_SCORE) & visible
    known = np.zeros(NECK + 2, dtype=bool)
    sure = np.zeros(NECK + 2, dtype=bool)
    for flags, body in ((known, body_known), (sure, body_sure)):
        flags[:NUM_BODY_FEET] = body[:NUM_BODY_FEET]
        flags[NECK] = flags[B["left_shoulder"]] and flags[B["right_shoulder"]]
        flags[HIP_MID] = flags[B["left_hip"]] and flags[B["right_hip"]]
    tree = with_virtual(kp)
    rest = with_virtual(project_body(REST_POSE[None], camera)[0])
    expected = bone_lengths_2d(rest)
    photo_len = bone_lengths_2d(tree)
    shown = np.array([known[a] and known[b] for a, b in BONES])
    # A limb pointing at the camera in the photo measures short; below half its expected length
    # the measurement says more about the photo's angle than the person.
    measured = np.array([sure[a] and sure[b] for a, b in BONES]) & (photo_len > FORESHORTENED * expected)
    mirrored = ~measured & measured[MIRROR_BONE]
    lengths = np.where(measured, photo_len, np.where(mirrored, photo_len[MIRROR_BONE], expected))
    start_lengths = np.where(shown, photo_len, lengths)
    tree = np.where(known[:, None], tree, rest)
    return PersonModel(tree, known, lengths, measured, HAND_LENGTH_M * camera.scale,
                       float(lengths[BONES.index((NECK, HIP_MID))]), mirrored, shown, start_lengths)


def _portrait_hand(portrait: PortraitAnalysis, side: str, person: PersonModel) -> np.ndarray:
    """(21, 2) the portrait's hand relative to its wrist; a relaxed template along the forearm
    when the photo does not show the hand."""
    sl = HAND_SLICES[side]
    kp, sc = portrait.pose.keypoints[0, sl].astype(np.float64), portrait.pose.scores[0, sl]
    vis = np.asarray(portrait.visible, dtype=bool)[sl]
    if (sc >= MIN_SCORE).mean() > 0.6 and vis.mean() > 0.6:
        return kp - kp[0]
    elbow, wrist = person.tree[B[f"{side}_elbow"]], person.tree[B[f"{side}_wrist"]]
    angle = np.arctan2(*(wrist - elbow)[::-1])
    c, s = np.cos(angle), np.sin(angle)
    return TEMPLATE_HANDS[side] * person.hand_length_px @ np.array([[c, -s], [s, c]]).T


END_ON_SHARE = 0.9
"""A bone shorter on screen than this share of its full length is turning toward the camera."""


def steady_angles(tree: np.ndarray, full: np.ndarray | None = None) -> np.ndarray:
    """Unwrapped bone angles (T, n_bones) whose changes are damped while a bone points at the camera.

    A bone seen end-on has a 2D direction that swings wildly with tiny 3D changes; drawn at the
    person's full limb length, that swing would become a flailing limb. Each frame moves the
    angle toward the measured one by the share of the bone's full length that is visible.
    full: (n_bones,) reference full lengths in the tree's unit; the 95th percentile of the clip's
    own lengths is used where it is longer.
    """
    vectors = np.diff(tree[:, [[a, b] for a, b in BONES]], axis=2)[:, :, 0]       # (T, n_bones, 2)
    length = np.linalg.norm(vectors, axis=-1)
    clip_full = np.percentile(length, 95, axis=0)
    full = np.maximum(clip_full if full is None else np.maximum(clip_full, full), 1e-9)
    trust = np.clip(length / (END_ON_SHARE * full), 0.0, 1.0)
    raw = np.arctan2(vectors[..., 1], vectors[..., 0])
    out = np.empty_like(raw)
    out[0] = raw[0]
    for t in range(1, len(raw)):
        step = (raw[t] - out[t - 1] + np.pi) % (2 * np.pi) - np.pi
        out[t] = out[t - 1] + trust[t] * step
    return out


HAND_TURN_SIGMA = 0.08
"""Seconds over which the hand's turn with the forearm is averaged: a hand does not copy every
wobble of a forearm's on-screen angle, and the hand's length would magnify it."""


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """smooth_time, shifted so that x[0] is kept where the signal starts flat."""
    out = smooth_time(x, sigma)
    return out - out[0] + x[0]


def _rotate(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (K, 2) points by per-frame angles (T,) -> (T, K, 2)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    return np.stack([c * points[:, 0] - s * points[:, 1], s * points[:, 0] + c * points[:, 1]], axis=-1)


TALKING_FOREARM_SHARE = 0.6
"""How much of its full length a forearm shows on screen in the motion's ordinary talking
gestures (measured: the median over audio-driven clips of the shipped generator is 0.56-0.64);
at this share the person's forearm keeps the length the photo shows it with."""
MIN_FOREARM_SHARE = 0.15
RAISED_ARM_SIN = 0.5
"""An upper arm whose elbow is this far above its shoulder (sine of its angle above the horizontal)
is raised: its forearm takes the motion's own share (see forearm_shares)."""


def forearm_shares(motion: np.ndarray, person: PersonModel, resting: np.ndarray | None = None) -> np.ndarray:
    """(T, n_bones) share of each bone's full length to draw: 1, except for the forearms.

    Lengths come from the person, directions from the motion, but a forearm also foreshortens: the
    motion's on-screen share of its full length says how far it points at the camera. That share
    is taken relative to the person's photo: at the motion's ordinary talking share the forearm is
    as long as in the photo (hands held towards the camera stay so), pointing more sideways it
    grows to full length (a raised, straight arm), pointing more at the camera it shortens further.
    Drawing every forearm at full length would unfold a photo's hands-forward pose into arms
    spread out of the frame at the first beat gesture.
    ``resting``: (T, n_bones) 0 .. 1, how much each bone keeps the photo's posture (the ``keep`` of
    :func:`posture_offsets`, 0 where the photo's direction is unknown); that much of
    :data:`TALKING_LENGTH_DAMP` of a forearm's change of length is taken out.
    """
    tree = with_virtual(np.asarray(motion, dtype=np.float64))
    length = bone_lengths_2d(tree)                                   # (T, n_bones), the motion's unit
    full = np.maximum(np.percentile(length, 95, axis=0), person.lengths / max(person.torso_px, 1e-9))
    seen = np.clip(length / np.maximum(full, 1e-9), 0.0, 1.0)
    photo = np.clip(person.start_lengths / np.maximum(person.lengths, 1e-9), MIN_FOREARM_SHARE, 1.0)
    ref = TALKING_FOREARM_SHARE
    out = np.ones_like(seen)
    for bone in FOREARM_BONE.values():
        s, p = seen[:, bone], photo[bone]
        grow = p + (1.0 - p) * np.clip((s - ref) / (1.0 - ref), 0.0, 1.0)
        shrink = p * np.clip(s / ref, 0.0, 1.0)
        out[:, bone] = np.maximum(np.where(s >= ref, grow, shrink), MIN_FOREARM_SHARE)
        if resting is not None:
            out[:, bone] = p + (out[:, bone] - p) * (1.0 - TALKING_LENGTH_DAMP * resting[:, bone])
            # an arm raised above the shoulder, away from every resting posture, draws its forearm as
            # long as the motion does: the photo's hands held towards the camera left a raised arm
            # with a stub of a forearm pointing at the viewer
            upper = tree[:, BONES[bone][0]] - tree[:, BONES[UPPER_ARM_BONE[bone]][0]]
            up = -upper[:, 1] / np.maximum(np.linalg.norm(upper, axis=-1), 1e-9)
            w = (1.0 - resting[:, bone]) * np.clip(up / RAISED_ARM_SIN, 0.0, 1.0)
            out[:, bone] = (1.0 - w) * out[:, bone] + w * np.maximum(s, out[:, bone])
    return out


_ARM_BONES = tuple(BONES.index(bone) for bone in (
    (B["left_shoulder"], B["left_elbow"]), (B["left_elbow"], B["left_wrist"]),
    (B["right_shoulder"], B["right_elbow"]), (B["right_elbow"], B["right_wrist"])))
_TRUNK_BONES = tuple(BONES.index(bone) for bone in BONES if bone[0] in (NECK, HIP_MID, B["nose"], B["left_eye"],
                                                                      B["right_eye"]))
REST_POSTURES_DEG = {
    "talking": (62.0, -32.0, 118.0, -148.0),
    "standing": (80.0, 80.0, 100.0, 100.0),
}
"""The motion's resting postures: the mean on-screen direction (degrees, image y down; 90 = straight
down) of the left upper arm, left forearm, right upper arm and right forearm. "talking": audio-driven
motion of the shipped generator through the relation bank (the shared speech, two seeds, two
portraits: 1,984 frames; the upper arms stay within +-4 degrees of it while talking, the forearms
within +-20): upper arms abducted ~28 degrees, forearms raised outward, a posture few photos share.
"standing": the generator's "a person stands idle", arms hanging (also where actions end)."""
POSTURE_KEEP_DEG = (30.0, 80.0)
"""A bone within the first of these of a resting direction keeps the photo's posture in full,
beyond the second it takes the motion's own direction; smoothly in between."""


def _posture_weights(angles: np.ndarray) -> dict[str, np.ndarray]:
    """Per resting posture, (T, 4) closeness of the four arm bones to it (1 near, 0 far)."""
    lo, hi = np.radians(POSTURE_KEEP_DEG)
    out = {}
    for name, refs in REST_POSTURES_DEG.items():
        dev = np.abs(wrap(angles[:, list(_ARM_BONES)] - np.radians(refs)[None, :]))
        x = np.clip((dev - lo) / (hi - lo), 0.0, 1.0)
        out[name] = 1.0 - x * x * (3.0 - 2.0 * x)
    return out


def posture_offsets(angles: np.ndarray, start: np.ndarray, keep_photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, keep), each (T, n_bones): angle offsets that carry the photo's arm posture into the
    motion's resting ones, and how much of it each bone keeps (1 near one of the resting postures,
    0 far from all of them (see :data:`POSTURE_KEEP_DEG`) or where the photo's direction is unknown;
    0 for the bones that are not the arms').

    The motion's bone directions are absolute, so a photo whose arms rest differently from the
    motion's talking posture (arms at the sides, hands held in front) would swing its arms out to
    that posture within the first half second, opening the torso's sides and unfolding
    foreshortened forearms at every beat, and drop them to hanging straight whenever an action
    ends. While an arm bone stays near a resting posture, it is drawn at the photo's direction plus
    the motion's change from that posture (beats and small gestures keep their rhythm on the
    person's own pose); as the motion takes it far from every resting posture (a raised or
    pointing arm, an asked-for action) the offset fades, so actions reach the directions they ask
    for. Between two resting postures the offsets blend by closeness, so nothing jumps.
    ``keep_photo``: (n_bones,) bool, the bones whose photo direction is known.
    """
    arms = list(_ARM_BONES)
    weights = _posture_weights(angles)
    keep = np.max(np.stack(list(weights.values())), axis=0) * keep_photo[arms][None, :]   # (T, 4)
    total = np.maximum(sum(weights.values()), 1e-9)
    offset = np.zeros((len(angles), len(arms)))
    for name, refs in REST_POSTURES_DEG.items():
        offset += weights[name] * wrap(start[arms] - np.radians(refs))[None, :]
    offsets, keeps = np.zeros_like(angles), np.zeros_like(angles)
    offsets[:, arms] = keep * offset / total
    keeps[:, arms] = keep
    return offsets, keeps


TALKING_LENGTH_DAMP = 0.75
"""Share of a forearm's change of drawn length (foreshortening) that is taken out while it keeps
the photo's posture: a forearm the photo shows pointing at the camera stays so through the beats
of speech instead of unfolding into a limb the photo never showed; actions unfold it in full."""


def fit_to_portrait(motion: np.ndarray, motion_scores: np.ndarray, displacement: np.ndarray,
                    portrait: PortraitAnalysis, camera: WeakPerspectiveCamera, *, fps: float,
                    motion_hands: bool = False, ease_seconds: float = EASE_SECONDS,
                    src_fps: float = MOTION_FPS) -> WholeBodyPose:
    """The final pixel poses at ``fps`` for normalised poses (T, 133, 2) at ``src_fps``.

    displacement: (T, 2) px neck travel from the motion's root (zero at frame 0).
    motion_hands: take the hand shapes from ``motion`` (a bank with real hands) rather than the
    portrait's own hands following the forearms.
    """
    person = person_model(portrait)
    motion = np.asarray(motion, dtype=np.float64)
    # A bone's full on-screen length: the person's own proportions (torso = 1, the motion's unit),
    # or the motion's longest, whichever is more; the clip alone is no reference when its
    # windows come from several template clips, or when it never shows the limb side-on.
    angles = steady_angles(with_virtual(motion), person.lengths / person.torso_px)   # (T, n_bones), unwrapped
    directed = person.shown | _outside_ends(portrait, person)   # bones whose photo direction is known
    start = np.where(directed, bone_angles(_with_outside_ends(portrait, person)), angles[0])
    # Bones the photo does not show start from the motion's own first direction; shown ones ease
    # from the photo (angle and length: a limb seen end-on grows to its full length as it turns),
    # and so do bones that leave the frame (a forearm whose wrist is below the picture points where
    # the detector placed the wrist outside it, not where the motion's first frame has it).
    angles = angles + 2 * np.pi * np.round((start - angles[0]) / (2 * np.pi))
    offsets, resting = posture_offsets(angles, start, directed)   # at the motion's rate, like the shares
    angles = angles + offsets
    # the trunk and head keep the photo's own lean and tilt plus the motion's change from its first
    # frame: a person bent over a camera or leaning on one hip is not straightened up by the motion
    trunk = [b for b in _TRUNK_BONES if directed[b]]
    angles[:, trunk] += (start - angles[0])[trunk]
    positions = sample_positions(len(motion), src_fps, fps)
    times = np.arange(len(positions)) / fps
    weight = ease(times, ease_seconds)[:, None]
    angles = start + weight * (interpolate(angles, positions) - start)
    root = person.tree[NECK] + interpolate(displacement - displacement[:1], positions)
    full_lengths = person.lengths * interpolate(forearm_shares(motion, person, resting), positions)
    lengths = person.start_lengths + weight * (full_lengths - person.start_lengths)
    tree = rebuild(root, angles, lengths)

    n_out = len(tree)
    keypoints = np.zeros((n_out, NUM_KEYPOINTS, 2))
    keypoints[:, :NUM_BODY_FEET] = tree[:, :NUM_BODY_FEET]
    for side in ("left", "right"):
        sl = HAND_SLICES[side]
        own = _portrait_hand(portrait, side, person)
        turn = _smooth(angles[:, FOREARM_BONE[side]] - angles[0, FOREARM_BONE[side]], HAND_TURN_SIGMA * fps)
        rel = _rotate(own, turn)
        if motion_hands:
            bank_rel = interpolate(motion[:, sl] - motion[:, sl.start:sl.start + 1], positions) * person.torso_px
            size = np.median(np.linalg.norm(bank_rel[:, 12], axis=-1))
            if size > 1e-6:
                bank_rel *= np.linalg.norm(own[12]) / size
            conf = interpolate(np.asarray(motion_scores, dtype=np.float64)[:, sl].mean(-1), positions)
            blend = (weight[:, 0] * np.clip((conf - MIN_SCORE) / 0.4, 0.0, 1.0))[:, None, None]
            rel = (1.0 - blend) * rel + blend * bank_rel
        keypoints[:, sl] = tree[:, B[f"{side}_wrist"], None, :] + rel
    face_kp, face_sc = portrait.pose.keypoints[0, FACE].astype(np.float64), portrait.pose.scores[0, FACE]
    if (face_sc >= MIN_SCORE).mean() > 0.6 and person.known[B["nose"]]:
        head_turn = angles[:, HEAD_BONE] - angles[0, HEAD_BONE]
        keypoints[:, FACE] = tree[:, B["nose"], None, :] + _rotate(face_kp - person.tree[B["nose"]], head_turn)
    else:
        keypoints[:, FACE] = canonical_face(tree[:, :NUM_BODY_FEET])
    keypoints[0] = np.where(_portrait_known(portrait)[:, None], portrait.pose.keypoints[0], keypoints[0])
    scores = _scores(portrait, keypoints, motion_scores, positions)
    hidden = portrait.hidden_hands
    for side in portrait.held_arms:
        _hold_arm(keypoints, scores, portrait, tree[:, B[f"{side}_shoulder"]], side, drawn=side not in hidden)
    return WholeBodyPose(keypoints.astype(np.float32), scores, portrait.size, float(fps))


def _hold_arm(keypoints: np.ndarray, scores: np.ndarray, portrait: PortraitAnalysis, shoulder: np.ndarray,
              side: str, drawn: bool = False) -> None:
    """An arm the render cannot move (``portrait.held_arms``) keeps its place in the photo, carried
    by its shoulder (in place): a forearm swung out from behind the back would show a hand nobody
    has seen, a hand taken from the face would leave a hole in it. A hidden hand's wrist and hand
    are not drawn (score 0); a hand at the head (``drawn``) keeps the photo's scores."""
    photo = portrait.pose.keypoints[0].astype(np.float64)
    offset = shoulder - photo[B[f"{side}_shoulder"]]                       # (T, 2)
    hand = HAND_SLICES[side]
    for k in (B[f"{side}_elbow"], B[f"{side}_wrist"]):
        keypoints[:, k] = photo[k] + offset
    keypoints[:, hand] = photo[hand][None] + offset[:, None]
    if drawn:
        held = [B[f"{side}_elbow"], B[f"{side}_wrist"], *range(hand.start, hand.stop)]
        scores[:, held] = portrait.pose.scores[0, held][None]
    else:
        scores[:, B[f"{side}_wrist"]] = 0.0
        scores[:, hand] = 0.0


def _outside_ends(portrait: PortraitAnalysis, person: PersonModel) -> np.ndarray:
    """(n_bones,) bool: bones whose start the photo shows and whose end the detector placed outside it."""
    kp = portrait.pose.keypoints[0].astype(np.float64)
    width, height = portrait.size
    out = np.zeros(len(BONES), dtype=bool)
    for k, (a, b) in enumerate(BONES):
        if b >= NUM_BODY_FEET or not person.known[a] or person.known[b]:
            continue
        x, y = kp[b]
        out[k] = bool(np.isfinite(kp[b]).all() and not (0 <= x < width and 0 <= y < height))
    return out


def _with_outside_ends(portrait: PortraitAnalysis, person: PersonModel) -> np.ndarray:
    """The person's tree with the ends of bones that leave the frame where the detector put them."""
    tree = person.tree.copy()
    kp = portrait.pose.keypoints[0].astype(np.float64)
    for k in np.nonzero(_outside_ends(portrait, person))[0]:
        tree[BONES[k][1]] = kp[BONES[k][1]]
    return tree


def _portrait_known(portrait: PortraitAnalysis) -> np.ndarray:
    return (portrait.pose.scores[0] >= MIN_SCORE) & np.asarray(portrait.visible, dtype=bool)


def _scores(portrait: PortraitAnalysis, keypoints: np.ndarray, motion_scores: np.ndarray,
            positions: np.ndarray) -> np.ndarray:
    """Confidence per drawn point: the portrait's own where it showed the point, DRAWN_SCORE
    elsewhere; 0 for points outside the image (they keep their coordinates), for the legs of a
    half-body portrait and for everything but the head and shoulders of a head portrait; body
    points the motion marks hidden (a face turned away) fade out."""
    known = _portrait_known(portrait)
    base = np.where(known, portrait.pose.scores[0], DRAWN_SCORE).astype(np.float64)
    scores = np.repeat(base[None], len(keypoints), axis=0)
    hidden = interpolate(np.asarray(motion_scores, dtype=np.float64)[:, list(HEAD_POINTS)], positions)
    scores[:, list(HEAD_POINTS)] *= np.clip(hidden, 0.0, 1.0)
    if portrait.framing == "half_body":
        scores[:, list(LEG_KEYPOINTS)] = 0.0
    elif portrait.framing == "head":
        keep = np.zeros(NUM_KEYPOINTS, dtype=bool)
        keep[list(HEAD_FRAMING_POINTS)] = True
        keep[FACE] = True
        scores[:, ~keep] = 0.0
    width, height = portrait.size
    inside = ((keypoints[..., 0] >= 0) & (keypoints[..., 0] < width)
              & (keypoints[..., 1] >= 0) & (keypoints[..., 1] < height))
    scores[~inside] = 0.0
    scores[0] = np.where(known, portrait.pose.scores[0], scores[0])
    return scores.astype(np.float32)


__all__ = ["EASE_SECONDS", "MIRROR_BONE", "PersonModel", "RELIABLE_SCORE", "ease", "fit_to_portrait", "person_model"]
