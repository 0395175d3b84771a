"""The motion dataset: captions, windowing, the HumanML3D layout, and a real (small) build."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.constants import MAX_CLIP_SECONDS, MOTION_FPS
from pipeline.data import build as builder
from pipeline.data.cmu_captions import captions_for_description, take_key
from pipeline.data.humanml3d import MotionDataset, parse_text_file, write_clip, write_index
from pipeline.data.windows import cut_points
from pipeline.motion import skeleton as sk
from pipeline.motion.features import features_to_joints, joints_to_features


def _standing(n: int, sway_m: float = 0.03) -> np.ndarray:
    joints = np.tile(sk.REST_POSE + [0.0, sk.REST_PELVIS_HEIGHT, 0.0], (n, 1, 1))
    sway = sway_m * np.sin(np.linspace(0, 6 * np.pi, n))
    joints[:, :, 0] += sway[:, None]
    return joints


def test_captions_are_sentences_from_cmu_labels():
    caps = captions_for_description("run/jog")
    assert caps[0] == "a person runs or jogs."
    assert len(set(caps)) >= 3
    dance = captions_for_description("dance - expressive arms, pirouette")
    assert all("(dance)" in c for c in dance[:3])
    assert take_key("005_02.bvh") == take_key("05_02.bvh") == (5, 2)


def test_windows_cut_at_pauses_and_respect_the_limit():
    fps = MOTION_FPS
    n = int(23.5 * fps)
    joints = _standing(n, sway_m=0.0)
    t = np.arange(n) / fps
    moving = ~((np.abs(t - 8.0) < 0.5) | (np.abs(t - 16.0) < 0.5))     # still at 8 s and 16 s
    joints[:, 20, 1] += np.cumsum(moving * 0.02)
    windows = cut_points(joints, fps, MAX_CLIP_SECONDS)
    assert windows[0][0] == 0 and windows[-1][1] == n
    assert all(b == c for (_, b), (c, _) in zip(windows[:-1], windows[1:]))
    assert all(end - start <= MAX_CLIP_SECONDS * fps for start, end in windows)
    assert all(end - start >= 2 * fps for start, end in windows)
    cuts = [end / fps for _, end in windows[:-1]]
    assert cuts == pytest.approx([8.0, 16.0], abs=0.6)


def test_layout_round_trip_and_malformed_text(tmp_path):
    joints = _standing(40)
    feats = joints_to_features(joints)
    write_clip(tmp_path, "a1", features_to_joints(feats), feats, ["a person stands.", "someone sways."])
    write_index(tmp_path, {"train": ["a1"], "val": [], "test": []}, {"a1": ("synthetic", "idle")})
    ds = MotionDataset(tmp_path)
    clip = ds.load("a1")
    assert ds.clip_ids("train") == ["a1"] and ds.clip_ids() == ["a1"]
    assert clip.features.shape == (39, 263) and clip.joints.shape == (39, 22, 3)
    assert clip.captions == ["a person stands.", "someone sways."]
    assert clip.source == "synthetic"
    (tmp_path / "texts" / "a1.txt").write_text("no separators here\n")
    with pytest.raises(ValueError, match="line 1"):
        parse_text_file(tmp_path / "texts" / "a1.txt")
    with pytest.raises(FileNotFoundError, match="build-dataset"):
        MotionDataset(tmp_path / "missing")


def test_reads_a_humanml3d_folder(shared_data):
    """The same reader opens the reference layout (no sources.csv, no split lists needed for ids)."""
    ds = MotionDataset(shared_data / "humanml3d-format")
    assert ds.clip_ids() == ["012314"]
    clip = ds.load("012314")
    assert clip.source == "humanml3d" and clip.joints.shape == (170, 22, 3)


def test_mirror_swaps_sides():
    joints = _standing(5)
    joints[:, sk.JOINT_INDEX["right_wrist"], 1] += 0.5          # right hand raised
    mirrored = builder.mirror_joints(joints)
    assert mirrored[0, sk.JOINT_INDEX["left_wrist"], 1] > mirrored[0, sk.JOINT_INDEX["right_wrist"], 1] + 0.4
    assert mirrored[0, sk.JOINT_INDEX["left_hip"], 0] > 0      # left side stays on +X
    assert builder.mirror_caption("waves the right hand") == "waves the left hand"
    assert builder.mirror_caption("walk, veer left.") == "walk, veer right."
    assert builder.mirror_caption("a bright light") == "a bright light"


def test_procedural_clips_get_mirrored_copies_with_sides_swapped():
    """Every procedural clip has a mirror whose action name, captions and moving hand are swapped:
    the library draws the right side more often than the left (3 to 2 overall), the mirrors balance it."""
    clips = list(builder.synthetic_clips(1, seed=0))
    by_id = {c.clip_id: c for c in clips}
    originals = [c for c in clips if not c.mirrored]
    assert len(clips) == 2 * len(originals)
    for clip in originals:
        twin = by_id["M" + clip.clip_id]
        assert twin.mirrored and twin.group == clip.group            # same split as the original
        assert twin.origin == builder.mirror_action(clip.origin)
        assert twin.captions == [builder.mirror_caption(c) for c in clip.captions]
        assert np.allclose(twin.joints, builder.mirror_joints(clip.joints))
    assert builder.mirror_action("wave_left") == "wave_right"
    assert builder.mirror_action("kick_side_right") == "kick_side_left"
    assert builder.mirror_action("salute") == "salute"
    wave = by_id["Msyn_wave_right_000"]
    assert wave.origin == "wave_left" and all("right" not in c for c in wave.captions)
    wrist = sk.JOINT_INDEX["left_wrist"], sk.JOINT_INDEX["right_wrist"]
    travel = [np.linalg.norm(np.diff(wave.joints[:, j], axis=0), axis=-1).sum() for j in wrist]
    assert travel[0] > 2 * travel[1]                                  # the mirrored wave uses the left hand


@pytest.fixture(scope="module")
def small_build(tmp_path_factory, shared_data):
    """A real build from three CMU takes (one per rig, one duplicate) and 2 variations per action."""
    cmu = tmp_path_factory.mktemp("cmu")
    src = shared_data / "cmu-bvh"
    (cmu / "cmu_index.csv").write_bytes((src / "cmu_index.csv").read_bytes())
    for rig, name in [("reallusion", "002_01.bvh"), ("reallusion", "005_02.bvh"), ("cgspeed-daz", "02_01.bvh"),
                      ("cgspeed-daz", "09_01.bvh")]:
        (cmu / rig).mkdir(exist_ok=True)
        (cmu / rig / name).symlink_to(src / rig / name)
    out = tmp_path_factory.mktemp("dataset")
    report = builder.build_dataset(out, cmu, variations_per_action=2, seed=1)
    return out, report


@pytest.mark.slow
def test_build_writes_both_sources(small_build):
    out, report = small_build
    ds = MotionDataset(out)
    ids = ds.clip_ids()
    cmu_ids = [i for i in ids if ds.source_of(i) == "cmu"]
    syn_ids = [i for i in ids if ds.source_of(i) == "synthetic"]
    # take 2_1 exists in both rigs and is used once (3 takes, each mirrored)
    assert {i.lstrip("M")[:10] for i in cmu_ids} == {"cmu_002_01", "cmu_005_02", "cmu_009_01"}
    assert sum(i.startswith("M") for i in cmu_ids) == len(cmu_ids) // 2
    assert len(syn_ids) >= 60                      # >= 30 actions x 2 variations
    assert report.clips["cmu"] + report.clips["cmu mirrored"] == len(cmu_ids)
    assert report.clips["cmu"] == report.clips["cmu mirrored"]
    assert report.clips["synthetic"] + report.clips["synthetic mirrored"] == len(syn_ids)
    assert report.clips["synthetic"] == report.clips["synthetic mirrored"]
    assert sorted(ds.clip_ids("train") + ds.clip_ids("val") + ds.clip_ids("test")) == sorted(ids)
    mean, std = ds.statistics()
    assert mean.shape == std.shape == (263,) and (std > 0).all()


@pytest.mark.slow
def test_built_clips_are_valid_motion(small_build):
    out, _ = small_build
    ds = MotionDataset(out)
    for clip_id in ds.clip_ids()[::7]:
        clip = ds.load(clip_id)
        assert len(clip.joints) <= MAX_CLIP_SECONDS * MOTION_FPS
        assert len(clip.captions) >= 3
        assert np.isfinite(clip.features).all()
        assert abs(clip.joints[:, :, 1].min()) < 1e-4                              # on the floor
        lengths = sk.bone_lengths(clip.joints)[:, 1:]
        assert np.abs(lengths - sk.bone_lengths(sk.REST_POSE)[1:]).max() < 1e-3    # our skeleton
        assert np.allclose(features_to_joints(clip.features), clip.joints, atol=1e-5)


def test_cli_builds_synthetic_only_and_reports_sizes(tmp_path, capsys):
    from pipeline.__main__ import main

    out = tmp_path / "ds"
    assert main(["build-dataset", "--synthetic-only", "--variations", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "synthetic:" in printed and "min" in printed
    assert len(MotionDataset(out).clip_ids()) >= 30
    assert not (tmp_path / "ds.partial").exists()


def test_cli_reports_a_missing_data_folder(tmp_path, capsys):
    from pipeline.__main__ import main

    assert main(["build-dataset", "--cmu-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "ds")]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_cli_exports_bvh(tmp_path, capsys):
    from pipeline.__main__ import main
    from pipeline.motion.bvh import parse_bvh

    motion = tmp_path / "m.npy"
    np.save(motion, _standing(30).astype(np.float32))
    assert main(["export-bvh", str(motion), str(tmp_path / "m.bvh")]) == 0
    assert parse_bvh(tmp_path / "m.bvh").n_frames == 30
    (tmp_path / "bad.txt").write_text("x")
    assert main(["export-bvh", str(tmp_path / "bad.txt"), str(tmp_path / "b.bvh")]) == 2
    assert ".npy" in capsys.readouterr().err


def test_merge_joins_folders_and_refuses_clashing_ids(tmp_path):
    from pipeline.data.merge import merge_datasets

    joints = _standing(24)
    features = joints_to_features(joints)
    for name, ids, caption in (("a", ["a1", "a2"], "a person waves."), ("b", ["b1"], "A person is giving a speech.")):
        root = tmp_path / name
        for clip_id in ids:
            write_clip(root, clip_id, joints[:-1], features, [caption])
        write_index(root, {"train": ids[:1], "val": ids[1:], "test": []}, {i: ("synthetic", "") for i in ids})
    np.save(tmp_path / "a" / "Mean.npy", features.mean(0))
    np.save(tmp_path / "a" / "Std.npy", features.std(0) + 1e-3)
    merged = MotionDataset(merge_datasets(tmp_path / "m", [tmp_path / "a", tmp_path / "b"]))
    assert merged.clip_ids("train") == ["a1", "b1"] and merged.clip_ids("val") == ["a2"]
    assert merged.captions("b1") == ["A person is giving a speech."]
    assert np.allclose(merged.load("a2").features, features)
    assert np.allclose(merged.statistics()[0], features.mean(0))
    write_clip(tmp_path / "b", "a1", joints[:-1], features, ["x."])
    write_index(tmp_path / "b", {"train": ["b1", "a1"], "val": [], "test": []},
                {"b1": ("synthetic", ""), "a1": ("synthetic", "")})
    with pytest.raises(ValueError, match="a1"):
        merge_datasets(tmp_path / "m2", [tmp_path / "a", tmp_path / "b"])


def test_build_adds_amc_takes_once_and_mirrored(tmp_path, shared_data):
    """ASF/AMC takes join the CMU source: a take the BVH folders already hold is used once (the BVH),
    a new one is read from the AMC, captioned from cmu_index.csv and mirrored (captions too)."""
    src_bvh, src_amc = shared_data / "cmu-bvh", shared_data / "cmu-amc"
    if not (src_amc / "amc").is_dir():
        pytest.skip(f"no CMU ASF/AMC folder at {src_amc}")
    cmu, amc = tmp_path / "cmu", tmp_path / "amc"
    (cmu / "cgspeed-daz").mkdir(parents=True)
    (cmu / "cmu_index.csv").write_bytes((src_bvh / "cmu_index.csv").read_bytes())
    (cmu / "cgspeed-daz" / "02_01.bvh").symlink_to(src_bvh / "cgspeed-daz" / "02_01.bvh")
    for sub in ("asf", "amc"):
        (amc / sub).mkdir(parents=True)
    for subject in ("02", "16"):
        (amc / "asf" / f"{subject}.asf").symlink_to(src_amc / "asf" / f"{subject}.asf")
    for take in ("02_01", "16_11"):                       # 02_01 is also a BVH; 16_11 (walk, veer left) is not
        (amc / "amc" / f"{take}.amc").symlink_to(src_amc / "amc" / f"{take}.amc")
    out = tmp_path / "ds"
    report = builder.build_dataset(out, cmu, variations_per_action=1, seed=1, amc_dir=amc)
    ds = MotionDataset(out)
    cmu_ids = sorted(i for i in ds.clip_ids() if ds.source_of(i) == "cmu")
    assert {i.lstrip("M")[:10] for i in cmu_ids} == {"cmu_002_01", "cmu_016_11"}
    assert report.duplicates == 1 and report.clips["cmu"] == report.clips["cmu mirrored"] == 2
    caps = ds.captions("cmu_016_11_00")
    assert any("veer" in c and "left" in c for c in caps)
    assert any("veer" in c and "right" in c for c in ds.captions("Mcmu_016_11_00"))
    walk = ds.load("cmu_016_11_00").joints
    assert 0.8 < np.linalg.norm(walk[-1, 0, [0, 2]]) / (len(walk) / MOTION_FPS) < 2.0    # walking pace
