"""Settings of the CPU warp renderer."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.render.audio_drive import MouthDriveConfig


@dataclass
class WarpConfig:
    """Everything the warp renderer can be tuned with; defaults suit a 512 px half-body portrait."""

    resolution: int = 512
    """Long side of the rendered frames in pixels (rounded to even sizes for H.264)."""
    grid_step: float = 8.0
    """Mesh vertex spacing at 512 px (scaled with the resolution): finer bends more smoothly."""
    mask_threshold: float = 0.15
    mask_dilate_frac: float = 0.03
    """The mesh covers the person mask grown by this share of the long side (soft edges, hair)."""
    hole_dilate_frac: float = 0.004
    """The background plate is inpainted under the mask (> 0.5) grown by this share of the long side;
    the soft edge beyond keeps the photo's own pixels, so the still background stays exact."""
    min_score: float = 0.3
    """Keypoints below this confidence are treated as unknown."""
    weight_falloff: float = 0.12
    """Blend width between neighbouring bones, as a share of the shoulder width."""
    joint_radius: float = 0.45
    """Neighbouring bones blend only this close to their joint (share of the shoulder width)."""
    limb_radius: float = 0.12
    """Arms claim pixels this close to their bone (share of the shoulder width), even over the torso."""
    tear_stretch: float = 1.8
    """Triangles stretched more than this (an edge longer by this factor) are torn, not drawn."""
    pose_smoothing_frames: float = 0.8
    """Gaussian smoothing of the keypoint tracks over time (sigma in frames; 0 = off)."""
    inpaint_scale: float = 0.25
    """The background plate is inpainted at this scale and upsampled (Telea is slow at full size)."""
    inpaint_radius: int = 5
    feather_px: float = 0.8
    blink_rate_per_min: float = 15.0
    blink_duration_s: float = 0.15
    mouth_max_open: float = 0.12
    """The jaw drops at most this share of the face height (brow to chin)."""
    mouth: MouthDriveConfig | None = None
    head_scale_limits: tuple[float, float] = (0.9, 1.1)
    torso_scale_limits: tuple[float, float] = (0.85, 1.2)
    limb_stretch_limits: tuple[float, float] = (0.35, 1.4)
    seed: int = 0
