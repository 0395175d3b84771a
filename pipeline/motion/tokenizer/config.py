"""Configuration of the motion tokenizer (VQ-VAE), saved as config.json beside the weights."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.constants import CODEBOOK_SIZE, FEATURE_DIM, TOKEN_DOWNSAMPLE
from pipeline.pretrained import CONFIG_NAME, WEIGHTS_NAME, PretrainedConfig

__all__ = ["CONFIG_NAME", "WEIGHTS_NAME", "TokenizerConfig"]


@dataclass
class TokenizerConfig(PretrainedConfig):
    """Shape and training constants of a :class:`MotionTokenizer`.

    The architecture follows T2M-GPT / MoMask: a 1D-convolutional encoder with residual dilated
    blocks and ``down_t`` stride-2 downsamplings, an EMA codebook with dead-code reset, and a
    mirrored decoder with nearest-neighbour upsampling.
    """

    feature_dim: int = FEATURE_DIM
    codebook_size: int = CODEBOOK_SIZE
    code_dim: int = 256
    width: int = 256
    depth: int = 3                      # residual blocks per resolution
    down_t: int = 2                     # number of stride-2 downsamplings: 2**down_t == TOKEN_DOWNSAMPLE
    dilation_growth: int = 3            # dilations 1, 3, 9 ... inside a resolution
    activation: str = "relu"
    commit_beta: float = 0.02           # weight of ||z - sg[c]||^2 (T2M-GPT / MoMask)
    ema_decay: float = 0.99
    reset_threshold: float = 1.0        # EMA count (per batch) below which a code is dead and gets reset
    kmeans_iters: int = 10              # Lloyd iterations of the first-batch codebook initialisation
    residual_layers: int = 0            # MoMask-style residual codebooks after the base one (0: plain VQ).
                                        # The base layer's tokens are THE motion tokens (generator, bank);
                                        # the residual layers only refine reconstructions of real motion
    residual_dropout: float = 0.5       # training: probability that a batch uses a random number of
                                        # residual layers (0..R), so the base layer alone stays a good code
    model_type: str = "motion_tokenizer"

    def __post_init__(self) -> None:
        if 2 ** self.down_t != TOKEN_DOWNSAMPLE and self.model_type == "motion_tokenizer":
            # Other rates are allowed for experiments but the pipeline assumes TOKEN_DOWNSAMPLE.
            pass
        if self.codebook_size < 2 or self.code_dim < 1 or self.width < 1 or self.depth < 0 or self.residual_layers < 0:
            raise ValueError(f"invalid tokenizer config: {self}")
        if self.activation not in ("relu", "silu", "gelu"):
            raise ValueError(f"unknown activation {self.activation!r}")

    @property
    def downsample(self) -> int:
        return 2 ** self.down_t

    # The old names of save / load, kept for the callers that still use them (pipeline/train).
    def to_json(self, path: str | Path | None = None) -> str:
        """The config.json text; written to ``path`` when given."""
        text = self.to_json_string()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> "TokenizerConfig":
        """Read a config from a config.json path (or a folder holding one) or from a JSON string, strictly."""
        if isinstance(path_or_text, Path) or not str(path_or_text).lstrip().startswith("{"):
            return cls.load(path_or_text)
        return cls.from_dict(json.loads(str(path_or_text)))
