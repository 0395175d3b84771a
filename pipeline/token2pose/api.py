"""token2pose: generated motion tokens -> the 2D whole-body poses of the person in the portrait.

``method="bank"`` (default) looks the tokens up in a relation bank of real 2D pose windows and
falls back to projection for codes the bank lacks; ``method="projection"`` projects the decoded
3D motion through a camera fitted to the portrait (the paper's stiff baseline). Both are then
fitted to the person (limb lengths, position, ease out of the photo's pose, video frame rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from pipeline.constants import MOTION_FPS, VIDEO_FPS
from pipeline.motion.features import features_to_joints
from pipeline.portrait.types import PortraitAnalysis
from pipeline.portrait.wholebody import WholeBodyPose
from pipeline.token2pose.bank import RelationBank, default_bank
from pipeline.token2pose.camera import WeakPerspectiveCamera, fit_camera
from pipeline.token2pose.fit import EASE_SECONDS, fit_to_portrait
from pipeline.token2pose.lookup import LookupConfig, lookup
from pipeline.token2pose.project import whole_body_from_motion
from pipeline.token2pose.resample import smooth_time
from pipeline.token2pose.tree2d import NECK, normalise, torso_length, with_virtual

Method = Literal["bank", "projection"]
SMOOTH_SIGMA = 2.0
"""Gaussian filter (frames at 20 fps) of the normalised motion before fitting, for both methods
alike (bank and projection are compared on the same filtering); the bank's window borders are
crossfaded before it (LookupConfig.crossfade)."""
DEFAULT_TOKENIZER_DIR = Path(__file__).resolve().parents[2] / "assets" / "checkpoints" / "motion_tokenizer"


@dataclass
class Token2PoseResult:
    """The poses and how they were made."""

    pose: WholeBodyPose
    method: str
    coverage: float                      # share of tokens served by the bank (0 for projection)
    entries: np.ndarray                  # (N,) bank entry per token, -1 where projection filled in
    camera: WeakPerspectiveCamera
    tokens: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))


def decode_tokens(tokens: np.ndarray, tokenizer=None) -> np.ndarray:
    """Joints (4N, 22, 3) of tokens (N,) through the tokenizer's decoder (the shipped one by default)."""
    from pipeline.motion.tokenizer import MotionTokenizer

    tokenizer = tokenizer or MotionTokenizer.from_pretrained(DEFAULT_TOKENIZER_DIR)
    with torch.inference_mode():
        features = tokenizer.decode(torch.as_tensor(np.asarray(tokens), dtype=torch.long)[None])[0]
    return features_to_joints(features.cpu().numpy())


def _tokens_and_joints(result_or_tokens, tokenizer) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(result_or_tokens, "tokens") and hasattr(result_or_tokens, "joints"):
        tokens = np.asarray(result_or_tokens.tokens, dtype=np.int64).reshape(-1)
        joints = np.asarray(result_or_tokens.joints, dtype=np.float64)
    else:
        tokens = np.asarray(result_or_tokens, dtype=np.int64).reshape(-1)
        joints = decode_tokens(tokens, tokenizer).astype(np.float64)
    if len(tokens) == 0:
        raise ValueError("no motion tokens to translate")
    return tokens, joints


def translate(result_or_tokens, portrait: PortraitAnalysis, *, bank: RelationBank | None = None,
              fps: float = VIDEO_FPS, method: Method = "bank", tokenizer=None,
              lookup_config: LookupConfig | None = None, ease_seconds: float = EASE_SECONDS,
              mouth=None, blink_rate_per_min: float = 15.0, seed: int = 0) -> Token2PoseResult:
    """Poses for a GenerationResult (its tokens and decoded joints) or bare tokens (decoded here).

    With ``mouth`` (a ``pipeline.speech.MouthTrack``) the face points talk, blink (at
    ``blink_rate_per_min``, seeded like the renderers) and raise the brows: see ``pipeline.face``.
    """
    if method not in ("bank", "projection"):
        raise ValueError(f"method must be 'bank' or 'projection', got {method!r}")
    tokens, joints = _tokens_and_joints(result_or_tokens, tokenizer)
    camera = fit_camera(portrait, joints[0])
    pixels, pixel_scores = whole_body_from_motion(joints, camera)
    neck = with_virtual(pixels)[:, NECK]
    displacement = neck - neck[0]
    projected = normalise(pixels, torso_length(pixels))
    entries = np.full(len(tokens), -1, dtype=np.int64)
    coverage, motion, scores, motion_hands = 0.0, projected, pixel_scores, False
    if method == "bank":
        bank = default_bank() if bank is None else bank
        found = lookup(tokens, projected, pixel_scores, bank, lookup_config)
        motion, scores, entries, coverage = found.keypoints, found.scores, found.entries, found.coverage
        motion_hands = bank.config.hands_source == "video"
        if len(motion) < len(displacement):      # a motion longer than 4N frames keeps its projected tail
            motion = np.concatenate([motion, projected[len(motion):]])
            scores = np.concatenate([scores, pixel_scores[len(scores):]])
    motion = smooth_time(motion, SMOOTH_SIGMA)          # the same filter for both methods
    n = min(len(motion), len(displacement))
    pose = fit_to_portrait(motion[:n], scores[:n], displacement[:n], portrait, camera, fps=fps,
                           motion_hands=motion_hands, ease_seconds=ease_seconds, src_fps=MOTION_FPS)
    if mouth is not None:
        from pipeline.face import talking_face

        pose = talking_face(pose, mouth, blink_rate_per_min=blink_rate_per_min, seed=seed)
    return Token2PoseResult(pose, method, coverage, entries, camera, tokens)


def poses_for_portrait(result_or_tokens, portrait: PortraitAnalysis, *, bank: RelationBank | None = None,
                       fps: float = VIDEO_FPS, method: Method = "bank", tokenizer=None, mouth=None,
                       blink_rate_per_min: float = 15.0, seed: int = 0) -> WholeBodyPose:
    """The whole-body pose sequence (at ``fps``) of the portrait's person performing the motion.

    ``translate`` returns the same poses with the bank coverage and the fitted camera.
    """
    return translate(result_or_tokens, portrait, bank=bank, fps=fps, method=method, tokenizer=tokenizer,
                     mouth=mouth, blink_rate_per_min=blink_rate_per_min, seed=seed).pose


__all__ = ["SMOOTH_SIGMA", "Token2PoseResult", "decode_tokens", "poses_for_portrait", "translate"]
