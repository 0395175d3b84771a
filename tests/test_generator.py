"""Dual-branch motion token generator: model, sampling, training step, persistence, and the
generation API with the shipped checkpoints (skipped when assets/ lacks them)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.constants import CODEBOOK_SIZE, FEATURE_DIM, NUM_JOINTS, TOKEN_DOWNSAMPLE, TOKENS_PER_SECOND
from pipeline.motion.generator import DualBranchGenerator, GeneratorConfig, SamplingOptions, decode_windowed
from pipeline.motion.generator.sampling import masked_decode, plan_windows
from pipeline.train.generator_text import mask_tokens, masked_loss

REPO = Path(__file__).resolve().parents[1]
CKPT = REPO / "assets" / "checkpoints"


def tiny_config(**kw) -> GeneratorConfig:
    base = dict(codebook_size=CODEBOOK_SIZE, d_model=32, n_layers=2, n_heads=2, ff=64, dropout=0.0, text_dim=16,
                audio_dim=12, audio_hidden=16, max_tokens=20)
    base.update(kw)
    return GeneratorConfig(**base)


def randomise_audio(model: DualBranchGenerator) -> None:
    """Give the zero-initialised projections weights, as after stage 2."""
    torch.manual_seed(5)
    for proj in model.audio.zero_proj:
        torch.nn.init.normal_(proj.weight, std=0.2)


@pytest.fixture()
def model() -> DualBranchGenerator:
    torch.manual_seed(0)
    return DualBranchGenerator(tiny_config()).eval()


def test_config_json_round_trip(tmp_path):
    cfg = tiny_config(cond_drop_prob=0.2)
    cfg.save(tmp_path)
    assert GeneratorConfig.load(tmp_path) == cfg
    assert cfg.mask_id == CODEBOOK_SIZE and cfg.pad_id == CODEBOOK_SIZE + 1
    with pytest.raises(ValueError, match="divisible"):
        tiny_config(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="unknown GeneratorConfig keys"):
        GeneratorConfig.from_dict({**cfg.to_dict(), "bogus": 1})


@pytest.mark.slow
def test_masked_training_step_reduces_loss():
    torch.manual_seed(0)
    cfg = tiny_config()
    m = DualBranchGenerator(cfg)
    tokens = torch.randint(0, 8, (4, 12))
    padding = torch.zeros_like(tokens, dtype=torch.bool)
    padding[0, 9:] = True
    tokens[padding] = cfg.pad_id
    cond = torch.randn(4, 1, cfg.text_dim).expand(-1, 12, -1)
    opt = torch.optim.AdamW(m.text.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    inputs, masked = mask_tokens(tokens, padding, cfg, g)
    assert not (masked & padding).any() and masked.sum(1).min() >= 1
    losses = []
    for _ in range(30):
        logits = m(inputs, cond, padding=padding)
        loss, _ = masked_loss(logits, tokens, masked)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_zero_init_audio_branch_is_a_no_op(model):
    tokens = torch.randint(0, CODEBOOK_SIZE, (2, 10))
    cond = torch.randn(2, 10, model.config.text_dim)
    audio_tok = model.audio_tokens(torch.randn(2, 40, model.config.audio_dim))
    assert audio_tok.shape == (2, 10, model.config.d_model)
    with torch.no_grad():
        text_only = model(tokens, cond)
        both = model(tokens, cond, audio_tok=audio_tok)
    torch.testing.assert_close(both, text_only, rtol=0, atol=0)
    randomise_audio(model)
    with torch.no_grad():
        assert not torch.allclose(model(tokens, cond, audio_tok=audio_tok), text_only)


def test_frozen_text_branch_gets_no_gradient(model):
    model.freeze_text_branch()
    model.train()
    assert not model.text.training
    tokens = torch.randint(0, CODEBOOK_SIZE, (2, 8))
    logits = model(tokens, torch.randn(2, 8, model.config.text_dim), audio_tok=model.audio_tokens(torch.randn(2, 32, 12)))
    logits.sum().backward()
    assert all(p.grad is None for p in model.text.parameters())
    assert model.audio.zero_proj[0].weight.grad is not None


def test_locked_tokens_stay_exactly(model):
    randomise_audio(model)
    n = 16
    values = torch.randint(0, CODEBOOK_SIZE, (1, n))
    locked = torch.rand(1, n, generator=torch.Generator().manual_seed(1)) < 0.5
    cond = torch.randn(1, n, model.config.text_dim)
    res = model.audio_residuals(model.audio_tokens(torch.randn(1, 4 * n, 12)))
    out = masked_decode(model, values, locked, cond, audio_res=res, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[locked], values[locked])
    assert ((out >= 0) & (out < CODEBOOK_SIZE)).all()


def test_windowed_decoding_length_and_locks(model):
    n = 57  # > window (20): two passes of batched windows
    cond = torch.randn(n, model.config.text_dim)
    audio_tok = model.audio_tokens(torch.randn(1, 4 * n, 12))[0]
    out = decode_windowed(model, torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.bool), cond,
                          audio_tok=audio_tok, options=SamplingOptions(steps=4), generator=torch.Generator().manual_seed(0))
    assert out.shape == (n,) and ((out >= 0) & (out < CODEBOOK_SIZE)).all()
    # every position is a target exactly once, and windows fit the model
    passes = plan_windows(torch.ones(n, dtype=torch.bool), model.config.max_tokens, 4, 2)
    covered = sorted(i for p in passes for ts, te, _, _ in p for i in range(ts, te))
    assert covered == list(range(n))
    assert all(we - ws <= model.config.max_tokens and ws <= ts < te <= we for p in passes for ts, te, ws, we in p)
    # span regeneration: nothing outside the span changes
    locked = torch.ones(n, dtype=torch.bool)
    locked[30:41] = False
    again = decode_windowed(model, out, locked, cond, audio_tok=audio_tok, options=SamplingOptions(steps=4),
                            generator=torch.Generator().manual_seed(3))
    assert torch.equal(again[locked], out[locked])


def test_same_seed_same_output_different_seed_differs(model):
    n = 30
    cond = torch.randn(n, model.config.text_dim)
    free = torch.zeros(n, dtype=torch.bool)
    run = lambda seed: decode_windowed(model, torch.zeros(n, dtype=torch.long), free, cond,  # noqa: E731
                                       generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_cfg_path_runs_and_matters(model):
    n = 12
    cond = torch.randn(1, n, model.config.text_dim)
    tokens = torch.zeros(1, n, dtype=torch.long)
    locked = torch.zeros(1, n, dtype=torch.bool)
    outs = {g: masked_decode(model, tokens, locked, cond, options=SamplingOptions(guidance=g, temperature=0, confidence_noise=0),
                             generator=torch.Generator().manual_seed(0)) for g in (1.0, 4.0)}
    assert outs[1.0].shape == outs[4.0].shape == (1, n)
    # per-row guidance in one batch equals the rows decoded alone
    both = masked_decode(model, tokens.expand(2, -1), locked.expand(2, -1), cond.expand(2, -1, -1),
                         guidance=torch.tensor([1.0, 4.0]), options=SamplingOptions(temperature=0, confidence_noise=0))
    assert torch.equal(both[0], outs[1.0][0]) and torch.equal(both[1], outs[4.0][0])



def test_audio_guidance_rows(model):
    """Audio guidance: 1.0 changes nothing; per-row scales in one batch equal the rows alone; rows
    with text guidance ignore it; the guided logits are no-audio + w * (audio - no-audio)."""
    randomise_audio(model)
    n = 12
    cond = torch.randn(1, n, model.config.text_dim)
    tokens = torch.zeros(1, n, dtype=torch.long)
    locked = torch.zeros(1, n, dtype=torch.bool)
    res = model.audio_residuals(model.audio_tokens(torch.randn(1, 4 * n, 12)))
    greedy = dict(temperature=0, confidence_noise=0, guidance=1.0)
    run = lambda **kw: masked_decode(model, tokens, locked, cond, audio_res=res, steps=1,  # noqa: E731
                                     options=SamplingOptions(**greedy, **kw))
    assert torch.equal(run(audio_guidance=1.0), run())
    with torch.no_grad():
        mask = torch.full_like(tokens, model.config.mask_id)
        with_audio, without = model(mask, cond, audio_res=res), model(mask, cond)
    assert torch.equal(run(audio_guidance=3.0)[0], (without + 3.0 * (with_audio - without)).argmax(-1)[0])
    # per-row scales, and a text-guided row is left alone by audio guidance
    rows = masked_decode(model, tokens.expand(3, -1), locked.expand(3, -1), cond.expand(3, -1, -1),
                         audio_res=[r.expand(3, -1, -1) for r in res], guidance=torch.tensor([1.0, 1.0, 4.0]),
                         audio_guidance=torch.tensor([1.0, 3.0, 3.0]), steps=1, options=SamplingOptions(**greedy))
    assert torch.equal(rows[0], run()[0]) and torch.equal(rows[1], run(audio_guidance=3.0)[0])
    text_only = masked_decode(model, tokens, locked, cond, audio_res=res, guidance=4.0, steps=1,
                              options=SamplingOptions(**greedy, audio_guidance=3.0))
    assert torch.equal(rows[2], text_only[0])



def test_audio_guidance_deterministic_and_only_on_audio_windows(model):
    """decode_windowed: audio guidance is deterministic per seed and leaves prompted windows alone."""
    randomise_audio(model)
    n = 30
    cond = torch.randn(n, model.config.text_dim)
    free = torch.zeros(n, dtype=torch.bool)
    audio_tok = model.audio_tokens(torch.randn(1, 4 * n, 12))[0]
    guided = torch.zeros(n, dtype=torch.bool)
    run = lambda g, **kw: decode_windowed(model, torch.zeros(n, dtype=torch.long), free, cond,  # noqa: E731
                                          audio_tok=audio_tok, guided=g, options=SamplingOptions(**kw),
                                          generator=torch.Generator().manual_seed(0))
    assert torch.equal(run(guided, audio_guidance=2.0), run(guided, audio_guidance=2.0))
    assert not torch.equal(run(guided, audio_guidance=2.0), run(guided))
    # every window prompted: audio guidance has no effect
    assert torch.equal(run(~guided, audio_guidance=2.0), run(~guided))

def test_save_load_round_trip(tmp_path, model):
    randomise_audio(model)
    model.save_pretrained(tmp_path / "full", dtype=torch.float32)
    loaded = DualBranchGenerator.from_pretrained(tmp_path / "full")
    tokens = torch.randint(0, CODEBOOK_SIZE, (1, 9))
    cond = torch.randn(1, 9, model.config.text_dim)
    audio_in = torch.randn(1, 36, 12)
    with torch.no_grad():
        audio_tok = model.audio_tokens(audio_in)
        # each model through its own audio block: the block's weights are part of the round trip
        torch.testing.assert_close(loaded.audio_tokens(audio_in), audio_tok)
        torch.testing.assert_close(loaded(tokens, cond, audio_tok=loaded.audio_tokens(audio_in)),
                                   model(tokens, cond, audio_tok=audio_tok))
    # fp16 storage (the default) stays close
    model.save_pretrained(tmp_path / "half")
    half = DualBranchGenerator.from_pretrained(tmp_path / "half")
    with torch.no_grad():
        torch.testing.assert_close(half(tokens, cond), model(tokens, cond), atol=2e-2, rtol=2e-2)
    # stage 1 saves the text branch only; loading it leaves the audio branch a no-op
    model.save_pretrained(tmp_path / "text", branches=("text",))
    text_only = DualBranchGenerator.from_pretrained(tmp_path / "text")
    assert text_only.loaded_branches == ("text",)
    with torch.no_grad():
        torch.testing.assert_close(text_only(tokens, cond, audio_tok=audio_tok), text_only(tokens, cond), rtol=0, atol=0)
    with pytest.raises(ValueError, match="no weights for branch"):
        DualBranchGenerator.from_pretrained(tmp_path / "text", branches=("text", "audio"))


def test_segment_validation_messages():
    from pipeline.motion.generate import parse_locked, token_prompts_for, validate_segments

    assert validate_segments([(1.5, 3.0, None), (0.0, 1.5, "wave")], 3.0) == [(0.0, 1.5, "wave"), (1.5, 3.0, None)]
    with pytest.raises(ValueError, match="do not cover the audio: nothing covers 2.00-3.00"):
        validate_segments([(0.0, 2.0, None)], 3.0)
    with pytest.raises(ValueError, match="do not cover"):
        validate_segments([(0.0, 1.0, None), (1.5, 3.0, None)], 3.0)
    with pytest.raises(ValueError, match="overlap"):
        validate_segments([(0.0, 2.0, None), (1.0, 3.0, None)], 3.0)
    with pytest.raises(ValueError, match="ends after the audio"):
        validate_segments([(0.0, 5.0, None)], 3.0)
    with pytest.raises(ValueError, match="no segments"):
        validate_segments([], 3.0)
    assert token_prompts_for([(0.0, 1.0, "a"), (1.0, 2.0, None)], 10) == ["a"] * 5 + [None] * 5
    values, locked = parse_locked({2: 7}, 5)
    assert locked.tolist() == [False, False, True, False, False] and int(values[2]) == 7
    with pytest.raises(ValueError, match="one entry per token"):
        parse_locked(np.full(4, -1), 5)
    with pytest.raises(ValueError, match="not a codebook id"):
        parse_locked(np.array([-1, 600]), 2)


# ----------------------------------------------------------------------------------------------
# with the shipped checkpoints
def _shipped() -> bool:
    return all((CKPT / d / "model.safetensors").exists() for d in ("motion_tokenizer", "motion_generator"))


needs_assets = pytest.mark.skipif(not _shipped(), reason="needs the shipped checkpoints in assets/checkpoints/"
                                  "motion_tokenizer and motion_generator (train them with pipeline.train.*)")


def speechlike(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Syllable-rate amplitude-modulated harmonic tone with pauses: enough to drive the audio features."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    env = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) * (np.sin(2 * np.pi * 0.5 * t) > -0.6)
    return (0.3 * voice * env + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def models():
    if not _shipped():
        pytest.skip("needs the shipped checkpoints in assets/checkpoints/motion_tokenizer and motion_generator")
    from pipeline.motion.generate import load_models

    return load_models(CKPT)


@needs_assets
def test_generate_two_segments(models):
    from pipeline.motion.generate import generate, regenerate_span

    audio = (16000, speechlike(3.0))
    res = generate(audio, [(0.0, 1.6, "a person waves with the right hand"), (1.6, 3.0, None)], seed=0, models=models)
    n = math.ceil(3.0 * TOKENS_PER_SECOND)
    assert res.tokens.shape == (n,)
    assert res.features.shape == (TOKEN_DOWNSAMPLE * n, FEATURE_DIM)
    assert res.joints.shape == (TOKEN_DOWNSAMPLE * n, NUM_JOINTS, 3)
    assert np.isfinite(res.joints).all() and np.isfinite(res.features).all()
    assert res.warnings == []
    again = generate(audio, [(0.0, 1.6, "a person waves with the right hand"), (1.6, 3.0, None)], seed=0, models=models)
    assert np.array_equal(again.tokens, res.tokens)
    # locks are kept, and a span edit changes nothing outside the span
    locks = np.full(n, -1)
    locks[:4] = res.tokens[:4]
    locked = generate(audio, res.segments, locked_tokens=locks, seed=7, models=models)
    assert np.array_equal(locked.tokens[:4], res.tokens[:4])
    edit = regenerate_span(res, 5, 10, seed=3, models=models)
    assert np.array_equal(edit.tokens[:5], res.tokens[:5]) and np.array_equal(edit.tokens[10:], res.tokens[10:])


@needs_assets
def test_generate_error_messages(models):
    from pipeline.audio import AudioError
    from pipeline.motion.generate import generate

    with pytest.raises(AudioError, match="(?i)silent"):
        generate((16000, np.zeros(48000, np.float32)), None, models=models)
    with pytest.raises(AudioError, match="(?i)short"):
        generate((16000, speechlike(0.3)), None, models=models)
    with pytest.raises(ValueError, match="do not cover the audio"):
        generate((16000, speechlike(3.0)), [(0.0, 2.0, None)], models=models)
    long_prompt = " ".join(["wave"] * 2000)
    res = generate((16000, speechlike(2.0)), [(0.0, 2.0, long_prompt)], models=models)
    assert any("truncat" in w.lower() or "ignored" in w.lower() for w in res.warnings), res.warnings
    assert np.isfinite(res.joints).all()


@needs_assets
def test_segment_borders_do_not_jump(models):
    """Bound (model card): the fastest frame step within 2 frames of a segment border is at most
    1.5x the fastest step inside the segments (measured <= 1.13x on 9 runs of 12-60 s)."""
    from pipeline.motion.generate import generate
    from benchmarks.motion_inputs import border_velocity, segments_for

    audio = speechlike(12.0, seed=1)
    res = generate((16000, audio), segments_for(12.0, 3.0), seed=0, models=models)
    v = border_velocity(res)
    assert v["border_max"] <= 1.5 * v["inside_max"], v


def test_fine_tune_init_refuses_another_tokenizer_or_other_sizes(tmp_path, model):
    """generator_text --init: a checkpoint whose tokens came from another tokenizer, or sizes that
    differ from its own, are refused with a message; a matching one loads with its audio branch."""
    from pipeline.motion.generator.config import tokenizer_sha256
    from pipeline.train.generator_text import load_init

    for name, payload in (("tok_a", b"tokenizer A weights"), ("tok_b", b"tokenizer B weights")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(payload)
    randomise_audio(model)
    model.config.tokenizer_sha256 = tokenizer_sha256(tmp_path / "tok_a")
    model.config.audio_guidance = 2.0
    model.save_pretrained(tmp_path / "gen", dtype=torch.float32)
    with pytest.raises(ValueError, match="codes of tokenizer .* not of --tokenizer"):
        load_init(tmp_path / "gen", tmp_path / "tok_b")
    with pytest.raises(ValueError, match="d_model 64 \\(it has 32\\)"):
        load_init(tmp_path / "gen", tmp_path / "tok_a", overrides={"d_model": 64, "n_layers": None})
    with pytest.raises(ValueError, match="width 384 \\(it has text_dim 16\\)"):
        load_init(tmp_path / "gen", tmp_path / "tok_a", text_dim=384)
    with pytest.raises(ValueError, match="no config.json"):
        load_init(tmp_path / "nothing", tmp_path / "tok_a")
    loaded = load_init(tmp_path / "gen", tmp_path / "tok_a", overrides={"d_model": 32}, text_dim=16)
    assert loaded.loaded_branches == ("text", "audio") and loaded.config.audio_guidance == 2.0
    tokens = torch.randint(0, CODEBOOK_SIZE, (1, 9))
    cond = torch.randn(1, 9, 16)
    audio_in = torch.randn(1, 36, 12)
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens, cond, audio_tok=loaded.audio_tokens(audio_in)),
                                   model(tokens, cond, audio_tok=model.audio_tokens(audio_in)))
    assert loaded.tokenizer_changed_from is None


def test_fine_tune_init_allow_tokenizer_change(tmp_path, model):
    """--allow-tokenizer-change: another tokenizer (one fine-tuned from the checkpoint's) is accepted,
    the weights load unchanged and the config then names the new tokenizer; the old sha is kept."""
    from pipeline.motion.generator.config import tokenizer_sha256
    from pipeline.train.generator_text import load_init

    for name, payload in (("tok_a", b"tokenizer A weights"), ("tok_b", b"tokenizer A fine-tuned")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(payload)
    model.config.tokenizer_sha256 = tokenizer_sha256(tmp_path / "tok_a")
    model.save_pretrained(tmp_path / "gen", dtype=torch.float32)
    with pytest.raises(ValueError, match="--allow-tokenizer-change"):
        load_init(tmp_path / "gen", tmp_path / "tok_b")
    loaded = load_init(tmp_path / "gen", tmp_path / "tok_b", allow_tokenizer_change=True)
    assert loaded.config.tokenizer_sha256 == tokenizer_sha256(tmp_path / "tok_b")
    assert loaded.tokenizer_changed_from == tokenizer_sha256(tmp_path / "tok_a")
    tokens = torch.randint(0, CODEBOOK_SIZE, (1, 9))
    cond = torch.randn(1, 9, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens, cond), model(tokens, cond))
    loaded.save_pretrained(tmp_path / "gen2", dtype=torch.float32)
    assert json.loads((tmp_path / "gen2" / "config.json").read_text())["tokenizer_sha256"] == \
        tokenizer_sha256(tmp_path / "tok_b")


def test_stage2_into_another_folder_carries_the_vocabulary(tmp_path):
    from pipeline.train.generator_audio import carry_stage1_files

    init, out = tmp_path / "stage1", tmp_path / "stage2"
    init.mkdir()
    (init / "vocabulary.json").write_text('{"actions": ["wave"], "unknown_threshold": 0.571}')
    (init / "train_log.json").write_text('{"text": {"steps": 3}}')
    assert carry_stage1_files(init, init) == []
    assert carry_stage1_files(init, out) == ["vocabulary.json", "train_log.json"]
    assert json.loads((out / "vocabulary.json").read_text())["unknown_threshold"] == 0.571
    (out / "train_log.json").write_text('{"audio": {"steps": 5}}')      # an earlier stage-2 log is kept
    assert carry_stage1_files(init, out) == ["vocabulary.json"]
    assert json.loads((out / "train_log.json").read_text()) == {"audio": {"steps": 5}}
