"""Talking-face keypoints: lips, jaw line, eyelids and brows of a fitted WholeBodyPose, animated.

The pose sequence carries the head's own motion (nods, turns: the motion generator's). Every
frame gets a local face frame measured from points that speech does not move (eye corners and
nose), and the mouth, jaw, lid and brow offsets are applied in that frame, so they ride on the
head motion and scale with the face. The stable points (eye corners 36, 39, 42, 45, nose 27-35,
upper contour 0-2 and 14-16) are never moved: the renderer fits the head to them.
"""

from __future__ import annotations

import numpy as np

from pipeline.portrait.wholebody import FACE, WholeBodyPose
from pipeline.speech.visemes import MouthTrack

F0 = FACE.start
"""Index of iBUG point 0 in the 133 layout."""

STABLE = (36, 39, 42, 45, 27, 28, 29, 30, 31, 32, 33, 34, 35, 0, 1, 2, 14, 15, 16)
"""iBUG-68 points this module never moves."""

# Jaw line points 3..13 follow the chin; the weight grows towards the chin (the jaw turns about
# the ear, so the far end of the jaw moves most).
JAW_WEIGHTS = {3: 0.12, 4: 0.3, 5: 0.5, 6: 0.7, 7: 0.88, 8: 1.0, 9: 0.88, 10: 0.7, 11: 0.5, 12: 0.3, 13: 0.12}

UPPER_OUTER = (49, 50, 51, 52, 53)
LOWER_OUTER = (55, 56, 57, 58, 59)
UPPER_INNER = (61, 62, 63)
LOWER_INNER = (65, 66, 67)   # 65 under 63, 66 under 62, 67 under 61
CORNERS = (48, 54, 60, 64)
LIDS = ((37, 41), (38, 40), (43, 47), (44, 46))
"""(upper lid point, lower lid point below it) for both eyes."""
BROWS = tuple(range(17, 27))

# Sizes in face units: x in inter-ocular distances, y in eye-line-to-nose-base distances.
JAW_DROP = 0.55
"""Chin drop at jaw = 1 (a wide open 'ah')."""
LIP_FOLLOW = 0.85
"""The lower lip rides on the lower teeth: a bit less travel than the chin."""
CORNER_FOLLOW = 0.4
UPPER_RAISE = 0.07
WIDTH_GAIN = 0.13
ROUND_NARROW = 0.16
ROUND_PUCKER = 0.05
BROW_RAISE = 0.12
LID_MEET = 0.25
"""Lids meet a quarter of the way up from the lower lid (the upper lid does most of the work)."""


def face_frame(face: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float] | None:
    """(origin, x_axis, y_axis, x_unit, y_unit) of one frame's 68 face points, or None if degenerate.

    x runs from the person's right eye to their left (image right for a frontal face), y is x
    turned a quarter towards the chin; x_unit is the eye-centre distance, y_unit the distance
    from the eye line to the nose base (stays sensible when the head turns).
    """
    right_eye = 0.5 * (face[36] + face[39])
    left_eye = 0.5 * (face[42] + face[45])
    axis = left_eye - right_eye
    d = float(np.hypot(*axis))
    if d < 1e-3:
        return None
    x = axis / d
    y = np.array([-x[1], x[0]])
    origin = 0.5 * (right_eye + left_eye)
    h = float(np.dot(face[33] - origin, y))
    if h < 0.2 * d:
        h = 0.6 * d
    return origin, x, y, d, h


def _offsets(face: np.ndarray, frame, jaw: float, width: float, rounding: float, upper: float, lower: float,
             closure: float, lid: float, brow: float) -> np.ndarray:
    """(68, 2) local offsets (x in x_units, y in y_units) for one frame's parameters."""
    origin, ax, ay, d, h = frame
    local = np.stack([(face - origin) @ ax / d, (face - origin) @ ay / h], axis=1)
    off = np.zeros((68, 2))
    drop = JAW_DROP * jaw
    # lips: opening from the jaw, pressed shut by closure, lower lip tucked for f/v
    open_gap = drop * LIP_FOLLOW * (1.0 - closure)
    for k in LOWER_OUTER + LOWER_INNER:
        off[k, 1] += open_gap
    for k in CORNERS:
        off[k, 1] += CORNER_FOLLOW * open_gap
    for k in UPPER_OUTER + UPPER_INNER:
        off[k, 1] -= UPPER_RAISE * upper * (1.0 - closure)
    # closure: inner lips meet at the middle of their rest positions (a mouth shown open in the
    # portrait closes too)
    for u, lo in zip(UPPER_INNER, (67, 66, 65)):
        gap = local[lo, 1] - local[u, 1]
        off[u, 1] += closure * 0.5 * gap
        off[lo, 1] -= closure * 0.5 * gap
    for k in (56, 57, 58):
        off[k, 1] -= closure * 0.5 * max(local[66, 1] - local[62, 1], 0.0)
    # lower lip tuck (f/v): the lower lip comes up under the upper teeth
    tuck_to = local[62, 1] - UPPER_RAISE * upper + 0.05
    for k in LOWER_INNER:
        off[k, 1] += lower * ((tuck_to - local[k, 1]) - off[k, 1])
    for k in LOWER_OUTER:
        off[k, 1] += lower * (0.6 * (tuck_to - local[66, 1]) - 0.6 * off[k, 1])
    # width and rounding: the lips spread or narrow about the mouth centre; rounding also puckers
    centre_x = float(np.mean(local[48:60, 0]))
    scale_x = np.clip(1.0 + WIDTH_GAIN * width - ROUND_NARROW * rounding, 0.6, 1.3)
    for k in range(48, 68):
        off[k, 0] += (scale_x - 1.0) * (local[k, 0] - centre_x)
    for k in (50, 51, 52):
        off[k, 1] -= ROUND_PUCKER * rounding
    for k in (56, 57, 58):
        off[k, 1] += ROUND_PUCKER * rounding
    # jaw line: chin down, less towards the ears
    for k, w in JAW_WEIGHTS.items():
        off[k, 1] += w * drop
    # eyelids: both lids move to a meeting line near the lower lid
    for u, lo in LIDS:
        meet = local[lo, 1] + LID_MEET * (local[u, 1] - local[lo, 1])
        off[u, 1] += lid * (meet - local[u, 1])
        off[lo, 1] += lid * (meet - local[lo, 1])
    for k in BROWS:
        off[k, 1] -= BROW_RAISE * brow
    off[list(STABLE)] = 0.0
    return off


def animate_face(pose: WholeBodyPose, track: MouthTrack | None, closure: np.ndarray | None = None,
                 brows: np.ndarray | None = None, strength: float = 1.0) -> WholeBodyPose:
    """A copy of ``pose`` whose face points speak (``track``), blink (``closure``, 0..1 per frame)
    and raise the brows (``brows``, 0..1). Frames without a usable face frame (eye corners
    unknown) are left as they are. ``strength`` scales the mouth and brow motion, not blinks.
    """
    n = len(pose)
    kp = pose.keypoints.copy()
    scores = pose.scores
    s = float(max(strength, 0.0))

    def at(arr, i, default=0.0):
        return float(arr[i]) if arr is not None and i < len(arr) else default  # past the end: at rest

    for i in range(n):
        face = kp[i, FACE].astype(np.float64)
        if np.any(scores[i, [F0 + k for k in (36, 39, 42, 45, 33)]] <= 0):
            continue
        frame = face_frame(face)
        if frame is None:
            continue
        if track is not None and track.num_frames:
            jaw, width, rnd = at(track.jaw, i), at(track.width, i), at(track.rounding, i)
            up, low, clo = at(track.upper_lip, i), at(track.lower_lip, i), at(track.lip_closure, i)
        else:
            jaw = width = rnd = up = low = clo = 0.0
        off = _offsets(face, frame, s * jaw, s * width, s * rnd, s * up, s * low, min(1.0, clo),
                       float(np.clip(at(closure, i), 0, 1)), s * at(brows, i))
        origin, ax, ay, d, h = frame
        delta = off[:, :1] * d * ax[None, :] + off[:, 1:] * h * ay[None, :]
        moved = scores[i, FACE] > 0
        kp[i, FACE] = np.where(moved[:, None], face + delta, face).astype(np.float32)
    return WholeBodyPose(kp, pose.scores.copy(), pose.image_size, pose.fps)


def _vertical_gaps(pose: WholeBodyPose, pairs) -> np.ndarray:
    """(T, len(pairs)) distance from each upper to its lower face point along the face's own
    vertical, in y_units (0 where the frame has no usable face)."""
    out = np.zeros((len(pose), len(pairs)), dtype=np.float32)
    for i in range(len(pose)):
        face = pose.keypoints[i, FACE].astype(np.float64)
        frame = face_frame(face)
        if frame is None:
            continue
        _, _, ay, _, h = frame
        out[i] = [float((face[lo] - face[u]) @ ay / h) for u, lo in pairs]
    return out


def mouth_opening(pose: WholeBodyPose) -> np.ndarray:
    """Inner-lip gap per frame in y_units (0 = lips together): a check on what the keypoints say."""
    return _vertical_gaps(pose, list(zip(UPPER_INNER, (67, 66, 65)))).mean(1)


def eyelid_gap(pose: WholeBodyPose) -> np.ndarray:
    """(T, 4) upper-to-lower lid distance per lid pair, in y_units."""
    return _vertical_gaps(pose, LIDS)
