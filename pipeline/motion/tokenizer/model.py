"""The motion tokenizer: a 1D-convolutional VQ-VAE over 263-d HumanML3D features (paper sec. 3.2.1).

    features (B, T, 263) raw ─ normalise (mean/std buffers) ─ encoder (x1/4 in time) ─ EMA codebook
        ─ tokens (B, T/4) ─ codebook lookup ─ decoder (x4) ─ de-normalise ─ features (B, T, 263)

Weights ship as ``config.json`` + ``model.safetensors`` (no pickle); the feature statistics travel
inside the safetensors file as the ``mean``/``std`` buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.motion.tokenizer.config import TokenizerConfig
from pipeline.motion.tokenizer.quantizer import EMAQuantizer
from pipeline.pretrained import PretrainedModel

TRAINING_ONLY_BUFFERS = ("quantizer.code_sum", "quantizer.code_count")
"""EMA statistics needed to go on training, not to tokenize; left out of shipped weights (the
residual codebooks' ``residuals.<i>.code_sum`` / ``code_count`` too, see :func:`_training_only`)."""


def _training_only(key: str) -> bool:
    return key in TRAINING_ONLY_BUFFERS or (key.startswith("residuals.") and key.endswith((".code_sum", ".code_count")))

FP32_KEYS = ("mean", "std")
"""Tensors always stored in float32 (the normalisation statistics)."""


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU}[name]()


def _conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1) -> nn.Conv1d:
    pad = (dilation * (k - 1)) // 2 if stride == 1 else (k - stride) // 2
    return nn.Conv1d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, padding_mode="replicate")


class ResBlock(nn.Module):
    """Pre-activation residual block: act - dilated conv3 - act - conv1."""

    def __init__(self, width: int, dilation: int, activation: str):
        super().__init__()
        self.net = nn.Sequential(_activation(activation), _conv(width, width, 3, dilation=dilation),
                                 _activation(activation), nn.Conv1d(width, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def _res_stack(cfg: TokenizerConfig, reverse: bool) -> nn.Sequential:
    dilations = [cfg.dilation_growth ** i for i in range(cfg.depth)]
    if reverse:
        dilations = dilations[::-1]
    return nn.Sequential(*[ResBlock(cfg.width, d, cfg.activation) for d in dilations])


class Encoder(nn.Module):
    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        layers: list[nn.Module] = [_conv(cfg.feature_dim, cfg.width, 3), _activation(cfg.activation)]
        for _ in range(cfg.down_t):
            layers += [_conv(cfg.width, cfg.width, 4, stride=2), _res_stack(cfg, reverse=False)]
        layers += [_conv(cfg.width, cfg.code_dim, 3)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        layers: list[nn.Module] = [_conv(cfg.code_dim, cfg.width, 3), _activation(cfg.activation)]
        for _ in range(cfg.down_t):
            layers += [_res_stack(cfg, reverse=True), nn.Upsample(scale_factor=2, mode="nearest"),
                       _conv(cfg.width, cfg.width, 3)]
        layers += [_conv(cfg.width, cfg.width, 3), _activation(cfg.activation),
                   _conv(cfg.width, cfg.feature_dim, 3)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass
class TokenizerOutput:
    reconstruction: torch.Tensor   # (B, T, 263) normalised features
    target: torch.Tensor           # (B, T, 263) normalised input (what the reconstruction aims at)
    tokens: torch.Tensor           # (B, ceil(T/4))
    commit_loss: torch.Tensor
    perplexity: torch.Tensor
    usage: torch.Tensor


class MotionTokenizer(PretrainedModel, nn.Module):
    """VQ-VAE motion tokenizer. ``encode`` raw features to tokens, ``decode`` tokens to raw features."""

    card_metadata = {
        "license": "mit",
        "library_name": "pytorch",
        "tags": ["motion", "vq-vae", "motion-tokenizer", "humanml3d", "talking-human", "versaanimator", "safetensors"],
        "datasets": ["cmu-mocap", "versastudio-procedural-actions", "versastudio-synthetic-cospeech"],
    }

    def __init__(self, config: TokenizerConfig | None = None, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None):
        super().__init__()
        self.config = config or TokenizerConfig()
        cfg = self.config
        self.encoder = Encoder(cfg)
        self.quantizer = EMAQuantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay, cfg.reset_threshold,
                                      cfg.kmeans_iters)
        self.residuals = nn.ModuleList([EMAQuantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay,
                                                     cfg.reset_threshold, cfg.kmeans_iters)
                                        for _ in range(cfg.residual_layers)])
        self.decoder = Decoder(cfg)
        self.freeze_base = False
        """Training only: encoder and base codebook fixed (no gradient, no EMA), so the base tokens of
        a motion stay those the generator and relation bank were trained on; the decoder and the
        residual codebooks still learn."""
        self.register_buffer("mean", torch.zeros(cfg.feature_dim) if mean is None
                             else torch.as_tensor(mean, dtype=torch.float32).reshape(cfg.feature_dim).clone())
        self.register_buffer("std", torch.ones(cfg.feature_dim) if std is None
                             else torch.as_tensor(std, dtype=torch.float32).reshape(cfg.feature_dim).clone())

    # ------------------------------------------------------------------ normalisation
    @property
    def downsample(self) -> int:
        return self.config.downsample

    def normalize(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std

    def denormalize(self, features: torch.Tensor) -> torch.Tensor:
        return features * self.std + self.mean

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """Edge-replicate (B, T, C) up to a multiple of the downsampling rate."""
        extra = (-x.shape[1]) % self.downsample
        if extra:
            x = torch.cat([x, x[:, -1:].expand(-1, extra, -1)], dim=1)
        return x

    def _check(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() == 2:
            raise ValueError("expected batched features (B, T, 263); add a batch dimension with features[None]")
        if features.dim() != 3 or features.shape[-1] != self.config.feature_dim:
            raise ValueError(f"expected features of shape (B, T, {self.config.feature_dim}), got "
                             f"{tuple(features.shape)}")
        if features.shape[1] < 1:
            raise ValueError("cannot tokenize an empty motion")
        return features.to(self.mean.device, self.mean.dtype)

    # ------------------------------------------------------------------ inference API
    def encode_latents(self, features: torch.Tensor) -> torch.Tensor:
        """Continuous latents (B, code_dim, ceil(T/4)) of raw features (B, T, 263)."""
        x = self._pad(self.normalize(self._check(features)))
        return self.encoder(x.transpose(1, 2))

    @torch.no_grad()
    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """Motion tokens (B, ceil(T/4)) in [0, codebook_size) of raw features (B, T, 263).

        A length that is not a multiple of 4 is padded by repeating its last frame; the last
        token then covers the tail plus the padding (``decode(..., length=T)`` trims it back).
        """
        return self.quantizer.quantize(self.encode_latents(features))

    @torch.no_grad()
    def encode_residual(self, features: torch.Tensor) -> torch.Tensor:
        """Tokens of every layer (B, 1 + residual_layers, N): [:, 0] is :meth:`encode`'s base layer,
        the others quantise what the layers before them left over."""
        z = self.encode_latents(features)
        layers = [self.quantizer.quantize(z)]
        resid = z - self.quantizer.dequantize(layers[0])
        for q in self.residuals:
            layers.append(q.quantize(resid))
            resid = resid - q.dequantize(layers[-1])
        return torch.stack(layers, dim=1)

    def decode_normalized(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.to(self.mean.device).long()
        if tokens.dim() == 2:
            latents = self.quantizer.dequantize(tokens)
        else:
            if tokens.shape[1] > 1 + len(self.residuals):
                raise ValueError(f"got {tokens.shape[1]} token layers; this tokenizer has "
                                 f"{1 + len(self.residuals)}")
            latents = self.quantizer.dequantize(tokens[:, 0])
            for q, layer in zip(self.residuals, tokens[:, 1:].unbind(1)):
                latents = latents + q.dequantize(layer)
        return self.decoder(latents).transpose(1, 2)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Raw features (B, 4N, 263) of tokens (B, N) (the base layer: what the generator makes), or
        of (B, L, N) layers from :meth:`encode_residual` (base + L - 1 residual layers); trimmed to
        ``length`` frames when given."""
        if tokens.dim() not in (2, 3):
            raise ValueError(f"expected tokens of shape (B, N) or (B, layers, N), got {tuple(tokens.shape)}")
        out = self.denormalize(self.decode_normalized(tokens))
        return out if length is None else out[:, :length]

    # ------------------------------------------------------------------ training
    def forward(self, features: torch.Tensor) -> TokenizerOutput:
        """Reconstruct raw features (B, T, 263); outputs stay in normalised space for the losses."""
        target = self.normalize(self._check(features))
        t = target.shape[1]
        x = self._pad(target).transpose(1, 2)
        if self.freeze_base:
            with torch.no_grad():
                z = self.encoder(x)
                indices = self.quantizer.quantize(z)
                quant = self.quantizer.dequantize(indices)
                perplexity, usage = self.quantizer.code_stats(indices, self.config.codebook_size)
                commit = z.new_zeros(())
        else:
            z = self.encoder(x)
            q = self.quantizer(z)
            quant, indices, commit, perplexity, usage = q.quantized, q.indices, q.commit_loss, q.perplexity, q.usage
        if self.residuals:
            active = len(self.residuals)
            if self.training and torch.rand(()) < self.config.residual_dropout:
                active = int(torch.randint(0, len(self.residuals) + 1, ()))
            codes = quant.detach()
            resid = z.detach() - codes
            for q_res in self.residuals[:active]:
                step = q_res(resid).quantized.detach()      # EMA update of that codebook in training
                codes = codes + step
                resid = resid - step
            if self.freeze_base:
                quant = codes
            else:
                quant = z + (codes - z).detach()            # straight-through over all layers
                commit = F.mse_loss(z, codes.detach())
        recon = self.decoder(quant).transpose(1, 2)[:, :t]
        return TokenizerOutput(recon, target, indices, commit, perplexity, usage)

    # ------------------------------------------------------------------ save / load
    config_class = TokenizerConfig
    missing_hint = "a folder written by MotionTokenizer.save_pretrained"

    def save_pretrained(self, path: str | Path, *, dtype: torch.dtype | str = torch.float32,
                        training_state: bool = False, metadata: dict | None = None) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into the folder ``path``.

        ``dtype`` applies to weights and codebook (mean/std stay float32); ``training_state``
        keeps the EMA statistics needed to resume training; ``metadata`` goes into the
        safetensors header.
        """
        return super().save_pretrained(path, dtype=dtype, training_state=training_state, metadata=metadata)

    def _weights_to_save(self, *, dtype: torch.dtype | str, training_state: bool,
                         metadata: dict | None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        tensors = {}
        for key, value in self.state_dict().items():
            if not training_state and _training_only(key):
                continue
            value = value.detach().cpu()
            if value.is_floating_point() and key not in FP32_KEYS:
                value = value.to(dtype)
            tensors[key] = value
        return tensors, {"dtype": str(dtype).replace("torch.", ""), **(metadata or {})}

    @classmethod
    def from_pretrained(cls, path: str | Path, *, device: str | torch.device = "cpu") -> "MotionTokenizer":
        """Load a tokenizer saved by :meth:`save_pretrained` (safetensors only), in float32, eval mode."""
        return super().from_pretrained(path, device=device)

    @classmethod
    def _from_weights(cls, config: TokenizerConfig, state: dict[str, torch.Tensor], directory: Path,
                      **options: Any) -> "MotionTokenizer":
        model = cls(config)
        own = model.state_dict()
        state = {k: (v.to(own[k].dtype) if k in own and v.is_floating_point() else v) for k, v in state.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not _training_only(k)]
        if missing or unexpected:
            raise ValueError(f"{directory / cls.weights_name} does not match its config: missing {missing}, "
                             f"unexpected {unexpected}")
        if "quantizer.code_count" not in state:
            # Shipped weights carry no EMA statistics: rebuild consistent ones from the codebook.
            for q in [model.quantizer, *model.residuals]:
                q.code_sum.copy_(q.codebook)
                q.code_count.fill_(1.0)
        return model

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
