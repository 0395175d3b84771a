"""An offline, shaded video of the posed body (pyrender + trimesh, OSMesa on the CPU).

Why offline: a download a director can send around or put beside the 2D render; the stage in the
page draws the same body live. The camera looks at the body from the front-left, a little above,
and follows the pelvis over the floor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from pipeline.body.model import BodyModel
from pipeline.body.rig import Pose, pose_rig, skin
from pipeline.constants import MOTION_FPS, VIDEO_FPS

BODY_COLOUR = (0.78, 0.66, 0.58, 1.0)
FLOOR_COLOUR = (0.26, 0.29, 0.34, 1.0)
BACKGROUND = (0.07, 0.08, 0.11, 1.0)


class BodyVideoError(RuntimeError):
    """The body video cannot be rendered here; the message says what to install or change."""


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals, (V, 3) float32 (bincount: much faster than trimesh per frame)."""
    v = np.asarray(verts, dtype=np.float64)
    tri = v[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = np.zeros_like(v)
    flat = faces.reshape(-1)
    for axis in range(3):
        out[:, axis] = np.bincount(flat, weights=np.repeat(fn[:, axis], 3), minlength=len(v))
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right = right / np.linalg.norm(right)
    up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, -forward, eye
    return pose


def _offscreen(size: int):
    os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
    try:
        import pyrender
        renderer = pyrender.OffscreenRenderer(size, size)
    except Exception as exc:  # noqa: BLE001 - any GL failure means the same thing to the user
        raise BodyVideoError(
            f"cannot open an offscreen OpenGL context ({type(exc).__name__}: {exc}). On Debian/Ubuntu: "
            "`apt-get install libosmesa6`, PYOPENGL_PLATFORM=osmesa, and PyOpenGL>=3.1.7 (scripts/setup.sh "
            "does all three)") from exc
    return pyrender, renderer


def body_frames(body: BodyModel, joints: np.ndarray, *, fps: float = VIDEO_FPS, size: int = 512,
                pose: Pose | None = None, progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """RGB frames (size, size, 3) uint8 of ``body`` (fitted to the motion skeleton) following
    ``joints`` (T, 22, 3) at MOTION_FPS, resampled to ``fps`` (the nearest motion frame)."""
    import trimesh

    joints = np.asarray(joints, dtype=np.float64)
    pose = pose if pose is not None else pose_rig(body.joints, joints)
    n_out = max(1, int(round(len(joints) / MOTION_FPS * fps)))
    pyrender, renderer = _offscreen(size)
    try:
        scene = pyrender.Scene(bg_color=BACKGROUND, ambient_light=(0.28, 0.28, 0.3))
        skin_mat = pyrender.MetallicRoughnessMaterial(baseColorFactor=BODY_COLOUR, metallicFactor=0.0,
                                                      roughnessFactor=0.75)
        floor = trimesh.creation.box(extents=(12.0, 0.02, 12.0))
        floor.apply_translation((0.0, -0.01, 0.0))
        scene.add(pyrender.Mesh.from_trimesh(floor, material=pyrender.MetallicRoughnessMaterial(
            baseColorFactor=FLOOR_COLOUR, metallicFactor=0.0, roughnessFactor=1.0)))
        camera = pyrender.PerspectiveCamera(yfov=np.deg2rad(38.0))
        cam_node = scene.add(camera, pose=np.eye(4))
        light = pyrender.DirectionalLight(color=np.ones(3), intensity=3.2)
        light_node = scene.add(light, pose=_look_at(np.array([1.5, 3.0, 2.5]), np.zeros(3)))
        fill = scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=1.2),
                         pose=_look_at(np.array([-2.0, 1.5, -1.0]), np.zeros(3)))
        del fill
        faces = np.asarray(body.faces, dtype=np.int64)
        body_node = None
        height = float(np.max(joints[..., 1]) + 0.12)
        for k in range(n_out):
            t = min(len(joints) - 1, int(round(k / fps * MOTION_FPS)))
            verts = skin(body, pose, slice(t, t + 1))[0]
            prim = pyrender.Primitive(positions=verts, normals=vertex_normals(verts, faces), indices=faces,
                                      material=skin_mat, mode=pyrender.constants.GLTF.TRIANGLES)
            if body_node is not None:
                scene.remove_node(body_node)
            body_node = scene.add(pyrender.Mesh([prim]))
            centre = np.array([joints[t, 0, 0], 0.5 * height, joints[t, 0, 2]])
            scene.set_pose(cam_node, _look_at(centre + np.array([0.9, 0.35, 2.6]) * max(height, 1.0) / 1.6, centre))
            scene.set_pose(light_node, _look_at(centre + np.array([1.5, 3.0, 2.5]), centre))
            colour, _ = renderer.render(scene)
            if progress is not None:
                progress(k + 1, n_out)
            yield np.ascontiguousarray(colour[..., :3])
    finally:
        renderer.delete()


def write_body_video(body: BodyModel, joints: np.ndarray, out_path: str | Path, *, audio=None,
                     fps: float = VIDEO_FPS, size: int = 512, progress=None, cancel=None) -> Path:
    """The body video as an mp4 (H.264; the speech as AAC when given, else silence)."""
    from pipeline.audio.io import AudioClip
    from pipeline.video.writer import write_video

    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) < 1:
        raise ValueError(f"joints must be (T, 22, 3) motion at {MOTION_FPS} fps, got shape {joints.shape}")
    if audio is None:
        audio = AudioClip(samples=np.zeros(int(round(len(joints) / MOTION_FPS * 16000)), dtype=np.float32))
    return write_video(body_frames(body, joints, fps=fps, size=size), audio, out_path, fps=fps,
                       progress=progress, cancel=cancel)
