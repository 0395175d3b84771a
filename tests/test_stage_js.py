"""The stage page's data functions (components/stage.js) under node: its unit tests
(tests/js/*.test.mjs, node's test runner), and the page's decoding of what studio/stage_payload.py
sends, whole and as deltas, checked against the arrays it was made from."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.motion.features import features_to_joints, joints_to_features
from pipeline.data.synthetic.procedural import action_names, generate_action
from studio.stage_payload import MOTION_SCALE, StageCache, motion_item, pose_item, preview_scale

REPO = Path(__file__).resolve().parents[1]
JS = REPO / "tests" / "js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="needs node (apt-get install nodejs) for components/stage.js tests")


def _node(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([NODE, *args], input=stdin, capture_output=True, text=True, cwd=REPO, timeout=120)


def test_stage_js_unit_tests_pass():
    run = _node("--test", *sorted(str(p) for p in JS.glob("*.test.mjs")))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, run.stdout[-2000:]


def _take(joints: np.ndarray, features: np.ndarray, tokens: np.ndarray) -> SimpleNamespace:
    """What motion_item reads of a generation result (its joints are recovered from its features)."""
    return SimpleNamespace(joints=joints, features=features, tokens=tokens)


def test_page_rebuilds_motion_and_poses_from_whole_items_and_deltas():
    features = joints_to_features(generate_action(action_names()[0], np.random.default_rng(0)).joints)
    joints = features_to_joints(features).astype(np.float32)
    edited = joints.copy()
    edited[20:28, 18:22] += np.array([0.0, 0.15, 0.05], dtype=np.float32)   # the arms lifted for 8 frames
    cache = StageCache()
    first = motion_item(cache, _take(joints, features, np.arange(len(joints) // 4)), "motion:0")
    second = motion_item(cache, _take(edited, features, np.arange(len(joints) // 4) + 1), "motion:0")
    assert "base" not in first and second["base"] == first["key"] and second["runs"]

    kp = np.random.default_rng(1).uniform(50, 400, (30, 133, 2))
    scores = np.random.default_rng(2).uniform(0, 1, (30, 133))
    poses = _Poses(kp, scores)
    moved = _Poses(kp.copy(), scores.copy())
    moved.keypoints[10:14, 9:11] += 12.0                                      # the wrists moved in 4 frames
    pose_a = pose_item(cache, poses, "portrait", "take-a", "bank", "pose:0")
    pose_b = pose_item(cache, moved, "portrait", "take-b", "bank", "pose:0")
    assert pose_b["base"] == pose_a["key"] and pose_b["runs"]

    items = [{"kind": "motion", "item": first}, {"kind": "motion", "item": second},
             {"kind": "pose", "item": pose_a}, {"kind": "pose", "item": pose_b}]
    run = _node(str(JS / "build_items.mjs"), stdin=json.dumps(items))
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["asked"] == 0 and all(b is not None for b in out["built"])

    # world joints: the local joints (1 mm steps) turned and moved by the root track
    for built, truth in zip(out["built"][:2], (joints, edited)):
        xyz = np.asarray(built["xyz"]).reshape(truth.shape)
        assert np.abs(xyz - truth).max() < 2.0 / MOTION_SCALE + 1e-4
    assert np.abs(np.asarray(out["built"][1]["xyz"]).reshape(edited.shape)[20:28] - joints[20:28]).max() > 0.1
    # keypoints at the preview's scale (1/8 px steps), relative to the shoulders + the anchor
    for built, src, item in zip(out["built"][2:], (poses, moved), (pose_a, pose_b)):
        scale = preview_scale(src.image_size)
        xy = np.asarray(built["xy"]).reshape(item["frames"], 133, 2)
        assert np.abs(xy - src.keypoints * scale).max() <= 1.0 / item["scale"] + 1e-3
        np.testing.assert_array_equal(np.asarray(built["score"]).reshape(item["frames"], 133),
                                      np.round(np.clip(src.scores, 0, 1) * 255).astype(np.uint8))


class _Poses:
    """What pose_item reads of a WholeBodyPose: keypoints, scores, fps, image size, length."""

    def __init__(self, keypoints: np.ndarray, scores: np.ndarray):
        self.keypoints, self.scores, self.fps, self.image_size = keypoints, scores, 10.0, (512, 640)

    def __len__(self) -> int:
        return len(self.keypoints)
