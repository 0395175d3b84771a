"""Configuration of the dual-branch motion token generator (paper sec. 3.2.2, appendix A)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.constants import CODEBOOK_SIZE, MAX_CLIP_SECONDS, TOKENS_PER_SECOND
from pipeline.pretrained import CONFIG_NAME, WEIGHTS_NAME, PretrainedConfig

SPEECH_PROMPT: str = "A person is giving a speech."
"""The fixed text control of the audio branch (paper sec. 3.2.3); unprompted segments get it too."""

__all__ = ["CONFIG_NAME", "SPEECH_PROMPT", "WEIGHTS_NAME", "GeneratorConfig", "tokenizer_sha256"]


@dataclass
class GeneratorConfig(PretrainedConfig):
    """Sizes of both branches (they share n_layers and d_model, as the paper's two transformers do).

    The paper uses 8 layers, 6 heads, width 384; the shipped CPU checkpoint may be smaller (its
    model card says which and why).
    """

    model_type = "motion_generator"

    codebook_size: int = CODEBOOK_SIZE
    d_model: int = 384
    n_layers: int = 8
    n_heads: int = 6
    ff: int = 1536
    dropout: float = 0.1
    text_dim: int = 384
    audio_dim: int = 768
    audio_hidden: int = 256
    max_tokens: int = int(round(MAX_CLIP_SECONDS * TOKENS_PER_SECOND))
    """Window length in tokens: training crops and inference windows (10 s = 50 tokens)."""
    cond_drop_prob: float = 0.1
    """Probability that a training sample's text condition is replaced by the learned null text."""
    text_encoder: str = "default"
    audio_features: str = "default"
    """Names of the text encoder / audio feature extractor the weights were trained against."""
    tokenizer_sha256: str = ""
    """First 16 hex digits of the sha256 of the tokenizer weights the tokens came from ("" = unknown)."""
    audio_guidance: float = 1.0
    """Inference default tuned for these weights: audio guidance on audio-only windows
    (SamplingOptions.audio_guidance; 1.0 = off). Training ignores it."""

    # ---- special ids -------------------------------------------------------------------
    @property
    def mask_id(self) -> int:
        return self.codebook_size

    @property
    def pad_id(self) -> int:
        return self.codebook_size + 1

    @property
    def vocab_size(self) -> int:
        return self.codebook_size + 2

    # ---- checks (the JSON round trip is PretrainedConfig's) ------------------------------
    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if not 0.0 <= self.cond_drop_prob < 1.0:
            raise ValueError("cond_drop_prob must be in [0, 1)")
        if self.max_tokens < 2:
            raise ValueError("max_tokens must be at least 2")


def tokenizer_sha256(tokenizer_dir: Path) -> str:
    """First 16 hex digits of the sha256 of the tokenizer's weights (recorded in the generator config)."""
    h = hashlib.sha256()
    with open(Path(tokenizer_dir) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
