"""Portrait analysis on real photos with the real mediapipe models (no mocks)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mediapipe")
skdata = pytest.importorskip("skimage.data")

from pipeline.portrait import PortraitError, analyze_portrait, load_portrait_image  # noqa: E402
from pipeline.portrait.analysis import MIN_FACE_PX, classify_framing  # noqa: E402
from pipeline.portrait.image_io import MIN_SIDE  # noqa: E402
from pipeline.portrait.mediapipe_convert import HolisticTracker, estimate_small_toe  # noqa: E402
from pipeline.portrait.mesh68 import MESH_TO_IBUG68, mesh_to_ibug68  # noqa: E402
from pipeline.portrait.wholebody import BODY_INDEX as B  # noqa: E402
from pipeline.portrait.wholebody import FACE, NUM_KEYPOINTS  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "examples" / "astronaut.jpg"


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut()


@pytest.fixture(scope="module")
def analysis(astronaut):
    return analyze_portrait(astronaut)


def _px(analysis, name):
    return analysis.pose.keypoints[0, B[name]], analysis.pose.scores[0, B[name]]


def test_astronaut_is_half_body_with_shoulders_and_elbows(analysis):
    assert analysis.framing == "half_body"
    assert analysis.size == (512, 512) and analysis.original_size == (512, 512) and analysis.scale == 1.0
    for name in ("left_shoulder", "right_shoulder", "right_elbow"):
        assert analysis.visible[B[name]], name
    # her left elbow is behind the helmet: found, in the picture, with a low but usable score
    (x, y), score = _px(analysis, "left_elbow")
    assert score > 0.25 and 0 <= x < 512 and 0 <= y < 512
    (lx, _), _ = _px(analysis, "left_shoulder")
    (rx, _), _ = _px(analysis, "right_shoulder")
    assert lx > rx + 120, "the person's left shoulder is on the image right in a frontal photo"
    assert not analysis.visible[B["left_knee"]] and not analysis.visible[B["left_ankle"]]
    # her left hand holds the helmet, out of sight: that arm keeps its place, and she is told
    assert analysis.hidden_hands == ("left",)
    assert len(analysis.warnings) == 1 and "left hand" in analysis.warnings[0], analysis.warnings


def test_hands_held_at_the_head_keep_their_arms_and_the_user_is_told(analysis):
    """camera(): a man holding a camera to his eye. Both hands are up at the head; gesturing them
    would tear the camera apart and uncover a face the photo does not show, so both arms are
    held, and the analysis says why (the studio and the CLI show its warnings). The astronaut's
    hands are not at her head."""
    camera = analyze_portrait(np.stack([skdata.camera()] * 3, -1))
    assert camera.hands_at_head == ("left", "right") and camera.held_arms == ("left", "right")
    assert any("up at the head" in w for w in camera.warnings), camera.warnings
    assert analysis.hands_at_head == () and analysis.held_arms == ("left",)      # the astronaut


def test_face_box_contains_eyes_and_face_points(analysis):
    x0, y0, x1, y1 = analysis.face_box
    kp = analysis.pose.keypoints[0]
    for name in ("left_eye", "right_eye", "nose"):
        x, y = kp[B[name]]
        assert x0 < x < x1 and y0 < y < y1, name
    face = kp[FACE]
    assert np.all((face[:, 0] > x0 - 2) & (face[:, 0] < x1 + 2) & (face[:, 1] > y0 - 2) & (face[:, 1] < y1 + 2))
    assert MIN_FACE_PX < y1 - y0 < 200
    cx, cy = analysis.face_center
    assert x0 < cx < x1 and y0 < cy < y1
    # iBUG layout: right eye (36-41) on the image left, chin (8) below the nose tip (30)
    right_eye, left_eye = face[36:42].mean(axis=0), face[42:48].mean(axis=0)
    assert right_eye[0] < left_eye[0]
    assert face[8, 1] > face[30, 1] > face[27, 1]
    assert abs(right_eye[0] - kp[B["right_eye"]][0]) < 15 and abs(left_eye[0] - kp[B["left_eye"]][0]) < 15


def test_keypoints_in_bounds_where_confident(analysis):
    kp, sc = analysis.pose.keypoints[0], analysis.pose.scores[0]
    assert kp.shape == (NUM_KEYPOINTS, 2) and sc.shape == (NUM_KEYPOINTS,)
    sure = sc > 0.5
    assert sure.sum() >= 68 + 7  # the face and the upper body at least
    assert np.all((kp[sure] >= 0) & (kp[sure] < 512))
    assert np.all((sc >= 0) & (sc <= 1))
    assert analysis.landmarks_2d.shape == (33, 3) and analysis.world_landmarks.shape == (33, 3)
    np.testing.assert_allclose(analysis.landmarks_2d[0, :2], kp[B["nose"]], atol=1e-3)


def test_mask_covers_the_person(analysis):
    mask = analysis.mask
    assert mask.shape == (512, 512) and mask.dtype == np.float32
    for name in ("nose", "left_shoulder", "right_shoulder"):
        (x, y), _ = _px(analysis, name)
        assert mask[int(y), int(x)] > 0.5, name
    assert mask[5, 5] < 0.5 and mask[5, 506] < 0.5


def test_example_asset_is_small_and_analyses_like_the_array(analysis):
    assert EXAMPLE.stat().st_size < 100_000
    again = analyze_portrait(EXAMPLE)
    assert again.framing == "half_body"
    np.testing.assert_allclose(again.face_center, analysis.face_center, atol=4.0)


def test_exif_rotation_is_respected(tmp_path, astronaut):
    upright = np.ascontiguousarray(astronaut[:, 56:456])  # 400 wide, 512 tall
    reference = analyze_portrait(upright)
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # what a sideways camera writes
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "sideways.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    rotated = analyze_portrait(path)
    assert rotated.original_size == (400, 512) and rotated.size == (400, 512)
    assert rotated.framing == reference.framing == "half_body"
    np.testing.assert_allclose(rotated.face_center, reference.face_center, atol=5.0)
    for name in ("nose", "left_shoulder", "right_shoulder"):
        np.testing.assert_allclose(_px(rotated, name)[0], _px(reference, name)[0], atol=8.0)


def test_not_an_image_and_truncated_jpeg(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    with pytest.raises(PortraitError, match="not an image.*JPEG, PNG or WebP"):
        analyze_portrait(text)
    good = EXAMPLE.read_bytes()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(good[: len(good) // 3])
    with pytest.raises(PortraitError, match="damaged or incomplete.*again"):
        analyze_portrait(broken)
    with pytest.raises(PortraitError, match="does not exist"):
        analyze_portrait(tmp_path / "missing.png")


def test_image_loader_modes_and_minimum_size(astronaut):
    grey, size, scale = load_portrait_image(Image.fromarray(astronaut).convert("L"))
    assert grey.shape == (512, 512, 3) and grey.dtype == np.uint8 and size == (512, 512) and scale == 1.0
    rgba = np.dstack([astronaut, np.zeros((512, 512), np.uint8)])  # fully transparent: white fill
    assert load_portrait_image(rgba)[0].min() == 255
    palette = Image.fromarray(astronaut).convert("P")
    assert load_portrait_image(palette)[0].shape == (512, 512, 3)
    floats = load_portrait_image(astronaut.astype(np.float32) / 255.0)[0]
    assert np.abs(floats.astype(int) - astronaut).max() <= 1
    with pytest.raises(PortraitError, match=f"at least {MIN_SIDE} pixels"):
        load_portrait_image(astronaut[:100, :300])
    working = load_portrait_image(astronaut)[0]
    assert not np.shares_memory(working, astronaut)
    from_bytes, size, _ = load_portrait_image(EXAMPLE.read_bytes())
    assert size == (512, 512) and np.abs(from_bytes.astype(int) - astronaut).mean() < 6


def test_blank_image_has_no_person():
    with pytest.raises(PortraitError, match="No person was found"):
        analyze_portrait(np.full((400, 600, 3), 128, np.uint8))


@pytest.mark.parametrize("canvas_side,person_side", [(640, 96), (1024, 64)])
def test_tiny_person_is_too_small(astronaut, canvas_side, person_side):
    # (1024, 64): holistic misses her on the whole photo and finds her in a closer look at the mask
    canvas = np.full((canvas_side, canvas_side, 3), 200, np.uint8)
    canvas[canvas_side - person_side:, 250:250 + person_side] = cv2.resize(
        astronaut, (person_side, person_side), interpolation=cv2.INTER_AREA)
    with pytest.raises(PortraitError, match=f"too small to animate.*minimum is {MIN_FACE_PX} px.*Crop"):
        analyze_portrait(canvas)


def test_small_single_person_on_a_plain_canvas_is_one_person(astronaut):
    # the mask of a small person falls apart in fragments; that must not read as several people
    canvas = np.full((1024, 1024, 3), 200, np.uint8)
    canvas[1024 - 280:, 300:580] = cv2.resize(astronaut, (280, 280), interpolation=cv2.INTER_AREA)
    result = analyze_portrait(canvas)
    assert not any("people" in w for w in result.warnings) and result.framing == "half_body"
    assert 300 < result.face_center[0] < 580 and result.face_box[3] - result.face_box[1] >= MIN_FACE_PX


@pytest.mark.parametrize("large_on_left", [True, False])
def test_two_people_warns_and_analyses_the_larger(astronaut, analysis, large_on_left):
    canvas = np.full((512, 900, 3), 200, np.uint8)
    small = cv2.resize(astronaut, (300, 300), interpolation=cv2.INTER_AREA)
    big_x, small_x = (0, 560) if large_on_left else (388, 20)
    canvas[:, big_x:big_x + 512] = astronaut
    canvas[512 - 300:, small_x:small_x + 300] = small
    result = analyze_portrait(canvas)
    assert any("2 people" in w and "largest" in w for w in result.warnings)
    expected = np.asarray(analysis.face_center) + (big_x, 0)
    np.testing.assert_allclose(result.face_center, expected, atol=6.0)
    # the mask keeps only the animated person
    small_centre = (512 - 150, small_x + 150)
    assert result.mask[small_centre] < 0.5 and result.mask[200, big_x + 250] > 0.5


def test_huge_image_is_downscaled_and_original_size_kept(astronaut, analysis, tmp_path):
    huge = cv2.resize(astronaut, (5000, 5000), interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "huge.jpg"
    Image.fromarray(huge).save(path, quality=90)
    result = analyze_portrait(path)
    assert result.original_size == (5000, 5000) and result.size == (1024, 1024)
    assert result.scale == pytest.approx(1024 / 5000)
    assert any("downscaled from 5000x5000" in w for w in result.warnings)
    np.testing.assert_allclose(np.asarray(result.face_center) / 2.0, analysis.face_center, atol=5.0)


def test_framing_rules():
    visible = np.zeros(NUM_KEYPOINTS, bool)
    visible[[B["nose"], B["left_shoulder"]]] = True
    assert classify_framing(visible) == "head"
    visible[B["right_shoulder"]] = True
    assert classify_framing(visible) == "half_body"
    visible[[B["left_knee"], B["right_knee"], B["left_ankle"]]] = True
    assert classify_framing(visible) == "half_body"
    visible[B["right_ankle"]] = True
    assert classify_framing(visible) == "whole_body"


def test_mesh_table_and_small_toe():
    assert len(MESH_TO_IBUG68) == 68 and all(0 <= i < 468 for v in MESH_TO_IBUG68 for i in v)
    mesh = np.arange(478 * 2, dtype=float).reshape(478, 2)
    np.testing.assert_allclose(mesh_to_ibug68(mesh)[30], mesh[4])
    # left foot seen from the front, pointing down the image; the other foot on the image left
    toe = estimate_small_toe(heel=np.array([300.0, 500]), toe=np.array([300.0, 560]), ankle=np.array([300.0, 490]),
                             other_ankle=np.array([200.0, 490]), knee=np.array([300.0, 400]))
    assert toe[0] > 310 and 530 < toe[1] < 560  # outside of the foot, a little behind the tip


def test_tracker_follows_a_short_clip(astronaut):
    with HolisticTracker(refine_face_landmarks=False) as tracker:
        out = [tracker.track(np.roll(astronaut, shift, axis=1)) for shift in (0, 4, 8)]
    assert all(found for *_, found in out)
    noses = [kp[B["nose"], 0] for kp, *_ in out]
    assert noses[0] < noses[1] < noses[2]
