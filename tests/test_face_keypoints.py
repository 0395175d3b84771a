"""pipeline.face: the talking face on the 68 face keypoints of a WholeBodyPose."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.face import STABLE, animate_face, eyelid_gap, mouth_opening, talking_face
from pipeline.face.keypoints import face_frame
from pipeline.portrait.wholebody import FACE, NUM_KEYPOINTS, WholeBodyPose
from pipeline.speech.visemes import MouthTrack


def _face68() -> np.ndarray:
    """A frontal iBUG-68 face in pixels (centre about (200, 200), eyes 60 px apart)."""
    f = np.zeros((68, 2))
    ang = np.linspace(np.pi, 0, 17)                      # jaw line, ear to ear through the chin
    f[0:17] = np.stack([200 - 80 * np.cos(ang), 190 + 95 * np.sin(ang)], axis=1)
    f[17:22] = np.stack([np.linspace(140, 190, 5), [165, 158, 156, 158, 162]], axis=1)
    f[22:27] = np.stack([np.linspace(210, 260, 5), [162, 158, 156, 158, 165]], axis=1)
    f[27:31] = np.stack([[200] * 4, np.linspace(180, 225, 4)], axis=1)
    f[31:36] = np.stack([np.linspace(185, 215, 5), [232, 235, 237, 235, 232]], axis=1)
    for start, cx in ((36, 170), (42, 230)):             # eyes: corner, 2 upper, corner, 2 lower
        f[start:start + 6] = [[cx - 15, 185], [cx - 6, 179], [cx + 6, 179], [cx + 15, 185], [cx + 6, 190],
                              [cx - 6, 190]]
    xs = np.array([170, 180, 190, 200, 210, 220, 230])
    f[48:55] = np.stack([xs, [262, 257, 254, 256, 254, 257, 262]], axis=1)     # outer upper, corner to corner
    f[55:60] = np.stack([xs[5:0:-1], [270, 274, 276, 274, 270]], axis=1)      # outer lower, back
    f[60:65] = np.stack([[174, 188, 200, 212, 226], [262, 261, 261, 261, 262]], axis=1)
    f[65:68] = np.stack([[212, 200, 188], [263, 263, 263]], axis=1)
    return f


def _pose(n: int, angle_deg: float = 0.0, shift=(0.0, 0.0)) -> WholeBodyPose:
    kp = np.zeros((n, NUM_KEYPOINTS, 2), dtype=np.float32)
    face = _face68()
    th = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    kp[:, FACE] = ((face - 200) @ rot.T + 200 + np.asarray(shift))[None]
    kp[:, :17] = 200.0
    return WholeBodyPose(kp, np.ones((n, NUM_KEYPOINTS), dtype=np.float32), (400, 400), 25.0)


def _track(n: int, **params) -> MouthTrack:
    z = np.zeros(n, dtype=np.float32)
    arrays = {k: np.asarray(params.get(k, z), dtype=np.float32)
              for k in ("jaw", "width", "rounding", "upper_lip", "lower_lip", "lip_closure")}
    return MouthTrack(25.0, source="aligned", **arrays)


def test_a_blink_brings_the_upper_lids_onto_the_lower_lids():
    n = 5
    closure = np.array([0.0, 0.5, 1.0, 0.5, 0.0], dtype=np.float32)
    pose = _pose(n)
    out = animate_face(pose, None, closure)
    gap = eyelid_gap(out)
    open_gap = eyelid_gap(pose)[0]
    assert np.all(open_gap > 0.1)
    assert np.all(np.abs(gap[2]) < 1e-3)                    # shut: the lids meet
    assert np.all(gap[1] < open_gap * 0.6) and np.all(gap[1] > 0.1 * open_gap)
    np.testing.assert_allclose(gap[0], open_gap, atol=1e-5)  # open frames untouched
    # the upper lid does most of the travel
    up = np.abs(out.keypoints[2, FACE][[37, 38]] - pose.keypoints[2, FACE][[37, 38]])[:, 1].mean()
    down = np.abs(out.keypoints[2, FACE][[40, 41]] - pose.keypoints[2, FACE][[40, 41]])[:, 1].mean()
    assert up > 2 * down


def test_the_jaw_drops_the_chin_and_lower_lip_and_never_moves_the_stable_points():
    pose = _pose(3)
    track = _track(3, jaw=[0.0, 0.5, 1.0])
    out = animate_face(pose, track)
    d = out.keypoints[:, FACE] - pose.keypoints[:, FACE]
    assert np.abs(d[0]).max() < 1e-5
    assert np.abs(d[:, list(STABLE)]).max() == 0.0
    chin = d[:, 8, 1]
    assert chin[2] > chin[1] > 5.0                           # pixels, downwards
    assert d[2, 57, 1] > 0.6 * chin[2] and abs(d[2, 51, 1]) < 0.2 * chin[2]
    assert d[2, 4, 1] < 0.5 * chin[2]                        # the jaw turns: less near the ear
    opening = mouth_opening(out)
    assert opening[2] > opening[1] > opening[0] + 0.1


def test_lip_closure_shuts_the_lips_even_with_the_jaw_open():
    pose = _pose(2)
    out = animate_face(pose, _track(2, jaw=[0.6, 0.6], lip_closure=[0.0, 1.0]))
    opening = mouth_opening(out)
    assert opening[0] > 0.15
    assert abs(opening[1]) < 0.01
    chin = out.keypoints[:, FACE][:, 8, 1] - pose.keypoints[:, FACE][:, 8, 1]
    assert chin[1] > 0.5 * chin[0]                           # the chin still drops


def test_rounding_narrows_and_wide_spreads_the_mouth():
    pose = _pose(3)
    out = animate_face(pose, _track(3, rounding=[0, 1, 0], width=[0, -1, 1]))
    width = np.linalg.norm(out.keypoints[:, FACE][:, 54] - out.keypoints[:, FACE][:, 48], axis=1)
    assert width[1] < 0.8 * width[0] and width[2] > 1.08 * width[0]


def test_f_v_tucks_the_lower_lip_under_the_upper_teeth():
    pose = _pose(2)
    out = animate_face(pose, _track(2, jaw=[0.2, 0.2], lower_lip=[0.0, 1.0]))
    opening = mouth_opening(out)
    assert opening[1] < 0.5 * opening[0]


def test_the_animation_rides_on_the_head_motion():
    """Offsets are applied in the head's own frame: animate(turned head) == turn(animate(head))."""
    track = _track(1, jaw=[0.8], width=[0.5], upper_lip=[0.4])
    brows = np.array([1.0], dtype=np.float32)
    closure = np.array([0.7], dtype=np.float32)
    still = animate_face(_pose(1), track, closure, brows)
    turned = animate_face(_pose(1, angle_deg=25.0, shift=(30.0, -12.0)), track, closure, brows)
    th = np.deg2rad(25.0)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    expected = (still.keypoints[0, FACE] - 200) @ rot.T + 200 + np.array([30.0, -12.0])
    np.testing.assert_allclose(turned.keypoints[0, FACE], expected, atol=1e-3)
    origin, ax, _, _, _ = face_frame(turned.keypoints[0, FACE].astype(np.float64))
    assert ax[1] == pytest.approx(np.sin(th), abs=1e-6)


def test_brows_rise_and_unknown_faces_stay_put():
    pose = _pose(2)
    out = animate_face(pose, None, None, np.array([0.0, 1.0], dtype=np.float32))
    dy = out.keypoints[:, FACE][:, 17:27, 1] - pose.keypoints[:, FACE][:, 17:27, 1]
    assert np.all(dy[1] < -2.0) and np.abs(dy[0]).max() == 0
    unknown = WholeBodyPose(pose.keypoints, np.zeros_like(pose.scores), pose.image_size, 25.0)
    same = animate_face(unknown, _track(2, jaw=[1, 1]))
    np.testing.assert_array_equal(same.keypoints, unknown.keypoints)


def test_talking_face_blinks_at_the_renderers_times_and_resamples_the_track():
    from pipeline.render.audio_drive import blink_closure

    n = 250  # 10 s at 25 fps
    pose = _pose(n)
    track = MouthTrack(50.0, source="aligned", **{k: np.zeros(2 * n, np.float32) for k in
                       ("jaw", "width", "rounding", "upper_lip", "lower_lip", "lip_closure")})
    track.jaw[100:140] = 1.0  # 1.0-1.4 s at 50 fps -> frames 50-70 at 25 fps
    out = talking_face(pose, track, blink_rate_per_min=30, seed=3)
    closed = np.flatnonzero(np.abs(eyelid_gap(out)[:, 0]) < 0.02)
    expected = np.flatnonzero(blink_closure(n, 25.0, 30, 0.15, 3) > 0.98)
    assert len(expected) >= 2 and set(expected) <= set(closed)
    opening = mouth_opening(out)
    assert opening[55:65].min() > opening[0] + 0.2 and opening[80] == pytest.approx(opening[0], abs=1e-4)
