"""token2pose: mappings, camera fit, limb fitting, easing, framing, the relation bank and its builders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.constants import MOTION_FPS, VIDEO_FPS
from pipeline.motion.skeleton import JOINT_INDEX as S
from pipeline.motion.skeleton import REST_POSE, bone_lengths
from pipeline.portrait.wholebody import BODY_INDEX as B
from pipeline.token2pose import RelationBank, fit_camera, translate
from pipeline.token2pose.camera import WeakPerspectiveCamera
from pipeline.token2pose.fit import EASE_SECONDS, MIN_SCORE, person_model
from pipeline.token2pose.mapping import MP, body_frame, mediapipe_to_smpl
from pipeline.token2pose.project import project_body
from pipeline.token2pose.synthetic import synthetic_portrait
from pipeline.token2pose.tree2d import BONES, LEG_KEYPOINTS, bone_lengths_2d, with_virtual

REPO = Path(__file__).resolve().parents[1]
TOKENIZER_DIR = REPO / "assets" / "checkpoints" / "motion_tokenizer"
DATASET = REPO / "cache" / "motion-dataset"
FOREARMS = np.array([(a, b) in {(B["left_elbow"], B["left_wrist"]), (B["right_elbow"], B["right_wrist"])}
                     for a, b in BONES])
HAS_CONVERT = importlib.util.find_spec("pipeline.portrait.mediapipe_convert") is not None
HAS_ANALYSIS = importlib.util.find_spec("pipeline.portrait.analysis") is not None

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokenizer():
    from pipeline.motion.tokenizer import MotionTokenizer

    return MotionTokenizer.from_pretrained(TOKENIZER_DIR)


@pytest.fixture(scope="module")
def tokens(tokenizer) -> np.ndarray:
    """40 tokens (8 s) of real motion: a held-out dataset clip, or a fixed sequence without the dataset."""
    from pipeline.token2pose.from_motion import tokens_of_features

    test_list = DATASET / "test.txt"
    if test_list.exists():
        clip = test_list.read_text().split()[0]
        return tokens_of_features(tokenizer, np.load(DATASET / "new_joint_vecs" / f"{clip}.npy"))[:40]
    return np.random.default_rng(0).integers(0, 512, 40)


@pytest.fixture(scope="module")
def bank() -> RelationBank:
    from pipeline.token2pose import default_bank

    return default_bank()


@pytest.fixture(scope="module")
def half_body():
    return synthetic_portrait("half_body")


@pytest.fixture(scope="module")
def motion(tokens, tokenizer):
    """Tokens with decoded joints, the shape of a GenerationResult."""
    from types import SimpleNamespace

    from pipeline.token2pose import decode_tokens

    return SimpleNamespace(tokens=tokens, joints=decode_tokens(tokens, tokenizer))


@pytest.fixture(scope="module")
def bank_result(motion, half_body, bank):
    return translate(motion, half_body, bank=bank)


def _mediapipe_landmarks_of_rest() -> np.ndarray:
    """33 MediaPipe world landmarks (MediaPipe axes) of a person in our rest pose."""
    j = REST_POSE
    head = j[S["head"]]
    points = {name: j[S[name]] for name in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                                             "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                                             "right_knee", "left_ankle", "right_ankle")}
    points.update(nose=head + [0, -0.01, 0.1], left_ear=head + [0.075, 0, 0], right_ear=head + [-0.075, 0, 0],
                  left_heel=j[S["left_ankle"]] + [0, -0.06, -0.05], right_heel=j[S["right_ankle"]] + [0, -0.06, -0.05],
                  left_foot_index=j[S["left_foot"]] + [0, -0.01, 0.06],
                  right_foot_index=j[S["right_foot"]] + [0, -0.01, 0.06])
    world = np.zeros((33, 3))
    for name, i in MP.items():
        world[i] = points.get(name, head)
    return world * np.array([1.0, -1.0, -1.0])        # ours -> MediaPipe's (y down, z away)


def test_mediapipe_to_smpl_gives_plausible_skeleton():
    joints = mediapipe_to_smpl(_mediapipe_landmarks_of_rest())
    got, want = bone_lengths(joints), bone_lengths(REST_POSE)
    limbs = [S[n] for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_knee", "right_knee",
                            "left_ankle", "right_ankle")]
    np.testing.assert_allclose(got[limbs], want[limbs], atol=1e-6)
    assert np.all(np.abs(got[1:] - want[1:]) < 0.06), (got - want).round(3)
    forward, left = body_frame(joints[None])
    assert forward[0] @ [0, 0, 1] > 0.99 and left[0] @ [1, 0, 0] > 0.99     # Y up, facing +Z, left is +X
    assert joints[S["head"], 1] > joints[S["neck"], 1] > joints[S["spine3"], 1] > joints[S["pelvis"], 1]


def test_camera_fit_recovers_a_known_camera():
    true = WeakPerspectiveCamera(500.0, np.deg2rad(20), 0.05, (250.0, 400.0))
    portrait = synthetic_portrait("whole_body", size=1024, camera=true)
    cam = fit_camera(portrait)
    assert abs(cam.scale / true.scale - 1) < 0.03
    assert abs(cam.yaw - true.yaw) < np.deg2rad(6) and abs(cam.roll - true.roll) < 0.02
    assert cam.residual_px < 2.0


@pytest.fixture(scope="module")
def astronaut():
    """The real portrait: skimage's astronaut through analyze_portrait (half-body; her left elbow
    and wrist are half hidden behind the helmet she holds)."""
    if not HAS_ANALYSIS:
        pytest.skip("pipeline.portrait.analysis not present yet")
    from skimage import data

    from pipeline.portrait.analysis import analyze_portrait

    return analyze_portrait(data.astronaut())


def test_projection_of_rest_pose_lands_on_the_astronaut(astronaut):
    portrait = astronaut
    cam = fit_camera(portrait)
    projected = project_body(REST_POSE[None], cam)[0]
    kp = portrait.pose.keypoints[0]
    width = np.linalg.norm(kp[B["left_shoulder"]] - kp[B["right_shoulder"]])
    for name in ("left_shoulder", "right_shoulder", "nose"):
        assert np.linalg.norm(projected[B[name]] - kp[B[name]]) < 0.2 * width, name


def test_fitted_bone_lengths_match_the_portrait(bank_result, half_body):
    person = person_model(half_body, fit_camera(half_body))
    fixed = person.measured & ~FOREARMS          # (forearms foreshorten with the motion: below)
    lengths = bone_lengths_2d(with_virtual(bank_result.pose.keypoints))[:, fixed]
    assert person.measured.sum() >= 8
    assert np.abs(lengths / person.lengths[fixed] - 1).max() < 0.02
    fore = bone_lengths_2d(with_virtual(bank_result.pose.keypoints))[:, FOREARMS]
    assert (fore <= person.lengths[FOREARMS] * 1.02).all() and (fore >= 0.1 * person.lengths[FOREARMS]).all()


@pytest.mark.parametrize("method", ["bank", "projection"])
def test_bone_lengths_on_the_real_astronaut(motion, astronaut, bank, method):
    """Every drawn bone whose length the photo gives is within 2% of it in every frame (those
    sized from their mirror bone once the ease is over), whatever the motion's first frame."""
    person = person_model(astronaut)
    assert person.measured.sum() >= 8
    # her left elbow scores ~0.3 (behind the helmet): that upper arm takes the right one's length
    upper = [BONES.index((B[f"{s}_shoulder"], B[f"{s}_elbow"])) for s in ("left", "right")]
    if not person.measured[upper[0]] and person.measured[upper[1]]:
        assert person.mirrored[upper[0]] and person.lengths[upper[0]] == person.lengths[upper[1]]
    pose = translate(motion, astronaut, bank=bank, method=method).pose
    ratio = np.abs(bone_lengths_2d(with_virtual(pose.keypoints.astype(np.float64))) / person.lengths - 1)
    ratio[:, FOREARMS] = 0.0                     # forearms foreshorten with the motion (own test)
    # an arm whose hand the photo hides (her left, holding the helmet) keeps the photo's own pose
    for side in astronaut.hidden_hands:
        ratio[:, [k for k, (a, b) in enumerate(BONES) if a in (B[f"{side}_shoulder"], B[f"{side}_elbow"])]] = 0.0
    assert ratio[:, person.measured].max() < 0.02
    eased = int(np.ceil(EASE_SECONDS * pose.fps))
    assert ratio[eased:, person.sized].max() < 0.02
    assert ratio[eased:].max() < 0.02                            # every bone, once the ease is over
    known = (astronaut.pose.scores[0] >= MIN_SCORE) & astronaut.visible
    np.testing.assert_allclose(pose.keypoints[0, known], astronaut.pose.keypoints[0, known], atol=1e-3)
    # no jump out of the photo: frame 1 is near frame 0 for every keypoint it shows
    assert np.linalg.norm(pose.keypoints[1, known] - pose.keypoints[0, known], axis=-1).max() < 10.0


def test_forearms_foreshorten_with_the_motion_from_the_photos_own_length() -> None:
    """A forearm's drawn share of its full length follows the motion's on-screen share, relative
    to the photo: at the ordinary talking share it keeps the photo's length (a forearm held towards
    the camera stays so), pointing sideways it reaches full length, pointing at the camera it
    shortens; every other bone keeps its length."""
    from types import SimpleNamespace

    from pipeline.token2pose.fit import TALKING_FOREARM_SHARE, forearm_shares

    n_bones = len(BONES)
    lengths = np.ones(n_bones)
    start = np.ones(n_bones)
    start[FOREARMS] = 0.3                           # the photo shows both forearms end-on
    person = SimpleNamespace(lengths=lengths, start_lengths=start, torso_px=1.0)
    base = np.zeros((3, 133, 2))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        base[:, B[f"{side}_shoulder"]] = [sign * 0.5, 0.0]
        base[:, B[f"{side}_elbow"]] = [sign * 0.5, 1.0]
        # frames: talking share, full length, pointing at the camera
        for t, share in enumerate((TALKING_FOREARM_SHARE, 1.0, 0.3)):
            base[t, B[f"{side}_wrist"]] = [sign * 0.5, 1.0 + share]
    shares = forearm_shares(base, person)
    fore = np.flatnonzero(FOREARMS)
    np.testing.assert_allclose(shares[0, fore], 0.3, atol=1e-6)
    np.testing.assert_allclose(shares[1, fore], 1.0, atol=1e-6)
    assert (shares[2, fore] < 0.3).all() and (shares[2, fore] >= 0.15).all()
    assert (shares[:, ~FOREARMS] == 1.0).all()


def test_person_model_does_not_depend_on_the_motion(astronaut, motion):
    """The portrait's proportions come from the photo: the camera fitted to the motion's first
    frame (which varies) must not decide which bones count as measured."""
    base = person_model(astronaut)
    again = person_model(astronaut)
    np.testing.assert_array_equal(base.measured, again.measured)
    np.testing.assert_allclose(base.lengths, again.lengths)


def test_first_frame_is_the_portrait_and_motion_eases_out(bank_result, half_body):
    pose = bank_result.pose
    known = (half_body.pose.scores[0] >= MIN_SCORE) & half_body.visible
    arms = [B[n] for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist")]
    np.testing.assert_allclose(pose.keypoints[0, known], half_body.pose.keypoints[0, known], atol=1e-3)
    gap = np.linalg.norm(pose.keypoints[:, arms] - half_body.pose.keypoints[0, arms], axis=-1).mean(-1)
    at_ease = int(round(EASE_SECONDS * pose.fps))
    assert gap[at_ease:].max() > 5.0                   # the motion has taken over (pixels)
    assert gap[1] < 0.2 * gap[at_ease] + 0.5          # ...but left the photo's pose gently


def test_half_body_legs_not_drawn_torso_and_arms_are(bank_result):
    scores = bank_result.pose.scores
    assert np.all(scores[:, list(LEG_KEYPOINTS)] == 0)
    for name in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow"):
        assert (scores[:, B[name]] > 0).mean() > 0.5, name


def test_points_outside_the_frame_stay_outside():
    portrait = synthetic_portrait("head")
    rng = np.random.default_rng(1)
    pose = translate(rng.integers(0, 512, 10), portrait, method="projection").pose
    w, h = pose.image_size
    outside = (pose.keypoints[..., 0] < 0) | (pose.keypoints[..., 0] >= w) | (pose.keypoints[..., 1] >= h)
    assert outside[:, B["left_hip"]].all()                        # not clamped into the frame
    assert np.all(pose.scores[outside] == 0)


def test_bank_save_load_round_trip(tmp_path, bank):
    from pipeline.token2pose.bank import RelationBankConfig

    video_like = RelationBank(RelationBankConfig(hands_source="video", face_source="video", sources=["a.mp4"]),
                              bank.codes[:50], bank.keypoints[:50], bank.scores[:50], bank.source[:50],
                              bank.window[:50])
    video_like.save_pretrained(tmp_path / "v")
    assert not list((tmp_path / "v").glob("*.pkl")) and (tmp_path / "v" / "bank.safetensors").exists()
    back = RelationBank.from_pretrained(tmp_path / "v")
    np.testing.assert_array_equal(back.codes, video_like.codes)
    np.testing.assert_allclose(back.keypoints, video_like.keypoints, atol=2e-3)
    np.testing.assert_allclose(back.scores, video_like.scores, atol=1 / 255)
    assert back.config.sources == ["a.mp4"]
    bank.save_pretrained(tmp_path / "c")                           # canonical hands/face are redrawn
    again = RelationBank.from_pretrained(tmp_path / "c")
    np.testing.assert_allclose(again.keypoints[:, :, :23], bank.keypoints[:, :, :23], atol=2e-3)
    np.testing.assert_allclose(again.keypoints, bank.keypoints, atol=2e-2)


def test_missing_codes_fall_back_to_projection(motion, half_body, bank):
    codes = np.unique(motion.tokens)
    partial = bank.without_codes(codes[: len(codes) // 2])
    result = translate(motion, half_body, bank=partial)
    missing = np.isin(motion.tokens, codes[: len(codes) // 2])
    assert 0 < result.coverage < 1
    assert result.coverage == pytest.approx(1 - missing.mean())
    assert np.all(result.entries[missing] == -1) and np.all(result.entries[~missing] >= 0)
    assert np.isfinite(result.pose.keypoints).all()


def test_resampling_20_to_25_fps(motion, half_body):
    from pipeline.token2pose.resample import resample

    assert len(resample(np.zeros((40, 3)), MOTION_FPS, VIDEO_FPS)) == 50
    pose = translate(motion, half_body, method="projection", fps=VIDEO_FPS).pose
    assert len(pose) == len(motion.tokens) * 4 * VIDEO_FPS // MOTION_FPS and pose.fps == VIDEO_FPS


@pytest.fixture(scope="module")
def astronaut_video(tmp_path_factory) -> Path:
    """2 s at 25 fps, 256 x 256: skimage's astronaut photo, shifted sideways and rotated by a few
    degrees over time (a real person that MediaPipe finds in every frame; the person does not move)."""
    import cv2
    from skimage import data

    img = data.astronaut()
    h, w = img.shape[:2]
    path = tmp_path_factory.mktemp("video") / "astronaut.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (w // 2, h // 2))
    for i in range(50):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 4 * np.sin(2 * np.pi * i / 50), 1.0)
        m[0, 2] += 12 * np.sin(2 * np.pi * i / 25)
        frame = cv2.resize(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT), (w // 2, h // 2))
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.mark.slow
@pytest.mark.skipif(not HAS_CONVERT, reason="pipeline.portrait.mediapipe_convert not present yet")
def test_video_bank_builder(astronaut_video, tokenizer, tmp_path):
    from pipeline.token2pose import build_bank_from_videos

    built = build_bank_from_videos([astronaut_video], tokenizer)
    assert len(built) > 0 and built.config.hands_source == "video"
    assert np.all((built.codes >= 0) & (built.codes < 512))
    assert len(built.codes) >= 6                                    # ~2 s -> 9 whole windows
    assert np.isfinite(built.keypoints).all()
    built.save_pretrained(tmp_path / "bank")
    assert len(RelationBank.from_pretrained(tmp_path / "bank")) == len(built)


def test_resting_arms_keep_the_photos_posture_and_actions_take_the_motions() -> None:
    """Near the motion's talking posture an arm bone is drawn at the photo's direction plus the
    motion's change (a beat of +5 degrees stays +5 on the person's own pose); far from every
    resting posture (a forearm across the body) it takes the motion's direction; a sweep never jumps."""
    from pipeline.token2pose.fit import REST_POSTURES_DEG, posture_offsets

    upper = BONES.index((B["left_elbow"], B["left_wrist"]))   # the forearm: its resting postures lie far apart
    talking = np.radians(REST_POSTURES_DEG["talking"][1])
    start = np.zeros(len(BONES))
    start[upper] = np.radians(45.0)                 # the photo: forearm pointing down and out
    shown = np.ones(len(BONES), bool)
    sweep = np.radians(np.linspace(-180.0, 180.0, 3601))
    angles = np.zeros((len(sweep) + 2, len(BONES)))
    angles[:-2, upper] = sweep
    angles[-2:, upper] = [talking + np.radians(5.0), np.radians(170.0)]   # a beat; across the body
    drawn = angles + posture_offsets(angles, start, shown)[0]
    assert np.degrees(drawn[-2, upper]) == pytest.approx(50.0, abs=1e-6)
    assert np.degrees(drawn[-1, upper]) == pytest.approx(170.0, abs=1e-6)
    assert np.degrees(np.abs(np.diff(drawn[:-2, upper]))).max() < 0.5
    # a bone whose photo direction is unknown keeps the motion's direction
    unknown, keep = posture_offsets(angles, start, np.zeros(len(BONES), bool))
    assert not unknown.any() and not keep.any()


def test_an_arm_whose_hand_the_photo_hides_keeps_its_place(motion, bank) -> None:
    """Hands behind the back: the photo shows the elbow, not the wrist, though the wrist would be
    inside the picture. No render can swing that forearm out without inventing a hand, so the arm
    stays where the photo has it (carried by its shoulder) and its hand is not drawn; the other arm
    still follows the motion, and the analysis says so."""
    from dataclasses import replace

    from pipeline.portrait.wholebody import RIGHT_HAND

    portrait = synthetic_portrait("half_body")
    assert portrait.hidden_hands == ()
    visible = np.asarray(portrait.visible, dtype=bool).copy()
    visible[B["right_wrist"]] = False
    visible[RIGHT_HAND] = False
    # the unseen wrist over the body (behind the back), not at the picture's edge beside it
    kp = portrait.pose.keypoints.copy()
    shoulders = kp[0, [B["left_shoulder"], B["right_shoulder"]]]
    kp[0, B["right_wrist"]] = (0.4 * shoulders[0, 0] + 0.6 * shoulders[1, 0], kp[0, B["right_elbow"], 1] + 20)
    hidden = replace(portrait, visible=visible, pose=replace(portrait.pose, keypoints=kp))
    assert hidden.hidden_hands == ("right",)
    edge = kp.copy()
    edge[0, B["right_wrist"]] = (2.0, kp[0, B["right_elbow"], 1] + 20)          # cut off by the left edge
    assert replace(hidden, pose=replace(portrait.pose, keypoints=edge)).hidden_hands == ()
    moving = translate(motion, replace(portrait, pose=replace(portrait.pose, keypoints=kp)), bank=bank).pose
    held = translate(motion, hidden, bank=bank).pose
    elbow = held.keypoints[:, B["right_elbow"]] - held.keypoints[:, B["right_shoulder"]]
    rest = portrait.pose.keypoints[0, B["right_elbow"]] - portrait.pose.keypoints[0, B["right_shoulder"]]
    assert np.abs(elbow - rest).max() < 1e-3
    assert np.all(held.scores[:, B["right_wrist"]] == 0) and np.all(held.scores[:, RIGHT_HAND] == 0)
    travel = np.linalg.norm(np.diff(moving.keypoints[:, B["right_wrist"]], axis=0), axis=-1).sum()
    assert travel > 5.0                                           # with the hand in view it moves
    left = held.keypoints[:, B["left_wrist"]] - moving.keypoints[:, B["left_wrist"]]
    assert np.abs(left).max() < 1e-3                              # the other arm is untouched


def test_an_arm_whose_hand_is_at_the_head_keeps_its_place(motion, bank) -> None:
    """A hand up at the head (holding a camera or a phone, on the chin): taking it away would
    uncover a face or an object the photo does not show, so that arm keeps its place (carried by
    its shoulder) with its hand drawn; a hand at the waist still follows the motion."""
    from dataclasses import replace

    from pipeline.portrait.wholebody import RIGHT_HAND

    portrait = synthetic_portrait("half_body")
    assert portrait.held_arms == ()
    kp = portrait.pose.keypoints.copy()
    x0, y0, x1, y1 = portrait.face_box
    lift = np.array([x0 - 0.3 * (x1 - x0), y1]) - kp[0, B["right_wrist"]]   # the wrist by the chin
    kp[0, B["right_wrist"]] += lift
    kp[0, RIGHT_HAND] += lift
    raised = replace(portrait, pose=replace(portrait.pose, keypoints=kp))
    assert raised.hands_at_head == ("right",) and raised.held_arms == ("right",) and raised.hidden_hands == ()
    held = translate(motion, raised, bank=bank).pose
    for joint in ("right_elbow", "right_wrist"):
        rel = held.keypoints[:, B[joint]] - held.keypoints[:, B["right_shoulder"]]
        rest = kp[0, B[joint]] - kp[0, B["right_shoulder"]]
        assert np.abs(rel - rest).max() < 1e-3, joint
    assert np.all(held.scores[:, B["right_wrist"]] > MIN_SCORE)            # the hand is drawn
    travel = np.linalg.norm(np.diff(held.keypoints[:, B["left_wrist"]], axis=0), axis=-1).sum()
    assert travel > 5.0


def test_the_trunk_keeps_the_photos_lean(motion, bank) -> None:
    """A person leaning to one side in the photo (or bent over a camera) keeps that lean under
    the motion, which adds its own sway to it: the fitted trunk of the leaning photo is the upright
    photo's turned by the photo's lean in every frame, not straightened up after the ease."""
    from dataclasses import replace

    portrait = synthetic_portrait("half_body")
    kp = portrait.pose.keypoints.copy()
    lower = [B[n] for n in ("left_hip", "right_hip")] + list(LEG_KEYPOINTS)
    upper = np.setdiff1d(np.arange(kp.shape[1]), lower)
    sw = float(np.hypot(*(kp[0, B["left_shoulder"]] - kp[0, B["right_shoulder"]])))
    kp[0, upper] += (0.4 * sw, 0.0)                                        # the upper body to one side
    leaning = replace(portrait, pose=replace(portrait.pose, keypoints=kp))

    def trunk_angles(pose) -> np.ndarray:
        k = pose.keypoints
        neck = k[:, [B["left_shoulder"], B["right_shoulder"]]].mean(1)
        hips = k[:, [B["left_hip"], B["right_hip"]]].mean(1)
        d = hips - neck
        return np.degrees(np.arctan2(d[:, 1], d[:, 0]))

    upright = trunk_angles(translate(motion, portrait, bank=bank).pose)
    lean = trunk_angles(translate(motion, leaning, bank=bank).pose)
    photo_lean = lean[0] - upright[0]
    assert abs(photo_lean) > 10.0
    # (measured between the shoulders' and the hips' midpoints, which a twist of the shoulders also
    # moves a little: the median over the frames after the ease)
    after = np.arange(len(lean)) / VIDEO_FPS > EASE_SECONDS
    assert np.median(np.abs((lean - upright) - photo_lean)[after]) < 1.0


def test_a_raised_arm_draws_its_forearm_as_long_as_the_motion_does():
    """A photo holding the hands towards the camera shows its forearms end-on (short). Hanging or
    talking, the forearm keeps that foreshortening relative to the motion's; raised above the
    shoulder, away from the resting postures, it is as long as the motion draws it (a raised arm
    ended in a stub pointing at the viewer)."""
    from types import SimpleNamespace

    from pipeline.token2pose.fit import forearm_shares

    n_bones = len(BONES)
    start = np.ones(n_bones)
    start[FOREARMS] = 0.3
    person = SimpleNamespace(lengths=np.ones(n_bones), start_lengths=start, torso_px=1.0)
    base = np.zeros((2, 133, 2))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        base[:, B[f"{side}_shoulder"]] = [sign * 0.5, 0.0]
        base[0, B[f"{side}_elbow"]] = [sign * 0.5, 1.0]          # hanging
        base[1, B[f"{side}_elbow"]] = [sign * 0.5, -1.0]         # raised
        base[0, B[f"{side}_wrist"]] = [sign * 0.5, 1.62]         # the forearm at 0.62 of its length
        base[1, B[f"{side}_wrist"]] = [sign * 0.5, -1.62]
    # (the full length is the longest the clip shows: add a frame at full length to anchor it)
    base = np.concatenate([base, base[1:]], 0)
    base[2, B["left_wrist"]] = [0.5, -2.0]
    base[2, B["right_wrist"]] = [-0.5, -2.0]
    fore = np.flatnonzero(FOREARMS)
    resting = np.zeros((3, n_bones))
    shares = forearm_shares(base, person, resting)
    assert (shares[0, fore] < 0.4).all()                       # hanging: the photo's foreshortening
    np.testing.assert_allclose(shares[1, fore], 0.62, atol=0.02)  # raised: the motion's own share
    held = forearm_shares(base, person, np.ones((3, n_bones)))  # at a resting posture: the photo's
    assert (held[1, fore] < 0.4).all()
