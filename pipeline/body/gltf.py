"""The take as an animated, skinned glTF 2.0 binary (.glb) that Blender imports, and a reader.

The file holds the body fitted to the take's bone lengths (rest pose: the motion skeleton's), a
skin of the 22 joints as a node hierarchy named after the SMPL joints, and one animation: the
pelvis's translation and every joint's rotation at 20 fps (linear interpolation). Written with
numpy alone (no exporter dependency); ``read_glb`` parses what it wrote (and any plain GLB).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from pipeline.body.model import BodyModel
from pipeline.body.rig import CHILDREN, FRAMES, fit_body, joint_error_mm, median_bone_lengths, pose_rig
from pipeline.body.video import vertex_normals
from pipeline.constants import MOTION_FPS
from pipeline.motion import skeleton as sk

GLB_MAGIC = 0x46546C67
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
FLOAT, UBYTE, UINT = 5126, 5121, 5125


def take_skeleton(rest: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The rest skeleton with its single-child bones stretched to ``lengths`` (the rule of
    ``pose_rig``: bones hanging off the pelvis and the chest frames keep their rest offsets)."""
    rest = np.asarray(rest, dtype=np.float64)
    out = rest.copy()
    rest_len = sk.bone_lengths(rest)
    for j in range(22):
        for c in CHILDREN[j]:
            ratio = 1.0 if (j in FRAMES or len(CHILDREN[j]) != 1) else lengths[c] / max(rest_len[c], 1e-9)
            out[c] = out[j] + (rest[c] - rest[j]) * ratio
    return out


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as glTF stores them (x, y, z, w)."""
    m = np.asarray(m, dtype=np.float64)
    w = np.sqrt(np.maximum(0.0, 1.0 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2])) / 2
    x = np.sqrt(np.maximum(0.0, 1.0 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2])) / 2
    y = np.sqrt(np.maximum(0.0, 1.0 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2])) / 2
    z = np.sqrt(np.maximum(0.0, 1.0 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2])) / 2
    x = np.copysign(x, m[..., 2, 1] - m[..., 1, 2])
    y = np.copysign(y, m[..., 0, 2] - m[..., 2, 0])
    z = np.copysign(z, m[..., 1, 0] - m[..., 0, 1])
    q = np.stack([x, y, z, w], axis=-1)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    # keep consecutive keys on the same hemisphere (no flips under linear interpolation)
    if q.ndim >= 2:
        for t in range(1, q.shape[0]):
            flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
            q[t][flip] *= -1
    return q


class _Builder:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, component: int, kind: str, *, target: int | None = None,
            minmax: bool = False) -> int:
        data = np.ascontiguousarray(array)
        while len(self.blob) % 4:
            self.blob.append(0)
        view = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": data.nbytes}
        if target is not None:
            view["target"] = target
        self.blob.extend(data.tobytes())
        self.views.append(view)
        acc = {"bufferView": len(self.views) - 1, "componentType": component, "count": int(data.shape[0]),
               "type": kind}
        if minmax:
            flat = data.reshape(data.shape[0], -1)
            acc["min"] = flat.min(axis=0).astype(float).tolist()
            acc["max"] = flat.max(axis=0).astype(float).tolist()
        self.accessors.append(acc)
        return len(self.accessors) - 1


def write_glb(body: BodyModel, joints: np.ndarray, out_path: str | Path, *, fps: float = MOTION_FPS,
              name: str = "take") -> dict:
    """Writes the take (``joints`` (T, 22, 3) at ``fps``) on ``body`` (fitted to the motion
    skeleton, see ``rig.fit_body``) as a .glb; returns a summary (frames, duration, joint error)."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) < 1:
        raise ValueError(f"joints must be (T, 22, 3), got shape {joints.shape}")
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".glb":
        raise ValueError(f"{out_path.name}: the take is written as .glb")
    lengths = median_bone_lengths(joints)
    rest = take_skeleton(body.joints, lengths)
    fitted = fit_body(body, rest)
    pose = pose_rig(rest, joints, lengths=sk.bone_lengths(rest))
    n = len(joints)
    b = _Builder()
    verts = np.asarray(fitted.vertices, dtype=np.float32)
    faces = np.asarray(fitted.faces, dtype=np.uint32)
    pos = b.add(verts, FLOAT, "VEC3", target=34962, minmax=True)
    nrm = b.add(vertex_normals(verts, faces.astype(np.int64)), FLOAT, "VEC3", target=34962)
    skin_joints = np.where(fitted.skin_weights > 0, fitted.skin_joints, 0).astype(np.uint8)  # unused slots: joint 0
    jnt = b.add(skin_joints, UBYTE, "VEC4", target=34962)
    wgt = b.add(np.asarray(fitted.skin_weights, dtype=np.float32), FLOAT, "VEC4", target=34962)
    idx = b.add(faces.reshape(-1), UINT, "SCALAR", target=34963, minmax=True)
    ibm = np.tile(np.eye(4, dtype=np.float32), (22, 1, 1))
    ibm[:, 3, :3] = -rest  # column-major: the translation sits in the last column
    ibm_acc = b.add(ibm.reshape(22, 16), FLOAT, "MAT4")
    times = b.add((np.arange(n) / fps).astype(np.float32), FLOAT, "SCALAR", minmax=True)
    rot = pose.rotations
    local = rot.copy()
    for j, p in enumerate(sk.PARENTS):
        if p >= 0:
            local[:, j] = np.swapaxes(rot[:, p], -1, -2) @ rot[:, j]
    quats = matrix_to_quaternion(local).astype(np.float32)
    channels, samplers = [], []
    root_t = b.add(pose.joints[:, 0].astype(np.float32), FLOAT, "VEC3")
    samplers.append({"input": times, "output": root_t, "interpolation": "LINEAR"})
    channels.append({"sampler": 0, "target": {"node": 0, "path": "translation"}})
    for j in range(22):
        acc = b.add(quats[:, j], FLOAT, "VEC4")
        samplers.append({"input": times, "output": acc, "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": j, "path": "rotation"}})
    nodes = []
    for j, jname in enumerate(sk.JOINT_NAMES):
        p = sk.PARENTS[j]
        node = {"name": jname, "translation": (rest[j] - (rest[p] if p >= 0 else 0.0)).astype(float).tolist()}
        if CHILDREN[j]:
            node["children"] = CHILDREN[j]
        nodes.append(node)
    nodes.append({"name": f"{body.name}_body", "mesh": 0, "skin": 0})
    gltf = {
        "asset": {"version": "2.0", "generator": "VersaStudio pipeline.body.gltf",
                  "extras": {"body": body.name, "licence": body.info.get("licence", "")}},
        "scene": 0, "scenes": [{"name": name, "nodes": [0, 22]}], "nodes": nodes,
        "meshes": [{"name": f"{body.name}_body", "primitives": [{
            "attributes": {"POSITION": pos, "NORMAL": nrm, "JOINTS_0": jnt, "WEIGHTS_0": wgt},
            "indices": idx, "material": 0, "mode": 4}]}],
        "materials": [{"name": "skin", "pbrMetallicRoughness": {"baseColorFactor": [0.78, 0.66, 0.58, 1.0],
                                                                "metallicFactor": 0.0, "roughnessFactor": 0.75}}],
        "skins": [{"name": "smpl_22", "joints": list(range(22)), "inverseBindMatrices": ibm_acc, "skeleton": 0}],
        "animations": [{"name": name, "channels": channels, "samplers": samplers,
                        "extras": {"fps": float(fps), "frames": int(n), "duration_s": float(n / fps)}}],
        "accessors": b.accessors, "bufferViews": b.views, "buffers": [{"byteLength": 0}],
    }
    while len(b.blob) % 4:
        b.blob.append(0)
    gltf["buffers"][0]["byteLength"] = len(b.blob)
    text = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    total = 12 + 8 + len(text) + 8 + len(b.blob)
    with open(out_path, "wb") as fh:
        fh.write(struct.pack("<III", GLB_MAGIC, 2, total))
        fh.write(struct.pack("<II", len(text), CHUNK_JSON) + text)
        fh.write(struct.pack("<II", len(b.blob), CHUNK_BIN) + bytes(b.blob))
    return {"path": str(out_path), "frames": n, "duration_s": n / fps, "joint_err_mm": joint_error_mm(pose, joints),
            "bytes": total}


_DTYPES = {FLOAT: np.float32, UBYTE: np.uint8, UINT: np.uint32, 5123: np.uint16, 5122: np.int16, 5120: np.int8}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class GLB:
    """A parsed .glb: its JSON (``gltf``) and ``accessor(i)`` as a numpy array."""

    def __init__(self, gltf: dict, blob: bytes) -> None:
        self.gltf, self.blob = gltf, blob

    def accessor(self, index: int) -> np.ndarray:
        acc = self.gltf["accessors"][index]
        view = self.gltf["bufferViews"][acc["bufferView"]]
        dtype = np.dtype(_DTYPES[acc["componentType"]])
        width = _WIDTH[acc["type"]]
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        data = np.frombuffer(self.blob, dtype=dtype, count=acc["count"] * width, offset=start)
        return data.reshape(acc["count"], width) if width > 1 else data


def read_glb(path: str | Path) -> GLB:
    """Parses a binary glTF; raises ValueError naming what is wrong with a file that is not one."""
    raw = Path(path).read_bytes()
    if len(raw) < 20:
        raise ValueError(f"{path}: too short to be a .glb ({len(raw)} bytes)")
    magic, version, total = struct.unpack_from("<III", raw, 0)
    if magic != GLB_MAGIC or version != 2:
        raise ValueError(f"{path}: not a glTF 2.0 binary (magic {magic:#x}, version {version})")
    if total != len(raw):
        raise ValueError(f"{path}: header says {total} bytes, the file has {len(raw)} (truncated?)")
    json_len, kind = struct.unpack_from("<II", raw, 12)
    if kind != CHUNK_JSON:
        raise ValueError(f"{path}: the first chunk is not JSON")
    gltf = json.loads(raw[20:20 + json_len])
    blob = b""
    at = 20 + json_len
    if at + 8 <= len(raw):
        bin_len, kind = struct.unpack_from("<II", raw, at)
        if kind == CHUNK_BIN:
            blob = raw[at + 8: at + 8 + bin_len]
    return GLB(gltf, blob)
