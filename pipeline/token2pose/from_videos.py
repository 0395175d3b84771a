"""Build a relation bank from a user's own template videos (mp4 / mov / webm).

Per frame, MediaPipe Holistic (video mode, tracking across frames) gives the 2D whole-body pose
with hands and face, and the 33 3D world landmarks; those become the 22-joint skeleton, which is
resampled to 20 fps, turned into 263-d features and tokenized with the shipped tokenizer. Each
token keeps its 4 frames of real 2D pose. Frames without a detected person split a video into
runs; runs shorter than two tokens are skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from pipeline.constants import MOTION_FPS, TOKEN_DOWNSAMPLE
from pipeline.motion.features import joints_to_features
from pipeline.portrait.mediapipe_convert import holistic_to_wholebody
from pipeline.portrait.wholebody import NUM_KEYPOINTS
from pipeline.token2pose.bank import RelationBank, RelationBankConfig
from pipeline.token2pose.from_motion import tokens_of_features
from pipeline.token2pose.mapping import mediapipe_to_smpl
from pipeline.token2pose.resample import resample, smooth_time
from pipeline.token2pose.windows import ClipWindows, assemble_bank, clip_windows

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v")
MIN_RUN_TOKENS = 2
SMOOTH_SIGMA_FRAMES = 1.0
"""Gaussian smoothing (frames at 20 fps) of the 3D joints: per-frame landmarks jitter."""


def read_frames(path: str | Path) -> tuple[Iterator[np.ndarray], float, int]:
    """(RGB frame iterator, fps, frame count estimate) of a video file, through OpenCV."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"video {path} not found")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot open video {path} (supported: {', '.join(VIDEO_SUFFIXES)})")
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def frames() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()

    return frames(), fps, count


def track_video(path: str | Path, progress: Callable | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Per frame: keypoints (F, 133, 2) px, scores (F, 133), world landmarks (F, 33, 3), found (F,) bool, fps."""
    import mediapipe as mp

    frames, fps, count = read_frames(path)
    keypoints, scores, world, found = [], [], [], []
    iterator = progress(frames, total=count or None, desc=Path(path).name) if progress else frames
    with mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1,
                                        refine_face_landmarks=False) as holistic:
        for rgb in iterator:
            height, width = rgb.shape[:2]
            results = holistic.process(np.ascontiguousarray(rgb))
            ok = results.pose_landmarks is not None and results.pose_world_landmarks is not None
            if ok:
                kp, sc = holistic_to_wholebody(results, width, height)
                wl = np.array([[p.x, p.y, p.z] for p in results.pose_world_landmarks.landmark])
            else:
                kp, sc, wl = np.zeros((NUM_KEYPOINTS, 2)), np.zeros(NUM_KEYPOINTS), np.zeros((33, 3))
            keypoints.append(kp)
            scores.append(sc)
            world.append(wl)
            found.append(ok)
    if not found:
        raise ValueError(f"{path}: no frames could be read")
    return (np.asarray(keypoints, np.float64), np.asarray(scores, np.float64), np.asarray(world, np.float64),
            np.asarray(found), fps)


def _runs(found: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of consecutive True frames."""
    edges = np.flatnonzero(np.diff(np.r_[0, found.astype(int), 0]))
    return list(zip(edges[::2], edges[1::2]))


def video_clips(keypoints: np.ndarray, scores: np.ndarray, world: np.ndarray, found: np.ndarray, fps: float,
                tokenizer, source: int) -> list[ClipWindows]:
    """Token windows of one tracked video, one ClipWindows per run of detected frames."""
    out = []
    min_frames = MIN_RUN_TOKENS * TOKEN_DOWNSAMPLE + 1
    for start, stop in _runs(found):
        joints = resample(mediapipe_to_smpl(world[start:stop]), fps, MOTION_FPS)
        if len(joints) < min_frames:
            continue
        joints = smooth_time(joints, SMOOTH_SIGMA_FRAMES)
        features = joints_to_features(joints)                      # (T-1, 263), frame k from joints k, k+1
        tokens = tokens_of_features(tokenizer, features)
        kp = resample(keypoints[start:stop], fps, MOTION_FPS)[: len(features)]
        sc = resample(scores[start:stop], fps, MOTION_FPS)[: len(features)]
        windows = clip_windows(tokens, kp, sc, source)
        if windows is not None:
            out.append(windows)
    return out


def expand_video_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders contribute their videos (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
        else:
            out.append(p)
    return out


def build_bank_from_videos(paths: Iterable[str | Path], tokenizer, *, progress: Callable | None = None,
                           max_per_code: int = 0, built_with: str = "") -> RelationBank:
    """Relation bank from template videos of one person at a time (any framing, facing the camera).

    progress: optional tqdm-like wrapper, called per video over its frames.
    max_per_code: windows kept per code (0 keeps every window).
    """
    videos = expand_video_paths(paths)
    if not videos:
        raise ValueError("no videos given")
    clips: list[ClipWindows] = []
    for number, video in enumerate(videos):
        kp, sc, world, found, fps = track_video(video, progress)
        if not found.any():
            continue
        clips += video_clips(kp, sc, world, found, fps, tokenizer, number)
    config = RelationBankConfig(
        hands_source="video", face_source="video", max_per_code=max_per_code,
        sources=[str(v) for v in videos], built_with=built_with,
        tokenizer=str(getattr(tokenizer, "name_or_path", "") or "assets/checkpoints/motion_tokenizer"),
        notes="2D whole-body poses (MediaPipe Holistic -> COCO-WholeBody) and 3D world landmarks "
              "(-> 22 SMPL joints -> 263-d features -> tokens) from template videos.")
    return assemble_bank(clips, config)


__all__ = ["VIDEO_SUFFIXES", "build_bank_from_videos", "expand_video_paths", "read_frames", "track_video",
           "video_clips"]
