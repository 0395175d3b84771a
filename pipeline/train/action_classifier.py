"""Train the action classifier used to score text-to-action accuracy of generated motion.

    python -m pipeline.train.action_classifier --out assets/checkpoints/action_classifier

Data
  * actions: the motion dataset's train-split synthetic clips (label = their action, `origin`)
    plus fresh procedural clips drawn with another seed than the dataset's (default seed 1,
    --variations per action), passed through the same joints -> 263-d features -> joints round
    trip as the dataset so they look like dataset (and decoded generator) motion;
  * "other": the dataset's train-split CMU clips (walking, running, sports, ... and their mirrors).
  Augmentation: time scaling (speed), random crops, yaw jitter, temporal smoothing and joint
  noise (decoded VQ-VAE motion is smoother/noisier than the training clips), body scale.

Held out (reported, never trained on)
  * the dataset's test split (synthetic clips + CMU clips as "other"), and its val split;
  * fresh procedural clips with a third seed (default 2), clean and with the smoothing+noise
    "decoded-like" degradation; the confusion summary is taken over these.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter1d

from pipeline.constants import MOTION_FPS
from pipeline.data.humanml3d import MotionDataset, default_dataset_dir
from pipeline.eval.action_classifier import (OTHER_LABEL, ActionClassifier, ActionClassifierConfig,
                                             collate, motion_input)
from pipeline.pretrained import with_card_header

Item = tuple[np.ndarray, str]


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def round_trip(joints: np.ndarray) -> np.ndarray:
    """Joints as the dataset stores them: through the 263-d features and back."""
    from pipeline.motion.features import features_to_joints, joints_to_features
    return features_to_joints(joints_to_features(joints)).astype(np.float32)


def procedural_items(variations: int, seed: int, cache_dir: Path | None = None) -> list[Item]:
    """Fresh procedural clips (round-tripped), cached as an .npz under cache_dir when given."""
    from pipeline.data.synthetic.procedural import action_names, sample_library

    cache = None
    if cache_dir is not None:
        key = f"procedural_v{variations}_s{seed}_{len(action_names())}actions.npz"
        cache = Path(cache_dir) / key
        if cache.exists():
            with np.load(cache, allow_pickle=False) as z:  # read each array once (NpzFile re-reads per access)
                joints, lengths, labels = z["joints"], z["lengths"], z["labels"]
            bounds = np.cumsum(np.concatenate([[0], lengths]))
            return [(joints[a:b].copy(), str(lab)) for a, b, lab in zip(bounds[:-1], bounds[1:], labels)]
    items = [(round_trip(c.joints), c.name) for c in sample_library(variations, seed)]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, joints=np.concatenate([j for j, _ in items]),
                 lengths=np.array([len(j) for j, _ in items]), labels=np.array([lab for _, lab in items]))
    return items


def dataset_items(ds: MotionDataset, split: str) -> list[Item]:
    items = []
    for cid in ds.clip_ids(split):
        source = ds.source_of(cid)
        clip = ds.load(cid)
        if source == "synthetic":
            items.append((clip.joints.astype(np.float32), clip.origin))
        elif source == "cmu":
            items.append((clip.joints.astype(np.float32), OTHER_LABEL))
    return items


# ---------------------------------------------------------------------------------------------
# Augmentation
# ---------------------------------------------------------------------------------------------

def time_scale(joints: np.ndarray, factor: float) -> np.ndarray:
    """Play the motion `factor` times faster (linear interpolation)."""
    n = len(joints)
    n_out = max(4, int(round((n - 1) / factor)) + 1)
    src = np.linspace(0, n - 1, n_out)
    i0 = np.floor(src).astype(int).clip(0, n - 1)
    i1 = (i0 + 1).clip(0, n - 1)
    w = (src - i0)[:, None, None]
    return joints[i0] * (1 - w) + joints[i1] * w


def degrade(joints: np.ndarray, rng: np.random.Generator, smooth: float, noise: float) -> np.ndarray:
    """Temporal smoothing (sigma in frames) and per-joint Gaussian noise (metres)."""
    out = joints
    if smooth > 0:
        out = gaussian_filter1d(out, smooth, axis=0, mode="nearest")
    if noise > 0:
        # low-frequency noise (a wobble over a few frames) plus a little white noise
        wobble = gaussian_filter1d(rng.normal(0, noise, out.shape), 2.0, axis=0) * 2.5
        out = out + wobble + rng.normal(0, noise * 0.3, out.shape)
    return out


def augment(joints: np.ndarray, label: str, rng: np.random.Generator) -> np.ndarray:
    j = joints.astype(np.float64)
    j = time_scale(j, float(np.exp(rng.uniform(np.log(0.75), np.log(1.3)))))
    n = len(j)
    if label == OTHER_LABEL:  # windows of CMU takes, as long as typical segments
        length = min(n, int(rng.uniform(1.5, 8.0) * MOTION_FPS))
    else:
        length = max(min(n, 10), int(n * rng.uniform(0.7, 1.0)))
    start = int(rng.integers(0, n - length + 1))
    j = j[start:start + length]
    yaw = rng.uniform(-0.35, 0.35)
    c, s = np.cos(yaw), np.sin(yaw)
    j = j @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T
    j = j * rng.uniform(0.85, 1.15)
    if rng.random() < 0.6:
        j = degrade(j, rng, smooth=rng.uniform(0.0, 2.0), noise=rng.uniform(0.0, 0.012))
    return j


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

def evaluate(model: ActionClassifier, items: list[Item]) -> dict:
    if not items:
        return {"n": 0}
    probs = model.predict_proba([j for j, _ in items])
    labels = model.labels
    truth = np.array([labels.index(lab) for _, lab in items])
    order = np.argsort(-probs, axis=1)
    top1 = float((order[:, 0] == truth).mean())
    top3 = float((order[:, :3] == truth[:, None]).any(axis=1).mean())
    confusions = Counter((labels[t], labels[p]) for t, p in zip(truth, order[:, 0]) if t != p)
    return {"n": len(items), "top1": top1, "top3": top3,
            "confusions": [[t, p, c] for (t, p), c in confusions.most_common()]}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()

    ds = MotionDataset(args.dataset)
    train_items = dataset_items(ds, "train")
    val_items = dataset_items(ds, "val")
    test_items = dataset_items(ds, "test")
    cache_dir = None if args.no_cache else Path(args.dataset).parent / "action-classifier-data"
    fresh = procedural_items(args.variations, args.train_seed, cache_dir) if args.variations > 0 else []
    held_fresh = procedural_items(args.heldout_variations, args.heldout_seed, cache_dir)
    actions = sorted({lab for _, lab in train_items + fresh + held_fresh if lab != OTHER_LABEL})
    labels = actions + [OTHER_LABEL]
    train_items = train_items + fresh
    n_other = sum(lab == OTHER_LABEL for _, lab in train_items)
    n_action = len(train_items) - n_other
    # "other" is seen about as often as 4 actions together per epoch
    other_repeat = max(1, int(round(4 * n_action / len(actions) / max(n_other, 1))))
    epoch_items = [it for it in train_items for _ in range(other_repeat if it[1] == OTHER_LABEL else 1)]
    data_seconds = time.time() - t0
    print(f"data: {n_action} action clips ({len(fresh)} fresh, seed {args.train_seed}), {n_other} other "
          f"(x{other_repeat}); held out: test {len(test_items)}, val {len(val_items)}, fresh "
          f"{len(held_fresh)} (seed {args.heldout_seed}); {len(labels)} labels; {data_seconds:.0f}s", flush=True)

    # input statistics from un-augmented training clips
    stacked = np.concatenate([motion_input(j) for j, _ in train_items])
    config = ActionClassifierConfig(labels=labels, hidden=args.hidden)
    model = ActionClassifier(config)
    model.input_mean.copy_(torch.from_numpy(stacked.mean(0)))
    model.input_std.copy_(torch.from_numpy(np.maximum(stacked.std(0), 1e-3)))
    label_index = {lab: i for i, lab in enumerate(labels)}

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-3)
    steps_per_epoch = (len(epoch_items) + args.batch_size - 1) // args.batch_size
    total_steps = args.epochs * steps_per_epoch
    budget = args.max_minutes * 60.0

    def set_lr(progress: float) -> None:
        """Linear warm-up over the first 5%, then cosine decay to 2% of the peak."""
        if progress < 0.05:
            lr = args.lr * max(progress / 0.05, 0.02)
        else:
            lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(1.0, (progress - 0.05) / 0.95))))
        for group in opt.param_groups:
            group["lr"] = lr

    step = 0
    train_start = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = rng.permutation(len(epoch_items))
        losses, correct = [], 0
        for b in range(steps_per_epoch):
            batch = [epoch_items[i] for i in perm[b * args.batch_size:(b + 1) * args.batch_size]]
            inputs = [motion_input(augment(j, lab, rng)) for j, lab in batch]
            x, lengths = collate(inputs)
            y = torch.tensor([label_index[lab] for _, lab in batch])
            # progress counts steps or wall time, whichever is further along, so the schedule
            # anneals fully even when a busy CPU makes the time budget end training early
            progress = max(step / total_steps, (time.time() - train_start) / budget)
            set_lr(progress)
            logits = model(x, lengths)
            loss = F.cross_entropy(logits, y, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            losses.append(loss.item())
            correct += int((logits.argmax(-1) == y).sum())
        elapsed = time.time() - train_start
        msg = f"epoch {epoch + 1}/{args.epochs} loss {np.mean(losses):.3f} train-acc {correct / len(epoch_items):.3f}"
        if (epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs:
            msg += f" | test top1 {evaluate(model, test_items)['top1']:.3f}"
        print(msg + f" ({elapsed:.0f}s)", flush=True)
        if elapsed >= budget:
            print(f"time budget of {args.max_minutes} min reached after {epoch + 1} epochs", flush=True)
            break
    train_seconds = time.time() - train_start

    model.eval()
    degraded_rng = np.random.default_rng(args.heldout_seed + 100)
    held_degraded = [(degrade(j.astype(np.float64), degraded_rng, smooth=1.5, noise=0.01), lab)
                     for j, lab in held_fresh]
    stress_rng = np.random.default_rng(args.heldout_seed + 200)
    held_stress = []
    for j, lab in held_fresh:  # heavier smoothing and noise, and only the middle 60% of the clip
        n = len(j)
        part = j[int(0.2 * n):max(int(0.2 * n) + 10, int(0.8 * n))].astype(np.float64)
        held_stress.append((degrade(part, stress_rng, smooth=3.0, noise=0.02), lab))
    results = {
        "test": evaluate(model, test_items),
        "test_actions_only": evaluate(model, [it for it in test_items if it[1] != OTHER_LABEL]),
        "test_other_only": evaluate(model, [it for it in test_items if it[1] == OTHER_LABEL]),
        "val": evaluate(model, val_items),
        "fresh_heldout": evaluate(model, held_fresh),
        "fresh_heldout_degraded": evaluate(model, held_degraded),
        "fresh_heldout_stress": evaluate(model, held_stress),
    }
    meta = {
        "train_seconds": round(train_seconds, 1), "data_seconds": round(data_seconds, 1),
        "epochs_run": epoch + 1, "train_action_clips": n_action, "train_other_clips": n_other,
        "fresh_train_seed": args.train_seed, "fresh_variations": args.variations,
        "heldout_seed": args.heldout_seed, "heldout_variations": args.heldout_variations,
        "n_params": sum(p.numel() for p in model.parameters()), "threads": args.threads,
        "hidden": config.hidden, "n_blocks": len(config.dilations),
    }
    out = model.save_pretrained(args.out)
    write_card(out, results, meta, labels)
    for name, r in results.items():
        print(f"{name}: n={r['n']} top1={r.get('top1', float('nan')):.3f} top3={r.get('top3', float('nan')):.3f} "
              f"confusions={r.get('confusions', [])[:8]}")
    print(json.dumps(meta))
    return {"results": results, "meta": meta}


def write_card(out: Path, results: dict, meta: dict, labels: list[str]) -> None:
    def row(name: str, what: str) -> str:
        r = results[name]
        return f"| {what} | {r['n']} | {r['top1']:.3f} | {r['top3']:.3f} |"

    def confusion_lines(names: tuple[str, ...]) -> str:
        conf = Counter()
        for name in names:
            for t, p, c in results[name]["confusions"]:
                conf[(t, p)] += c
        return "\n".join(f"- {t} -> {p}: {c}" for (t, p), c in conf.most_common(15)) or "- none"

    conf_lines = (confusion_lines(("test", "val", "fresh_heldout", "fresh_heldout_degraded"))
                  + "\n\nand on the stress set (middle 60%, heavy smoothing and noise):\n"
                  + confusion_lines(("fresh_heldout_stress",)))
    card = f"""# Action classifier (motion evaluation)

Classifies a 22-joint motion clip (T, 22, 3) at {MOTION_FPS} fps into one of {len(labels) - 1} procedural
actions or `other` (non-gesture mocap). Used by the motion benchmark for `text_action_acc`.
Code: `pipeline/eval/action_classifier.py`; training: `pipeline/train/action_classifier.py`.

    python -m pipeline.train.action_classifier --out assets/checkpoints/action_classifier

## Model
Input: canonicalised (first frames at the origin, facing +Z), body-scale-normalised root-relative
joint positions + root displacement and their velocities (132 dims per frame), standardised with
the training statistics stored in the weights. Network: a strided temporal projection (20 -> 10 fps), {meta['n_blocks']}
residual dilated temporal conv blocks (hidden {meta['hidden']}), masked mean+max pooling,
MLP head. {meta['n_params']:,} parameters.

## Data
- Actions: the motion dataset's train-split synthetic clips plus {meta['fresh_variations']} fresh
  procedural variations per action (seed {meta['fresh_train_seed']}, the dataset uses seed 0), through
  the joints -> 263-d features -> joints round trip: {meta['train_action_clips']} clips.
- `other`: the dataset's train-split CMU clips (with their mirrors): {meta['train_other_clips']} clips.
- Augmentation: speed 0.75-1.3x, crops (70-100% of an action; 1.5-8 s windows of `other`), yaw
  jitter, body scale, temporal smoothing + low-frequency joint noise (decoded VQ-VAE motion).

## Training
{meta['epochs_run']} epochs, AdamW, warm-up + cosine decay (by steps or by the time budget, whichever ends first), label smoothing 0.05, CPU ({meta['threads']} threads):
{meta['train_seconds'] / 60:.1f} min training + {meta['data_seconds']:.0f} s data preparation (the fresh
procedural clips are cached in cache/action-classifier-data; generating them the first time
takes about 1.5-3 min more on a shared 2-core CPU).

## Held-out accuracy
| set | clips | top-1 | top-3 |
|---|---|---|---|
{row('test', 'dataset test split (synthetic + CMU as other)')}
{row('test_actions_only', '  of which synthetic actions')}
{row('test_other_only', '  of which CMU (other)')}
{row('val', 'dataset val split')}
{row('fresh_heldout', f"fresh procedural, seed {meta['heldout_seed']}, {meta['heldout_variations']} per action")}
{row('fresh_heldout_degraded', 'same, smoothed (sigma 1.5 frames) + 1 cm noise')}
{row('fresh_heldout_stress', 'same, middle 60% only, smoothed (sigma 3) + 2 cm noise')}

Most frequent confusions (true -> predicted, summed over the held-out sets):
{conf_lines}

## Limits
Trained on procedural gestures and CMU mocap only; real conversational motion that resembles an
action (e.g. a beat gesture vs. a short wave) may be assigned to it. Scores on generated motion
measure agreement with the procedural library's notion of each action.
"""
    (out / "README.md").write_text(with_card_header(card, ActionClassifier.card_metadata), encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="assets/checkpoints/action_classifier")
    p.add_argument("--dataset", default=str(default_dataset_dir()))
    p.add_argument("--variations", type=int, default=40, help="fresh procedural clips per action for training")
    p.add_argument("--train-seed", type=int, default=1)
    p.add_argument("--heldout-variations", type=int, default=5)
    p.add_argument("--heldout-seed", type=int, default=2)
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--max-minutes", type=float, default=7.0, help="stop after the epoch that passes this")
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest for this small model on a shared CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cache", action="store_true",
                   help="regenerate the fresh procedural clips instead of reading cache/action-classifier-data")
    return train(p.parse_args(argv))


if __name__ == "__main__":
    main()
