"""Dual-branch masked motion-token transformer (paper sec. 3.2.2, fig. 3; DESIGN.md "Motion generator").

Text branch: a masked token model (MoMask-style). Token embeddings (codebook + [MASK] + [PAD]) plus
learned positions; the text condition is given *per position* (B, N, text_dim), so each timeline
segment carries its own prompt: it is projected to d_model and added to the input and to the input
of every layer. Classifier-free guidance uses a learned null-text embedding (training replaces a
sample's condition by it with probability cfg.cond_drop_prob).

Audio branch: the same shape (n_layers, d_model, heads), fed audio tokens (AudioTemporalBlock over
20-fps audio features, downsampled 4x to the token rate). The output of its layer s goes through a
zero-initialised linear projection and is added to the output of the text branch's layer s
("their layer outputs summed layer by layer"). At initialisation the audio branch is therefore an
exact no-op over the (frozen) text branch, as a ControlNet is.

The audio branch reads audio only, never the motion tokens, so its per-layer outputs are computed
once per window and reused by every decoding step and by both halves of classifier-free guidance.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.motion.generator.config import GeneratorConfig
from pipeline.motion.generator.temporal_block import AudioTemporalBlock  # the temporal conv block of appendix B
from pipeline.pretrained import PretrainedModel

TEXT_PREFIX = "text."
AUDIO_PREFIX = "audio."
BRANCHES = ("text", "audio")


class Block(nn.Module):
    """Pre-LayerNorm transformer encoder layer with a key padding mask (scaled_dot_product_attention)."""

    def __init__(self, d_model: int, n_heads: int, ff: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, d_model))
        self.drop = nn.Dropout(dropout)
        self.p = dropout

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=self.p if self.training else 0.0)
        x = x + self.drop(self.out(a.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.ff(self.norm2(x)))


def _attn_mask(padding: torch.Tensor | None) -> torch.Tensor | None:
    """(B, N) True where padded -> boolean mask (B, 1, 1, N), True where attention is allowed."""
    if padding is None or not bool(padding.any()):
        return None
    return (~padding)[:, None, None, :]


class TextBranch(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        d = cfg.d_model
        self.tok_emb = nn.Embedding(cfg.vocab_size, d)
        self.pos_emb = nn.Parameter(torch.zeros(1, cfg.max_tokens, d))
        self.null_text = nn.Parameter(torch.zeros(cfg.text_dim))
        self.cond_proj = nn.Sequential(nn.Linear(cfg.text_dim, d), nn.GELU(), nn.Linear(d, d))
        self.layers = nn.ModuleList(Block(d, cfg.n_heads, cfg.ff, cfg.dropout) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.codebook_size)
        self.drop = nn.Dropout(cfg.dropout)
        nn.init.normal_(self.pos_emb, std=0.02)
        nn.init.normal_(self.null_text, std=0.02)


class AudioBranch(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        d = cfg.d_model
        self.temporal = AudioTemporalBlock(cfg.audio_dim, d, hidden=cfg.audio_hidden, downsample=4)
        self.pos_emb = nn.Parameter(torch.zeros(1, cfg.max_tokens, d))
        self.layers = nn.ModuleList(Block(d, cfg.n_heads, cfg.ff, cfg.dropout) for _ in range(cfg.n_layers))
        self.zero_proj = nn.ModuleList(nn.Linear(d, d) for _ in range(cfg.n_layers))
        nn.init.normal_(self.pos_emb, std=0.02)
        for proj in self.zero_proj:
            nn.init.zeros_(proj.weight)
            nn.init.zeros_(proj.bias)


class DualBranchGenerator(PretrainedModel, nn.Module):
    """p(tokens | text per position, audio): masked token logits over the codebook."""

    card_metadata = {
        "license": "mit",
        "library_name": "pytorch",
        "tags": ["motion-generation", "text-to-motion", "audio-to-motion", "co-speech-gesture", "masked-transformer", "versaanimator", "safetensors"],
        "datasets": ["cmu-mocap", "versastudio-procedural-actions", "versastudio-synthetic-cospeech"],
    }

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.config = cfg
        self.text = TextBranch(cfg)
        self.audio = AudioBranch(cfg)

    # ---- conditions ----------------------------------------------------------------------
    def audio_tokens(self, audio_features: torch.Tensor) -> torch.Tensor:
        """(B, T, audio_dim) audio features at 20 fps -> (B, ceil(T/4), d_model) audio tokens."""
        return self.audio.temporal(audio_features)

    def audio_residuals(self, audio_tok: torch.Tensor | None,
                        padding: torch.Tensor | None = None) -> list[torch.Tensor] | None:
        """Per-layer additive terms from the audio branch, (n_layers x (B, N, d)); None without audio."""
        if audio_tok is None:
            return None
        n = audio_tok.shape[1]
        self._check_len(n)
        h = audio_tok + self.audio.pos_emb[:, :n]
        mask = _attn_mask(padding)
        out = []
        for layer, proj in zip(self.audio.layers, self.audio.zero_proj):
            h = layer(h, mask)
            out.append(proj(h))
        return out

    def null_cond(self, batch: int, n: int) -> torch.Tensor:
        return self.text.null_text.expand(batch, n, -1)

    def drop_cond(self, cond: torch.Tensor, prob: float | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """Replace whole samples' conditions by the null text with probability prob (training CFG)."""
        prob = self.config.cond_drop_prob if prob is None else prob
        if prob <= 0:
            return cond
        drop = torch.rand(cond.shape[0], generator=generator, device=cond.device) < prob
        return torch.where(drop[:, None, None], self.null_cond(*cond.shape[:2]).to(cond.dtype), cond)

    # ---- forward -------------------------------------------------------------------------
    def _check_len(self, n: int) -> None:
        if n > self.config.max_tokens:
            raise ValueError(f"sequence of {n} tokens is longer than the model window "
                             f"({self.config.max_tokens}); decode long sequences by windows (sampling.py)")

    def forward(self, tokens: torch.Tensor, cond: torch.Tensor, *,
                audio_tok: torch.Tensor | None = None,
                audio_res: list[torch.Tensor] | None = None,
                padding: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, N, codebook_size).

        tokens: (B, N) ids in [0, codebook) or mask_id / pad_id; cond: (B, N, text_dim) text
        embedding per position (or (B, text_dim), broadcast); audio_tok: (B, N, d_model) audio tokens
        or audio_res precomputed by audio_residuals (either may be None: text branch only);
        padding: (B, N) True at padded positions.
        """
        b, n = tokens.shape
        self._check_len(n)
        if cond.dim() == 2:
            cond = cond[:, None, :].expand(b, n, -1)
        if audio_res is None and audio_tok is not None:
            audio_res = self.audio_residuals(audio_tok, padding)
        t = self.text
        c = t.cond_proj(cond)
        h = t.drop(t.tok_emb(tokens) + t.pos_emb[:, :n] + c)
        mask = _attn_mask(padding)
        for i, layer in enumerate(t.layers):
            h = layer(h + c, mask)
            if audio_res is not None:
                h = h + audio_res[i]
        return t.head(t.norm(h))

    # ---- branches --------------------------------------------------------------------------
    def branch_parameters(self, branch: str):
        if branch not in BRANCHES:
            raise ValueError(f"unknown branch {branch!r}; use one of {BRANCHES}")
        return getattr(self, branch).parameters()

    def freeze_text_branch(self) -> None:
        self.text.requires_grad_(False)
        self.text.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and not any(p.requires_grad for p in self.text.parameters()):
            self.text.eval()  # a frozen branch keeps dropout off
        return self

    # ---- persistence ------------------------------------------------------------------------
    config_class = GeneratorConfig

    def save_pretrained(self, path: Path | str, *, branches: tuple[str, ...] = BRANCHES,
                        dtype: torch.dtype = torch.float16) -> Path:
        """config.json + model.safetensors (fp16 storage by default; loading returns fp32)."""
        return super().save_pretrained(path, branches=branches, dtype=dtype)

    def _weights_to_save(self, *, branches: tuple[str, ...], dtype: torch.dtype
                         ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        prefixes = tuple(f"{b}." for b in branches)
        state = {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype)
                 for k, v in self.state_dict().items() if k.startswith(prefixes)}
        return state, {"branches": ",".join(branches)}

    @classmethod
    def from_pretrained(cls, path: Path | str, *, device: str | torch.device = "cpu",
                        branches: tuple[str, ...] | None = None) -> "DualBranchGenerator":
        """Load a checkpoint. branches=None loads whatever it holds (a stage-1 checkpoint holds only
        the text branch: the audio branch then keeps its zero-initialised projections, a no-op);
        branches=("text",) loads the text branch only (stage 2 starts from it)."""
        return super().from_pretrained(path, device=device, branches=branches)

    @classmethod
    def _from_weights(cls, config: GeneratorConfig, state: dict[str, torch.Tensor], directory: Path, *,
                      branches: tuple[str, ...] | None = None) -> "DualBranchGenerator":
        model = cls(config)
        held = tuple(b for b in BRANCHES if any(k.startswith(f"{b}.") for k in state))
        wanted = held if branches is None else tuple(branches)
        missing = [b for b in wanted if b not in held]
        if missing:
            raise ValueError(f"{directory / cls.weights_name} holds no weights for branch(es) {missing} "
                             f"(it has {list(held)})")
        model.load_branches(state, wanted)
        model.loaded_branches = wanted
        return model

    def load_branches(self, state: dict[str, torch.Tensor], branches: tuple[str, ...]) -> None:
        own = self.state_dict()
        prefixes = tuple(f"{b}." for b in branches)
        expected = {k for k in own if k.startswith(prefixes)}
        given = {k for k in state if k.startswith(prefixes)}
        if expected != given:
            raise ValueError(f"checkpoint does not match the config: missing {sorted(expected - given)[:5]}, "
                             f"unexpected {sorted(given - expected)[:5]}")
        with torch.no_grad():
            for k in expected:
                if own[k].shape != state[k].shape:
                    raise ValueError(f"shape of {k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}")
                own[k].copy_(state[k].to(own[k].dtype))

    def num_parameters(self, branch: str | None = None) -> int:
        params = self.parameters() if branch is None else self.branch_parameters(branch)
        return sum(p.numel() for p in params)
