"""BVH parsing, writing and retargeting to the 22-joint SMPL skeleton."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pipeline.paths import shared_data_dir
from pipeline.constants import MOTION_FPS, NUM_JOINTS
from pipeline.motion import skeleton
from pipeline.motion.bvh import (
    BVH_UNITS_PER_METRE, BvhFormatError, bvh_to_smpl_joints, euler_to_matrix, parse_bvh, write_bvh,
)
from pipeline.motion.retarget import (
    RIG_MAPPINGS, SMPL22, RetargetedMotion, RigMapping, UnknownRigError, face_forward,
    leading_tpose_frames, load_bvh_motion, resample, retarget,
)

DATA = shared_data_dir()
CMU = DATA / "cmu-bvh"
needs_data = pytest.mark.skipif(not CMU.is_dir(), reason=f"CMU BVH data not found at {CMU} "
                                "(../shared/data is absent in a fresh clone)")
J = skeleton.JOINT_INDEX


# ----------------------------------------------------------------------------------- helpers

def random_motion(n_frames: int = 40, seed: int = 0, scale: float = 0.35) -> np.ndarray:
    """A plausible-ish motion: smooth random local rotations on the rest skeleton, moving on."""
    rng = np.random.default_rng(seed)
    knots = rng.normal(scale=scale, size=(4, NUM_JOINTS, 3))
    t = np.linspace(0, 3, n_frames)
    rotvec = np.stack([np.stack([np.interp(t, np.arange(4), knots[:, j, a]) for a in range(3)], -1)
                       for j in range(NUM_JOINTS)], axis=1)                # (T, 22, 3)
    rotvec[:, 0] = [0.0, 1.0, 0.0] * (0.6 + 0.5 * t[:, None])              # root: mostly yaw
    rot = Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix()
    rot = rot.reshape(n_frames, NUM_JOINTS, 3, 3)
    root = np.stack([0.3 * t, np.full_like(t, skeleton.REST_PELVIS_HEIGHT), 0.8 * t], axis=-1)
    return skeleton.forward_kinematics(rot, root)


def write_text(tmp_path: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


TWO_BONES = """HIERARCHY
ROOT Hips
{
\tOFFSET 0 0 0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
\tJOINT Arm
\t{
\t\tOFFSET 1 0 0
\t\tCHANNELS 3 Xrotation Yrotation Zrotation
\t\tEnd Site
\t\t{
\t\t\tOFFSET 2 0 0
\t\t}
\t}
}
MOTION
Frames: 4
Frame Time: 0.0333333
0 0 0 0 0 0 0 0 0
10 0 0 90 0 0 0 0 0
0 5 0 0 0 0 0 0 90
0 0 0 90 90 0 0 0 0
"""


# ------------------------------------------------------------------------------------ parser

def test_parse_tiny_file_with_crlf_and_tabs(tmp_path: Path) -> None:
    data = parse_bvh(write_text(tmp_path, "tiny.bvh", TWO_BONES, newline="\r\n"))
    assert data.names == ["Hips", "Arm", "Arm_End"]
    assert data.parents.tolist() == [-1, 0, 1]
    assert data.is_end_site.tolist() == [False, False, True]
    assert data.joint_names == ["Hips", "Arm"]
    assert data.channels[1] == ("Xrotation", "Yrotation", "Zrotation")
    assert data.frames.shape == (4, 9)
    assert data.fps == pytest.approx(30.0, rel=1e-5)
    pos = data.global_positions()
    np.testing.assert_allclose(pos[0], [[0, 0, 0], [1, 0, 0], [3, 0, 0]], atol=1e-9)
    # Frame 1: root moved 10 along X and turned 90 degrees about Z: the arm points along +Y.
    np.testing.assert_allclose(pos[1], [[10, 0, 0], [10, 1, 0], [10, 3, 0]], atol=1e-9)
    # Frame 2: the arm joint turns 90 degrees about Z: only the End Site moves.
    np.testing.assert_allclose(pos[2], [[0, 5, 0], [1, 5, 0], [1, 7, 0]], atol=1e-9)
    # Frame 3: Zrotation 90 then Xrotation 90 in the listed order, R = Rz @ Rx: the arm lies on +Y
    # (the other order, Rx @ Rz, would put it on +Z).
    np.testing.assert_allclose(pos[3], [[0, 0, 0], [0, 1, 0], [0, 3, 0]], atol=1e-9)
    np.testing.assert_allclose(data.global_positions(["Arm_End"])[:, 0], pos[:, 2])


def test_euler_channels_apply_in_listed_order() -> None:
    rng = np.random.default_rng(3)
    angles = rng.uniform(-np.pi, np.pi, size=(50, 3))
    for order in ("ZXY", "XYZ", "ZYX", "YXZ"):
        expected = Rotation.from_euler(order, angles).as_matrix()  # upper case: intrinsic
        np.testing.assert_allclose(euler_to_matrix(angles, order), expected, atol=1e-12)


def test_position_channels_after_rotations_and_on_a_child(tmp_path: Path) -> None:
    text = TWO_BONES.replace(
        "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        "CHANNELS 6 Zrotation Xrotation Yrotation Xposition Yposition Zposition",
    ).replace("CHANNELS 3 Xrotation Yrotation Zrotation",
              "CHANNELS 4 Xposition Xrotation Yrotation Zrotation")
    lines = text.splitlines()
    start = lines.index("Frame Time: 0.0333333") + 1
    lines[start:] = ["0 0 0 0 0 0 0 0 0 0", "90 0 0 10 0 0 0.5 0 0 0", "0 0 0 0 5 0 0 0 0 90",
                     "0 0 0 0 0 0 0 0 0 0"]
    path = write_text(tmp_path, "reordered.bvh", "\n".join(lines) + "\n")
    pos = parse_bvh(path).global_positions()
    np.testing.assert_allclose(pos[1], [[10, 0, 0], [10, 1.5, 0], [10, 3.5, 0]], atol=1e-9)
    np.testing.assert_allclose(pos[2], [[0, 5, 0], [1, 5, 0], [1, 7, 0]], atol=1e-9)


def test_parse_is_fast_on_10k_frames(tmp_path: Path) -> None:
    joints = random_motion(n_frames=200)
    path = write_bvh(tmp_path / "short.bvh", joints)
    head, body = path.read_text().split("MOTION\n")
    rows = body.splitlines()[2:]
    big = tmp_path / "big.bvh"
    big.write_text(head + f"MOTION\nFrames: {len(rows) * 50}\nFrame Time: 0.05\n"
                   + "\n".join(rows * 50) + "\n")
    start = time.perf_counter()
    data = parse_bvh(big)
    pos = data.global_positions()
    elapsed = time.perf_counter() - start
    assert pos.shape == (10_000, NUM_JOINTS + 5, 3)
    assert elapsed < 3.0, f"parse + forward kinematics of 10k frames took {elapsed:.2f} s"


# ---------------------------------------------------------------------------- parser errors

def error_for(tmp_path: Path, text: str, name: str = "broken.bvh") -> str:
    with pytest.raises(BvhFormatError) as info:
        parse_bvh(write_text(tmp_path, name, text))
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert name in message
    return message


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_error_truncated_last_frame(tmp_path: Path) -> None:
    text = TWO_BONES.rstrip("\n")[:-6] + "\n"  # the last frame loses its last three numbers
    assert len(text.splitlines()[-1].split()) == 6
    message = error_for(tmp_path, text, "walk.bvh")
    expected = f"walk.bvh line {len(text.splitlines())}: expected 9 numbers per frame, found 6"
    assert expected in message


def test_error_missing_frames(tmp_path: Path) -> None:
    text = TWO_BONES.replace("Frames: 4", "Frames: 500")
    message = error_for(tmp_path, text)
    assert "Frames: says 500 but the file has 4" in message


def test_error_missing_brace(tmp_path: Path) -> None:
    lines = TWO_BONES.splitlines()
    del lines[lines.index("\t}")]  # Arm's '}': the root's '}' closes Arm and the root stays open
    message = error_for(tmp_path, "\n".join(lines) + "\n")
    assert "missing '}' closing joint 'Hips'" in message
    assert f"line {lines.index('MOTION')}" in message  # the last hierarchy line


def test_error_bad_number_in_motion(tmp_path: Path) -> None:
    text = TWO_BONES.replace("10 0 0 90 0 0 0 0 0", "10 0 0 90 zero 0 0 0 0")
    message = error_for(tmp_path, text)
    assert f"line {line_of(text, 'zero')}" in message
    assert "expected a number, found 'zero'" in message


def test_error_bad_offset(tmp_path: Path) -> None:
    text = TWO_BONES.replace("OFFSET 1 0 0", "OFFSET 1 x 0")
    message = error_for(tmp_path, text)
    assert f"line {line_of(text, 'OFFSET 1 x 0')}" in message
    assert "OFFSET y value" in message and "'x'" in message


def test_error_file_ends_inside_hierarchy(tmp_path: Path) -> None:
    text = TWO_BONES.split("\t\tEnd Site")[0]
    message = error_for(tmp_path, text)
    assert "missing '}'" in message or "expected" in message
    assert f"line {len(text.splitlines())}" in message


def test_error_not_a_bvh(tmp_path: Path) -> None:
    message = error_for(tmp_path, "hello world\n")
    assert "line 1: expected 'HIERARCHY'" in message


# ------------------------------------------------------------------------------------- writer

def test_write_read_round_trip_within_a_millimetre(tmp_path: Path) -> None:
    joints = random_motion()
    path = write_bvh(tmp_path / "motion.bvh", joints)
    data = parse_bvh(path)
    back = bvh_to_smpl_joints(data)
    assert back.shape == joints.shape
    assert np.abs(back - joints).max() < 1e-3
    assert data.frame_time == pytest.approx(1.0 / MOTION_FPS)


def test_round_trip_arms_straight_up(tmp_path: Path) -> None:
    """Bones pointing opposite to their rest direction (a 180 degree swing) still round-trip."""
    rest = skeleton.REST_POSE.copy()
    up = rest.copy()
    for side in ("left", "right"):
        s = rest[J[f"{side}_shoulder"]]
        for name in ("elbow", "wrist"):
            drop = s[1] - rest[J[f"{side}_{name}"], 1]
            up[J[f"{side}_{name}"]] = [rest[J[f"{side}_{name}"], 0], s[1] + drop,
                                       rest[J[f"{side}_{name}"], 2]]
    joints = np.stack([rest, up])
    lengths = skeleton.bone_lengths(joints)
    assert np.abs(lengths[0] - lengths[1]).max() < 1e-9
    back = bvh_to_smpl_joints(parse_bvh(write_bvh(tmp_path / "up.bvh", joints)))
    assert np.abs(back - joints).max() < 1e-3


def test_round_trip_of_another_skeleton(tmp_path: Path) -> None:
    """Any fixed skeleton, not just REST_POSE: other lengths, other branching layout."""
    rng = np.random.default_rng(7)
    offsets = skeleton.rest_offsets() * 1.1 + rng.normal(scale=0.02, size=(NUM_JOINTS, 3))
    rot = Rotation.from_rotvec(rng.normal(scale=0.4, size=(30 * NUM_JOINTS, 3))).as_matrix()
    joints = skeleton.forward_kinematics(rot.reshape(30, NUM_JOINTS, 3, 3),
                                         rng.normal(size=(30, 3)), offsets)
    back = bvh_to_smpl_joints(parse_bvh(write_bvh(tmp_path / "other.bvh", joints)))
    assert np.abs(back - joints).max() < 1e-3


def test_written_file_has_blender_structure(tmp_path: Path) -> None:
    joints = random_motion(n_frames=7)
    text = write_bvh(tmp_path / "blender.bvh", joints, fps=25).read_text()
    lines = text.splitlines()
    assert lines[0] == "HIERARCHY"
    assert lines[1] == "ROOT pelvis"
    motion_at = lines.index("MOTION")
    assert lines[motion_at + 1] == "Frames: 7"
    assert lines[motion_at + 2].startswith("Frame Time: 0.04")
    assert text.count("End Site") == 5
    declared = [ln.split()[1] for ln in lines if ln.strip().startswith(("ROOT", "JOINT"))]
    assert sorted(declared) == sorted(skeleton.JOINT_NAMES)
    channels = [ln.strip() for ln in lines if ln.strip().startswith("CHANNELS")]
    assert channels[0] == "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
    assert all(c == "CHANNELS 3 Zrotation Xrotation Yrotation" for c in channels[1:])
    assert text.count("{") == text.count("}") == NUM_JOINTS + 5
    rows = lines[motion_at + 3:]
    assert len(rows) == 7 and all(len(r.split()) == 6 + 3 * (NUM_JOINTS - 1) for r in rows)
    # Offsets are centimetres with the motion's bone lengths.
    data = parse_bvh(tmp_path / "blender.bvh")
    knee = data.index("left_knee")
    expected = np.median(skeleton.bone_lengths(joints)[:, J["left_knee"]]) * BVH_UNITS_PER_METRE
    assert np.linalg.norm(data.offsets[knee]) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(data.frames[:, :3], joints[:, 0] * BVH_UNITS_PER_METRE, atol=1e-5)


def test_write_rejects_wrong_shape(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shape"):
        write_bvh(tmp_path / "bad.bvh", np.zeros((5, 21, 3)))
    with pytest.raises(ValueError, match="NaN"):
        write_bvh(tmp_path / "nan.bvh", np.full((2, NUM_JOINTS, 3), np.nan))


# ------------------------------------------------------------------------------- retargeting

def test_rig_tables_cover_the_skeleton() -> None:
    for rig in RIG_MAPPINGS:
        table = rig.expanded()
        assert list(table) == list(skeleton.JOINT_NAMES), rig.name
        for smpl_name, blend in table.items():
            assert sum(blend.values()) == pytest.approx(1.0), (rig.name, smpl_name)
            assert min(blend.values()) > 0, (rig.name, smpl_name)


def test_unknown_rig_lists_joints_and_how_to_add_one(tmp_path: Path) -> None:
    with pytest.raises(UnknownRigError) as info:
        load_bvh_motion(write_text(tmp_path, "robot.bvh", TWO_BONES))
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "robot.bvh" in message and "Hips" in message and "Arm" in message
    assert "RIG_MAPPINGS" in message and "pipeline/motion/retarget.py" in message


def test_own_export_loads_back_normalised(tmp_path: Path) -> None:
    joints = random_motion(n_frames=60, seed=2)
    motion = load_bvh_motion(write_bvh(tmp_path / "own.bvh", joints))
    assert isinstance(motion, RetargetedMotion)
    assert motion.rig == "smpl22" and motion.source_fps == MOTION_FPS
    assert motion.joints.dtype == np.float32 and motion.joints.shape == joints.shape
    # Only a rigid move about Y: every pairwise distance survives.
    dist_in = np.linalg.norm(joints[:, :, None] - joints[:, None], axis=-1)
    dist_out = np.linalg.norm(motion.joints[:, :, None] - motion.joints[:, None], axis=-1)
    assert np.abs(dist_in - dist_out).max() < 1e-3
    check_normalised(motion)
    assert motion.body_height == pytest.approx(1.72, abs=0.01)


def test_wrong_unit_is_caught_by_body_height(tmp_path: Path) -> None:
    data = parse_bvh(write_bvh(tmp_path / "metres.bvh", random_motion(seed=4)))
    data.offsets /= BVH_UNITS_PER_METRE                   # the same file written in metres
    data.frames[:, :3] /= BVH_UNITS_PER_METRE
    with pytest.warns(UserWarning, match="reading the file as m "):
        motion = retarget(data)
    assert motion.body_height == pytest.approx(1.72, abs=0.01)


def test_z_up_rig_is_turned_y_up(tmp_path: Path) -> None:
    joints = random_motion(seed=6)
    z_up = np.stack([joints[..., 0], -joints[..., 2], joints[..., 1]], axis=-1)
    rig = RigMapping(name="smpl22-z-up", description="test", metres_per_unit=0.01,
                     joints=dict(SMPL22.joints), up_axis="z")
    turned = retarget(parse_bvh(write_bvh(tmp_path / "z.bvh", z_up)), rig=rig)
    plain = load_bvh_motion(write_bvh(tmp_path / "y.bvh", joints))
    assert turned.rig == "smpl22-z-up"
    assert np.abs(turned.joints - plain.joints).max() < 1e-3


def test_resample_interpolates_in_time() -> None:
    t = np.arange(61) / 60.0                                 # 1 s at 60 fps
    joints = np.zeros((61, NUM_JOINTS, 3))
    joints[..., 0] = np.sin(t)[:, None]
    out = resample(joints, 60.0, MOTION_FPS)
    assert out.shape[0] == MOTION_FPS + 1
    np.testing.assert_allclose(out[:, 0, 0], np.sin(np.arange(MOTION_FPS + 1) / MOTION_FPS),
                               atol=1e-4)
    odd = resample(joints[:50], 60.0, MOTION_FPS)            # 49/60 s: frames at 0 .. 0.8 s
    assert odd.shape[0] == 17


def test_face_forward_turns_to_plus_z() -> None:
    rest = skeleton.REST_POSE[None] + [1.0, 0.9, -2.0]
    turned = rest @ Rotation.from_euler("y", 130, degrees=True).as_matrix().T
    out = face_forward(turned)
    np.testing.assert_allclose(out, skeleton.REST_POSE[None] + [0, 0.9, 0], atol=1e-9)


def test_tpose_frame_detected_only_when_it_jumps() -> None:
    motion = random_motion(n_frames=30, scale=0.1)
    tpose = skeleton.REST_POSE.copy()
    for side, sign in (("left", 1.0), ("right", -1.0)):
        s = tpose[J[f"{side}_shoulder"]]
        tpose[J[f"{side}_elbow"]] = s + [sign * 0.27, 0, 0]
        tpose[J[f"{side}_wrist"]] = s + [sign * 0.52, 0, 0]
    with_tpose = np.concatenate([tpose[None] + [3.0, 0.9, 3.0], motion])
    assert leading_tpose_frames(with_tpose, MOTION_FPS) == 1
    assert leading_tpose_frames(motion, MOTION_FPS) == 0
    still = np.repeat(tpose[None], 10, axis=0)               # standing in a T-pose is kept
    assert leading_tpose_frames(still, MOTION_FPS) == 0


def check_normalised(motion: RetargetedMotion) -> None:
    """The conventions every retargeted clip must follow."""
    j = motion.joints.astype(np.float64)
    first = j[0]
    assert abs(first[0, 0]) < 1e-5 and abs(first[0, 2]) < 1e-5          # root at x = z = 0
    across = first[J["right_hip"]] - first[J["left_hip"]] + first[J["right_shoulder"]] \
        - first[J["left_shoulder"]]
    forward = np.cross([0, 1, 0], across)
    assert forward[2] > 0 and abs(forward[0]) < 1e-5 * np.linalg.norm(forward)  # faces +Z
    assert first[J["left_hip"], 0] > first[J["right_hip"], 0]           # left side is +X
    feet = j[:, [J["left_foot"], J["right_foot"]], 1].min(axis=1)
    assert np.percentile(feet, 5) == pytest.approx(skeleton.FOOT_JOINT_HEIGHT, abs=1e-3)


# ------------------------------------------------------------------------ the CMU data rigs

@needs_data
@pytest.mark.parametrize("name, n_joints, n_frames, fps, root", [
    ("reallusion/002_01.bvh", 101, 171, 60, "RL_BoneRoot"),
    ("reallusion/002_04.bvh", 100, 241, 60, "CC_Base_Hip"),
    ("cgspeed-daz/02_01.bvh", 43, 344, 120, "hip"),
    ("cgspeed-daz/16_01.bvh", 31, 322, 30, "hip"),
])
def test_parse_data_files(name: str, n_joints: int, n_frames: int, fps: int, root: str) -> None:
    data = parse_bvh(CMU / name)
    assert data.names[0] == root and data.channels[0][:3] == ("Xposition", "Yposition", "Zposition")
    assert len(data.joint_names) == n_joints
    assert data.n_frames == n_frames
    assert data.fps == pytest.approx(fps, rel=1e-4)
    pos = data.global_positions()
    assert pos.shape == (n_frames, len(data.names), 3) and np.isfinite(pos).all()


@needs_data
@pytest.mark.parametrize("name, rig, dropped, walks_forward", [
    ("reallusion/002_01.bvh", "reallusion-cc", 0, True),     # walk; rig with RL_BoneRoot on top
    ("reallusion/002_04.bvh", "reallusion-cc", 0, False),    # jump, balance; CC_Base_Hip is root
    ("reallusion/007_03.bvh", "reallusion-cc", 1, True),     # walk, with a T-pose frame 0
    ("cgspeed-daz/02_01.bvh", "cgspeed-daz", 4, True),       # walk; T-pose plus a 3-frame blend
    ("cgspeed-daz/16_01.bvh", "cmu-asf", 0, False),          # jump; CMU's own ASF skeleton
])
def test_retarget_data_files(name: str, rig: str, dropped: int, walks_forward: bool) -> None:
    data_path = CMU / name
    source = parse_bvh(data_path)
    motion = load_bvh_motion(data_path)
    j = motion.joints.astype(np.float64)
    assert motion.rig == rig and motion.source_path == data_path
    assert motion.source_fps == round(source.fps)
    assert motion.dropped_frames == dropped
    duration = (source.n_frames - 1 - dropped) / motion.source_fps
    assert j.shape == (int(np.floor(duration * MOTION_FPS + 1e-6)) + 1, NUM_JOINTS, 3)
    check_normalised(motion)

    assert 1.5 < motion.body_height < 2.0
    lengths = np.median(skeleton.bone_lengths(j), axis=0)
    for side in ("left", "right"):
        assert 0.33 < lengths[J[f"{side}_knee"]] < 0.5       # thigh
        assert 0.38 < lengths[J[f"{side}_ankle"]] < 0.52     # shin
        assert 0.22 < lengths[J[f"{side}_elbow"]] < 0.33     # upper arm
        assert 0.2 < lengths[J[f"{side}_wrist"]] < 0.3       # forearm
    # Bone lengths stay put over the clip (a mapping that mixes up joints would not).
    assert skeleton.bone_lengths(j)[:, 1:].std(axis=0).max() < 0.01
    assert (j[:, J["head"], 1] > j[:, J["pelvis"], 1] + 0.25).all()
    assert 1.3 < j[0, J["head"], 1] < 1.85
    first = j[0]
    for side in ("left", "right"):                # toes point forward, an ankle near the floor
        assert first[J[f"{side}_foot"], 2] - first[J[f"{side}_ankle"], 2] > 0.03
    assert min(first[J["left_ankle"], 1], first[J["right_ankle"], 1]) < 0.2
    if walks_forward:
        step = j[MOTION_FPS, 0] - j[0, 0]
        assert step[2] > 0.5 and abs(step[0]) < 0.3 * step[2]


@needs_data
def test_retargeted_mocap_exports_faithfully(tmp_path: Path) -> None:
    motion = load_bvh_motion(CMU / "reallusion/002_01.bvh")
    back = bvh_to_smpl_joints(parse_bvh(write_bvh(tmp_path / "walk.bvh", motion.joints)))
    error = np.linalg.norm(back - motion.joints, axis=-1)
    assert error.mean() < 0.003 and error.max() < 0.02


@needs_data
def test_both_reallusion_layouts_agree() -> None:
    """RL_BoneRoot-topped and CC_Base_Hip-rooted files carry the same character."""
    a = load_bvh_motion(CMU / "reallusion/002_01.bvh")
    b = load_bvh_motion(CMU / "reallusion/002_04.bvh")
    np.testing.assert_allclose(np.median(skeleton.bone_lengths(a.joints), 0),
                               np.median(skeleton.bone_lengths(b.joints), 0), atol=2e-3)
