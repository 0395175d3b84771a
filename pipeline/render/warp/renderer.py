"""The CPU warp renderer: the portrait rigged as a skinned 2D mesh, posed frame by frame.

Built once per portrait: the mesh and its weights, the background plate, the face animator and a
texture atlas (left: the photo; right: the "core" texture with the arms inpainted away, drawn
under everything so a moving arm reveals torso, not a hole). Per frame: bone transforms from the
pose, linear blend skinning of the vertices, one rasterisation into an inverse map (back to
front by bone layer or by the given depth), one remap, and a composite over the plate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from pipeline.audio import AudioClip
from pipeline.constants import VIDEO_FPS
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import FACE, WholeBodyPose
from pipeline.render.audio_drive import blink_closure, mouth_openness
from pipeline.video.progress import Cancel, Progress, check_cancel

from .background import background_plate, inpaint_region
from .config import WarpConfig
from .face import FaceAnimator
from .raster import rasterize
from .rig import build_mesh
from .skeleton import BONES, bone_transforms, build_rest_skeleton

_LAYERS = np.array([b.layer for b in BONES], np.float64)


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


@dataclass
class _Sequence:
    keypoints: np.ndarray     # (T, 133, 2) render px, smoothed
    scores: np.ndarray        # (T, 133)
    depth: np.ndarray | None  # (T, n_bones), larger = farther
    opening: np.ndarray       # (N,)
    closure: np.ndarray       # (N,)
    fps: float

    @property
    def num_frames(self) -> int:
        return len(self.opening)


class WarpRenderer:
    """Deforms one portrait to follow a pose sequence; build once, render many frames."""

    def __init__(self, portrait: PortraitAnalysis, config: WarpConfig | None = None) -> None:
        cfg = config or WarpConfig()
        self.config = cfg
        w0, h0 = portrait.size
        s = cfg.resolution / float(max(w0, h0))
        self.width, self.height = _even(w0 * s), _even(h0 * s)
        w, h = self.width, self.height
        self.sx, self.sy = w / float(w0), h / float(h0)
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        self.image = cv2.resize(np.ascontiguousarray(portrait.image[..., :3]), (w, h), interpolation=interp)
        mask = cv2.resize(np.asarray(portrait.mask, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        mask = np.clip(mask, 0.0, 1.0)
        person = mask > cfg.mask_threshold
        if not person.any():
            raise ValueError("the portrait's person mask is empty; nothing to animate")
        dilate_px = max(2, int(round(cfg.mask_dilate_frac * max(w, h))))
        region = cv2.dilate(person.astype(np.uint8), cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))) > 0

        pose = portrait.pose
        kp = pose.keypoints[0].astype(np.float64) * [self.sx, self.sy]
        scores = pose.scores[0].astype(np.float64)
        if portrait.visible is not None and len(portrait.visible) == len(scores):
            scores = np.where(np.asarray(portrait.visible, bool), scores, np.minimum(scores, cfg.min_score * 0.5))
        fx0, fy0, fx1, fy1 = portrait.face_box
        face_box = (fx0 * self.sx, fy0 * self.sy, fx1 * self.sx, fy1 * self.sy)
        self.rest = build_rest_skeleton(kp, scores, cfg.min_score, face_box)
        step = cfg.grid_step * max(w, h) / 512.0
        self.mesh = build_mesh(region, person, self.rest, step, cfg.limb_radius, cfg.weight_falloff, cfg.joint_radius)
        hole_px = max(1, int(round(cfg.hole_dilate_frac * max(w, h))))
        self.plate = background_plate(self.image, mask > 0.5, hole_px, cfg.inpaint_scale, cfg.inpaint_radius)
        core_image = inpaint_region(self.image, self.mesh.core_region, 0.5, cfg.inpaint_radius)

        feather = cv2.GaussianBlur(mask, (0, 0), cfg.feather_px) if cfg.feather_px > 0 else mask
        alpha = np.clip(feather * 255.0 + 0.5, 0, 255).astype(np.uint8)
        self.atlas = np.ascontiguousarray(np.concatenate([self.image, core_image], axis=1))
        self.work = self.atlas.copy()
        self.alpha_atlas = np.ascontiguousarray(np.concatenate([alpha, alpha], axis=1))
        self.core_src = self.mesh.rest + [w, 0.0]
        self._core_tri_bone = self.mesh.core_weights[self.mesh.core_triangles].mean(1).argmax(1)
        self.face = FaceAnimator(kp[FACE], scores[FACE] >= cfg.min_score, (h, w), cfg.mouth_max_open)
        self._map = np.empty((h, w, 2), np.float32)
        self._seq: _Sequence | None = None
        self.last_alpha: np.ndarray | None = None

    # ------------------------------------------------------------------------------------------
    # one frame

    def render_pose(self, keypoints: np.ndarray, scores: np.ndarray, opening: float = 0.0,
                    closure: float = 0.0, depth: np.ndarray | None = None) -> np.ndarray:
        """One frame for a pose given in render pixels (133, 2) with scores (133,)."""
        cfg = self.config
        transforms = bone_transforms(self.rest, keypoints, scores, cfg.min_score, cfg.head_scale_limits,
                                     cfg.torso_scale_limits, cfg.limb_stretch_limits)
        flat = transforms.reshape(len(BONES), 6)
        mesh = self.mesh
        layer = _LAYERS if depth is None else -np.asarray(depth, np.float64)
        full = self._skin(mesh.weights, flat, mesh.rest)
        core = self._skin(mesh.core_weights, flat, mesh.rest)
        core_order = self._draw_order(core, mesh.core_triangles, layer[self._core_tri_bone])
        order = self._draw_order(full, mesh.triangles, layer[mesh.tri_bone])
        self._map.fill(-1.0)
        rasterize(self._map, core, self.core_src, mesh.core_triangles, core_order, self.alpha_atlas)
        rasterize(self._map, full, mesh.rest, mesh.triangles, order, self.alpha_atlas)

        w = self.width
        self.face.apply(self.atlas[:, :w], self.work[:, :w], opening, closure)
        rgb = cv2.remap(self.work, self._map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        alpha = cv2.remap(self.alpha_atlas, self._map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        self.last_alpha = alpha   # the person's coverage in this frame (uint8), for measurements
        a = alpha.astype(np.float32) * (1.0 / 255.0)
        return cv2.blendLinear(rgb, self.plate, a, 1.0 - a)

    def _draw_order(self, verts: np.ndarray, triangles: np.ndarray, layers: np.ndarray) -> np.ndarray:
        """Back-to-front triangle order, without the triangles torn apart between separating parts.

        A triangle whose corners belong to parts that move apart (a forearm leaving the torso)
        is stretched over the gap; drawing it would smear the seam across the picture, so it is
        left out and whatever lies behind shows through.
        """
        rest = self.mesh.rest[triangles]
        cur = verts[triangles]
        rest_len = np.hypot(*(rest - np.roll(rest, 1, axis=1)).transpose(2, 0, 1))
        cur_len = np.hypot(*(cur - np.roll(cur, 1, axis=1)).transpose(2, 0, 1))
        stretch = (cur_len / np.maximum(rest_len, 1e-6)).max(1)
        keep = np.nonzero(stretch <= self.config.tear_stretch)[0]
        return keep[np.argsort(layers[keep], kind="stable")]

    @staticmethod
    def _skin(weights: np.ndarray, flat: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """Linear blend skinning: blend the bones' affine maps per vertex, apply to the rest mesh."""
        m = weights @ flat.astype(np.float32)
        x, y = rest[:, 0], rest[:, 1]
        return np.stack([m[:, 0] * x + m[:, 1] * y + m[:, 2], m[:, 3] * x + m[:, 4] * y + m[:, 5]], 1)

    # ------------------------------------------------------------------------------------------
    # sequences

    def prepare(self, poses: WholeBodyPose, audio: AudioClip | None = None, depth: np.ndarray | None = None,
                num_frames: int | None = None) -> int:
        """Set the pose sequence (and audio, depth) to render; returns the number of frames.

        Without ``num_frames`` the video lasts as long as the audio (round(duration * fps)); the
        last pose is held if the poses end earlier. ``depth``: (T, len(BONES)) per-bone distance
        from the camera (larger = farther), used to draw nearer parts on top.
        """
        if len(poses) == 0:
            raise ValueError("the pose sequence is empty")
        fps = float(poses.fps) if poses.fps and poses.fps > 0 else float(VIDEO_FPS)
        if num_frames is None:
            num_frames = int(round(audio.duration_s * fps)) if audio is not None else len(poses)
        num_frames = max(1, int(num_frames))
        pw, ph = poses.image_size
        kp = poses.keypoints.astype(np.float64) * [self.width / float(pw), self.height / float(ph)]
        sigma = self.config.pose_smoothing_frames
        if sigma > 0 and len(kp) > 1:
            kp = gaussian_filter1d(kp, sigma, axis=0, mode="nearest")
        if depth is not None:
            depth = np.asarray(depth, np.float64)
            if depth.shape != (len(poses), len(BONES)):
                raise ValueError(f"depth must be (frames, {len(BONES)}) = ({len(poses)}, {len(BONES)}), "
                                 f"got {depth.shape}")
        cfg = self.config
        samples = audio.samples if audio is not None else None
        rate = audio.sample_rate if audio is not None else 16000
        opening = mouth_openness(samples, rate, fps, num_frames, cfg.mouth)
        closure = blink_closure(num_frames, fps, cfg.blink_rate_per_min, cfg.blink_duration_s, cfg.seed)
        self._seq = _Sequence(kp, poses.scores, depth, opening, closure, fps)
        return num_frames

    @property
    def num_frames(self) -> int:
        return 0 if self._seq is None else self._seq.num_frames

    @property
    def opening(self) -> np.ndarray:
        """The prepared sequence's mouth opening per frame."""
        return np.zeros(0) if self._seq is None else self._seq.opening

    @property
    def closure(self) -> np.ndarray:
        """The prepared sequence's eyelid closure per frame."""
        return np.zeros(0) if self._seq is None else self._seq.closure

    def render_frame(self, i: int) -> np.ndarray:
        """Frame ``i`` of the prepared sequence, (H, W, 3) uint8 RGB."""
        seq = self._seq
        if seq is None:
            raise RuntimeError("call prepare(poses, audio) before render_frame(i)")
        if not 0 <= i < seq.num_frames:
            raise IndexError(f"frame {i} is outside 0..{seq.num_frames - 1}")
        j = min(i, len(seq.keypoints) - 1)
        depth = None if seq.depth is None else seq.depth[j]
        return self.render_pose(seq.keypoints[j], seq.scores[j], float(seq.opening[i]), float(seq.closure[i]), depth)

    def frames(self, poses: WholeBodyPose, audio: AudioClip | None = None, depth: np.ndarray | None = None,
               num_frames: int | None = None, progress: Progress | None = None,
               cancel: Cancel = None) -> Iterator[np.ndarray]:
        """Every frame of the sequence, lazily; checks ``cancel`` before each frame."""
        n = self.prepare(poses, audio, depth, num_frames)
        for i in range(n):
            check_cancel(cancel)
            frame = self.render_frame(i)
            if progress is not None:
                progress(i + 1, n)
            yield frame


def render_frames(portrait: PortraitAnalysis, poses: WholeBodyPose, audio: AudioClip | None, *,
                  resolution: int = 512, blink_rate_per_min: float = 15.0, seed: int = 0,
                  depth: np.ndarray | None = None, config: WarpConfig | None = None,
                  progress: Progress | None = None, cancel: Cancel = None) -> Iterator[np.ndarray]:
    """Frames (H, W, 3) uint8 at ``poses.fps`` for the portrait following ``poses``, lips on ``audio``."""
    cfg = replace(config or WarpConfig(), resolution=int(resolution), blink_rate_per_min=float(blink_rate_per_min),
                  seed=int(seed))
    return WarpRenderer(portrait, cfg).frames(poses, audio, depth, progress=progress, cancel=cancel)
