"""The CPU warp renderer on a drawn portrait whose skeleton, colours and mask are known exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.audio import AudioClip
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import BODY_INDEX as J
from pipeline.portrait.wholebody import FACE, NUM_KEYPOINTS, WholeBodyPose

SIZE = 256
FPS = 25.0
HAND_COLOUR = (235, 205, 40)
FOREARM_COLOUR = (40, 160, 60)


def _face_points(cx: float, cy: float, s: float) -> np.ndarray:
    """68 iBUG points of a frontal cartoon face centred at (cx, cy), scale s (1 = 512 px image)."""
    p = np.zeros((68, 2))
    ang = np.linspace(np.pi, 0, 17)
    p[0:17] = np.stack([cx - 50 * s * np.cos(ang), cy - 10 * s + 75 * s * np.sin(ang)], 1)
    p[17:22] = np.stack([np.linspace(cx - 40 * s, cx - 10 * s, 5), np.full(5, cy - 32 * s)], 1)
    p[22:27] = np.stack([np.linspace(cx + 10 * s, cx + 40 * s, 5), np.full(5, cy - 32 * s)], 1)
    p[27:31] = np.stack([np.full(4, cx), np.linspace(cy - 22 * s, cy + 8 * s, 4)], 1)
    p[31:36] = np.stack([np.linspace(cx - 10 * s, cx + 10 * s, 5), np.full(5, cy + 14 * s)], 1)
    for base, sign in ((36, -1), (42, 1)):
        ex = cx + sign * 22 * s
        outer, inner = ex + sign * 11 * s, ex - sign * 11 * s
        corners = (outer, inner) if base == 36 else (inner, outer)
        p[base] = [corners[0], cy - 15 * s]
        p[base + 3] = [corners[1], cy - 15 * s]
        xa, xb = np.linspace(corners[0], corners[1], 4)[1:3]
        p[base + 1], p[base + 2] = [xa, cy - 20 * s], [xb, cy - 20 * s]
        p[base + 4], p[base + 5] = [xb, cy - 11 * s], [xa, cy - 11 * s]
    my = cy + 38 * s
    p[48], p[54] = [cx - 25 * s, my], [cx + 25 * s, my]
    p[49:54] = np.stack([np.linspace(cx - 16 * s, cx + 16 * s, 5), np.full(5, my - 5 * s)], 1)
    p[55:60] = np.stack([np.linspace(cx + 16 * s, cx - 16 * s, 5), np.full(5, my + 6 * s)], 1)
    p[60], p[64] = [cx - 18 * s, my], [cx + 18 * s, my]
    p[61:64] = np.stack([np.linspace(cx - 9 * s, cx + 9 * s, 3), np.full(3, my - 1 * s)], 1)
    p[65:68] = np.stack([np.linspace(cx + 9 * s, cx - 9 * s, 3), np.full(3, my + 1 * s)], 1)
    return p


def synthetic_portrait(size: int = SIZE) -> PortraitAnalysis:
    """A drawn half-body person on a textured background; the left-hand side arm hangs down."""
    s = size / 512.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / s
    bg = np.stack([90 + 60 * np.sin(xx / 23), 120 + 50 * np.cos(yy / 17), 150 + 40 * np.sin((xx + yy) / 31)], -1)
    img = np.clip(bg, 0, 255).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    cx, cy = 256 * s, 150 * s
    kp = np.zeros((NUM_KEYPOINTS, 2))
    sc = np.zeros(NUM_KEYPOINTS)

    def put(name: str, x: float, y: float) -> None:
        kp[J[name]] = [x * s, y * s]
        sc[J[name]] = 1.0

    put("nose", 256, 160), put("left_eye", 278, 135), put("right_eye", 234, 135)
    put("left_ear", 311, 150), put("right_ear", 201, 150)
    put("left_shoulder", 346, 250), put("right_shoulder", 166, 250)
    put("left_elbow", 362, 360), put("right_elbow", 150, 360)
    put("left_wrist", 367, 450), put("right_wrist", 145, 450)
    put("left_hip", 316, 505), put("right_hip", 196, 505)
    pt = lambda n: tuple(int(round(v)) for v in kp[J[n]])  # noqa: E731
    # torso and neck
    torso = np.array([pt("left_shoulder"), pt("right_shoulder"), pt("right_hip"), pt("left_hip")], np.int32)
    for canvas, colour in ((img, (40, 60, 170)), (mask, 255)):
        cv2.fillConvexPoly(canvas, torso, colour)
        cv2.rectangle(canvas, (int(236 * s), int(200 * s)), (int(276 * s), int(260 * s)),
                      colour if canvas is mask else (215, 170, 140), -1)
    stripes = (np.sin(xx / 6) > 0.6)[..., None] & (cv2.fillConvexPoly(np.zeros((size, size), np.uint8), torso, 1) > 0)[..., None]
    img = np.where(stripes, np.array([230, 230, 240], np.uint8), img)
    for side in ("left", "right"):
        for a, b, colour, th in ((f"{side}_shoulder", f"{side}_elbow", (170, 40, 40), 40),
                                 (f"{side}_elbow", f"{side}_wrist", FOREARM_COLOUR, 34)):
            cv2.line(img, pt(a), pt(b), colour, int(th * s))
            cv2.line(mask, pt(a), pt(b), 255, int(th * s))
        wx, wy = pt(f"{side}_wrist")
        hand = (wx, wy + int(22 * s))
        cv2.circle(img, hand, int(22 * s), HAND_COLOUR, -1)
        cv2.circle(mask, hand, int(22 * s), 255, -1)
    # head
    cv2.ellipse(img, (int(cx), int(cy)), (int(55 * s), int(75 * s)), 0, 0, 360, (225, 180, 150), -1)
    cv2.ellipse(mask, (int(cx), int(cy)), (int(55 * s), int(75 * s)), 0, 0, 360, 255, -1)
    face = _face_points(cx, cy, s)
    for idx in (np.arange(36, 42), np.arange(42, 48)):
        cv2.fillPoly(img, [face[idx].round().astype(np.int32)], (250, 250, 250))
        centre = face[idx].mean(0).round().astype(int)
        cv2.circle(img, tuple(centre), max(2, int(5 * s)), (40, 30, 20), -1)
    cv2.fillPoly(img, [face[48:60].round().astype(np.int32)], (190, 70, 80))
    cv2.polylines(img, [face[60:68].round().astype(np.int32)], True, (120, 30, 40), 1)
    kp[FACE] = face
    sc[FACE] = 1.0
    pose = WholeBodyPose(kp[None], sc[None], (size, size), 0.0)
    maskf = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 1.0)
    return PortraitAnalysis(
        image=img, original_size=(size, size), scale=1.0, pose=pose, landmarks_2d=np.zeros((33, 3)),
        world_landmarks=np.zeros((33, 3)), mask=maskf, face_box=(cx - 55 * s, cy - 75 * s, cx + 55 * s, cy + 75 * s),
        face_center=(cx, cy), framing="half_body", visible=sc > 0.5)


def hold(portrait: PortraitAnalysis, frames: int, fps: float = FPS) -> WholeBodyPose:
    """The portrait's own pose held for ``frames`` frames."""
    p = portrait.pose
    return WholeBodyPose(np.repeat(p.keypoints, frames, 0), np.repeat(p.scores, frames, 0), p.image_size, fps)


def rotate_about(points: np.ndarray, centre: np.ndarray, degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - centre) @ r.T + centre


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def silent_then_loud(seconds: float = 2.0, sr: int = 16000) -> AudioClip:
    """First half: near silence; second half: a loud voiced buzz (speech-band harmonics)."""
    t = np.arange(int(seconds * sr)) / sr
    buzz = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((180, 360, 540, 720, 900, 1500), 1))
    samples = np.where(t < seconds / 2, 1e-4 * np.sin(2 * np.pi * 300 * t), 0.3 * buzz / 2.5)
    return AudioClip(samples.astype(np.float32), sr)


# ----------------------------------------------------------------------------------------------
# tests

from pipeline.render.audio_drive import blink_closure, mouth_openness  # noqa: E402
from pipeline.render.warp import BONE_NAMES, WarpConfig, WarpRenderer, render_frames  # noqa: E402


@pytest.fixture(scope="module")
def portrait() -> PortraitAnalysis:
    return synthetic_portrait(SIZE)


@pytest.fixture(scope="module")
def renderer(portrait: PortraitAnalysis) -> WarpRenderer:
    return WarpRenderer(portrait, WarpConfig(resolution=SIZE, blink_rate_per_min=0.0))


def _raised_forearm(portrait: PortraitAnalysis, degrees: float = 150.0) -> tuple[WholeBodyPose, np.ndarray, np.ndarray]:
    """The image-left forearm swung up about the elbow; (poses, old hand centre, new hand centre)."""
    poses = hold(portrait, 3)
    kp = poses.keypoints.copy()
    elbow = kp[0, J["right_elbow"]].copy()
    wrist = kp[0, J["right_wrist"]].copy()
    hand_old = wrist + [0.0, 22 * SIZE / 512]
    kp[:, J["right_wrist"]] = rotate_about(kp[:, J["right_wrist"]], elbow, degrees)
    hand_new = rotate_about(hand_old[None], elbow, degrees)[0]
    return WholeBodyPose(kp, poses.scores, poses.image_size, FPS), hand_old, hand_new


def _patch(img: np.ndarray, xy: np.ndarray, r: int = 2) -> np.ndarray:
    x, y = np.round(xy).astype(int)
    return img[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3).astype(np.float64).mean(0)


def test_identity_pose_reproduces_portrait(renderer: WarpRenderer, portrait: PortraitAnalysis) -> None:
    frames = list(renderer.frames(hold(portrait, 3)))
    assert len(frames) == 3 and frames[0].shape == portrait.image.shape and frames[0].dtype == np.uint8
    assert psnr(frames[0], portrait.image) > 30.0
    assert psnr(frames[-1], portrait.image) > 30.0


def test_raised_forearm_moves_the_hand(renderer: WarpRenderer, portrait: PortraitAnalysis) -> None:
    poses, hand_old, hand_new = _raised_forearm(portrait)
    frame = list(renderer.frames(poses))[-1]
    hand = np.array(HAND_COLOUR, np.float64)
    assert np.abs(_patch(portrait.image, hand_old) - hand).max() < 10          # the hand was here
    assert np.abs(_patch(frame, hand_new) - hand).max() < 40                   # and now is here
    assert np.abs(_patch(frame, hand_old) - hand).max() > 80                   # not here any more
    # what shows at the old place is the background plate, not the person
    assert np.abs(_patch(frame, hand_old) - _patch(renderer.plate, hand_old)).max() < 25


def test_background_far_from_the_person_is_unchanged(renderer: WarpRenderer, portrait: PortraitAnalysis) -> None:
    poses, _, _ = _raised_forearm(portrait)
    frame = list(renderer.frames(poses))[-1]
    reach = int(0.45 * SIZE)   # an arm's length around the person
    near = cv2.dilate((portrait.mask > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=reach // 2 + 20)
    assert near.any() and (~near.astype(bool)).sum() > 1000
    far = near == 0
    diff = np.abs(frame.astype(np.int16) - portrait.image.astype(np.int16))[far]
    assert diff.max() <= 2


def test_forearm_in_front_of_the_torso_unless_depth_says_otherwise(renderer: WarpRenderer,
                                                                   portrait: PortraitAnalysis) -> None:
    poses, _, _ = _raised_forearm(portrait, degrees=-80.0)   # swing the forearm across the belly
    kp = poses.keypoints[0]
    cross = kp[J["right_elbow"]] + 0.8 * (kp[J["right_wrist"]] - kp[J["right_elbow"]])
    front = list(renderer.frames(poses))[-1]
    green = np.array(FOREARM_COLOUR, np.float64)
    assert np.abs(_patch(front, cross, 1) - green).max() < 40
    depth = np.zeros((len(poses), len(BONE_NAMES)))
    depth[:, BONE_NAMES.index("right_forearm")] = 1.0        # farther from the camera than the torso
    depth[:, BONE_NAMES.index("right_hand")] = 1.0
    behind = list(renderer.frames(poses, depth=depth))[-1]
    assert np.abs(_patch(behind, cross, 1) - green).max() > 60


def test_mouth_moves_with_loud_audio_and_stays_shut_in_silence(portrait: PortraitAnalysis) -> None:
    audio = silent_then_loud(2.0)
    frames = list(render_frames(portrait, hold(portrait, 1), audio, resolution=SIZE, blink_rate_per_min=0))
    assert len(frames) == 50
    lips = portrait.pose.keypoints[0, FACE.start + 48:FACE.start + 68]
    x0, y0 = lips.min(0).astype(int) - 4
    x1, y1 = lips.max(0).astype(int) + 10
    change = [np.abs(f[y0:y1, x0:x1].astype(np.int16) - portrait.image[y0:y1, x0:x1]).mean() for f in frames]
    # silence (the speech starts at 1 s; the lips may begin to part a few frames ahead of it): the
    # mouth as in the photo, up to the soft edge of the chin that the background plate fills
    assert max(change[:15]) < 1.0
    assert np.mean(change[30:]) > 4.0        # speech: open, dark mouth


def test_mouth_openness_follows_energy() -> None:
    audio = silent_then_loud(2.0)
    opening = mouth_openness(audio.samples, audio.sample_rate, FPS, 50)
    assert opening[:20].max() < 0.05 and opening[30:].mean() > 0.5
    assert mouth_openness(None, 16000, FPS, 10).tolist() == [0.0] * 10


@pytest.mark.slow
def test_blinks_at_about_the_set_rate(portrait: PortraitAnalysis) -> None:
    rate, seconds = 30.0, 20.0
    n = int(seconds * FPS)
    closure = blink_closure(n, FPS, rate, seed=3)
    events = int(np.sum((closure[1:] >= 0.99) & (closure[:-1] < 0.99)) + (closure[0] >= 0.99))
    assert 6 <= events <= 14
    # and the renderer really closes the eyes that often (counted on the pixels)
    r = WarpRenderer(portrait, WarpConfig(resolution=128, blink_rate_per_min=rate, seed=3))
    r.prepare(hold(portrait, 1), None, num_frames=n)
    eyes = portrait.pose.keypoints[0, FACE.start + 36:FACE.start + 48] * (128 / SIZE)
    x0, y0 = eyes.min(0).astype(int) - 2
    x1, y1 = eyes.max(0).astype(int) + 3
    rest = r.render_pose(r.rest.keypoints, portrait.pose.scores[0])[y0:y1, x0:x1].astype(np.int16)
    shut = np.array([np.abs(r.render_frame(i)[y0:y1, x0:x1] - rest).mean() > 8 for i in range(n)])
    closures = int(np.sum(shut[1:] & ~shut[:-1]) + shut[0])
    assert closures == events
