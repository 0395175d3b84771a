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
    """Mask values below this are background (the segmentation's faint halo is dropped)."""
    hole_dilate_frac: float = 0.004
    """The background plate is filled under the mask (> 0.5) grown by this share of the long side;
    the soft edge beyond keeps the photo's own pixels, so the still background stays exact."""
    arm_mask_interior_frac: float = 0.006
    """The arms are opaque where the person mask (> 0.1) reaches at least this share of the long
    side all around: inside the person, whatever the segmentation's confidence there."""
    hand_plate_grow_frac: float = 0.012
    """The hands' regions are filled out of the background plate grown by this share of the long side."""
    min_score: float = 0.3
    """Keypoints below this confidence are treated as unknown."""
    weight_falloff: float = 0.12
    """Blend width between neighbouring bones, as a share of the shoulder width."""
    joint_radius: float = 0.45
    """Neighbouring bones blend only this close to their joint (share of the shoulder width)."""
    limb_radius: float = 0.12
    """Leg bones' radius in the core layer's skinning (share of the shoulder width, x1.2 for legs)."""
    shoulder_blend: float = 0.15
    """An arm layer hands over from the torso to the upper arm over this share of the shoulder width."""
    pose_smoothing_frames: float = 0.8
    """Gaussian smoothing of the keypoint tracks over time (sigma in frames; 0 = off)."""
    feather_px: float = 1.2
    """Softening (Gaussian sigma, px) of the cut between an arm and the core, so layer borders are
    anti-aliased."""
    blink_rate_per_min: float = 15.0
    blink_duration_s: float = 0.15
    mouth_max_open: float = 0.12
    """The jaw drops at most this share of the face height (brow to chin)."""
    mouth: MouthDriveConfig | None = None
    head_scale_limits: tuple[float, float] = (0.9, 1.1)
    torso_scale_limits: tuple[float, float] = (0.85, 1.2)
    limb_stretch_limits: tuple[float, float] = (0.35, 1.4)
    """How far a limb may shorten (foreshortening) or lengthen along itself relative to the photo."""
    end_on_stretch: float = 6.0
    """How far a limb that the photo shows end-on (a forearm pointing at the camera) may unfold at
    most (it unfolds to an adult limb's length; its photo texture gives way to a clean tube)."""
    seed: int = 0
    mouth_visemes: bool = True
    """Mouth shapes from the speech's phonemes (pipeline.speech.visemes: aligned to a transcript,
    recognised, or estimated from the spectrum); False drives the jaw from loudness alone (faster,
    no lip shapes)."""
    mouth_strength: float = 1.0
    """Articulation strength of the viseme track (1 = natural; lower mumbles, higher exaggerates)."""
    mouth_language: str | None = None
    """Language of the speech for the phone models (None = English; other languages fall back to
    mouth shapes estimated from the spectrum)."""
