"""EMA vector quantiser with k-means initialisation and dead-code reset (T2M-GPT's QuantizeEMAReset).

* The codebook is a buffer, not a parameter: it moves by exponential moving averages of the
  per-code counts and sums of the encoder outputs assigned to each code.
* The first training batch initialises it by k-means on the encoder outputs.
* A code whose EMA count falls under ``reset_threshold`` is dead; it is reset to a random encoder
  output of the current batch, so unused codes come back into play.
* The encoder is pulled toward its codes by the commitment loss beta * ||z - sg[c]||^2; gradients
  flow to the encoder through the straight-through estimator z + sg[c - z].
Under torch.distributed the statistics are all-reduced and the reset vectors broadcast, so every
process keeps the same codebook.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor      # (B, D, N) straight-through quantised latents
    indices: torch.Tensor        # (B, N) code ids
    commit_loss: torch.Tensor    # scalar, already multiplied by nothing (beta is applied by the caller)
    perplexity: torch.Tensor     # scalar, of this batch's code histogram
    usage: torch.Tensor          # scalar, fraction of codes used in this batch


class EMAQuantizer(nn.Module):
    def __init__(self, codebook_size: int, code_dim: int, decay: float = 0.99, reset_threshold: float = 1.0,
                 kmeans_iters: int = 10, eps: float = 1e-5):
        super().__init__()
        self.codebook_size = codebook_size
        self.code_dim = code_dim
        self.decay = decay
        self.reset_threshold = reset_threshold
        self.kmeans_iters = kmeans_iters
        self.eps = eps
        self.register_buffer("codebook", torch.zeros(codebook_size, code_dim))
        self.register_buffer("code_sum", torch.zeros(codebook_size, code_dim))
        self.register_buffer("code_count", torch.zeros(codebook_size))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    # ------------------------------------------------------------------ helpers
    def _random_rows(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """n rows of x drawn at random (with repetition + tiny noise when x has fewer rows)."""
        if x.shape[0] >= n:
            out = x[torch.randperm(x.shape[0], device=x.device)[:n]]
        else:
            reps = (n + x.shape[0] - 1) // x.shape[0]
            out = x.repeat(reps, 1)
            out = out + torch.randn_like(out) * 0.01 / (self.code_dim ** 0.5)
            out = out[torch.randperm(out.shape[0], device=x.device)[:n]]
        if _distributed():
            dist.broadcast(out, src=0)
        return out

    def nearest(self, x: torch.Tensor, codebook: torch.Tensor | None = None) -> torch.Tensor:
        """Index of the nearest code for each row of x (N, D)."""
        cb = self.codebook if codebook is None else codebook
        dist2 = (x.pow(2).sum(1, keepdim=True) - 2.0 * x @ cb.t() + cb.pow(2).sum(1)[None, :])
        return dist2.argmin(dim=1)

    def _assignment_stats(self, x: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-code sum of the assigned vectors and their count, summed over all processes."""
        onehot = F.one_hot(idx, self.codebook_size).type(x.dtype)
        sums, counts = onehot.t() @ x, onehot.sum(0)
        if _distributed():
            dist.all_reduce(sums)
            dist.all_reduce(counts)
        return sums, counts

    @torch.no_grad()
    def _init_codebook(self, x: torch.Tensor) -> None:
        codes = self._random_rows(x, self.codebook_size)
        for _ in range(self.kmeans_iters):
            sums, counts = self._assignment_stats(x, self.nearest(x, codes))
            empty = counts < 0.5
            codes = torch.where(empty[:, None], codes, sums / counts.clamp(min=1.0)[:, None])
        self.codebook.copy_(codes)
        self.code_sum.copy_(codes)
        self.code_count.fill_(1.0)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _ema_update(self, x: torch.Tensor, idx: torch.Tensor) -> int:
        """EMA update of counts and sums, then dead-code reset. Returns the number of codes reset."""
        sums, counts = self._assignment_stats(x, idx)
        self.code_sum.mul_(self.decay).add_(sums, alpha=1.0 - self.decay)
        self.code_count.mul_(self.decay).add_(counts, alpha=1.0 - self.decay)
        dead = self.code_count < self.reset_threshold
        n_dead = int(dead.sum())
        if n_dead:
            rand = self._random_rows(x, self.codebook_size)
            self.code_sum.copy_(torch.where(dead[:, None], rand, self.code_sum))
            self.code_count.copy_(torch.where(dead, torch.ones_like(self.code_count), self.code_count))
        self.codebook.copy_(self.code_sum / self.code_count.clamp(min=self.eps)[:, None])
        return n_dead

    # ------------------------------------------------------------------ public
    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Code ids (B, N) for latents z (B, D, N)."""
        b, d, n = z.shape
        flat = z.permute(0, 2, 1).reshape(-1, d).float()
        return self.nearest(flat, self.codebook.float()).view(b, n)

    def dequantize(self, indices: torch.Tensor) -> torch.Tensor:
        """Latents (B, D, N) for code ids (B, N)."""
        if indices.numel() and (indices.min() < 0 or indices.max() >= self.codebook_size):
            raise ValueError(f"token ids must lie in [0, {self.codebook_size}), got "
                             f"[{int(indices.min())}, {int(indices.max())}]")
        return F.embedding(indices, self.codebook).permute(0, 2, 1).contiguous()

    @staticmethod
    def code_stats(indices: torch.Tensor, codebook_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(perplexity, fraction of codes used) of a set of code ids."""
        counts = torch.bincount(indices.reshape(-1), minlength=codebook_size).float()
        prob = counts / counts.sum().clamp(min=1.0)
        perplexity = torch.exp(-(prob * torch.log(prob + 1e-10)).sum())
        return perplexity, (counts > 0).float().mean()

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        b, d, n = z.shape
        flat = z.permute(0, 2, 1).reshape(-1, d)
        if self.training and not bool(self.initialized):
            self._init_codebook(flat.detach().float())
        idx = self.nearest(flat.detach().float(), self.codebook.float())
        if self.training:
            self._ema_update(flat.detach().float(), idx)
        codes = F.embedding(idx, self.codebook).to(z.dtype)
        commit = F.mse_loss(flat, codes.detach())
        quant = flat + (codes - flat).detach()          # straight-through estimator
        perplexity, usage = self.code_stats(idx, self.codebook_size)
        quant = quant.view(b, n, d).permute(0, 2, 1).contiguous()
        return QuantizerOutput(quant, idx.view(b, n), commit, perplexity, usage)
