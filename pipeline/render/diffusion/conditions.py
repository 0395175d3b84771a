"""Face conditions: audio, expression and blink tokens against a face identity embedding, and
the extra cross-attention layer per UNet block that reads them (paper section 3.3.1).

The paper adds "an additional cross-attention layer after the original cross-attention layer in
every U-Net block", in which the facial-motion signals (audio, expression label, blink ratio)
"interact with the identity embedding". Here that layer is:

- queries: the UNet's spatial tokens of one frame, taken right after the block's original
  cross-attention (the normalised input of ``attn2`` plus its output), with their own LayerNorm;
- keys / values: one frame's condition tokens: ``identity_tokens`` tokens from the face identity
  embedding, ``audio_window`` audio tokens (feature rows around the frame, with positions), one
  expression token (label embedding plus mouth openness) and one blink token; a learned type
  embedding marks each group and the identity is added to every motion token so that the motion
  tokens are read relative to this face;
- output: a linear map that starts at zero, so an untrained layer leaves the UNet unchanged.

It is attached with forward hooks on each spatial transformer block's ``attn2`` (temporal blocks
are left alone), so diffusers' UNet class and its weight names stay as they are.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipeline.pretrained import PretrainedConfig, PretrainedModel

EXPRESSIONS = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted", "contempt")
"""Expression labels (the eight MEAD emotions); index 0 is neutral."""
CONDITIONS_PREFIX = "conditions."
CONFIG_METADATA_KEY = "versa_conditions_config"


@dataclass
class ConditionConfig(PretrainedConfig):
    """Sizes of the condition tokens and of the extra attention layers."""

    model_type = "versa_conditions"

    query_dims: list[int] = field(default_factory=list)
    """Width of each hooked UNet block, in hook order (see :func:`spatial_cross_attentions`)."""
    audio_dim: int = 48
    """Columns of the per-frame audio features (LibrosaFeatures: 48; wav2vec2 12 layers: 9216)."""
    audio_window: int = 5
    """Audio feature rows per video frame, centred on it (at the motion rate, 20 rows/s)."""
    num_expressions: int = len(EXPRESSIONS)
    identity_dim: int = 512
    """Size of the face identity embedding (the conv encoder's output, or CLIP's projection)."""
    identity_source: str = "conv"
    """"conv": the module's own face encoder; "clip": the pipeline's CLIP image encoder on the face crop."""
    identity_tokens: int = 4
    token_dim: int = 768
    heads: int = 8
    head_dim: int = 64
    face_size: int = 112
    """Side of the square face crop fed to the identity encoder."""


@dataclass
class FrameConditions:
    """Per-frame face signals for one video (F frames) plus the face crop of the portrait.

    audio: (F, audio_window, audio_dim) feature rows around each frame; mouth: (F,) openness in
    [0, 1]; blink: (F,) eyelid closure in [0, 1]; expression: (F,) label indices; face: (S, S, 3)
    uint8 RGB crop of the portrait's face.
    """

    audio: np.ndarray
    mouth: np.ndarray
    blink: np.ndarray
    expression: np.ndarray
    face: np.ndarray

    def __len__(self) -> int:
        return int(len(self.mouth))

    def window(self, idx: Sequence[int]) -> "FrameConditions":
        idx = np.asarray(idx)
        return FrameConditions(self.audio[idx], self.mouth[idx], self.blink[idx], self.expression[idx], self.face)


class FaceIdentityEncoder(nn.Module):
    """Face crop (B, 3, S, S) in [-1, 1] -> identity embedding (B, dim), a small residual conv net.

    Stands in for a face-recognition network (the paper uses ArcFace, which is not shipped); it is
    trained with the condition layers.
    """

    def __init__(self, dim: int = 512, widths: Sequence[int] = (32, 64, 128, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), nn.SiLU()]
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.GroupNorm(min(8, cout), cout), nn.SiLU(),
                       nn.Conv2d(cout, cout, 3, padding=1), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], dim)

    def forward(self, face: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(face).mean(dim=(2, 3)))


class ConditionTokens(nn.Module):
    """Per-frame condition tokens (N, L, token_dim), L = identity_tokens + audio_window + 2."""

    def __init__(self, cfg: ConditionConfig) -> None:
        super().__init__()
        d = cfg.token_dim
        self.config = cfg
        self.identity_proj = nn.Linear(cfg.identity_dim, cfg.identity_tokens * d)
        self.identity_norm = nn.LayerNorm(d)
        self.audio_proj = nn.Sequential(nn.Linear(cfg.audio_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.audio_pos = nn.Parameter(torch.randn(cfg.audio_window, d) * 0.02)
        self.expression_embed = nn.Embedding(cfg.num_expressions, d)
        self.mouth_proj = nn.Sequential(nn.Linear(1, d), nn.SiLU(), nn.Linear(d, d))
        self.blink_proj = nn.Sequential(nn.Linear(1, d), nn.SiLU(), nn.Linear(d, d))
        self.type_embed = nn.Parameter(torch.randn(4, d) * 0.02)  # identity, audio, expression, blink
        self.out_norm = nn.LayerNorm(d)

    @property
    def num_tokens(self) -> int:
        return self.config.identity_tokens + self.config.audio_window + 2

    def forward(self, identity: torch.Tensor, audio: torch.Tensor, mouth: torch.Tensor, blink: torch.Tensor,
                expression: torch.Tensor) -> torch.Tensor:
        """identity (N or 1, identity_dim); audio (N, W, A); mouth, blink (N,); expression (N,) long."""
        n, d = audio.shape[0], self.config.token_dim
        if audio.shape[1:] != (self.config.audio_window, self.config.audio_dim):
            raise ValueError(f"audio conditions must be (frames, {self.config.audio_window}, {self.config.audio_dim}), "
                             f"got {tuple(audio.shape)}")
        ident = self.identity_norm(self.identity_proj(identity).view(-1, self.config.identity_tokens, d))
        ident = ident.expand(n, -1, -1)
        face = ident.mean(dim=1, keepdim=True)  # the identity every motion token is read against
        audio_tok = self.audio_proj(audio) + self.audio_pos + self.type_embed[1]
        expr = self.expression_embed(expression.long()) + self.mouth_proj(mouth[:, None])
        expr_tok = expr[:, None] + self.type_embed[2]
        blink_tok = self.blink_proj(blink[:, None])[:, None] + self.type_embed[3]
        motion = torch.cat([audio_tok, expr_tok, blink_tok], dim=1) + face
        return self.out_norm(torch.cat([ident + self.type_embed[0], motion], dim=1))


class ConditionAttention(nn.Module):
    """Cross-attention from UNet tokens (N, HW, C) to condition tokens (N, L, D); zero-init output."""

    def __init__(self, query_dim: int, token_dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.norm = nn.LayerNorm(query_dim)
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(token_dim, inner, bias=False)
        self.to_v = nn.Linear(token_dim, inner, bias=False)
        self.to_out = nn.Linear(inner, query_dim)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)

    def forward(self, hidden: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        n, q_len, _ = hidden.shape
        h = self.heads
        q = self.to_q(self.norm(hidden)).view(n, q_len, h, -1).transpose(1, 2)
        k = self.to_k(tokens).view(n, tokens.shape[1], h, -1).transpose(1, 2)
        v = self.to_v(tokens).view(n, tokens.shape[1], h, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, q_len, -1)
        return self.to_out(out)


def spatial_cross_attentions(unet: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, attn2) of every spatial transformer block in the UNet, in a fixed order.

    These are the original image-embedding cross-attentions of the SVD UNet's blocks; the
    temporal transformer blocks are not included.
    """
    found = []
    for name, module in unet.named_modules():
        parts = name.split(".")
        if parts[-1] == "attn2" and "transformer_blocks" in parts and "temporal_transformer_blocks" not in parts:
            found.append((name, module))
    return found


class VersaConditions(PretrainedModel, nn.Module):
    """Everything the face conditions add: the identity encoder, the token encoder and one
    :class:`ConditionAttention` per hooked UNet block.

    On its own it saves as a folder (``save_pretrained`` / ``from_pretrained``: config.json +
    model.safetensors); inside the diffusion weights it travels in one file with the pose encoder
    (:func:`save_conditions` / :func:`load_conditions`, the config in the file's metadata)."""

    config_class = ConditionConfig

    def __init__(self, cfg: ConditionConfig) -> None:
        super().__init__()
        if not cfg.query_dims:
            raise ValueError("ConditionConfig.query_dims is empty; build it with VersaConditions.for_unet(unet)")
        self.config = cfg
        self.identity_encoder = FaceIdentityEncoder(cfg.identity_dim) if cfg.identity_source == "conv" else None
        self.tokens = ConditionTokens(cfg)
        self.layers = nn.ModuleList(ConditionAttention(q, cfg.token_dim, cfg.heads, cfg.head_dim)
                                    for q in cfg.query_dims)

    @classmethod
    def for_unet(cls, unet: nn.Module, **overrides) -> "VersaConditions":
        """A fresh (zero-output) condition module sized for ``unet``'s blocks."""
        dims = [int(m.to_q.in_features) for _, m in spatial_cross_attentions(unet)]
        return cls(ConditionConfig(query_dims=dims, **overrides))

    def is_trained(self) -> bool:
        """False while every layer's output projection is zero (the layers then do nothing)."""
        return any(bool(layer.to_out.weight.detach().abs().sum() > 0) for layer in self.layers)

    def identity(self, face: torch.Tensor) -> torch.Tensor:
        """Identity embedding (B, identity_dim) of face crops (B, 3, S, S) in [-1, 1] (conv source only)."""
        if self.identity_encoder is None:
            raise ValueError("this condition module takes its identity from CLIP; the pipeline computes it")
        return self.identity_encoder(face)


class ConditionInjection:
    """Forward hooks that run the condition layers after each spatial ``attn2`` of the UNet.

    The hook replaces ``attn2``'s output ``a`` (computed from the normalised hidden states ``x``)
    by ``a + layer(x + a, tokens)``: the block then adds both to its residual stream, which is the
    extra cross-attention placed right after the original one. Outside :meth:`tokens` it does
    nothing.
    """

    def __init__(self, unet: nn.Module, conditions: VersaConditions) -> None:
        targets = spatial_cross_attentions(unet)
        if len(targets) != len(conditions.layers):
            raise ValueError(f"the condition module has {len(conditions.layers)} layers but the UNet has "
                             f"{len(targets)} spatial cross-attention blocks; it was made for another UNet")
        self._tokens: torch.Tensor | None = None
        self._handles = [attn.register_forward_hook(self._make_hook(layer), with_kwargs=True)
                         for (_, attn), layer in zip(targets, conditions.layers)]

    def _make_hook(self, layer: ConditionAttention):
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> torch.Tensor | None:
            if self._tokens is None:
                return None
            hidden = args[0] if args else kwargs["hidden_states"]
            tokens = self._tokens
            if tokens.shape[0] != hidden.shape[0]:
                raise ValueError(f"{tokens.shape[0]} condition token sets for a UNet batch of {hidden.shape[0]} "
                                 "frames")
            return output + layer(hidden + output, tokens.to(hidden.dtype)).to(output.dtype)
        return hook

    @contextlib.contextmanager
    def tokens(self, tokens: torch.Tensor | None) -> Iterator[None]:
        """Condition tokens ((batch * frames), L, D) for the UNet calls inside."""
        previous, self._tokens = self._tokens, tokens
        try:
            yield
        finally:
            self._tokens = previous

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


# ---------------------------------------------------------------------------------------------
# weights: one safetensors file, the config in its metadata (no pickle)


def save_conditions(module: VersaConditions, path: str | Path, pose_net: nn.Module | None = None) -> Path:
    """Write the condition module (``conditions.*``, optionally ``pose_net.*``) to a safetensors file."""
    from safetensors.torch import save_file

    tensors = {CONDITIONS_PREFIX + k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    if pose_net is not None:
        tensors.update({"pose_net." + k: v.detach().contiguous().cpu() for k, v in pose_net.state_dict().items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={CONFIG_METADATA_KEY: json.dumps(module.config.to_dict())})
    return path


def load_conditions(path: str | Path, unet: nn.Module | None = None,
                    pose_net: nn.Module | None = None) -> tuple[VersaConditions | None, list[str]]:
    """(module, notes) from a file written by :func:`save_conditions`.

    The module is None when the file has no ``conditions.*`` tensors; ``pose_net.*`` tensors go
    into ``pose_net`` when given. ``unet`` (optional) is checked against the saved block widths.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    tensors = load_file(str(path))
    notes: list[str] = []
    if pose_net is not None:
        pose_sd = {k[len("pose_net."):]: v for k, v in tensors.items() if k.startswith("pose_net.")}
        if pose_sd:
            pose_net.load_state_dict(pose_sd, strict=True)
            notes.append(f"pose_net: {len(pose_sd)} tensors from {path.name}")
    cond_sd = {k[len(CONDITIONS_PREFIX):]: v for k, v in tensors.items() if k.startswith(CONDITIONS_PREFIX)}
    if not cond_sd:
        return None, notes
    if CONFIG_METADATA_KEY not in meta:
        raise ValueError(f"{path} has condition tensors but no '{CONFIG_METADATA_KEY}' metadata; "
                         "write it with save_conditions()")
    cfg = ConditionConfig.from_dict(json.loads(meta[CONFIG_METADATA_KEY]), source=f"{path} ({CONFIG_METADATA_KEY})")
    if unet is not None:
        dims = [int(m.to_q.in_features) for _, m in spatial_cross_attentions(unet)]
        if dims != list(cfg.query_dims):
            raise ValueError(f"{path} was trained for UNet block widths {cfg.query_dims}, this UNet has {dims}")
    module = VersaConditions(cfg)
    module.load_state_dict(cond_sd, strict=True)
    notes.append(f"conditions: {len(cond_sd)} tensors from {path.name}")
    return module, notes
