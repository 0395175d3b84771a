"""A text-motion retrieval evaluator (contrastive text and motion encoders, as HumanML3D's evaluator
and TMR), with R-precision and FID.

- Motion encoder: the action classifier's pose- and person-invariant input (132-d per frame, see
  pipeline.eval.action_classifier.motion_input) -> residual dilated temporal convolutions ->
  masked mean + max pooling -> a 128-d unit vector.
- Text encoder: frozen all-MiniLM-L6-v2 sentence embeddings (384-d) -> a two-layer MLP -> a 128-d
  unit vector.
- Trained with a symmetric InfoNCE loss (temperature 0.07) on (caption, clip) pairs of a dataset's
  TRAIN split; in-batch negatives whose captions mean nearly the same (MiniLM cosine > 0.9, e.g.
  two draws of the same action) are not counted as negatives (TMR's filtering).

R-precision (HumanML3D protocol): each test caption against a pool of 32 motions (its own and 31
others drawn at random), ranked by embedding distance; top-1 / top-3 = how often its own motion is
first / in the first three. FID: Frechet distance between the motion embeddings of two sets
(real test motion vs generated motion for the same captions).

    model = RetrievalEvaluator.from_pretrained("assets/checkpoints/retrieval_evaluator")
    r = r_precision(model.encode_text(captions), model.encode_motion(joints_list))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import linalg

from pipeline.eval.action_classifier import INPUT_DIM, _ResBlock, collate, masked_pool, motion_input
from pipeline.paths import REPO_ROOT
from pipeline.pretrained import PretrainedConfig, PretrainedModel, with_card_header

POOL_SIZE = 32


@dataclass
class RetrievalConfig(PretrainedConfig):
    model_type = "retrieval_evaluator"

    input_dim: int = INPUT_DIM
    text_dim: int = 384
    hidden: int = 128
    embed_dim: int = 128
    kernel_size: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    dropout: float = 0.1
    temperature: float = 0.07
    text_encoder: str = "minilm"


class RetrievalEvaluator(PretrainedModel, nn.Module):
    """Contrastive text and motion encoders into one embedding space.

    Its motion side reuses the action classifier's input, residual blocks and pooling; both save
    and load through :class:`pipeline.pretrained.PretrainedModel`."""

    card_metadata = {
        "license": "mit",
        "library_name": "pytorch",
        "pipeline_tag": "feature-extraction",
        "tags": ["motion", "text-motion-retrieval", "contrastive", "evaluation", "versaanimator", "safetensors"],
        "datasets": ["cmu-mocap", "versastudio-procedural-actions"],
    }

    config_class = RetrievalConfig
    missing_hint = "train one with python -m pipeline.train.retrieval"

    def __init__(self, config: RetrievalConfig):
        super().__init__()
        self.config = config
        c = config
        self.inp = nn.Conv1d(c.input_dim, c.hidden, 1)
        self.blocks = nn.ModuleList([_ResBlock(c.hidden, c.kernel_size, d, c.dropout) for d in c.dilations])
        self.motion_head = nn.Linear(2 * c.hidden, c.embed_dim)
        self.text_head = nn.Sequential(nn.Linear(c.text_dim, 256), nn.GELU(), nn.Dropout(c.dropout),
                                       nn.Linear(256, c.embed_dim))
        self.register_buffer("mean", torch.zeros(c.input_dim))
        self.register_buffer("std", torch.ones(c.input_dim))

    def motion_embedding(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, T, input_dim) raw motion_input rows, mask (B, T) bool -> (B, embed_dim) unit rows."""
        x = ((x - self.mean) / self.std).transpose(1, 2)
        m = mask[:, None, :].float()
        h = self.inp(x) * m
        for block in self.blocks:
            h = block(h, m)
        return F.normalize(self.motion_head(masked_pool(h, m, -1e4)), dim=-1)

    def text_embedding(self, sentence: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_head(sentence), dim=-1)

    # ------------------------------------------------------------------ numpy-facing helpers
    @torch.inference_mode()
    def encode_motion(self, joints_list: list[np.ndarray], batch: int = 64) -> np.ndarray:
        """(N, embed_dim) unit rows for motions given as joints (T, 22, 3) at MOTION_FPS."""
        self.eval()
        out = []
        for s in range(0, len(joints_list), batch):
            x, lengths = collate([motion_input(j) for j in joints_list[s: s + batch]])
            out.append(self.motion_embedding(x, length_mask(lengths, x.shape[1])).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.config.embed_dim), np.float32)

    @torch.inference_mode()
    def encode_text(self, captions: list[str]) -> np.ndarray:
        from pipeline.text.encoder import load_text_encoder

        self.eval()
        sentence = load_text_encoder(self.config.text_encoder).encode(list(captions)).float()
        return self.text_embedding(sentence).numpy()

    # ------------------------------------------------------------------ checkpoints
    def save_pretrained(self, path: Path | str, *, card: str | None = None, metrics: dict | None = None) -> Path:
        """config.json + model.safetensors, and the model card (README.md, given the Hub header of
        :attr:`card_metadata` when it has none) and metrics.json when given."""
        return super().save_pretrained(path, card=card, metrics=metrics)

    def _weights_to_save(self, *, card: str | None, metrics: dict | None) -> tuple[dict, dict]:
        return super()._weights_to_save()

    def _save_files(self, directory: Path, *, card: str | None, metrics: dict | None) -> None:
        if metrics is not None:
            (directory / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        if card is not None:   # the model card, opening with the Hub's YAML header
            (directory / "README.md").write_text(with_card_header(card, self.card_metadata), encoding="utf-8")


def length_mask(lengths: torch.Tensor, t: int) -> torch.Tensor:
    """(B, T) bool: True on each row's valid frames."""
    return torch.arange(t)[None, :] < lengths[:, None]


def default_checkpoint_dir() -> Path:
    return REPO_ROOT / "assets" / "checkpoints" / "retrieval_evaluator"


# ------------------------------------------------------------------------------------ metrics
def r_precision(text_emb: np.ndarray, motion_emb: np.ndarray, pool: int = POOL_SIZE, repeats: int = 10,
                seed: int = 0) -> dict:
    """Top-1/2/3 R-precision: pair i is (text_emb[i], motion_emb[i]); pools of `pool` motions."""
    n = len(text_emb)
    if n < pool:
        raise ValueError(f"R-precision needs at least {pool} pairs for pools of {pool}, got {n}")
    rng = np.random.default_rng(seed)
    hits = np.zeros(3)
    count = 0
    for _ in range(repeats):
        for i in range(n):
            others = rng.choice(np.delete(np.arange(n), i), pool - 1, replace=False)
            cand = np.concatenate([[i], others])
            dist = np.linalg.norm(motion_emb[cand] - text_emb[i], axis=-1)
            rank = int((dist < dist[0]).sum())
            hits += [rank < 1, rank < 2, rank < 3]
            count += 1
    top = hits / count
    return {"top1": float(top[0]), "top2": float(top[1]), "top3": float(top[2]), "pairs": n, "pool": pool}


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two sets of embeddings (rows)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


__all__ = ["RetrievalConfig", "RetrievalEvaluator", "default_checkpoint_dir", "frechet_distance", "r_precision"]
