"""Pose maps follow the DWPose colour convention; composite maps follow the paper."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.portrait.wholebody import FACE, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND, WholeBodyPose
from pipeline.render.pose_maps import (BODY_COLORS, FACE_DOT_COLOR, HAND_DOT_COLOR, HAND_EDGE_COLORS,
                                       HEAD_MASK_COLOR, LIMB_BRIGHTNESS, draw_composite_map, draw_pose,
                                       draw_pose_overlay, openpose18)

W, H = 400, 500


def _pose(face_offset=(0.0, 0.0), frames=1) -> WholeBodyPose:
    """A frontal stick figure: shoulders at y=200, arms down, hips at 320, a face around (200, 110)."""
    kp = np.zeros((NUM_KEYPOINTS, 2))
    sc = np.ones(NUM_KEYPOINTS)
    body = {"nose": (200, 120), "left_eye": (215, 105), "right_eye": (185, 105), "left_ear": (235, 110),
            "right_ear": (165, 110), "left_shoulder": (280, 200), "right_shoulder": (120, 200),
            "left_elbow": (300, 280), "right_elbow": (100, 280), "left_wrist": (310, 350),
            "right_wrist": (90, 350), "left_hip": (240, 320), "right_hip": (160, 320), "left_knee": (240, 400),
            "right_knee": (160, 400), "left_ankle": (240, 480), "right_ankle": (160, 480)}
    for name, xy in body.items():
        kp[B[name]] = xy
    sc[17:23] = 0.0  # no feet
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    kp[FACE] = np.c_[200 + 30 * np.cos(angles), 110 + 40 * np.sin(angles)]
    for part, wx in ((LEFT_HAND, 310), (RIGHT_HAND, 90)):  # fingers fanned downwards from the wrist
        hand = np.zeros((21, 2))
        hand[0] = (wx, 350)
        for finger in range(5):
            for joint in range(4):
                hand[1 + 4 * finger + joint] = (wx - 20 + 10 * finger, 362 + 12 * joint)
        kp[part] = hand
    kps = np.repeat(kp[None], frames, axis=0)
    for t in range(frames):
        kps[t, FACE] += np.asarray(face_offset) * t
        kps[t, :5] += np.asarray(face_offset) * t
    return WholeBodyPose(kps, np.repeat(sc[None], frames, axis=0), (W, H))


def _colour(img, xy):
    return tuple(int(v) for v in img[int(round(xy[1])), int(round(xy[0]))])


def _limb_colour(i):
    return tuple(int(c * LIMB_BRIGHTNESS) for c in BODY_COLORS[i])


def test_openpose_neck_is_shoulder_midpoint():
    pose = _pose()
    kp, sc = openpose18(pose.keypoints[0], pose.scores[0])
    assert kp.shape == (18, 2)
    np.testing.assert_allclose(kp[1], (200, 200))
    np.testing.assert_allclose(kp[2], (120, 200))  # OpenPose 2 is the right shoulder
    np.testing.assert_allclose(kp[5], (280, 200))


def test_limb_midpoints_have_the_dwpose_colours():
    img = draw_pose(_pose())
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    assert _colour(img, (160, 200)) == _limb_colour(0)       # neck -> right shoulder: dimmed red
    assert _colour(img, (240, 200)) == _limb_colour(1)       # neck -> left shoulder
    assert _colour(img, (110, 240)) == _limb_colour(2)       # right upper arm
    assert _colour(img, (290, 240)) == _limb_colour(4)       # left upper arm
    assert _colour(img, (160, 360)) == _limb_colour(7)       # right thigh
    assert _colour(img, (200, 160)) == _limb_colour(12)      # neck -> nose
    # joints are full colour: right elbow is OpenPose point 3
    assert _colour(img, (100, 280)) == BODY_COLORS[3]
    assert _colour(img, (0, 0)) == (0, 0, 0)


def test_hand_edges_and_dots_and_face_dots():
    img = draw_pose(_pose(), body=False)
    # index finger of the right hand (edges 4-7, hue 4/20 .. 7/20) between its joints 6 and 7
    assert _colour(img, (80, 380)) == HAND_EDGE_COLORS[6]
    assert _colour(img, (70, 362)) == HAND_DOT_COLOR
    assert HAND_EDGE_COLORS[0] == (255, 0, 0) and HAND_EDGE_COLORS[5] == (128, 255, 0)
    assert _colour(img, (230, 110)) == FACE_DOT_COLOR
    no_face = draw_pose(_pose(), body=False, face=False)
    assert _colour(no_face, (230, 110)) == (0, 0, 0)


def test_low_score_points_are_not_drawn():
    pose = _pose()
    pose.scores[0, B["right_elbow"]] = 0.1
    pose.scores[0, LEFT_HAND] = 0.2
    img = draw_pose(pose)
    assert _colour(img, (100, 280)) == (0, 0, 0)            # the joint
    assert _colour(img, (110, 240)) == (0, 0, 0)            # upper arm, drawn only with both ends
    assert _colour(img, (95, 315)) == (0, 0, 0)             # forearm
    assert not img[355:400, 285:335].any()                  # left hand gone entirely
    assert img[355:400, 65:115].any()                       # right hand still there
    assert _colour(img, (290, 240)) == _limb_colour(4)


def test_draw_pose_rescales_to_another_size():
    img = draw_pose(_pose(), size=(W // 2, H // 2))
    assert img.shape == (H // 2, W // 2, 3)
    assert _colour(img, (80, 100)) == _limb_colour(0)


def test_overlay_keeps_the_image_where_nothing_is_drawn():
    image = np.full((H, W, 3), 90, np.uint8)
    out = draw_pose_overlay(image, _pose(), 0, alpha=0.5)
    assert _colour(out, (5, 5)) == (90, 90, 90)
    expected = tuple(int(round(0.5 * 90 + 0.5 * c)) for c in _limb_colour(0))
    assert _colour(out, (160, 200)) == expected


def test_composite_has_body_and_a_fixed_head_mask_but_no_face():
    pose = _pose()
    centre, size = (300.0, 80.0), (60, 80)  # away from the face so face dots would show
    img = draw_composite_map(pose, 0, centre, size)
    assert _colour(img, centre) == HEAD_MASK_COLOR
    assert _colour(img, (centre[0] + 28, centre[1])) == HEAD_MASK_COLOR
    assert _colour(img, (centre[0] + 33, centre[1])) == (0, 0, 0)
    assert _colour(img, (centre[0], centre[1] - 38)) == HEAD_MASK_COLOR
    assert _colour(img, (centre[0], centre[1] - 43)) == (0, 0, 0)
    face_only = draw_pose(pose, body=False, hands=False)
    assert not img[face_only.any(axis=2)].any(), "no face dots in the composite map"
    assert _colour(img, (200, 120)) == (0, 0, 0)             # no nose joint
    assert _colour(img, (200, 160)) == (0, 0, 0)             # no neck -> nose limb
    assert _colour(img, (160, 200)) == _limb_colour(0)       # body below the neck is there
    assert _colour(img, (110, 240)) == _limb_colour(2)
    assert img[355:400, 65:115].any()                        # hands are there


def test_composite_mask_follows_the_face_with_a_constant_size():
    pose = _pose(face_offset=(40.0, 10.0), frames=2)
    sizes, centres = [], []
    for t in range(2):
        img = draw_composite_map(pose, t, None, (70, 90))
        ys, xs = np.nonzero(np.all(img == HEAD_MASK_COLOR, axis=2))
        sizes.append((xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
        centres.append(((xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2))
    assert sizes[0] == sizes[1] and abs(sizes[0][0] - 70) <= 2 and abs(sizes[0][1] - 90) <= 2
    np.testing.assert_allclose(centres[0], (200, 110), atol=1.0)  # the face midpoint of frame 0
    np.testing.assert_allclose(centres[1], (240, 120), atol=1.0)


def test_composite_accepts_a_portrait_and_per_frame_centres():
    pose = _pose(face_offset=(20.0, 0.0), frames=3)
    portrait = PortraitAnalysis(
        image=np.zeros((H, W, 3), np.uint8), original_size=(W, H), scale=1.0, pose=pose.frame(0),
        landmarks_2d=np.zeros((33, 3)), world_landmarks=np.zeros((33, 3)), mask=np.zeros((H, W), np.float32),
        face_box=(170.0, 60.0, 230.0, 160.0), face_center=(200.0, 110.0), framing="half_body",
        visible=np.ones(NUM_KEYPOINTS, bool))
    a = draw_composite_map(pose, 2, portrait)
    ys, xs = np.nonzero(np.all(a == HEAD_MASK_COLOR, axis=2))
    assert abs((xs.max() + xs.min()) / 2 - 240) <= 1
    width_a = xs.max() - xs.min() + 1
    b = draw_composite_map(pose, 0, portrait)
    ys, xs = np.nonzero(np.all(b == HEAD_MASK_COLOR, axis=2))
    assert xs.max() - xs.min() + 1 == width_a
    track = np.array([[50.0, 60.0], [60.0, 60.0], [70.0, 60.0]])
    c = draw_composite_map(pose, 1, track, 30)
    assert _colour(c, (60, 60)) == HEAD_MASK_COLOR and _colour(c, (200, 110)) == (0, 0, 0)
    with pytest.raises(IndexError):
        draw_composite_map(pose, 3, portrait)
