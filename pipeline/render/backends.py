"""One entry point for both renderers: the CPU warp (always there) and the GPU diffusion model.

The studio lists :func:`available_backends` to show the user which renders are possible and
why not; :func:`render` runs one backend and writes the mp4.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.audio import AudioClip, load_audio
from pipeline.constants import VIDEO_FPS
from pipeline.jobs import Cancel, Progress
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import WholeBodyPose

REPO_ROOT = Path(__file__).resolve().parents[2]
DIFFUSION_WEIGHTS_ENV = "VERSA_DIFFUSION_WEIGHTS"
DEFAULT_DIFFUSION_WEIGHTS = REPO_ROOT / "assets" / "checkpoints" / "diffusion"
BACKENDS = ("warp", "diffusion")


class BackendUnavailable(RuntimeError):
    """The chosen renderer cannot run here; the message says what it needs."""


def diffusion_weights_dir() -> Path:
    """Where the diffusion weights are looked for (``$VERSA_DIFFUSION_WEIGHTS`` or assets/)."""
    env = os.environ.get(DIFFUSION_WEIGHTS_ENV, "").strip()
    return Path(env).expanduser() if env else DEFAULT_DIFFUSION_WEIGHTS


def _diffusion_status() -> tuple[bool, str]:
    """(usable, reason) for the diffusion renderer, from :func:`pipeline.render.diffusion.state.diffusion_state`
    (a CUDA GPU, the packages and weights from the local folder or the Hugging Face Hub; the
    reason names everything that is missing at once)."""
    from pipeline.render.diffusion.state import diffusion_state

    state = diffusion_state(diffusion_weights_dir())
    return state.usable, state.message


def model_pose_video_path(out_path: str | Path) -> Path:
    """Where a diffusion render writes the pose maps it gave the model: ``<video>-pose.mp4``."""
    out_path = Path(out_path)
    return out_path.with_name(f"{out_path.stem}-pose.mp4")


def available_backends() -> dict[str, tuple[bool, str]]:
    """{name: (usable, reason)} for every renderer; "warp" is always usable."""
    return {"warp": (True, "CPU mesh warp (default, about real time)"), "diffusion": _diffusion_status()}


def render(backend: str, portrait: PortraitAnalysis, poses: WholeBodyPose, audio: AudioClip | str | Path,
           out_path: str | Path, *, resolution: int = 512, fps: float | None = None,
           blink_rate_per_min: float = 15.0, seed: int = 0, depth: np.ndarray | None = None,
           mouth: Any = None, progress: Progress | None = None, cancel: Cancel = None, **options: Any) -> Path:
    """Render the portrait following ``poses``, speaking ``audio``, into an mp4; returns its path.

    ``fps`` defaults to the poses' rate (25 fps when unset). ``depth``: (frames, bones) per-bone
    depth for occlusion (see pipeline.render.warp.depth.depth_for_motion). ``mouth``: the
    MouthTrack the poses' face was animated with (pipeline.speech), so video and poses share one
    track; without it the warp renderer makes its own from the audio. ``options`` go to the
    backend (for warp: :class:`~pipeline.render.warp.WarpConfig` fields).
    """
    from pipeline.video import write_video

    if backend not in BACKENDS:
        raise ValueError(f"unknown render backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    ok, reason = available_backends()[backend]
    if not ok:
        raise BackendUnavailable(f"the {backend} renderer is unavailable: {reason}")
    clip = audio if isinstance(audio, AudioClip) else load_audio(audio)
    rate = float(fps or poses.fps or VIDEO_FPS)
    if poses.fps and abs(poses.fps - rate) > 1e-6:
        raise ValueError(f"the poses run at {poses.fps} fps but {rate} fps was asked; resample the poses first")
    if backend == "warp":
        from pipeline.render.warp import WarpConfig, WarpRenderer

        cfg = replace(WarpConfig(), resolution=int(resolution), blink_rate_per_min=float(blink_rate_per_min),
                      seed=int(seed), **options)
        if not poses.fps:
            poses = WholeBodyPose(poses.keypoints, poses.scores, poses.image_size, rate)
        frames = WarpRenderer(portrait, cfg).frames(poses, clip, depth, mouth=mouth)
    else:  # pragma: no cover - needs a GPU and weights
        from pipeline.render import diffusion

        options.setdefault("pose_video", model_pose_video_path(out_path))   # what the model was given
        frames = diffusion.render_frames(portrait, poses, clip, resolution=resolution, seed=seed,
                                         blink_rate_per_min=blink_rate_per_min, cancel=cancel, progress=progress,
                                         weights_dir=diffusion_weights_dir(), **options)
    return write_video(frames, clip, out_path, rate, progress=progress, cancel=cancel)
