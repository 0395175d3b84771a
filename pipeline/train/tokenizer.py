"""Train the motion tokenizer (VQ-VAE) on a HumanML3D-layout dataset, and evaluate it.

    python -m pipeline.train.tokenizer --dataset cache/motion-dataset \
        --out assets/checkpoints/motion_tokenizer --steps 4000
    accelerate launch -m pipeline.train.tokenizer ...      # same script, many GPUs (DDP)

Random 64-frame windows (shorter clips are edge-padded and the padding masked out of the loss), drawn in
proportion to clip length, times ``--action-weight NAME=W`` for the clips of a library action or group
(old / new / other) to oversample them,
AdamW with linear warm-up then cosine decay, loss = smooth L1 on normalised features
+ a velocity term (smooth L1 of frame differences) + a joint-position term in metres (through
the differentiable feature -> joints recovery) + beta * commitment, as T2M-GPT / MoMask.
Every ``--save-every`` steps the full training state goes to ``<out>/checkpoint/``
(model.safetensors with EMA statistics, optimizer.pt, state.json); ``--resume`` continues from
it. At the end the inference weights are written to ``<out>`` (config.json + model.safetensors).
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.constants import CODEBOOK_SIZE
from pipeline.data.humanml3d import MotionDataset
from pipeline.motion.features import ROOT_HEIGHT, ROOT_ROT_VEL, features_to_joints_torch, recover_root
from pipeline.motion.tokenizer import MotionTokenizer, TokenizerConfig

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
OPTIMIZER_FILE = "optimizer.pt"


@dataclass
class TrainConfig:
    steps: int = 4000
    batch_size: int = 64
    window: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    vel_weight: float = 0.5
    joint_weight: float = 0.5          # on smooth-L1 of joint positions (metres x joint_scale)
    joint_scale: float = 10.0          # 10: decimetres (smooth L1 is quadratic under 10 cm); 100: centimetres
    root_weight: float = 1.0           # weight of the 4 root channels (rot vel, lin vel x/z, height) in the
                                       # feature loss, relative to the other 259
    traj_weight: float = 0.0           # smooth L1 of the root's ground path (x, z) integrated over the window, cm
    residual_layers: int = 0           # with --init-from: add residual codebooks up to this many (MoMask RVQ)
    residual_dropout: float = 0.5
    freeze_base: bool = False          # encoder + base codebook fixed: the base tokens keep their meaning
    grad_clip: float = 1.0
    save_every: int = 500
    eval_every: int = 0                # 0: only at the end
    seed: int = 0
    num_threads: int = 2
    max_minutes: float = 0.0           # >0: stop after this much training wall time; the LR schedule
                                       # then follows whichever of steps / time runs out first
    action_weights: dict = field(default_factory=dict)   # {"old": 3.0, "wave_left": 5.0}: window oversampling
    model: TokenizerConfig = field(default_factory=TokenizerConfig)

    def to_dict(self) -> dict:
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items() if k != "model"}
        out["model"] = self.model.to_dict()
        return out


# ---------------------------------------------------------------------------------------- data
class WindowSampler:
    """Random fixed-length windows of the training clips, chosen in proportion to clip length
    (times an optional per-clip weight: ``weights``, e.g. from :func:`clip_weights`)."""

    def __init__(self, clips: list[np.ndarray], window: int, seed: int = 0,
                 weights: np.ndarray | list[float] | None = None):
        if not clips:
            raise ValueError("no training clips")
        self.clips = [np.asarray(c, dtype=np.float32) for c in clips]
        self.window = window
        lengths = np.array([len(c) for c in self.clips], dtype=np.float64)
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != lengths.shape or (weights < 0).any() or not (weights * lengths).sum() > 0:
                raise ValueError(f"need one non-negative weight per clip, not all zero ({weights.shape} for "
                                 f"{len(lengths)} clips)")
            lengths = lengths * weights
        self.prob = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (B, W, 263), mask (B, W)) with short clips edge-padded and masked."""
        out = np.empty((size, self.window, self.clips[0].shape[1]), dtype=np.float32)
        mask = np.ones((size, self.window), dtype=np.float32)
        for b, i in enumerate(self.rng.choice(len(self.clips), size=size, p=self.prob)):
            clip = self.clips[i]
            if len(clip) >= self.window:
                start = self.rng.integers(0, len(clip) - self.window + 1)
                out[b] = clip[start:start + self.window]
            else:
                out[b, :len(clip)] = clip
                out[b, len(clip):] = clip[-1]
                mask[b, len(clip):] = 0.0
        return torch.from_numpy(out), torch.from_numpy(mask)


def load_split(dataset: MotionDataset, split: str) -> list[np.ndarray]:
    return [dataset.load(i).features for i in dataset.clip_ids(split)]


def load_split_with_actions(dataset: MotionDataset, split: str) -> tuple[list[np.ndarray], list[str | None]]:
    """A split's features and each clip's library action (sources.csv origin of a "synthetic" clip;
    None for mocap and for folders without sources.csv, e.g. the co-speech pairs)."""
    feats, actions = [], []
    for i in dataset.clip_ids(split):
        clip = dataset.load(i)
        feats.append(clip.features)
        actions.append(clip.origin if clip.source == "synthetic" and clip.origin else None)
    return feats, actions


def new_library_actions() -> set[str]:
    """The 37 whole-body actions issue 14 added to the procedural library (benchmarks.prompt_sets)."""
    from benchmarks.prompt_sets import NEW_ACTIONS

    return {action for _, action, _ in NEW_ACTIONS}


def action_group(action: str | None, new_actions: set[str]) -> str:
    """"new" (an issue-14 action), "old" (another library action) or "other" (mocap, co-speech)."""
    if action is None:
        return "other"
    return "new" if action in new_actions else "old"


def parse_action_weights(specs: list[str]) -> dict[str, float]:
    """["old=3", "wave_left=5"] -> {"old": 3.0, "wave_left": 5.0}."""
    out = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--action-weight wants NAME=W, got {spec!r}")
        w = float(value)
        if w < 0:
            raise ValueError(f"--action-weight {spec!r}: the weight must be >= 0")
        out[name.strip()] = w
    return out


def clip_weights(actions: list[str | None], spec: dict[str, float], new_actions: set[str]) -> np.ndarray:
    """Per-clip sampling weight: the weight of the clip's action name if given, else of its group
    ("old", "new", "other": :func:`action_group`), else 1."""
    known = set(spec) - {"old", "new", "other"}
    unknown = known - {a for a in actions if a is not None}
    if unknown:
        raise ValueError(f"--action-weight names no training clip's action: {sorted(unknown)}")
    return np.array([spec.get(a, spec.get(action_group(a, new_actions), 1.0)) if a is not None
                     else spec.get("other", 1.0) for a in actions], dtype=np.float64)


def group_shares(prob: np.ndarray, actions: list[str | None], new_actions: set[str]) -> dict[str, float]:
    """Expected fraction of the windows drawn from each group under the sampling probabilities."""
    shares = {"old": 0.0, "new": 0.0, "other": 0.0}
    for p, a in zip(prob, actions):
        shares[action_group(a, new_actions)] += float(p)
    return shares


# ---------------------------------------------------------------------------------------- loss
def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    while mask.dim() < x.dim():
        mask = mask.unsqueeze(-1)
    mask = mask.expand_as(x)
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def tokenizer_loss(model: MotionTokenizer, features: torch.Tensor, mask: torch.Tensor,
                   cfg: TrainConfig) -> tuple[torch.Tensor, dict]:
    out = model(features)
    rec, tgt = out.reconstruction, out.target
    per_channel = F.smooth_l1_loss(rec, tgt, reduction="none")
    if cfg.root_weight != 1.0:
        weight = torch.ones(per_channel.shape[-1], dtype=rec.dtype, device=rec.device)
        weight[ROOT_ROT_VEL.start:ROOT_HEIGHT.stop] = cfg.root_weight
        per_channel = per_channel * weight
    loss_rec = _masked_mean(per_channel, mask)
    vmask = mask[:, 1:] * mask[:, :-1]
    loss_vel = _masked_mean(F.smooth_l1_loss(rec[:, 1:] - rec[:, :-1], tgt[:, 1:] - tgt[:, :-1],
                                             reduction="none"), vmask)
    loss = loss_rec + cfg.vel_weight * loss_vel + model.config.commit_beta * out.commit_loss
    logs = {"rec": loss_rec.item(), "vel": loss_vel.item(), "commit": out.commit_loss.item()}
    if cfg.joint_weight > 0:
        pj = features_to_joints_torch(model.denormalize(rec))
        gj = features_to_joints_torch(features.to(rec.dtype))
        scale = cfg.joint_scale
        loss_joint = _masked_mean(F.smooth_l1_loss(pj * scale, gj * scale, reduction="none"), mask)
        loss = loss + cfg.joint_weight * loss_joint
        logs["joint"] = loss_joint.item()
    if cfg.traj_weight > 0:
        # The root's ground path integrated from the window's first frame: the drift the global
        # MPJPE of whole clips measures, penalised in centimetres (L1-like above 1 cm).
        _, p_pos = recover_root(model.denormalize(rec))
        _, g_pos = recover_root(features.to(rec.dtype))
        xz = [0, 2]
        loss_traj = _masked_mean(F.smooth_l1_loss(p_pos[..., xz] * 100.0, g_pos[..., xz] * 100.0,
                                                  reduction="none"), mask)
        loss = loss + cfg.traj_weight * loss_traj
        logs["traj"] = loss_traj.item()
    logs["perplexity"] = out.perplexity.item()
    logs["usage"] = out.usage.item()
    return loss, logs


def lr_factor(step: int, cfg: TrainConfig, time_progress: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio over the steps (or the time budget)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    progress = max(progress, min(1.0, time_progress))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


# ---------------------------------------------------------------------------------------- eval
@torch.no_grad()
def evaluate_tokenizer(model: MotionTokenizer, dataset: MotionDataset | str | Path, split: str = "test",
                       max_clips: int | None = None) -> dict:
    """Reconstruction quality of decode(encode(x)) on a split's whole clips.

    Returns mpjpe_mm (global: root trajectory integrated from the reconstructed velocities, as the
    pipeline uses it; base-layer tokens only, what the generator produces), mpjpe_root_rel_mm (joints
    relative to the root joint), with residual layers also mpjpe_mm_all_layers and
    mpjpe_root_rel_mm_all_layers (every layer of encode_residual), codebook_usage
    (fraction of the codebook used by the split's tokens), perplexity (of the split's token
    histogram), clips and frames evaluated.
    """
    if not isinstance(dataset, MotionDataset):
        dataset = MotionDataset(dataset)
    was_training = model.training
    model.eval()
    device = model.mean.device
    ids = dataset.clip_ids(split)[:max_clips]
    err_sum = err_rel_sum = err_all = err_rel_all = 0.0
    frames = 0
    tokens = []
    layered = len(getattr(model, "residuals", ())) > 0
    for clip_id in ids:
        feats = torch.from_numpy(dataset.load(clip_id).features).float().to(device)[None]
        toks = model.encode(feats)
        gj = features_to_joints_torch(feats.double())[0]
        recs = [model.decode(toks, length=feats.shape[1])]
        if layered:
            recs.append(model.decode(model.encode_residual(feats), length=feats.shape[1]))
        for k, rec in enumerate(recs):
            pj = features_to_joints_torch(rec.double())[0]
            e = (pj - gj).norm(dim=-1).mean(-1).sum().item()
            e_rel = ((pj - pj[:, :1]) - (gj - gj[:, :1])).norm(dim=-1).mean(-1).sum().item()
            if k == 0:
                err_sum, err_rel_sum = err_sum + e, err_rel_sum + e_rel
            else:
                err_all, err_rel_all = err_all + e, err_rel_all + e_rel
        frames += feats.shape[1]
        tokens.append(toks.reshape(-1).cpu())
    model.train(was_training)
    all_tokens = torch.cat(tokens)
    k = model.config.codebook_size
    perplexity, usage = model.quantizer.code_stats(all_tokens, k)
    out = {
        "mpjpe_mm": 1000.0 * err_sum / max(frames, 1),
        "mpjpe_root_rel_mm": 1000.0 * err_rel_sum / max(frames, 1),
        "codebook_usage": float(usage),
        "perplexity": float(perplexity),
        "clips": len(ids),
        "frames": frames,
    }
    if layered:   # base + every residual layer (real motion only: the generator makes base tokens)
        out["mpjpe_mm_all_layers"] = 1000.0 * err_all / max(frames, 1)
        out["mpjpe_root_rel_mm_all_layers"] = 1000.0 * err_rel_all / max(frames, 1)
    return out


# ---------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(out: Path, model: MotionTokenizer, optimizer: torch.optim.Optimizer, step: int,
                    cfg: TrainConfig, elapsed: float) -> Path:
    """Full training state in <out>/checkpoint/: weights + EMA stats (safetensors), optimizer, step."""
    folder = out / CHECKPOINT_DIR
    model.save_pretrained(folder, dtype=torch.float32, training_state=True)
    # Our own file, written and read only by this script (never a user upload).
    torch.save(optimizer.state_dict(), folder / OPTIMIZER_FILE)
    (folder / STATE_FILE).write_text(json.dumps({"step": step, "elapsed_s": elapsed, "train": cfg.to_dict()},
                                                indent=2) + "\n", encoding="utf-8")
    return folder


def load_checkpoint(out: Path, model: MotionTokenizer, optimizer: torch.optim.Optimizer) -> tuple[int, float]:
    from safetensors.torch import load_file

    folder = out / CHECKPOINT_DIR
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    optimizer.load_state_dict(torch.load(folder / OPTIMIZER_FILE, map_location="cpu", weights_only=True))
    return int(state["step"]), float(state.get("elapsed_s", 0.0))


# ---------------------------------------------------------------------------------------- training
def train_tokenizer(dataset_dir: str | Path, out_dir: str | Path, cfg: TrainConfig | None = None,
                    resume: bool = False, progress: bool = True, fp16_check: bool = True,
                    extra_datasets: list[str | Path] | tuple = (), init_from: str | Path | None = None) -> dict:
    """Train, write <out>/config.json + model.safetensors (+ metrics.json), return the metrics.

    ``extra_datasets`` are further HumanML3D-layout folders (the synthetic co-speech pairs) whose
    train clips join the training windows, so that the codebook can express beat strokes; the
    normalisation statistics and the headline test metrics stay those of ``dataset_dir``, and each
    extra folder's test split is reported on its own.
    """
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    cfg = cfg or TrainConfig()
    out = Path(out_dir)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    if accelerator.device.type == "cpu" and cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed + accelerator.process_index)

    dataset = MotionDataset(dataset_dir)
    mean, std = dataset.statistics()
    if init_from is not None and not (resume and (out / CHECKPOINT_DIR / STATE_FILE).exists()):
        model = MotionTokenizer.from_pretrained(init_from)
        if cfg.residual_layers > model.config.residual_layers:
            # New residual codebooks (k-means initialised on the first batch) after the loaded ones.
            config = TokenizerConfig.from_dict({**model.config.to_dict(), "residual_layers": cfg.residual_layers,
                                                "residual_dropout": cfg.residual_dropout})
            grown = MotionTokenizer(config, model.mean, model.std)
            missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
            if unexpected or not all(k.startswith("residuals.") for k in missing):
                raise ValueError(f"cannot grow {init_from}: missing {missing}, unexpected {unexpected}")
            model = grown
        if not cfg.freeze_base:       # a frozen encoder keeps the normalisation it was trained with
            model.mean.copy_(torch.from_numpy(mean))
            model.std.copy_(torch.from_numpy(std))
        model.quantizer.initialized.fill_(True)
        cfg.model = model.config
        model.train()
    else:
        cfg.model.residual_layers = max(cfg.model.residual_layers, cfg.residual_layers)
        cfg.model.residual_dropout = cfg.residual_dropout
        model = MotionTokenizer(cfg.model, torch.from_numpy(mean), torch.from_numpy(std))
    if cfg.freeze_base:
        if init_from is None:
            raise ValueError("freeze_base needs --init-from (a trained encoder and base codebook to keep)")
        model.freeze_base = True
        model.encoder.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    start_step, elapsed_before = 0, 0.0
    if resume and (out / CHECKPOINT_DIR / STATE_FILE).exists():
        start_step, elapsed_before = load_checkpoint(out, model, optimizer)
        accelerator.print(f"resuming from step {start_step}")
    model, optimizer = accelerator.prepare(model, optimizer)
    raw = accelerator.unwrap_model(model)
    budget_s = cfg.max_minutes * 60.0
    t0 = time.time()

    def time_progress() -> float:
        return (elapsed_before + time.time() - t0) / budget_s if budget_s > 0 else 0.0

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg, time_progress()))
    with warnings.catch_warnings():        # fast-forwarding the schedule on resume, before any step
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(start_step):
            scheduler.step()
    extras = [MotionDataset(d) for d in extra_datasets]
    train_clips, train_actions = load_split_with_actions(dataset, "train")
    for extra in extras:
        feats, acts = load_split_with_actions(extra, "train")
        train_clips += feats
        train_actions += acts
    new_actions = new_library_actions()
    weights = clip_weights(train_actions, cfg.action_weights, new_actions) if cfg.action_weights else None
    sampler = WindowSampler(train_clips, cfg.window, weights=weights,
                            seed=cfg.seed * 1000 + start_step + accelerator.process_index)
    shares = group_shares(sampler.prob, train_actions, new_actions)
    accelerator.print("window shares: " + ", ".join(f"{k} {v:.3f}" for k, v in shares.items())
                      + (f" (action weights {cfg.action_weights})" if cfg.action_weights else ""))
    per_device = max(1, cfg.batch_size // accelerator.num_processes)

    model.train()
    bar = tqdm(range(start_step, cfg.steps), initial=start_step, total=cfg.steps, desc="tokenizer",
               disable=not (progress and accelerator.is_main_process), mininterval=5.0)
    logs: dict = {}
    history = []
    done = start_step
    for step in bar:
        if budget_s > 0 and time_progress() >= 1.0:
            accelerator.print(f"time budget of {cfg.max_minutes} min reached at step {step}")
            break
        features, mask = sampler.batch(per_device)
        features, mask = features.to(accelerator.device), mask.to(accelerator.device)
        # The quantizer reads the module itself; DDP wraps only the forward for gradient sync.
        loss, logs = tokenizer_loss_ddp(model, raw, features, mask, cfg)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if cfg.grad_clip:
            accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        if step % 50 == 0 or step == cfg.steps - 1:
            bar.set_postfix(loss=f"{loss.item():.4f}", rec=f"{logs['rec']:.4f}", ppl=f"{logs['perplexity']:.0f}",
                            lr=f"{scheduler.get_last_lr()[0]:.1e}")
            history.append({"step": step, "loss": loss.item(), **logs})
        done = step + 1
        if accelerator.is_main_process and cfg.save_every and (done % cfg.save_every == 0) and done < cfg.steps:
            save_checkpoint(out, raw, optimizer, done, cfg, elapsed_before + time.time() - t0)
        if cfg.eval_every and done % cfg.eval_every == 0 and accelerator.is_main_process and done < cfg.steps:
            metrics = evaluate_tokenizer(raw, dataset, "val")
            accelerator.print(f"step {done}: val {json.dumps(metrics)}")
            model.train()
    wall = elapsed_before + time.time() - t0
    accelerator.wait_for_everyone()
    result: dict = {"steps": done, "train_wall_s": round(wall, 1), "window_shares": shares}
    if accelerator.is_main_process:
        save_checkpoint(out, raw, optimizer, done, cfg, wall)
        raw.eval()
        metrics = evaluate_tokenizer(raw, dataset, "test")
        result["test"] = metrics
        for extra in extras:
            result[f"test_{extra.root.name}"] = evaluate_tokenizer(raw, extra, "test")
        dtype = torch.float32
        if fp16_check:
            raw.save_pretrained(out / CHECKPOINT_DIR / "fp16", dtype=torch.float16)
            half = MotionTokenizer.from_pretrained(out / CHECKPOINT_DIR / "fp16", device=raw.mean.device)
            metrics16 = evaluate_tokenizer(half, dataset, "test")
            result["test_fp16"] = metrics16
            # fp16 storage is kept only when it changes test MPJPE by less than 0.1 mm.
            if abs(metrics16["mpjpe_mm"] - metrics["mpjpe_mm"]) < 0.1:
                dtype = torch.float16
        result["weights_dtype"] = str(dtype).replace("torch.", "")
        raw.save_pretrained(out, dtype=dtype, metadata={"steps": done})
        result["train_config"] = cfg.to_dict()
        result["init_from"] = str(init_from) if init_from is not None else None
        result["extra_datasets"] = [str(d) for d in extra_datasets]
        result["parameters"] = raw.num_parameters()
        result["history"] = history
        (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        accelerator.print(json.dumps({k: v for k, v in result.items() if k not in ("history", "train_config")},
                                     indent=2))
    return result


def tokenizer_loss_ddp(model, raw: MotionTokenizer, features, mask, cfg: TrainConfig):
    """tokenizer_loss through the (possibly DDP-wrapped) module so gradients are synchronised."""
    if model is raw:
        return tokenizer_loss(raw, features, mask, cfg)

    class _Proxy:
        config = raw.config
        denormalize = staticmethod(raw.denormalize)

        def __call__(self, x):
            return model(x)
    return tokenizer_loss(_Proxy(), features, mask, cfg)  # type: ignore[arg-type]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="cache/motion-dataset", help="HumanML3D-layout dataset folder")
    p.add_argument("--extra-dataset", action="append", default=[],
                   help="another HumanML3D-layout folder whose train clips join training (repeatable), "
                        "e.g. the co-speech pairs in cache/cospeech")
    p.add_argument("--init-from", help="start from this saved tokenizer's weights (fine-tuning)")
    p.add_argument("--out", default="assets/checkpoints/motion_tokenizer", help="output folder")
    t, m = TrainConfig(), TokenizerConfig()
    p.add_argument("--steps", type=int, default=t.steps)
    p.add_argument("--batch-size", type=int, default=t.batch_size)
    p.add_argument("--window", type=int, default=t.window)
    p.add_argument("--lr", type=float, default=t.lr)
    p.add_argument("--warmup-steps", type=int, default=t.warmup_steps)
    p.add_argument("--vel-weight", type=float, default=t.vel_weight)
    p.add_argument("--joint-weight", type=float, default=t.joint_weight)
    p.add_argument("--joint-scale", type=float, default=t.joint_scale,
                   help="joint positions are compared in metres x this (10: dm, 100: cm)")
    p.add_argument("--root-weight", type=float, default=t.root_weight,
                   help="weight of the 4 root channels in the feature loss")
    p.add_argument("--traj-weight", type=float, default=t.traj_weight,
                   help="weight of the integrated root ground path loss (cm)")
    p.add_argument("--save-every", type=int, default=t.save_every)
    p.add_argument("--eval-every", type=int, default=t.eval_every)
    p.add_argument("--max-minutes", type=float, default=t.max_minutes,
                   help="stop after this many minutes of training (LR schedule follows the budget)")
    p.add_argument("--action-weight", action="append", default=[], metavar="NAME=W",
                   help="oversample the training windows of some clips (repeatable): windows are drawn in "
                        "proportion to clip length x W. NAME is a library action (a synthetic clip's origin in "
                        "sources.csv, e.g. wave_left) or a group: 'new' (the 37 issue-14 actions, "
                        "benchmarks.prompt_sets.NEW_ACTIONS), 'old' (the other library actions), 'other' (mocap "
                        "and co-speech clips); an action's own weight beats its group's, unnamed clips get 1. "
                        "The resulting old / new / other window shares are printed at start")
    p.add_argument("--seed", type=int, default=t.seed)
    p.add_argument("--threads", type=int, default=t.num_threads, help="CPU threads (torch.set_num_threads)")
    p.add_argument("--width", type=int, default=m.width)
    p.add_argument("--code-dim", type=int, default=m.code_dim)
    p.add_argument("--depth", type=int, default=m.depth)
    p.add_argument("--codebook-size", type=int, default=CODEBOOK_SIZE)
    p.add_argument("--commit-beta", type=float, default=m.commit_beta)
    p.add_argument("--residual-layers", type=int, default=t.residual_layers,
                   help="residual codebooks after the base one (MoMask RVQ); with --init-from, added to it")
    p.add_argument("--residual-dropout", type=float, default=t.residual_dropout)
    p.add_argument("--freeze-base", action="store_true",
                   help="keep the encoder and base codebook of --init-from (its tokens keep their meaning)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint/")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    model_cfg = TokenizerConfig(codebook_size=a.codebook_size, code_dim=a.code_dim, width=a.width, depth=a.depth,
                                commit_beta=a.commit_beta)
    cfg = TrainConfig(steps=a.steps, batch_size=a.batch_size, window=a.window, lr=a.lr, warmup_steps=a.warmup_steps,
                      vel_weight=a.vel_weight, joint_weight=a.joint_weight, joint_scale=a.joint_scale,
                      root_weight=a.root_weight, traj_weight=a.traj_weight, residual_layers=a.residual_layers,
                      residual_dropout=a.residual_dropout, freeze_base=a.freeze_base, save_every=a.save_every,
                      eval_every=a.eval_every, max_minutes=a.max_minutes, seed=a.seed,
                      action_weights=parse_action_weights(a.action_weight), num_threads=a.threads, model=model_cfg)
    if a.resume and (Path(a.out) / CHECKPOINT_DIR / "config.json").exists():
        cfg.model = TokenizerConfig.from_json(Path(a.out) / CHECKPOINT_DIR / "config.json")
    train_tokenizer(a.dataset, a.out, cfg, resume=a.resume, progress=not a.no_progress,
                    extra_datasets=a.extra_dataset, init_from=a.init_from)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
