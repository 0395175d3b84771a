"""The "diffusion" render backend: portrait + pose sequence + speech -> frames on a CUDA GPU.

Builds what :class:`~.pipeline.VersaAnimatorPipeline` needs from the project's data: the portrait
letterboxed to the model frame (sides multiples of 64, aspect kept by padding), one pose map per
frame drawn at the same place (DWPose maps as MimicMotion was trained on, or the paper's
composite map once the face layers are trained), and per-frame face conditions from the audio
(feature rows around each frame, mouth openness, blinks, an expression label, the face crop).
Frames come back cropped to the portrait's aspect, long side ``resolution``.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import torch

from pipeline.audio import AudioClip, load_audio_features
from pipeline.constants import MOTION_FPS, VIDEO_FPS
from pipeline.jobs import Cancel, Progress
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import WholeBodyPose
from pipeline.render.audio_drive import blink_closure, mouth_openness
from pipeline.render.pose_maps import draw_composite_map, draw_pose

from .conditions import EXPRESSIONS, ConditionConfig, FrameConditions
from .hub import HubWeightsError
from .runtime import RuntimeOptions, apply_runtime, gpu_memory_gib, options_from_env, wants_offload
from .sources import WeightPaths, local_paths, obtain_weights

logger = logging.getLogger(__name__)

FRAME_MULTIPLE = 64
"""Model frame sides are multiples of this (the VAE's 8x and the UNet's further 8x)."""
FACE_CROP_SCALE = 1.4
"""The identity crop is the face box enlarged by this factor (hair and chin included)."""

_PIPELINE_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class FrameLayout:
    """Where the portrait sits in the model frame: content (cw, ch) at (x0, y0) of (fw, fh)."""

    content_w: int
    content_h: int
    frame_w: int
    frame_h: int
    x0: int
    y0: int

    @classmethod
    def for_image(cls, width: int, height: int, resolution: int) -> "FrameLayout":
        s = resolution / float(max(width, height))
        cw, ch = max(2, int(round(width * s / 2)) * 2), max(2, int(round(height * s / 2)) * 2)
        fw = int(math.ceil(cw / FRAME_MULTIPLE)) * FRAME_MULTIPLE
        fh = int(math.ceil(ch / FRAME_MULTIPLE)) * FRAME_MULTIPLE
        return cls(cw, ch, fw, fh, (fw - cw) // 2, (fh - ch) // 2)

    def pad(self, image: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
        """Place a content-size image in the frame (edges repeated for photos, black for maps)."""
        return cv2.copyMakeBorder(image, self.y0, self.frame_h - self.content_h - self.y0, self.x0,
                                  self.frame_w - self.content_w - self.x0, border, value=(0, 0, 0))

    def crop(self, frame: np.ndarray) -> np.ndarray:
        return frame[self.y0:self.y0 + self.content_h, self.x0:self.x0 + self.content_w]


def pose_maps_for(poses: WholeBodyPose, portrait: PortraitAnalysis, layout: FrameLayout,
                  kind: str = "dwpose") -> np.ndarray:
    """(F, fh, fw, 3) uint8 pose maps in the model frame: "dwpose" (MimicMotion) or "composite" (paper)."""
    size = (layout.content_w, layout.content_h)
    maps = np.empty((len(poses), layout.frame_h, layout.frame_w, 3), np.uint8)
    for t in range(len(poses)):
        if kind == "composite":
            m = draw_composite_map(poses, t, face_center=portrait, size=size)
        elif kind == "dwpose":
            m = draw_pose(poses, t, size)
        else:
            raise ValueError(f"unknown pose map kind {kind!r}: use 'dwpose', 'composite' or 'auto'")
        maps[t] = layout.pad(m, cv2.BORDER_CONSTANT)
    return maps


def face_crop(portrait: PortraitAnalysis, size: int) -> np.ndarray:
    """A square crop around the portrait's face box, ``size`` px, edges repeated past the image."""
    x0, y0, x1, y1 = portrait.face_box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = max(x1 - x0, y1 - y0, 8.0) * FACE_CROP_SCALE / 2.0
    scale = size / (2.0 * half)
    m = np.array([[scale, 0.0, size / 2.0 - cx * scale], [0.0, scale, size / 2.0 - cy * scale]], np.float32)
    return cv2.warpAffine(portrait.image, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def audio_windows(features: np.ndarray, num_frames: int, fps: float, window: int,
                  rate: float = MOTION_FPS) -> np.ndarray:
    """(F, window, dim): feature rows (``rate`` per second) around each video frame, interpolated."""
    features = np.asarray(features, np.float32)
    if len(features) == 0:
        return np.zeros((num_frames, window, features.shape[1] if features.ndim == 2 else 0), np.float32)
    centres = np.arange(num_frames) / float(fps) * rate
    pos = np.clip(centres[:, None] + (np.arange(window) - (window - 1) / 2.0)[None], 0, len(features) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(features) - 1)
    frac = (pos - lo)[..., None].astype(np.float32)
    return features[lo] * (1.0 - frac) + features[hi] * frac


def frame_conditions(portrait: PortraitAnalysis, clip: AudioClip, num_frames: int, fps: float,
                     cfg: ConditionConfig, *, seed: int = 0, expression: str | int = "neutral",
                     blink_rate_per_min: float = 15.0, audio_encoder: str | Path | None = None) -> FrameConditions:
    """The face conditions of every frame from the speech and the portrait."""
    extractor = load_audio_features(audio_encoder)
    if extractor.dim != cfg.audio_dim:
        raise ValueError(f"the condition layers expect {cfg.audio_dim} audio feature columns but the "
                         f"{extractor.name} extractor gives {extractor.dim}; choose the audio encoder they were "
                         "trained with (audio_encoder=...)")
    feats = extractor(clip)
    label = EXPRESSIONS.index(expression) if isinstance(expression, str) else int(expression)
    if not 0 <= label < cfg.num_expressions:
        raise ValueError(f"expression must be one of {', '.join(EXPRESSIONS[:cfg.num_expressions])}")
    return FrameConditions(
        audio=audio_windows(feats, num_frames, fps, cfg.audio_window, extractor.frame_rate),
        mouth=mouth_openness(clip.samples, clip.sample_rate, fps, num_frames),
        blink=blink_closure(num_frames, fps, blink_rate_per_min, seed=seed),
        expression=np.full(num_frames, label, np.int64),
        face=face_crop(portrait, cfg.face_size))


def pose_map_kind(pose_map: str, trained: bool) -> str:
    """"auto" -> the paper's composite map when the face layers are trained, else MimicMotion's DWPose map."""
    if pose_map == "auto":
        return "composite" if trained else "dwpose"
    if pose_map not in ("dwpose", "composite"):
        raise ValueError(f"unknown pose map kind {pose_map!r}: use 'dwpose', 'composite' or 'auto'")
    return pose_map


def model_inputs(portrait: PortraitAnalysis, poses: WholeBodyPose, resolution: int, kind: str
                 ) -> tuple[np.ndarray, np.ndarray, FrameLayout]:
    """(image, pose maps, layout): exactly what the model is given, the portrait letterboxed to
    the model frame and one pose map per frame at the same place. The render and the pose-map
    video it writes both come from here, so the video shows what the model saw (with the talking
    face points of ``poses`` when they were animated, see pipeline.face)."""
    layout = FrameLayout.for_image(portrait.size[0], portrait.size[1], int(resolution))
    image = layout.pad(cv2.resize(portrait.image, (layout.content_w, layout.content_h), interpolation=cv2.INTER_AREA))
    return image, pose_maps_for(poses, portrait, layout, kind), layout


def write_model_pose_video(maps: np.ndarray, clip: AudioClip, out_path: str | Path, fps: float,
                           cancel: Cancel = None) -> Path:
    """The model's pose maps (from :func:`model_inputs`) as an mp4 with the speech."""
    from pipeline.video import write_video

    return write_video(iter(maps), clip, out_path, fps, cancel=cancel)


def load_pipeline(weights: WeightPaths | str | Path, device: str = "cuda", opts: RuntimeOptions | None = None
                  ) -> Any:
    """The pipeline for ``weights`` on ``device`` with ``opts`` applied, loaded once and kept
    (the UNet is 1.5 B parameters; one model in memory at a time)."""
    from .pipeline import VersaAnimatorPipeline

    if not isinstance(weights, WeightPaths):
        weights = local_paths(Path(weights))
    opts = opts or RuntimeOptions()
    key = _cache_key(weights, device, opts)
    with _CACHE_LOCK:
        if key not in _PIPELINE_CACHE:
            _PIPELINE_CACHE.clear()
            pipe = VersaAnimatorPipeline.from_pretrained(weights.svd_dir, mimicmotion=weights.mimicmotion,
                                                         conditions_file=weights.conditions,
                                                         torch_dtype=getattr(torch, opts.dtype))
            for note in apply_runtime(pipe, opts, device):
                logger.info(note)
            _PIPELINE_CACHE[key] = pipe
        return _PIPELINE_CACHE[key]


def _cache_key(weights: WeightPaths, device: str, opts: RuntimeOptions) -> tuple:
    return (weights.key(), device, opts.dtype, opts.offload, opts.attention, opts.forward_chunking, opts.cfg_batch)


def is_loaded(weights: WeightPaths | None, device: str = "cuda", opts: RuntimeOptions | None = None) -> bool:
    """Whether this pipeline is already in memory (the time estimate leaves out the load then)."""
    return weights is not None and _cache_key(weights, device, opts or RuntimeOptions()) in _PIPELINE_CACHE


def render_frames(portrait: PortraitAnalysis, poses: WholeBodyPose, clip: AudioClip, *, resolution: int = 576,
                  seed: int = 0, weights_dir: str | Path | None = None, steps: int | None = None,
                  window: int | None = None, overlap: int | None = None, guidance: float = 2.0,
                  pose_map: str = "auto", expression: str | int = "neutral", blink_rate_per_min: float = 15.0,
                  audio_encoder: str | Path | None = None, noise_aug_strength: float = 0.02,
                  decode_chunk_size: int | None = None, device: str = "cuda", dtype: str | None = None,
                  offload: str | None = None, attention: str | None = None, cfg_batch: bool | None = None,
                  runtime: RuntimeOptions | None = None, pose_video: str | Path | None = None,
                  download_report: Callable[[Any], None] | None = None, progress: Progress | None = None,
                  cancel: Cancel = None, pipe: Any = None) -> Iterator[np.ndarray]:
    """Yield (H, W, 3) uint8 frames, one per pose frame, at the poses' rate.

    ``pose_map`` "auto" draws the paper's composite map when the face layers are trained and
    MimicMotion's DWPose map otherwise. Memory / speed settings come from ``runtime``, then
    ``$VERSA_DIFFUSION_*``, then the keyword arguments (see :mod:`.runtime`). Weights come from
    ``weights_dir`` or the Hugging Face Hub (:mod:`.sources`; ``download_report`` sees the
    download's progress). ``pose_video``: also write the model's pose maps there (an mp4).
    ``progress(done, total)`` counts UNet window calls. ``pipe`` (an already built pipeline)
    skips loading and the CUDA check (tests, notebooks).
    """
    from pipeline.render.backends import BackendUnavailable

    from .zerogpu import run_gpu_job, zero_gpu

    opts = options_from_env(runtime, steps=steps, window=window, overlap=overlap, decode_chunk_size=decode_chunk_size,
                            dtype=dtype, offload=offload, attention=attention, cfg_batch=cfg_batch)
    weights = None
    if pipe is None:
        if device.startswith("cuda") and not torch.cuda.is_available() and not zero_gpu():
            raise BackendUnavailable("the diffusion renderer needs a CUDA GPU and none is available; "
                                     "use the warp renderer")

        try:
            weights = obtain_weights(weights_dir, report=download_report)
        except HubWeightsError as err:
            raise BackendUnavailable(f"the diffusion renderer cannot load its weights: {err}") from None
    num_frames = len(poses)
    if num_frames == 0:
        return
    fps = float(poses.fps or VIDEO_FPS)
    if pipe is None:
        from .estimate import estimate_render, gpu_lease_seconds

        layout = FrameLayout.for_image(portrait.size[0], portrait.size[1], int(resolution))
        est = estimate_render(num_frames, layout.frame_w, layout.frame_h, opts, guidance=guidance,
                              offload=wants_offload(opts, gpu_memory_gib(device)),
                              loaded=is_loaded(weights, device, opts))
        logger.info("diffusion render of %d frames: %s", num_frames, est.describe())
        # on ZeroGPU the weights are placed on "cuda" outside the GPU call (the platform defers it)
        pipe = load_pipeline(weights, device, opts)
    else:
        est = None
    trained = pipe.conditions is not None and pipe.conditions.is_trained()
    image, maps, layout = model_inputs(portrait, poses, int(resolution), pose_map_kind(pose_map, trained))
    if pose_video is not None:
        write_model_pose_video(maps, clip, pose_video, fps, cancel=cancel)
    conditions = None
    if trained:
        conditions = frame_conditions(portrait, clip, num_frames, fps, pipe.conditions.config, seed=seed,
                                      expression=expression, blink_rate_per_min=blink_rate_per_min,
                                      audio_encoder=audio_encoder)

    call = dict(num_frames=num_frames, num_inference_steps=opts.steps, guidance=guidance, window=opts.window,
                overlap=opts.overlap, output_type="uint8", noise_aug_strength=noise_aug_strength,
                decode_chunk_size=opts.decode_chunk_size)
    if est is not None and zero_gpu():
        # ZeroGPU pickles the call into a GPU worker: plain data only; the pipeline is found there
        # by its cache key, and progress / cancel (host objects) cannot go along
        out = run_gpu_job(denoise_cached, (_cache_key(weights, device, opts), image, maps, conditions, int(seed),
                                           call), gpu_lease_seconds(est))
    else:
        out = _denoise(pipe, image, maps, conditions, int(seed), call, progress, cancel)
    for frame in out.frames:
        yield np.ascontiguousarray(layout.crop(frame))


def _denoise(pipe: Any, image: np.ndarray, maps: np.ndarray, conditions: FrameConditions | None, seed: int,
             call: dict, progress: Progress | None = None, cancel: Cancel = None) -> Any:
    generator = torch.Generator(device=pipe._execution_device).manual_seed(int(seed))
    return pipe(image, maps, conditions, generator=generator, callback=progress, cancel=cancel, **call)


def denoise_cached(key: tuple, image: np.ndarray, maps: np.ndarray, conditions: FrameConditions | None, seed: int,
                   call: dict) -> Any:
    """The denoising with the pipeline loaded under ``key`` (module-level and plain-data arguments,
    so that ZeroGPU can run it in its GPU worker)."""
    pipe = _PIPELINE_CACHE.get(key)
    if pipe is None:
        raise RuntimeError("the diffusion pipeline is not loaded in this process; load it before the GPU call")
    return _denoise(pipe, image, maps, conditions, seed, call)
