"""Train the text-motion retrieval evaluator (pipeline.eval.retrieval) on a dataset's train split.

    python -m pipeline.train.retrieval --dataset cache/motion-dataset --out assets/checkpoints/retrieval_evaluator

Only the TRAIN split is trained on; the best epoch is picked by R-precision on the val split, and
the card reports R-precision on the test split (real motion: the ceiling any generator is held to).
The held-out paraphrases of benchmarks/prompt_sets.py are never used.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.data.humanml3d import MotionDataset, default_dataset_dir
from pipeline.eval.action_classifier import collate, motion_input
from pipeline.eval.retrieval import RetrievalConfig, RetrievalEvaluator, length_mask, r_precision

FALSE_NEGATIVE_SIMILARITY = 0.9


def _load_split(ds: MotionDataset, split: str) -> list[tuple[str, np.ndarray, np.ndarray, list[str]]]:
    out = []
    for cid in ds.clip_ids(split):
        clip = ds.load(cid)
        if clip.captions:
            out.append((cid, clip.joints, motion_input(clip.joints), clip.captions))
    return out


def _embed_captions(captions: list[str]) -> dict[str, torch.Tensor]:
    from pipeline.text.encoder import load_text_encoder

    unique = sorted(set(captions))
    emb = load_text_encoder("minilm").encode(unique).float()
    return {c: emb[i] for i, c in enumerate(unique)}


def evaluate_split(model: RetrievalEvaluator, items, seed: int = 0) -> dict:
    """R-precision of real motion against its first caption."""
    text = model.encode_text([caps[0] for _, _, _, caps in items])
    motion = model.encode_motion([j for _, j, _, _ in items])
    return r_precision(text, motion, seed=seed)


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ds = MotionDataset(args.dataset)
    train_items, val_items, test_items = (_load_split(ds, s) for s in ("train", "val", "test"))
    if len(train_items) < args.batch:
        raise SystemExit(f"{args.dataset} has only {len(train_items)} training clips with captions; "
                         "build the dataset first: python -m pipeline build-dataset")
    sentences = _embed_captions([c for *_, caps in train_items for c in caps])
    model = RetrievalEvaluator(RetrievalConfig())
    stacked = np.concatenate([x for _, _, x, _ in train_items])
    model.mean.copy_(torch.from_numpy(stacked.mean(0)))
    model.std.copy_(torch.from_numpy(np.maximum(stacked.std(0), 1e-3)))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    best, best_state, log = -1.0, None, []
    t0 = time.perf_counter()
    steps_per_epoch = max(1, len(train_items) // args.batch)
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(train_items))
        losses = []
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            inputs, texts = [], []
            for i in idx:
                _, _, x, caps = train_items[i]
                n = len(x)
                keep = int(n * rng.uniform(0.7, 1.0)) if n > 40 else n      # crop augmentation
                start = int(rng.integers(0, n - keep + 1))
                inputs.append(x[start:start + keep])
                texts.append(caps[int(rng.integers(len(caps)))])
            x, lengths = collate(inputs)
            m = model.motion_embedding(x, length_mask(lengths, x.shape[1]))
            raw = torch.stack([sentences[c] for c in texts])
            t = model.text_embedding(raw)
            logits = t @ m.T / model.config.temperature
            same = (F.normalize(raw, dim=-1) @ F.normalize(raw, dim=-1).T) > FALSE_NEGATIVE_SIMILARITY
            same.fill_diagonal_(False)
            logits = logits.masked_fill(same, -1e4)
            target = torch.arange(len(idx))
            loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        if (epoch + 1) % args.eval_every == 0 or epoch == args.epochs - 1:
            val = evaluate_split(model, val_items) if len(val_items) >= 32 else {"top1": float("nan"), "top3": 0.0}
            score = val["top3"]
            log.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_top1": val["top1"],
                        "val_top3": val["top3"], "wall_s": time.perf_counter() - t0})
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.3f} val R@1 {val['top1']:.3f} R@3 {val['top3']:.3f}",
                  flush=True)
            if score > best:
                best = score
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    test = evaluate_split(model, test_items) if len(test_items) >= 32 else {"top1": float("nan"), "top3": float("nan")}
    repo = Path(__file__).resolve().parents[2]
    dataset = Path(args.dataset).resolve()
    metrics = {"dataset": str(dataset.relative_to(repo)) if dataset.is_relative_to(repo) else str(dataset), "train_clips": len(train_items), "val_clips": len(val_items),
               "test_clips": len(test_items), "epochs": args.epochs, "wall_s": round(time.perf_counter() - t0, 1),
               "best_val_top3": best, "test_real_top1": test["top1"], "test_real_top3": test["top3"],
               "log": log}
    model.save_pretrained(args.out, card=_card(metrics), metrics=metrics)
    print(json.dumps({k: v for k, v in metrics.items() if k != "log"}, indent=2))
    return metrics


def _card(m: dict) -> str:
    return f"""# Text-motion retrieval evaluator

Contrastive text and motion encoders (pipeline/eval/retrieval.py) for R-precision and FID, in the
spirit of HumanML3D's evaluator and TMR. Motion: the action classifier's pose- and person-invariant
joint input -> dilated temporal convolutions -> 128-d. Text: frozen all-MiniLM-L6-v2 -> MLP -> 128-d.
Symmetric InfoNCE (temperature 0.07), near-duplicate captions (MiniLM cosine > 0.9) not used as
negatives.

- Trained on: the TRAIN split of `{m['dataset']}` ({m['train_clips']} clips: CMU mocap from
  ../shared/data/cmu-bvh and cmu-amc with mirrored copies, and the procedural library), {m['epochs']}
  epochs, {m['wall_s']} s on CPU. Epoch chosen on the val split ({m['val_clips']} clips, R@3 {m['best_val_top3']:.3f}).
- Test split ({m['test_clips']} clips, real motion against its own first caption, pools of 32):
  R-precision top-1 {m['test_real_top1']:.3f}, top-3 {m['test_real_top3']:.3f}. This is the ceiling a
  generator's motion is compared with.
- Command: `python -m pipeline.train.retrieval --dataset {m['dataset']} --epochs {m['epochs']}`, after
  `python -m pipeline build-dataset` (train/val/test split by take or by action variation, so a
  take and its mirrored copy are always in the same split).
- Never trained on: the held-out paraphrases in benchmarks/prompt_sets.py, any HumanML3D data.

What it can see: whether a motion matches its caption as well as real data does, across action
families, sides the captions name, mocap styles. What it cannot see: physical plausibility it was
never shown counter-examples of, fine timing, or anything outside this small vocabulary (about 80
procedural actions and about 90 CMU descriptions); its captions are templated, so its text side
is easy. Retrain it with `python -m pipeline.train.retrieval` whenever the dataset changes.
Licence of the training data: CMU ("free for use in research and commercial projects").
"""


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default=str(default_dataset_dir()))
    p.add_argument("--out", default="assets/checkpoints/retrieval_evaluator")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    return train(args)


if __name__ == "__main__":
    main()
