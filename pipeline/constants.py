"""Rates and sizes shared by every stage, kept in one place (DESIGN.md: never scattered literals)."""

MOTION_FPS: int = 20
"""Motion runs at the HumanML3D convention of 20 frames per second."""

TOKEN_DOWNSAMPLE: int = 4
"""One motion token covers this many motion frames."""

TOKENS_PER_SECOND: float = MOTION_FPS / TOKEN_DOWNSAMPLE

VIDEO_FPS: int = 25
"""Default frame rate of rendered video; poses are resampled to it."""

AUDIO_SAMPLE_RATE: int = 16_000

CODEBOOK_SIZE: int = 512

NUM_JOINTS: int = 22
FEATURE_DIM: int = 263

MAX_CLIP_SECONDS: float = 10.0
"""Dataset windows are at most this long (HumanML3D clips are up to 10 s)."""
