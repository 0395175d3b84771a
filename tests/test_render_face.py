"""The warp renderer's talking face (pipeline/render/warp/face.py), driven directly.

Portraits: scikit-image's astronaut (an open, smiling mouth: the photo's own teeth are used) and,
where the project's data folder is present, a shared portrait with a closed mouth (the inside is
synthesised).
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from pipeline.portrait.wholebody import FACE
from pipeline.render.warp.face import FaceAnimator, face_topology
from pipeline.render.warp.face_params import FaceFrame, FaceMotion
from pipeline.render.warp.mouth_interior import contour_columns


def _animator(analysis, use_mesh: bool = True):
    img = analysis.image
    s = 512 / max(img.shape[:2])
    w, h = int(round(img.shape[1] * s)), int(round(img.shape[0] * s))
    im = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    kp = analysis.pose.keypoints[0].astype(np.float64) * s
    mesh = analysis.face_mesh if use_mesh else None
    depth = analysis.face_mesh_depth if use_mesh else None
    fa = FaceAnimator(face_topology(mesh, depth, kp[FACE], None, (s, s)), (h, w), 0.12)
    assert fa.enabled
    return fa, im


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    from pipeline.portrait.analysis import analyze_portrait

    a = analyze_portrait(data.astronaut())
    assert a.face_mesh is not None and a.face_mesh.shape == (478, 2)
    assert a.face_mesh_depth is not None and a.face_mesh_depth.shape == (478,)
    return a


@pytest.fixture(scope="module")
def closed_mouth(shared_data):
    from pipeline.portrait.analysis import analyze_portrait

    return analyze_portrait(shared_data / "portraits" / "halfbody_0014.jpg")


def _render(fa, im, frame):
    work = im.copy()
    fa.apply(im, work, frame)
    return work


def _polygon_mask(shape, poly):
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
    return m > 0


def _interior_mask(fa, frame, shape):
    moved = fa.vertices(frame)
    t = fa.topology
    return _polygon_mask(shape, np.concatenate([moved[t.inner_upper], moved[t.inner_lower][::-1]]))


def test_rest_frame_is_the_photo(astronaut):
    fa, im = _animator(astronaut)
    assert np.array_equal(_render(fa, im, FaceFrame()), im)


@pytest.mark.parametrize("which", ["astronaut", "closed_mouth"])
def test_open_mouth_is_textured_and_inside_the_face(which, request):
    analysis = request.getfixturevalue(which)
    fa, im = _animator(analysis)
    frame = FaceFrame(jaw=1.0)
    out = _render(fa, im, frame)
    inside = _interior_mask(fa, frame, im.shape)
    inside = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert inside.sum() > 40, "the mouth did not open"
    grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float64)
    assert grey[inside].std() > 12.0, "the mouth interior is flat-coloured"
    # no single colour fills the inside (a blob): the most common grey level covers little of it
    counts = np.bincount((grey[inside] // 4).astype(int))
    assert counts.max() / inside.sum() < 0.35
    assert grey[inside].mean() < np.median(grey[_polygon_mask(im.shape, fa.topology.rest[fa.topology.oval])]), \
        "the inside of the mouth should be darker than the face"
    # every changed pixel lies within the face oval (grown by the jaw's drop and the feathered rim)
    changed = np.abs(out.astype(int) - im.astype(int)).max(-1) > 3
    moved = fa.vertices(frame)
    face = _polygon_mask(im.shape, fa.topology.rest[fa.topology.oval]) | _polygon_mask(im.shape, moved[fa.topology.oval])
    face = cv2.dilate(face.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert changed.sum() > 100
    assert (changed & ~face).sum() == 0


def test_jaw_turns_the_chin_down_and_leaves_the_neck(closed_mouth):
    fa, im = _animator(closed_mouth)
    t = fa.topology
    frame = FaceFrame(jaw=1.0)
    moved = fa.vertices(frame)
    drop = (moved - t.rest) @ fa.ay
    chin, lip = drop[t.chin], drop[t.inner_lower[len(t.inner_lower) // 2]]
    assert chin > 0.05 * fa.face_h and lip > 0.05 * fa.face_h
    assert abs(chin - lip) < 0.5 * lip, "chin and lower lip move together"
    k = len(t.inner_upper)
    assert np.abs(drop[t.inner_upper[k // 2 - 1:k // 2 + 2]]).max() < 0.5, "the upper lip's middle stays with the skull"
    # the opening is a lens that narrows into the corners, not a box with upright ends
    gap = (moved[t.inner_lower] - moved[t.inner_upper]) @ fa.ay
    assert gap[1] < 0.45 * gap[k // 2] and gap[-2] < 0.45 * gap[k // 2]
    assert np.all(np.diff(gap[:k // 2 + 1]) > -0.05) and np.all(np.diff(gap[k // 2:]) < 0.05)
    eyes = np.concatenate([np.concatenate(e) for e in t.eyes])
    assert np.abs(moved[eyes] - t.rest[eyes]).max() < 0.25
    # the arc: the jaw line near its hinge moves far less than the chin
    assert drop[t.jawline[0]] < 0.6 * chin and drop[t.jawline[-1]] < 0.6 * chin
    out = _render(fa, im, frame)
    # the chin's edge (strongest downward brightness change on the chin's column) moves down
    cx, cy = np.round(t.rest[t.chin]).astype(int)
    col0 = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[:, cx - 1:cx + 2].mean(1)
    col1 = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[:, cx - 1:cx + 2].mean(1)
    lo, hi = cy - 6, cy + int(chin) + 8
    e0 = lo + int(np.argmax(np.abs(np.diff(col0[lo:hi]))))
    e1 = lo + int(np.argmax(np.abs(np.diff(col1[lo:hi]))))
    assert e1 - e0 >= 0.6 * chin
    # the neck below the moved chin and its rim is the photo's own, not dragged along
    below = int(np.ceil(cy + chin + 0.03 * fa.face_h)) + 3
    neck = (slice(below, below + 15), slice(cx - 8, cx + 9))
    assert np.abs(out[neck].astype(int) - im[neck].astype(int)).max() <= 2


def test_blink_closes_the_eyes(astronaut):
    fa, im = _animator(astronaut)
    frame = FaceFrame(blink=1.0)
    out = _render(fa, im, frame)
    moved = fa.vertices(frame)
    grey0 = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).astype(float)
    grey1 = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(float)
    for up, lo in fa.topology.eyes:
        # the lid margins meet
        gap = contour_columns(moved[lo], moved[up][1:-1, 0]) - moved[up][1:-1, 1]
        assert np.nanmax(np.abs(gap)) < 0.6
        eye = _polygon_mask(im.shape, np.concatenate([fa.topology.rest[up], fa.topology.rest[lo][::-1]]))
        assert np.abs(grey1[eye] - grey0[eye]).mean() > 8, "the eye region did not change"
        assert grey1[eye].std() < grey0[eye].std(), "the white of the eye and the iris are covered by the lid"
        # the lash line: a dark line along where the lids meet, darker than the lid above it
        xs = np.arange(int(moved[up][2, 0]), int(moved[up][-3, 0]))
        yc = np.round(contour_columns(moved[up], xs)).astype(int)
        line = grey1[yc, xs].mean()
        lid = grey1[yc - 3, xs].mean()
        assert line < lid - 10
    # half-closed lids sit between
    half = fa.vertices(FaceFrame(blink=0.5))
    up = fa.topology.eyes[0][0][4]
    assert fa.topology.rest[up, 1] < half[up, 1] < moved[up, 1]


def test_lip_closure_seals_the_lips_with_the_jaw_open(closed_mouth):
    fa, im = _animator(closed_mouth)
    t = fa.topology
    open_f, shut_f = FaceFrame(jaw=0.6), FaceFrame(jaw=0.6, lip_closure=1.0)
    mid = len(t.inner_upper) // 2
    for f, lo_gap, hi_gap in ((open_f, 3.0, 1e9), (shut_f, -1e9, 0.6)):
        moved = fa.vertices(f)
        gap = float((moved[t.inner_lower[mid]] - moved[t.inner_upper[mid]]) @ fa.ay)
        assert lo_gap < gap < hi_gap
    dark = lambda img: (cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) < 50).sum()  # noqa: E731
    assert dark(_render(fa, im, open_f)) > dark(im) + 30
    assert dark(_render(fa, im, shut_f)) <= dark(im) + 10   # a thin crease where the lips meet, no throat
    # m/b/p are said with the jaw most of the way up: the chin rises with the closure
    drop_open = (fa.vertices(open_f)[t.chin] - t.rest[t.chin]) @ fa.ay
    drop_shut = (fa.vertices(shut_f)[t.chin] - t.rest[t.chin]) @ fa.ay
    assert 0 < drop_shut < 0.35 * drop_open


def test_rounded_opening_is_small_and_central(closed_mouth):
    fa, _ = _animator(closed_mouth)
    t = fa.topology
    k = len(t.inner_upper)
    for f in (FaceFrame(jaw=0.25, width=-1.0, rounding=1.0), FaceFrame(jaw=0.6, width=-0.6, rounding=0.75)):
        moved = fa.vertices(f)
        gap = (moved[t.inner_lower] - moved[t.inner_upper]) @ fa.ay
        assert gap[k // 2] > 1.0
        assert np.abs(gap[[1, 2, -3, -2]]).max() < 0.35 * gap[k // 2], "the sides of an 'oo' stay together"


def test_th_shows_the_tongue_tip(closed_mouth):
    from pipeline.render.warp.face_params import tongue_track

    fa, im = _animator(closed_mouth)
    th = dict(jaw=0.22, width=0.15, upper_lip=0.3, lower_lip=0.25)
    without, with_tip = _render(fa, im, FaceFrame(**th)), _render(fa, im, FaceFrame(**th, tongue=1.0))
    inside = _interior_mask(fa, FaceFrame(**th, tongue=1.0), im.shape)
    changed = inside & (np.abs(with_tip.astype(int) - without.astype(int)).sum(-1) > 30)
    px = with_tip[changed].astype(float)
    assert len(px) >= 6, "no tongue tip drawn"
    # pink (red well over green and blue), neither the teeth's white nor the throat's dark
    assert np.median(px[:, 0] - px[:, 1]) > 25 and np.median(px[:, 0]) > 120
    # the track: up over a th segment, down away from it
    tr = tongue_track([("AA", 0.0, 0.2), ("TH", 0.2, 0.32), ("IY", 0.32, 0.5)], 25.0, 13)
    assert tr[6] == 1.0 and tr[0] == 0.0 and tr[12] == 0.0


def test_lip_shapes_round_and_wide(closed_mouth):
    fa, _ = _animator(closed_mouth)
    t = fa.topology
    width = lambda v: float((v[t.outer_upper[-1]] - v[t.outer_upper[0]]) @ fa.ax)  # noqa: E731
    rest = width(t.rest)
    assert width(fa.vertices(FaceFrame(jaw=0.3, width=-0.5, rounding=1.0))) < 0.8 * rest
    assert width(fa.vertices(FaceFrame(jaw=0.3, width=1.0))) > 1.2 * rest    # ee spreads the corners
    oo = fa.vertices(FaceFrame(jaw=0.25, width=-1.0, rounding=1.0))
    assert width(oo) < 0.7 * rest
    # the rounded lips evert: each lip, between slit and outer contour, grows at the middle
    mid = lambda c: c[len(c) // 2]  # noqa: E731
    thick = lambda v: float((v[mid(t.outer_lower)] - v[mid(t.outer_upper)]) @ fa.ay  # noqa: E731
                            - (v[mid(t.inner_lower)] - v[mid(t.inner_upper)]) @ fa.ay)
    assert thick(oo) > thick(t.rest) + 0.05 * fa.mouth_w


def test_without_a_face_mesh_the_68_points_carry_the_face(astronaut):
    fa, im = _animator(astronaut, use_mesh=False)
    assert fa.topology.kind == "ibug68"
    frame = FaceFrame(jaw=1.0)
    out = _render(fa, im, frame)
    inside = _interior_mask(fa, frame, im.shape)
    assert inside.sum() > 30
    assert np.array_equal(_render(fa, im, FaceFrame()), im)
    assert np.abs(out.astype(int) - im.astype(int)).max() > 30


def test_face_motion_from_tracks():
    blink = np.zeros(5)
    blink[2] = 1
    motion = FaceMotion.from_opening(np.array([0, 0.5, 1, 2, 0]), blink)
    f = motion.frame(2)
    assert f.jaw == 1.0 and f.blink == 1.0 and f.rounding == 0.0
    assert motion.frame(3).jaw == 1.0                 # clipped
    assert motion.frame(10) == FaceFrame()            # past the end: at rest


def test_face_is_fast(closed_mouth):
    fa, im = _animator(closed_mouth)
    work = im.copy()
    fa.apply(im, work, FaceFrame(jaw=0.5, blink=0.5))    # warm-up (numba)
    t0 = time.perf_counter()
    for i in range(30):
        fa.apply(im, work, FaceFrame(jaw=(i % 10) / 10, width=0.3, rounding=0.2, lip_closure=0.1,
                                     blink=1.0 if i % 7 == 0 else 0.0))
    ms = (time.perf_counter() - t0) / 30 * 1000
    assert ms < 20.0, f"{ms:.1f} ms per frame"   # ~2 ms measured; the bound allows a busy machine
