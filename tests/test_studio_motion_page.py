"""The first studio page: the 3D motion viewer figure, the page's handlers, and the running app."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from components.motion_viewer import (
    DYNAMIC_TRACES,
    STATIC_TRACES,
    joint_side,
    limb_polylines,
    motion_figure,
    to_plot_coords,
)
from pipeline.constants import MOTION_FPS
from pipeline.motion.skeleton import JOINT_NAMES, PARENTS, REST_POSE

N_DYNAMIC = len(DYNAMIC_TRACES)


def _swaying_motion(n_frames: int = 30) -> np.ndarray:
    """The rest pose on the floor, swaying sideways, gliding forward, swinging the right forearm
    (rigid bones, so a BVH round trip must give it back)."""
    t = np.linspace(0.0, 1.0, n_frames)
    joints = np.repeat(REST_POSE[None], n_frames, axis=0).astype(np.float64)
    elbow, wrist = JOINT_NAMES.index("right_elbow"), JOINT_NAMES.index("right_wrist")
    forearm = REST_POSE[wrist] - REST_POSE[elbow]
    angle = 1.2 * t  # about the x axis: the hand comes up in front
    c, s = np.cos(angle), np.sin(angle)
    joints[:, wrist, 0] = REST_POSE[elbow, 0] + forearm[0]
    joints[:, wrist, 1] = REST_POSE[elbow, 1] + c * forearm[1] - s * forearm[2]
    joints[:, wrist, 2] = REST_POSE[elbow, 2] + s * forearm[1] + c * forearm[2]
    joints[:, :, 1] -= REST_POSE[:, 1].min()  # feet on the floor
    joints[:, :, 0] += 0.2 * np.sin(2 * np.pi * t)[:, None]
    joints[:, :, 2] += 0.3 * t[:, None]
    return joints.astype(np.float32)


def _trace(fig: go.Figure, name: str):
    return next(tr for tr in fig.data if tr.name == name)


def _points(trace) -> np.ndarray:
    return np.array([trace.x, trace.y, trace.z], dtype=float).T


# ----------------------------------------------------------------------------- the figure

def test_plot_coords_map_y_up_to_plotly_z_up_without_mirroring():
    p = np.array([[1.0, 2.0, 3.0]])
    assert to_plot_coords(p).tolist() == [[1.0, -3.0, 2.0]]
    # A rotation, not a reflection: handedness is kept.
    basis = to_plot_coords(np.eye(3))
    assert np.isclose(np.linalg.det(basis), 1.0)


def test_figure_has_one_frame_per_motion_frame_play_pause_and_slider():
    joints = _swaying_motion(30)
    fig = motion_figure(joints, PARENTS, MOTION_FPS, "sway", joint_names=JOINT_NAMES)

    assert len(fig.frames) == 30
    assert [tr.name for tr in fig.data] == [*DYNAMIC_TRACES, *STATIC_TRACES]
    for frame in fig.frames:
        assert list(frame.traces) == list(range(N_DYNAMIC))
        assert len(frame.data) == N_DYNAMIC
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 30
    assert [s.args[0][0] for s in steps] == [f.name for f in fig.frames]
    assert steps[-1].label == f"{29 / MOTION_FPS:.2f}"
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert any("Play" in label for label in labels) and any("Pause" in label for label in labels)
    play = fig.layout.updatemenus[0].buttons[0]
    assert play.args[1]["frame"]["duration"] == pytest.approx(1000 / MOTION_FPS)
    assert fig.layout.title.text == "sway"


def test_figure_maps_motion_y_to_plot_z_in_every_frame():
    joints = _swaying_motion(12)
    fig = motion_figure(joints, PARENTS, MOTION_FPS, joint_names=JOINT_NAMES)
    joint_trace = _trace(fig, "joints")
    shown = _points(joint_trace)
    np.testing.assert_allclose(shown[:, 2], joints[0, :, 1], atol=1e-3)  # y up -> z
    np.testing.assert_allclose(shown[:, 1], -joints[0, :, 2], atol=1e-3)  # forward -> -y
    np.testing.assert_allclose(shown[:, 0], joints[0, :, 0], atol=1e-3)
    k = list(fig.data).index(joint_trace)
    last = fig.frames[-1].data[k]
    np.testing.assert_allclose(np.array(last.z, dtype=float), joints[-1, :, 1], atol=1e-3)
    # Z is up: the head is the highest point of the figure and the scene is z-up.
    head = _points(_trace(fig, "head"))[0]
    assert head[2] > shown[:, 2].max() - 1e-6
    assert fig.layout.scene.camera.up.z == 1
    assert fig.layout.scene.camera.eye.y < 0 and abs(fig.layout.scene.camera.eye.x) < 1e-9


def test_figure_body_look_sides_head_floor_and_fixed_equal_axes():
    joints = _swaying_motion(20)
    fig = motion_figure(joints, PARENTS, MOTION_FPS, joint_names=JOINT_NAMES)
    left, right, centre = (_trace(fig, f"bones {s}") for s in ("left", "right", "centre"))
    assert left.line.color != right.line.color
    assert left.line.width >= 8 and right.line.width >= 8 and centre.line.width >= 8
    left_pts = _points(left)
    left_pts = left_pts[~np.isnan(left_pts).any(axis=1)]
    plot0 = to_plot_coords(joints[0])
    wrist = plot0[JOINT_NAMES.index("left_wrist")]
    assert np.min(np.linalg.norm(left_pts - wrist, axis=1)) < 1e-3
    assert fig.layout.scene.aspectmode == "manual"
    ranges = [getattr(fig.layout.scene, a).range for a in ("xaxis", "yaxis", "zaxis")]
    spans = [r[1] - r[0] for r in ranges]
    ratio = fig.layout.scene.aspectratio
    # Equal aspect: one metre is as long on every axis.
    np.testing.assert_allclose(np.array([ratio.x, ratio.y, ratio.z]) / np.array(spans),
                               ratio.x / spans[0], rtol=1e-6)
    # The whole clip fits in the fixed box (the camera does not follow single frames).
    every = to_plot_coords(joints).reshape(-1, 3)
    for axis in range(3):
        assert ranges[axis][0] <= every[:, axis].min() and every[:, axis].max() <= ranges[axis][1]
    grid = _points(_trace(fig, "floor grid"))
    floor = grid[~np.isnan(grid).any(axis=1)][:, 2]
    assert np.allclose(floor, joints[..., 1].min(), atol=1e-3)


def test_skeleton_polylines_cover_every_bone_once():
    sides = [joint_side(n) for n in JOINT_NAMES]
    lines = limb_polylines(PARENTS, sides)
    bones = {(a, b) for group in lines.values() for line in group for a, b in zip(line, line[1:])}
    expected = {(p, j) for j, p in enumerate(PARENTS) if p >= 0}
    assert bones == expected
    assert sum(len(line) - 1 for group in lines.values() for line in group) == len(expected)
    assert all(sides[line[-1]] == "left" for line in lines["left"])
    assert joint_side("LeftArm") == "left" and joint_side("r_knee") == "right"
    assert joint_side("spine3") == "centre"


def test_long_clips_are_subsampled_and_the_figure_stays_small():
    joints = _swaying_motion(1200)  # a minute at 20 fps
    fig = motion_figure(joints, PARENTS, MOTION_FPS, joint_names=JOINT_NAMES, max_frames=200)
    assert 100 <= len(fig.frames) <= 200
    steps = fig.layout.sliders[0].steps
    assert len(steps) == len(fig.frames)
    assert float(steps[-1].label) <= 1200 / MOTION_FPS
    assert float(steps[-1].label) > 1200 / MOTION_FPS - 1.0  # the slider spans the whole clip
    play = fig.layout.updatemenus[0].buttons[0]
    step = int(fig.frames[1].name) - int(fig.frames[0].name)
    assert play.args[1]["frame"]["duration"] == pytest.approx(1000 * step / MOTION_FPS)
    assert len(fig.to_json()) < 3_000_000


def test_figure_is_valid_plotly_and_bad_input_is_rejected():
    fig = motion_figure(_swaying_motion(5), PARENTS, MOTION_FPS, joint_names=JOINT_NAMES)
    go.Figure(fig.to_dict())  # full plotly validation of every property and frame
    json.loads(fig.to_json())
    with pytest.raises(ValueError):
        motion_figure(np.zeros((5, 22)), PARENTS, MOTION_FPS)
    with pytest.raises(ValueError):
        motion_figure(np.zeros((5, 21, 3)), PARENTS, MOTION_FPS)
    with pytest.raises(ValueError):
        motion_figure(np.full((5, 22, 3), np.nan), PARENTS, MOTION_FPS)
    # Without joint names it still draws (one colour, no head).
    plain = motion_figure(_swaying_motion(3), PARENTS, MOTION_FPS)
    assert len(plain.frames) == 3


# ----------------------------------------------------------------------------- handlers

MALFORMED_BVH = """HIERARCHY
ROOT Hips
{
    OFFSET 0.0 0.0 0.0
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    JOINT Spine
    {
        OFFSET 0.0 10.0
"""

UNKNOWN_RIG_BVH = """HIERARCHY
ROOT Blob
{
    OFFSET 0.0 0.0 0.0
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    JOINT Tentacle
    {
        OFFSET 0.0 10.0 0.0
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {
            OFFSET 0.0 10.0 0.0
        }
    }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 0 0 0
0 91 0 0 0 0 0 0 0
"""


@pytest.fixture
def page():
    from studio import motion_page
    return motion_page


@pytest.fixture
def an_action():
    from studio.motion_sources import action_names
    names = action_names()
    assert names, "the procedural action library lists no actions"
    return names[0]


def _bvh_of(tmp_path: Path, joints: np.ndarray, name: str = "take.bvh") -> Path:
    from pipeline.motion.bvh import write_bvh
    return write_bvh(tmp_path / name, joints, fps=MOTION_FPS)


def test_load_action_shows_the_clip(page, an_action):
    state, fig, card, status = page.load_clip(f"action:{an_action}", None)
    assert state is not None and state.origin == "procedural" and state.synthetic
    assert state.joints.shape[1:] == (22, 3) and state.fps == MOTION_FPS
    assert isinstance(fig, go.Figure) and len(fig.frames) > 0
    assert f"{state.n_frames} frames" in card and f"{state.duration:.2f} s" in card
    assert "synthetic" in card
    for caption in state.captions[:2]:
        assert page.md_escape(caption) in card
    assert "✓" in status
    # The fixed seed: the same action twice is the same motion.
    again, *_ = page.load_clip(f"action:{an_action}", state)
    np.testing.assert_array_equal(again.joints, state.joints)


def test_load_bvh_written_by_write_bvh(page, tmp_path):
    joints = _swaying_motion(24)
    path = _bvh_of(tmp_path, joints)
    state, fig, card, status = page.load_bvh(str(path), None)
    assert state is not None and state.origin == "upload"
    assert state.joints.shape[1:] == (22, 3)
    assert abs(state.n_frames - 24) <= 1
    assert isinstance(fig, go.Figure) and len(fig.frames) == state.n_frames
    assert "take" in card and "✓" in status


def _assert_kept(page, before, result, *words):
    import gradio as gr
    state, fig, card, status = result
    assert state is before
    skip = gr.skip()
    assert fig == skip and card == skip
    assert "Traceback" not in status
    for word in words:
        assert word in status
    assert "unchanged" in status


def test_malformed_bvh_keeps_the_motion_and_says_what_is_wrong(page, an_action, tmp_path):
    shown, *_ = page.load_clip(f"action:{an_action}", None)
    bad = tmp_path / "broken.bvh"
    bad.write_text(MALFORMED_BVH)
    with pytest.warns(UserWarning):  # gr.Warning outside a request is a Python warning
        result = page.load_bvh(str(bad), shown)
    _assert_kept(page, shown, result, "broken.bvh", "line")


def test_unknown_rig_lists_the_joints_and_how_to_add_a_mapping(page, an_action, tmp_path):
    shown, *_ = page.load_clip(f"action:{an_action}", None)
    odd = tmp_path / "creature.bvh"
    odd.write_text(UNKNOWN_RIG_BVH)
    with pytest.warns(UserWarning):
        result = page.load_bvh(str(odd), shown)
    _assert_kept(page, shown, result, "creature.bvh", "Tentacle", "mapping")


def test_unknown_clip_and_missing_file_are_messages_too(page, tmp_path):
    with pytest.warns(UserWarning):
        _assert_kept(page, None, page.load_clip("action:no_such_action", None), "no\\_such\\_action")
    with pytest.warns(UserWarning):
        _assert_kept(page, None, page.load_bvh(str(tmp_path / "missing.bvh"), None), "missing.bvh")
    with pytest.warns(UserWarning):
        _assert_kept(page, None, page.load_bvh(None, None))


def test_export_writes_a_bvh_that_parses_back_to_the_motion(page, an_action):
    from pipeline.motion.bvh import bvh_to_smpl_joints, parse_bvh

    state, *_ = page.load_clip(f"action:{an_action}", None)
    path = Path(page.export_bvh(state))
    assert path.suffix == ".bvh" and path.exists()
    data = parse_bvh(path)
    assert data.n_frames == state.n_frames
    assert data.fps == pytest.approx(state.fps, rel=1e-4)
    back = bvh_to_smpl_joints(data)
    np.testing.assert_allclose(back[:, 0], state.joints[:, 0], atol=1e-3)  # the root's path
    assert np.abs(back - state.joints).max() < 0.05  # bone lengths become per-bone medians


def test_export_round_trips_a_rigid_motion(page):
    from pipeline.motion.bvh import bvh_to_smpl_joints, parse_bvh
    from studio.motion_sources import LoadedMotion

    joints = _swaying_motion(16)
    state = LoadedMotion(key="test", title="sway / test: 1", joints=joints, fps=MOTION_FPS,
                         origin="upload", source="BVH upload", synthetic=False)
    path = Path(page.export_bvh(state))
    assert path.name == "sway_test_1.bvh"
    back = bvh_to_smpl_joints(parse_bvh(path))
    np.testing.assert_allclose(back, joints, atol=2e-3)


def test_export_without_a_motion_is_a_clear_error(page):
    import gradio as gr
    with pytest.raises(gr.Error, match="Nothing to export"):
        page.export_bvh(None)


def _tiny_dataset(root: Path) -> None:
    from pipeline.data.humanml3d import write_clip, write_index
    from pipeline.motion.features import joints_to_features

    sources = {"000001": ("cmu", "02_01.bvh"), "000002": ("synthetic", "wave")}
    for clip_id, (source, _) in sources.items():
        joints = _swaying_motion(40)
        feats = joints_to_features(joints)
        write_clip(root, clip_id, joints, feats, [f"a person sways ({source})", "second caption"])
    write_index(root, {"train": ["000001"], "val": [], "test": ["000002"]}, sources)


def test_dataset_clips_are_listed_with_source_and_caption(page, tmp_path):
    from studio.motion_sources import clip_choices, default_choice

    root = tmp_path / "motion-dataset"
    _tiny_dataset(root)
    choices = clip_choices(root)
    labels = dict((key, label) for label, key in choices)
    assert "dataset:000001" in labels and "dataset:000002" in labels
    assert "cmu" in labels["dataset:000001"] and "a person sways" in labels["dataset:000001"]
    assert "synthetic" in labels["dataset:000002"]
    assert any(key.startswith("action:") for key in labels)  # the library is always there
    assert default_choice(choices).startswith("action:")

    state, fig, card, _ = page.load_clip("dataset:000002", None, dataset_dir=root)
    assert state.origin == "dataset" and state.synthetic and "synthetic" in card
    assert state.n_frames == 40


def test_fresh_clone_without_dataset_still_lists_the_action_library(tmp_path):
    from studio.motion_sources import action_names, clip_choices
    choices = clip_choices(tmp_path / "not-built")
    assert [key for _, key in choices] == [f"action:{n}" for n in action_names()]


# ----------------------------------------------------------------------------- the running app

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_serves_load_clip_and_export_bvh_to_a_script(tmp_path, an_action, monkeypatch):
    from gradio_client import Client, handle_file

    from pipeline.motion.bvh import parse_bvh
    from studio.layout import build_app, launch_style

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(dataset_dir=tmp_path / "no-dataset")
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_style())
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False,
                        download_files=str(tmp_path / "downloads"))
        api = client.view_api(print_info=False, return_format="dict")
        names = set(api["named_endpoints"])
        assert {"/load_clip", "/load_bvh", "/export_bvh", "/list_clips"} <= names

        plot, card, status = client.predict(f"action:{an_action}", api_name="/load_clip")
        assert "✓" in status and "frames" in card
        figure = json.loads(plot["plot"]) if isinstance(plot, dict) else plot
        assert figure["frames"], "the figure sent to the browser carries its animation frames"

        exported = client.predict(api_name="/export_bvh")
        path = Path(exported if isinstance(exported, str) else exported["value"])
        data = parse_bvh(path)
        assert data.n_frames > 0 and len(data.joint_names) >= 22

        bad = tmp_path / "broken.bvh"
        bad.write_text(MALFORMED_BVH)
        _, _, status = client.predict(handle_file(str(bad)), api_name="/load_bvh")
        assert "broken.bvh" in status and "unchanged" in status
        # The session's motion is still the action: export it again.
        again = client.predict(api_name="/export_bvh")
        path2 = Path(again if isinstance(again, str) else again["value"])
        assert parse_bvh(path2).n_frames == data.n_frames
    finally:
        demo.close()


def test_app_module_builds_demo_at_import(monkeypatch, tmp_path):
    import importlib
    import sys

    import gradio as gr

    monkeypatch.setenv("MOTION_DATASET_DIR", str(tmp_path / "none"))
    sys.modules.pop("app", None)
    app = importlib.import_module("app")
    assert isinstance(app.demo, gr.Blocks)
    assert os.path.basename(app.__file__) == "app.py"


def test_real_cmu_take_loads_on_the_page(page, shared_data):
    takes = sorted((shared_data / "cmu-bvh" / "cgspeed-daz").glob("*.bvh"))
    if not takes:
        pytest.skip("no cgspeed-daz takes in the data folder")
    state, fig, card, status = page.load_bvh(str(takes[0]), None)
    assert state is not None, status
    assert state.fps == MOTION_FPS and state.n_frames > 10
    assert "cgspeed" in card and "resampled" in card
    assert len(fig.to_json()) < 3_000_000
