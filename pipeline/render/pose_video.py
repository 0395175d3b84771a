"""Pose-map videos: the pose sequence drawn as DWPose-style maps (or the paper's composite maps).

Useful to check a motion before a full render, and as the conditioning video of the diffusion
backend. The drawing itself lives in pipeline.render.pose_maps, the mp4 writer in pipeline.video.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from pipeline.audio import AudioClip
from pipeline.constants import VIDEO_FPS
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import WholeBodyPose

from pipeline.jobs import Cancel, Progress
from pipeline.render.pose_maps import draw_composite_map, draw_pose
from pipeline.video.writer import _as_clip, frame_count, write_video


def _pose_frames(poses: WholeBodyPose, total: int) -> Iterator[np.ndarray]:
    for i in range(total):
        yield draw_pose(poses, min(i, len(poses) - 1))


def _composite_frames(poses: WholeBodyPose, portrait: PortraitAnalysis, total: int) -> Iterator[np.ndarray]:
    for i in range(total):
        yield draw_composite_map(poses, min(i, len(poses) - 1), portrait)


def write_pose_video(poses: WholeBodyPose, audio: AudioClip | str | Path, out_path: str | Path, *,
                     progress: Progress | None = None, cancel: Cancel = None) -> Path:
    """The pose sequence drawn as pose maps, with the speech, at the poses' frame rate."""
    clip = _as_clip(audio)
    fps = float(poses.fps or VIDEO_FPS)
    frames = _pose_frames(poses, frame_count(clip.duration_s, fps))
    return write_video(frames, clip, out_path, fps, progress=progress, cancel=cancel)


def write_composite_video(poses: WholeBodyPose, portrait: PortraitAnalysis, audio: AudioClip | str | Path,
                          out_path: str | Path, *, progress: Progress | None = None,
                          cancel: Cancel = None) -> Path:
    """The paper's composite maps (body below the neck + head mask) for each frame, with the speech."""
    clip = _as_clip(audio)
    fps = float(poses.fps or VIDEO_FPS)
    frames = _composite_frames(poses, portrait, frame_count(clip.duration_s, fps))
    return write_video(frames, clip, out_path, fps, progress=progress, cancel=cancel)
