"""The relation bank: for each motion token, real 2D whole-body pose windows seen with it.

Each entry is one token's window (4 frames at 20 fps) of a template clip: its code, its 133
keypoints normalised (neck at the origin, divided by the clip's torso length) and their scores.
Saved as ``config.json`` + ``bank.safetensors`` (float16 keypoints, uint8 scores); no pickle.
Hands or a face that the builder drew from a canonical template (``hands_source`` /
``face_source`` == "canonical") are not stored: they are a function of the body and are redrawn
on loading, which keeps the shipped bank small.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.constants import CODEBOOK_SIZE, MOTION_FPS, TOKEN_DOWNSAMPLE
from pipeline.paths import REPO_ROOT
from pipeline.portrait.wholebody import FACE, HANDS, NUM_KEYPOINTS
from pipeline.pretrained import CONFIG_NAME, PretrainedConfig, PretrainedModel
from pipeline.token2pose.project import canonical_parts

WEIGHTS_NAME = "bank.safetensors"
DEFAULT_BANK_DIR = REPO_ROOT / "assets" / "relation_bank"


@dataclass
class RelationBankConfig(PretrainedConfig):
    """What a bank holds and how it was made (written to config.json, with the entry count and
    the number of codes covered for whoever reads the file; loading checks the count)."""

    model_type = "relation_bank"
    informational_keys = frozenset({"num_entries", "covered_codes"})

    codebook_size: int = CODEBOOK_SIZE
    window: int = TOKEN_DOWNSAMPLE
    fps: int = MOTION_FPS
    num_keypoints: int = NUM_KEYPOINTS
    normalisation: str = "neck (shoulder midpoint) at the origin, divided by the clip's median torso length"
    hands_source: str = "video"      # "video": detected hands worth drawing; "canonical": a template shape
    face_source: str = "video"
    max_per_code: int = 0            # 0: every window kept
    sources: list[str] = field(default_factory=list)
    built_with: str = ""
    tokenizer: str = ""
    notes: str = ""


@dataclass
class RelationBank(PretrainedModel):
    """Token -> 2D pose windows. codes (E,), keypoints (E, 4, 133, 2), scores (E, 4, 133),
    source (E,) index into config.sources, window (E,) the token index inside its source clip."""

    card_metadata = {
        "license": "mit",
        "tags": ["pose", "token2pose", "coco-wholebody", "talking-human", "versaanimator", "numpy", "safetensors"],
        "datasets": ["cmu-mocap", "versastudio-procedural-actions", "versastudio-synthetic-cospeech"],
    }

    config: RelationBankConfig
    codes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    source: np.ndarray
    window: np.ndarray

    def __post_init__(self) -> None:
        self.codes = np.asarray(self.codes, dtype=np.int64).reshape(-1)
        e, w, k = len(self.codes), self.config.window, self.config.num_keypoints
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32).reshape(e, w, k, 2)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(e, w, k)
        self.source = np.asarray(self.source, dtype=np.int64).reshape(e)
        self.window = np.asarray(self.window, dtype=np.int64).reshape(e)
        order = np.argsort(self.codes, kind="stable")
        for name in ("codes", "keypoints", "scores", "source", "window"):
            setattr(self, name, getattr(self, name)[order])
        self._starts = np.searchsorted(self.codes, np.arange(self.config.codebook_size + 1))

    def __len__(self) -> int:
        return int(len(self.codes))

    def entries_for(self, code: int) -> np.ndarray:
        """Indices of the entries of one code (empty when the bank never saw it)."""
        if not 0 <= code < self.config.codebook_size:
            return np.zeros(0, dtype=np.int64)
        return np.arange(self._starts[code], self._starts[code + 1])

    @property
    def covered_codes(self) -> np.ndarray:
        return np.unique(self.codes)

    def coverage_of(self, tokens: np.ndarray) -> float:
        """Share of ``tokens`` whose code has at least one entry."""
        tokens = np.asarray(tokens).reshape(-1)
        if len(tokens) == 0:
            return 0.0
        return float(np.isin(tokens, self.covered_codes).mean())

    def without_codes(self, codes) -> "RelationBank":
        """A copy lacking the given codes (tests and ablations of the projection fallback)."""
        keep = ~np.isin(self.codes, np.asarray(list(codes)))
        return RelationBank(self.config, self.codes[keep], self.keypoints[keep], self.scores[keep],
                            self.source[keep], self.window[keep])

    # ------------------------------------------------------------------ save / load
    config_class = RelationBankConfig
    weights_name = WEIGHTS_NAME
    framework = "numpy"
    missing_hint = "a folder written by RelationBank.save_pretrained or `python -m pipeline build-bank`"

    def save_pretrained(self, path: str | Path) -> Path:
        """config.json + bank.safetensors (float16 keypoints, uint8 scores; canonical parts left out)."""
        return super().save_pretrained(path)

    def _config_extras(self) -> dict[str, int]:
        return {"num_entries": len(self), "covered_codes": int(len(self.covered_codes))}

    def _weights_to_save(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        scores = np.round(np.clip(self.scores, 0.0, 1.0) * 255).astype(np.uint8)
        tensors = {
            "codes": self.codes.astype(np.int16),
            "source": self.source.astype(np.int32),
            "window": self.window.astype(np.int32),
        }
        for part, sl in _stored_parts(self.config).items():
            tensors[f"keypoints_{part}"] = self.keypoints[:, :, sl].astype(np.float16)
            tensors[f"scores_{part}"] = scores[:, :, sl]
        return tensors, {"format": "relation_bank", "entries": str(len(self))}

    @classmethod
    def from_pretrained(cls, path: str | Path, *, device: str = "cpu") -> "RelationBank":
        """The bank saved in ``path`` (numpy arrays: ``device`` can only be "cpu")."""
        return super().from_pretrained(path, device=device)

    @classmethod
    def _from_weights(cls, config: RelationBankConfig, t: dict[str, np.ndarray], directory: Path,
                      **options: Any) -> "RelationBank":
        e, w = len(t["codes"]), config.window
        written = json.loads((directory / CONFIG_NAME).read_text(encoding="utf-8")).get("num_entries", e)
        if written != e:
            raise ValueError(f"{directory / CONFIG_NAME} says {written} entries, {directory / WEIGHTS_NAME} holds {e}")
        keypoints = np.zeros((e, w, config.num_keypoints, 2), dtype=np.float32)
        scores = np.zeros((e, w, config.num_keypoints), dtype=np.float32)
        for part, sl in _stored_parts(config).items():
            keypoints[:, :, sl] = t[f"keypoints_{part}"].astype(np.float32)
            scores[:, :, sl] = t[f"scores_{part}"].astype(np.float32) / 255.0
        _redraw_canonical(config, keypoints, scores)
        return cls(config, t["codes"], keypoints, scores, t["source"], t["window"])

    @classmethod
    def empty(cls, config: RelationBankConfig | None = None) -> "RelationBank":
        config = config or RelationBankConfig()
        w, k = config.window, config.num_keypoints
        return cls(config, np.zeros(0), np.zeros((0, w, k, 2)), np.zeros((0, w, k)), np.zeros(0), np.zeros(0))


def _stored_parts(config: RelationBankConfig) -> dict[str, slice]:
    parts = {"body": slice(0, FACE.start)}
    if config.face_source != "canonical":
        parts["face"] = FACE
    if config.hands_source != "canonical":
        parts["hands"] = HANDS
    return parts


def _redraw_canonical(config: RelationBankConfig, keypoints: np.ndarray, scores: np.ndarray) -> None:
    """Fill canonical hands / face (not stored) from the stored body, in place."""
    flat_k = keypoints.reshape(-1, *keypoints.shape[2:])
    flat_s = scores.reshape(-1, scores.shape[-1])
    canonical_parts(flat_k, flat_s, hands=config.hands_source == "canonical",
                    face=config.face_source == "canonical", hand_length=CANONICAL_HAND_LENGTH)


CANONICAL_HAND_LENGTH = 0.19 / 0.51
"""Hand length in normalised units (a torso of 0.51 m is 1): 19 cm of hand."""


_DEFAULT_BANK: dict[tuple, RelationBank] = {}


def default_bank() -> RelationBank:
    """The shipped bank (assets/relation_bank), loaded once per process (its canonical hands and
    face are redrawn on load, ~150 ms: too slow to repeat on every studio edit). Its arrays are
    read-only; a rebuilt bank on disk (new mtime) is loaded again."""
    weights = DEFAULT_BANK_DIR / WEIGHTS_NAME
    key = (str(DEFAULT_BANK_DIR), weights.stat().st_mtime_ns if weights.exists() else 0)
    bank = _DEFAULT_BANK.get(key)
    if bank is None:
        bank = RelationBank.from_pretrained(DEFAULT_BANK_DIR)
        for array in (bank.codes, bank.keypoints, bank.scores, bank.source, bank.window):
            array.setflags(write=False)
        _DEFAULT_BANK.clear()
        _DEFAULT_BANK[key] = bank
    return bank


__all__ = ["CONFIG_NAME", "DEFAULT_BANK_DIR", "RelationBank", "RelationBankConfig", "WEIGHTS_NAME", "default_bank"]
