"""Motion tokenizer (VQ-VAE): shapes, save/load, the shipped checkpoint, the EMA codebook, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.constants import CODEBOOK_SIZE, FEATURE_DIM, TOKEN_DOWNSAMPLE
from pipeline.data.humanml3d import MotionDataset, write_clip, write_index
from pipeline.motion.features import features_to_joints_torch, group_normalised_std, joints_to_features
from pipeline.motion.tokenizer import EMAQuantizer, MotionTokenizer, TokenizerConfig
from pipeline.train.tokenizer import (
    TrainConfig,
    WindowSampler,
    clip_weights,
    evaluate_tokenizer,
    group_shares,
    load_split_with_actions,
    parse_action_weights,
    train_tokenizer,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "assets" / "checkpoints" / "motion_tokenizer"
BUILT_DATASET = REPO_ROOT / "cache" / "motion-dataset"

# Measured on the shipped checkpoint (see its README.md), with margin.
HELD_OUT_MPJPE_BOUND_MM = 160.0      # measured 115 mm (global) on test clip Mcmu_002_04_00
PROCEDURAL_MPJPE_BOUND_MM = 50.0     # measured 23 mm on procedural wave_right, seed 0

torch.set_num_threads(1)   # tiny models: a second thread only adds contention on a shared CPU


def _tiny_config(**kw) -> TokenizerConfig:
    base = dict(width=32, code_dim=16, depth=1, codebook_size=CODEBOOK_SIZE, kmeans_iters=2)
    base.update(kw)
    return TokenizerConfig(**base)


def _procedural_features(name: str = "wave_right", seed: int = 0) -> np.ndarray:
    from pipeline.data.synthetic.procedural import generate_action

    clip = generate_action(name, np.random.default_rng(seed))
    return joints_to_features(clip.joints)


@pytest.fixture(scope="module")
def tiny_model() -> MotionTokenizer:
    torch.manual_seed(0)
    model = MotionTokenizer(_tiny_config())
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 32, FEATURE_DIM))     # initialises the codebook from a batch
    return model.eval()


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    """A few procedural clips in the HumanML3D layout (train/val/test), with statistics."""
    from pipeline.data.synthetic.procedural import generate_action

    root = tmp_path_factory.mktemp("motion-dataset")
    names = ["wave_right", "nod", "raise_both_arms", "shrug"]
    from pipeline.data.synthetic.procedural import action_names

    names = [n for n in names if n in action_names()] or action_names()[:4]
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    sources, feats = {}, []
    for k in range(6):
        name = names[k % len(names)]
        clip = generate_action(name, np.random.default_rng(k))
        f = joints_to_features(clip.joints)
        clip_id = f"{k:06d}"
        write_clip(root, clip_id, clip.joints[:len(f)], f, clip.captions)
        splits["train" if k < 4 else ("val" if k == 4 else "test")].append(clip_id)
        sources[clip_id] = ("synthetic", name)
        feats.append(f)
    stacked = np.concatenate(feats)
    np.save(root / "Mean.npy", stacked.mean(0).astype(np.float32))
    np.save(root / "Std.npy", np.maximum(group_normalised_std(stacked.std(0)), 1e-3).astype(np.float32))
    write_index(root, splits, sources)
    return root


# ---------------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("length", [4, 5, 7, 8, 30, 64, 65])
def test_encode_decode_shapes(tiny_model, length):
    x = torch.randn(3, length, FEATURE_DIM)
    tokens = tiny_model.encode(x)
    n = -(-length // TOKEN_DOWNSAMPLE)
    assert tokens.shape == (3, n) and tokens.dtype == torch.long
    assert int(tokens.min()) >= 0 and int(tokens.max()) < CODEBOOK_SIZE
    decoded = tiny_model.decode(tokens)
    assert decoded.shape == (3, TOKEN_DOWNSAMPLE * n, FEATURE_DIM)
    assert tiny_model.decode(tokens, length=length).shape == (3, length, FEATURE_DIM)
    assert tiny_model(x).reconstruction.shape == (3, length, FEATURE_DIM)


def test_batched_matches_single(tiny_model):
    x = torch.randn(4, 24, FEATURE_DIM)
    batched = tiny_model.encode(x)
    single = torch.cat([tiny_model.encode(x[i:i + 1]) for i in range(4)])
    assert torch.equal(batched, single)
    dec = tiny_model.decode(batched)
    dec_single = torch.cat([tiny_model.decode(batched[i:i + 1]) for i in range(4)])
    assert torch.allclose(dec, dec_single, atol=1e-5)


def test_bad_inputs_are_refused(tiny_model):
    with pytest.raises(ValueError):
        tiny_model.encode(torch.randn(10, FEATURE_DIM))
    with pytest.raises(ValueError):
        tiny_model.encode(torch.randn(1, 10, 12))
    with pytest.raises(ValueError):
        tiny_model.decode(torch.tensor([[0, CODEBOOK_SIZE]]))


def test_config_json_round_trip(tmp_path):
    cfg = _tiny_config(dilation_growth=2)
    cfg.to_json(tmp_path / "config.json")
    assert TokenizerConfig.from_json(tmp_path / "config.json") == cfg
    assert TokenizerConfig.from_json(tmp_path) == cfg
    assert TokenizerConfig.from_json(cfg.to_json()) == cfg


# ---------------------------------------------------------------------------------------- save / load
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_save_load_round_trip(tiny_model, tmp_path, dtype):
    mean, std = torch.randn(FEATURE_DIM) * 0.1, torch.rand(FEATURE_DIM) + 0.5
    tiny_model.mean.copy_(mean)
    tiny_model.std.copy_(std)
    tiny_model.save_pretrained(tmp_path, dtype=dtype)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = MotionTokenizer.from_pretrained(tmp_path)
    assert loaded.config == tiny_model.config and not loaded.training
    assert torch.equal(loaded.mean, tiny_model.mean) and torch.equal(loaded.std, tiny_model.std)
    x = torch.randn(2, 40, FEATURE_DIM) * std + mean
    tokens = tiny_model.encode(x)
    if dtype == torch.float32:
        assert torch.equal(loaded.encode(x), tokens)
        assert torch.allclose(loaded.decode(tokens), tiny_model.decode(tokens), atol=1e-6)
    else:
        assert (loaded.encode(x) == tokens).float().mean() >= 0.8   # random model: near-ties flip
        assert torch.allclose(loaded.decode(tokens), tiny_model.decode(tokens), atol=5e-2, rtol=1e-2)


def test_from_pretrained_refuses_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        MotionTokenizer.from_pretrained(tmp_path)


# ---------------------------------------------------------------------------------------- shipped weights
@pytest.fixture(scope="module")
def shipped() -> MotionTokenizer:
    if not (SHIPPED / "model.safetensors").exists():
        pytest.skip("the shipped tokenizer checkpoint is absent")
    return MotionTokenizer.from_pretrained(SHIPPED)


def _mpjpe_mm(model: MotionTokenizer, features: np.ndarray) -> float:
    x = torch.from_numpy(features).float()[None]
    rec = model.decode(model.encode(x), length=x.shape[1])
    pj, gj = features_to_joints_torch(rec.double()), features_to_joints_torch(x.double())
    return 1000.0 * float((pj - gj).norm(dim=-1).mean())


def test_shipped_checkpoint_loads(shipped):
    cfg = json.loads((SHIPPED / "config.json").read_text())
    assert cfg["codebook_size"] == CODEBOOK_SIZE and cfg["feature_dim"] == FEATURE_DIM
    assert 2 ** cfg["down_t"] == TOKEN_DOWNSAMPLE
    assert float(shipped.std.min()) > 0 and not torch.equal(shipped.mean, torch.zeros(FEATURE_DIM))
    assert (SHIPPED / "README.md").exists()
    assert (SHIPPED / "model.safetensors").stat().st_size < 16 * 2 ** 20


def test_shipped_reconstructs_held_out_clip(shipped):
    if (BUILT_DATASET / "test.txt").exists():
        dataset = MotionDataset(BUILT_DATASET)
        features = dataset.load(dataset.clip_ids("test")[0]).features
        bound = HELD_OUT_MPJPE_BOUND_MM
    else:
        features = _procedural_features("wave_right", 0)
        bound = PROCEDURAL_MPJPE_BOUND_MM
    tokens = shipped.encode(torch.from_numpy(features)[None])
    assert int(tokens.max()) < CODEBOOK_SIZE
    assert _mpjpe_mm(shipped, features) < bound


def test_shipped_reconstructs_procedural_wave(shipped):
    features = _procedural_features("wave_right", 0)
    assert _mpjpe_mm(shipped, features) < PROCEDURAL_MPJPE_BOUND_MM


# ---------------------------------------------------------------------------------------- quantizer
def _toy_run(reset_threshold: float) -> tuple[float, float]:
    """Codebook initialised on a tight blob, then fed a wide spread of points: usage before/after."""
    torch.manual_seed(0)
    q = EMAQuantizer(codebook_size=32, code_dim=2, decay=0.9, reset_threshold=reset_threshold, kmeans_iters=5)
    q.train()
    q(torch.randn(1, 2, 256) * 0.01)                       # init: every code inside the blob
    centres = torch.randn(32, 2) * 5.0                      # the data lives in 32 far-apart clusters
    def batch():
        idx = torch.randint(0, 32, (512,))
        return (centres[idx] + 0.05 * torch.randn(512, 2)).t()[None]
    before = float(q.code_stats(q.quantize(batch()), 32)[1])
    for _ in range(150):
        q(batch())
    after = float(q.code_stats(q.quantize(batch()), 32)[1])
    return before, after


def test_dead_codes_are_revived():
    before, after = _toy_run(reset_threshold=1.0)
    assert before < 0.5
    assert after > 0.8
    _, after_without_reset = _toy_run(reset_threshold=0.0)
    assert after_without_reset < after


def test_straight_through_and_commitment():
    q = EMAQuantizer(codebook_size=8, code_dim=4)
    q.train()
    z = torch.randn(2, 4, 10, requires_grad=True)
    out = q(z)
    assert out.commit_loss.item() >= 0
    out.quantized.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))       # straight-through: identity gradient
    q.eval()
    assert torch.equal(q.quantize(z.detach()), q(z.detach()).indices)


# ---------------------------------------------------------------------------------------- training
def test_window_sampling_follows_action_weights():
    # Each clip's features hold its index, so a window tells which clip it came from.
    lengths = [40, 40, 80, 10, 30]
    actions = ["wave_left", "jump_in_place", None, "nod", "wave_right"]
    clips = [np.full((n, FEATURE_DIM), i, dtype=np.float32) for i, n in enumerate(lengths)]
    new = {"jump_in_place"}
    spec = parse_action_weights(["old=3", "new=0.5", "nod=0", "wave_right=2"])
    weights = clip_weights(actions, spec, new)
    assert weights.tolist() == [3.0, 0.5, 1.0, 0.0, 2.0]      # an action's own weight beats its group's
    sampler = WindowSampler(clips, window=16, seed=0, weights=weights)
    expected = np.array(lengths) * weights
    expected = expected / expected.sum()                      # 120, 20, 80, 0, 60 of 280
    np.testing.assert_allclose(sampler.prob, expected)
    drawn = np.concatenate([sampler.batch(500)[0][:, 0, 0].numpy() for _ in range(40)]).astype(int)
    observed = np.bincount(drawn, minlength=len(clips)) / len(drawn)
    np.testing.assert_allclose(observed, expected, atol=0.015)   # 20,000 windows: 3 sigma < 0.01
    assert observed[3] == 0.0
    shares = group_shares(sampler.prob, actions, new)
    assert shares == pytest.approx({"old": 180 / 280, "new": 20 / 280, "other": 80 / 280})
    # Without weights: in proportion to clip length, as before.
    np.testing.assert_allclose(WindowSampler(clips, 16).prob, np.array(lengths) / sum(lengths))


def test_action_weights_are_checked(tiny_dataset):
    feats, actions = load_split_with_actions(MotionDataset(tiny_dataset), "train")
    assert len(feats) == len(actions) == 4 and all(a is not None for a in actions)
    assert clip_weights(actions, {"old": 2.0}, set()).tolist() == [2.0] * 4
    with pytest.raises(ValueError, match="names no training clip"):
        clip_weights(actions, {"wave_lefft": 2.0}, set())
    for bad in (["old"], ["=2"], ["old=-1"]):
        with pytest.raises(ValueError):
            parse_action_weights(bad)
    with pytest.raises(ValueError, match="not all zero"):
        WindowSampler(feats, 16, weights=[0.0] * 4)


@pytest.mark.slow
def test_training_smoke_and_resume(tiny_dataset, tmp_path):
    cfg = TrainConfig(steps=20, batch_size=8, window=16, warmup_steps=5, save_every=10, num_threads=1,
                      model=_tiny_config())
    result = train_tokenizer(tiny_dataset, tmp_path, cfg, progress=False)
    assert result["steps"] == 20
    for key in ("mpjpe_mm", "mpjpe_root_rel_mm", "codebook_usage", "perplexity"):
        assert np.isfinite(result["test"][key])
    assert (tmp_path / "config.json").exists() and (tmp_path / "model.safetensors").exists()
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert state["step"] == 20
    model = MotionTokenizer.from_pretrained(tmp_path)
    assert model.encode(torch.randn(1, 16, FEATURE_DIM)).shape == (1, 4)

    cfg.steps = 25
    resumed = train_tokenizer(tiny_dataset, tmp_path, cfg, resume=True, progress=False, fp16_check=False)
    assert resumed["steps"] == 25
    assert all(h["step"] >= 20 for h in resumed["history"])
    assert json.loads((tmp_path / "checkpoint" / "state.json").read_text())["step"] == 25


def test_evaluate_tokenizer_keys(tiny_dataset, tiny_model):
    model = MotionTokenizer(tiny_model.config)
    model.load_state_dict(tiny_model.state_dict())
    metrics = evaluate_tokenizer(model, MotionDataset(tiny_dataset), split="test")
    assert set(metrics) >= {"mpjpe_mm", "mpjpe_root_rel_mm", "codebook_usage", "perplexity"}
    assert 0 < metrics["codebook_usage"] <= 1 and metrics["perplexity"] >= 1


# ---------------------------------------------------------------------------------------- residual layers
def test_residual_layers_refine_and_keep_the_base_tokens(tiny_model):
    """encode() is the base layer whatever the residual layers; more layers reconstruct the latents
    more closely; decode takes (B, N) base tokens or (B, L, N) layers."""
    torch.manual_seed(1)
    cfg = _tiny_config(residual_layers=2, codebook_size=64)
    model = MotionTokenizer(cfg)
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 64, FEATURE_DIM))          # k-means initialises every layer
    model.eval()
    x = torch.randn(2, 32, FEATURE_DIM)
    layers = model.encode_residual(x)
    assert layers.shape == (2, 3, 8) and torch.equal(layers[:, 0], model.encode(x))
    with torch.no_grad():
        z = model.encode_latents(x)
    approx = [model.quantizer.dequantize(layers[:, 0])]
    for q, layer in zip(model.residuals, layers[:, 1:].unbind(1)):
        approx.append(approx[-1] + q.dequantize(layer))
    errors = [float((z - a).pow(2).mean()) for a in approx]
    assert errors[2] < errors[1] < errors[0]
    assert model.decode(layers[:, :1]).shape == model.decode(layers[:, 0]).shape == (2, 32, FEATURE_DIM)
    assert torch.allclose(model.decode(layers[:, :1]), model.decode(layers[:, 0]))
    with pytest.raises(ValueError):
        model.decode(torch.zeros(1, 4, 8, dtype=torch.long))   # more layers than it has


@pytest.mark.slow
def test_residual_training_with_a_frozen_base_keeps_the_tokens(tiny_dataset, tmp_path):
    """--residual-layers with --freeze-base: residual codebooks are added to a trained tokenizer and
    only they and the decoder learn, so every motion keeps its base tokens (the generator's and the
    relation bank's) and reloads with the layers."""
    first = TrainConfig(steps=10, batch_size=8, window=16, warmup_steps=2, save_every=0, num_threads=1,
                        model=_tiny_config())
    train_tokenizer(tiny_dataset, tmp_path / "base", first, progress=False, fp16_check=False)
    cfg = TrainConfig(steps=6, batch_size=8, window=16, warmup_steps=2, save_every=0, num_threads=1,
                      residual_layers=2, freeze_base=True)
    result = train_tokenizer(tiny_dataset, tmp_path / "rvq", cfg, progress=False, fp16_check=False,
                             init_from=tmp_path / "base")
    assert np.isfinite(result["test"]["mpjpe_mm_all_layers"])
    base = MotionTokenizer.from_pretrained(tmp_path / "base")
    rvq = MotionTokenizer.from_pretrained(tmp_path / "rvq")
    assert rvq.config.residual_layers == 2 and len(rvq.residuals) == 2
    ds = MotionDataset(tiny_dataset)
    for cid in ds.clip_ids():
        f = torch.from_numpy(ds.load(cid).features)[None]
        assert torch.equal(base.encode(f), rvq.encode(f))
    assert torch.equal(base.encoder.net[0].weight, rvq.encoder.net[0].weight)
