"""pipeline.text: offline MiniLM sentence embeddings (default) and CLIP from a local folder."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from pipeline.text import (
    ClipTextEncoder,
    MiniLMTextEncoder,
    PromptTruncatedWarning,
    TextEncoder,
    load_text_encoder,
)


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    return load_text_encoder()


def test_default_is_minilm_384d_normalised_deterministic(minilm):
    assert isinstance(minilm, MiniLMTextEncoder)
    assert minilm.dim == 384 and minilm.max_tokens == 256
    prompts = ["waves with the right hand", "raises both arms", "A person is giving a speech."]
    emb = minilm.encode(prompts)
    assert isinstance(emb, torch.Tensor) and emb.dtype == torch.float32 and emb.shape == (3, 384)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(emb, minilm.encode(prompts), rtol=0, atol=1e-6)
    # batching does not change a prompt's embedding
    torch.testing.assert_close(emb[1:2], minilm.encode(["raises both arms"]), rtol=0, atol=1e-5)
    assert load_text_encoder("minilm") is minilm  # one model per process


def test_similar_prompts_are_closer(minilm):
    a, b, c = minilm.encode(["waves with the right hand", "waving his right hand", "sits down on a chair"])
    assert float(a @ b) > float(a @ c) + 0.3
    assert float(a @ b) > float(b @ c) + 0.3


def test_long_prompt_is_truncated_with_warning(minilm):
    long = "the person slowly raises the right arm above the head and then " * 40
    with pytest.warns(PromptTruncatedWarning, match="reads only 256"):
        emb, notes = minilm.encode_with_info(["nods", long])
    assert emb.shape == (2, 384)
    assert notes[0] is None and "prompt 2" in notes[1] and "Shorten" in notes[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, notes = minilm.encode_with_info(["nods"])
    assert notes == [None]


@pytest.mark.parametrize("bad", [[""], ["ok", "   "], ["\n\t"], []])
def test_empty_prompt_raises(minilm, bad):
    with pytest.raises(ValueError, match="empty|no prompts"):
        minilm.encode(bad)


def test_unknown_spec_raises(tmp_path):
    with pytest.raises(ValueError, match="unknown text encoder"):
        load_text_encoder(str(tmp_path / "no-such-folder"))


def _tiny_clip(folder: Path) -> Path:
    """A random 2-layer CLIP text tower with a hand-written BPE vocabulary (all offline)."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {c: i for i, c in enumerate(letters)}
    vocab.update({c + "</w>": len(letters) + i for i, c in enumerate(letters)})
    merges = []
    for word in ["waves", "with", "the", "right", "hand", "sits", "down", "on", "a", "chair"]:
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            merged = pieces[0] + pieces[1]
            if f"{pieces[0]} {pieces[1]}" not in merges:
                merges.append(f"{pieces[0]} {pieces[1]}")
            vocab.setdefault(merged, len(vocab))
            pieces = [merged] + pieces[2:]
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    CLIPTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt")).save_pretrained(folder)
    cfg = CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, projection_dim=24,
                         bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                         pad_token_id=vocab["<|endoftext|>"])
    torch.manual_seed(0)
    CLIPTextModelWithProjection(cfg).save_pretrained(folder)
    return folder


def test_tiny_clip_from_folder(tmp_path, monkeypatch):
    folder = _tiny_clip(tmp_path / "clip")
    monkeypatch.setenv("VERSA_TEXT_ENCODER", str(folder))
    enc = load_text_encoder()
    assert isinstance(enc, ClipTextEncoder)
    assert enc.dim == 24 and enc.max_tokens == 16
    emb = enc.encode(["waves with the right hand", "sits down on a chair"])
    assert emb.shape == (2, 24) and emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(emb, enc.encode(["waves with the right hand", "sits down on a chair"]))
    with pytest.warns(PromptTruncatedWarning, match="reads only 16"):
        _, notes = enc.encode_with_info(["waves with the right hand " * 5])
    assert notes[0] is not None
    with pytest.raises(ValueError, match="empty"):
        enc.encode([" "])


def test_clip_folder_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json.*model.safetensors"):
        ClipTextEncoder(tmp_path)
    folder = _tiny_clip(tmp_path / "clip")
    for name in ("vocab.json", "merges.txt", "tokenizer.json"):
        (folder / name).unlink()
    with pytest.raises(FileNotFoundError, match="vocab.json and merges.txt"):
        ClipTextEncoder(folder)
