"""Stage 2: freeze the text branch and train the audio branch on (speech, co-speech motion) pairs.

    python -m pipeline.train.generator_audio --pairs cache/cospeech \
        --tokenizer assets/checkpoints/motion_tokenizer --out assets/checkpoints/motion_generator --steps N

The text branch comes from --init (default: --out, written by stage 1, text branch only) and is
frozen. Every pair is tokenised once with the shipped tokenizer and featurised once with the
default audio feature extractor (cached under --cache). Each step: random crops of up to one window
(tokens and the matching 20-fps audio rows), the fixed prompt "A person is giving a speech." at
every position (dropped to the null text with probability cfg.cond_drop_prob), MoMask masking,
cross-entropy on the masked positions. Only the audio branch (temporal block, transformer layers,
zero-initialised projections) learns. Pairs only: no motion-dataset clips are mixed in.

Regularisation (off by default): --audio-noise adds Gaussian noise to the audio features, in units
of each feature dimension's standard deviation over the training pairs; --audio-row-drop replaces
that share of the 20-fps feature rows by the feature mean (timing is never shifted: the gestures'
alignment to the speech is what the branch must learn).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.constants import TOKEN_DOWNSAMPLE
from pipeline.motion.generator.config import SPEECH_PROMPT, tokenizer_sha256
from pipeline.motion.generator.model import DualBranchGenerator
from pipeline.train.generator_text import (REPO_ROOT, TokenBudgetBatches, TokenClip, _fingerprint, add_common_args, cached_tokens,
                                           evaluate_masked_accuracy, infinite, mask_tokens, masked_loss, run_loop,
                                           write_log)


def _ids(root: Path, split: str) -> list[str]:
    path = root / f"{split}.txt"
    return [line.strip() for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def prepare_pairs(pairs_dir: Path, tokenizer_dir: Path, cache_dir: Path, audio_spec: str, log=print) -> dict:
    """{split: [(TokenClip, audio features (4N, dim) float32 tensor)]}; audio features and tokens are
    cached separately in cache_dir (features do not depend on the tokenizer). A pair whose audio
    cannot be featurised is skipped with a message."""
    from pipeline.audio import load_audio, load_audio_features

    cache_dir.mkdir(parents=True, exist_ok=True)
    extractor = load_audio_features(None if audio_spec in ("default", "librosa") else audio_spec)
    name = Path(pairs_dir).resolve().name
    ids = {split: _ids(pairs_dir, split) for split in ("train", "val", "test")}
    audio_cache = cache_dir / f"audiofeats_{name}_{extractor.name}{extractor.dim}.pt"
    if audio_cache.exists():
        log(f"audio features from {audio_cache}")
        feats = torch.load(audio_cache, weights_only=False)
    else:
        feats = {}
        t0 = time.time()
        for cid in (c for split in ids.values() for c in split):
            try:
                feats[cid] = torch.from_numpy(extractor(load_audio(pairs_dir / "wav" / f"{cid}.wav")).astype(np.float32))
            except Exception as exc:  # noqa: BLE001 - one bad pair must not stop training
                log(f"skipping pair {cid}: audio features failed ({type(exc).__name__}: {exc})")
        log(f"featurised {len(feats)} pairs ({extractor.name}, dim {extractor.dim}) in {time.time() - t0:.1f} s")
        torch.save(feats, audio_cache)
    tokens = cached_tokens(cache_dir / f"pairtokens_{_fingerprint(tokenizer_dir)}_{name}.pt", tokenizer_dir,
                           {cid: (lambda cid=cid: np.load(pairs_dir / "new_joint_vecs" / f"{cid}.npy"))
                            for split in ids.values() for cid in split}, log)
    out: dict[str, list] = {}
    for split, split_ids in ids.items():
        rows = []
        for cid in split_ids:
            if cid not in feats or cid not in tokens:
                continue
            toks, audio = tokens[cid], feats[cid]
            n = min(len(toks), -(-len(audio) // TOKEN_DOWNSAMPLE))
            audio = audio[: n * TOKEN_DOWNSAMPLE]
            if len(audio) < n * TOKEN_DOWNSAMPLE:  # pad the tail by repeating the last row
                audio = torch.cat([audio, audio[-1:].expand(n * TOKEN_DOWNSAMPLE - len(audio), -1)])
            rows.append((TokenClip(cid, toks[:n], [0]), audio))
        out[split] = rows
    return out


class PairData(torch.utils.data.Dataset):
    def __init__(self, rows, window: int, seed: int = 0):
        self.rows = rows
        self.window = window
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        clip, audio = self.rows[i]
        toks = torch.from_numpy(clip.tokens)
        s = 0
        if len(toks) > self.window:
            s = self.rng.randint(0, len(toks) - self.window)
        toks = toks[s:s + self.window]
        return toks, audio[s * TOKEN_DOWNSAMPLE:(s + len(toks)) * TOKEN_DOWNSAMPLE]


def collate_pairs(batch, pad_id: int):
    n = max(len(t) for t, _ in batch)
    dim = batch[0][1].shape[1]
    tokens = torch.full((len(batch), n), pad_id, dtype=torch.long)
    padding = torch.ones((len(batch), n), dtype=torch.bool)
    audio = torch.zeros((len(batch), n * TOKEN_DOWNSAMPLE, dim))
    for i, (t, a) in enumerate(batch):
        tokens[i, :len(t)] = t
        padding[i, :len(t)] = False
        audio[i, :len(a)] = a
        if len(a) < n * TOKEN_DOWNSAMPLE and len(a):
            audio[i, len(a):] = a[-1]
    return tokens, padding, audio


def carry_stage1_files(init: Path, out: Path) -> list[str]:
    """With --init other than --out: copy stage 1's vocabulary.json (the actions and descriptions
    prompt understanding offers, and its unknown_threshold) into --out, so the stage-2 checkpoint
    is not read with the default 43-action vocabulary, and its train_log.json when --out has none
    (this run's entry is then added to stage 1's). Returns the names copied."""
    init, out = Path(init), Path(out)
    if init.resolve() == out.resolve():
        return []
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in ("vocabulary.json", "train_log.json"):
        if (init / name).exists() and not (name == "train_log.json" and (out / name).exists()):
            shutil.copyfile(init / name, out / name)
            copied.append(name)
    return copied


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=Path, default=REPO_ROOT / "cache/cospeech")
    p.add_argument("--init", type=Path, default=None, help="stage-1 checkpoint (default: --out)")
    p.add_argument("--audio-noise", type=float, default=0.0,
                   help="std of Gaussian noise on the audio features, in per-dimension feature stds")
    p.add_argument("--audio-row-drop", type=float, default=0.0,
                   help="probability that a 20-fps audio feature row is replaced by the feature mean")
    p.add_argument("--log-name", default="audio", help="key of this run in train_log.json")
    add_common_args(p)
    args = p.parse_args(argv)

    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from pipeline.text.encoder import load_text_encoder

    torch.set_num_threads(args.threads)
    accelerator = Accelerator()
    log = accelerator.print
    set_seed(args.seed)
    init = args.init or args.out
    model = DualBranchGenerator.from_pretrained(init, branches=("text",))
    cfg = model.cfg
    sha = tokenizer_sha256(args.tokenizer)
    if cfg.tokenizer_sha256 and cfg.tokenizer_sha256 != sha:
        raise ValueError(f"the text branch in {init} was trained on tokens of another tokenizer "
                         f"({cfg.tokenizer_sha256}, not {sha} in {args.tokenizer}); retrain stage 1 first")
    cfg.tokenizer_sha256 = sha
    model.freeze_text_branch()
    splits = prepare_pairs(args.pairs, args.tokenizer, args.cache, cfg.audio_features, log)
    if splits["train"] and splits["train"][0][1].shape[1] != cfg.audio_dim:
        raise ValueError(f"audio features have {splits['train'][0][1].shape[1]} dims but the generator expects "
                         f"{cfg.audio_dim}")
    speech = load_text_encoder(None if cfg.text_encoder in ("minilm", "default") else cfg.text_encoder)
    speech_emb = speech.encode([SPEECH_PROMPT])[0].float()
    log(f"audio branch: {model.num_parameters('audio') / 1e6:.2f} M trainable parameters "
        f"(text branch {model.num_parameters('text') / 1e6:.2f} M frozen)")

    data = PairData(splits["train"], cfg.max_tokens, seed=args.seed)
    sampler = TokenBudgetBatches([min(len(c.tokens), cfg.max_tokens) for c, _ in splits["train"]],
                                 args.batch_tokens, seed=args.seed)
    loader = accelerator.prepare(torch.utils.data.DataLoader(
        data, batch_sampler=sampler, collate_fn=lambda b: collate_pairs(b, cfg.pad_id)))
    gen = torch.Generator(device="cpu").manual_seed(args.seed)
    all_rows = torch.cat([a for _, a in splits["train"]]) if splits["train"] else None
    feat_mean = all_rows.mean(0) if all_rows is not None else None
    feat_std = all_rows.std(0).clamp(min=1e-6) if all_rows is not None else None
    del all_rows

    def augment(audio: torch.Tensor) -> torch.Tensor:
        if args.audio_noise > 0:
            audio = audio + args.audio_noise * feat_std.to(audio.device) * torch.randn(
                audio.shape, generator=gen).to(audio.device)
        if args.audio_row_drop > 0:
            drop = (torch.rand(audio.shape[:2], generator=gen) < args.audio_row_drop).to(audio.device)
            audio = torch.where(drop[..., None], feat_mean.to(audio.device), audio)
        return audio

    def step_fn(m, batch):
        tokens, padding, audio = batch
        inputs, masked = mask_tokens(tokens.cpu(), padding.cpu(), cfg, gen)
        inputs, masked = inputs.to(tokens.device), masked.to(tokens.device)
        core = accelerator.unwrap_model(m)
        cond = speech_emb.to(tokens.device)[None, None].expand(tokens.shape[0], tokens.shape[1], -1)
        cond = core.drop_cond(cond)
        audio_tok = core.audio_tokens(augment(audio))[:, :tokens.shape[1]]
        logits = m(inputs, cond, audio_tok=audio_tok, padding=padding)
        return masked_loss(logits, tokens, masked)

    for name in carry_stage1_files(init, args.out):
        log(f"copied {name} from {init} into {args.out}")
    state_dir = args.state_dir or args.cache / "state_audio"
    save = lambda m: m.save_pretrained(args.out)  # noqa: E731
    trainable = [q for q in model.audio.parameters()]
    result = run_loop(accelerator=accelerator, model=model, trainable=trainable, batches=lambda: infinite(loader),
                      step_fn=step_fn, args=args, state_dir=state_dir, save_fn=save, log=log)
    model = result.pop("model")
    metrics = {}
    if accelerator.is_main_process:
        model.save_pretrained(args.out)
        emb = speech_emb[None]
        for split in ("val", "test"):
            clips = [c for c, _ in splits[split]]
            audio = [a for _, a in splits[split]]
            metrics[split] = {
                "with_audio": evaluate_masked_accuracy(model, clips, emb, audio=audio),
                "text_branch_only": evaluate_masked_accuracy(model, clips, emb),
            }
        # fp16 storage check: the reloaded checkpoint against the fp32 weights in memory
        reloaded = DualBranchGenerator.from_pretrained(args.out)
        clips, audio = [c for c, _ in splits["val"]], [a for _, a in splits["val"]]
        metrics["val_fp16_checkpoint"] = evaluate_masked_accuracy(reloaded, clips, emb, audio=audio)
        entry = {**result, "metrics": metrics, "pairs": str(args.pairs), "batch_tokens": args.batch_tokens,
                 "lr": args.lr, "warmup": args.warmup, "train_pairs": len(splits["train"]), "threads": args.threads,
                 "processes": accelerator.num_processes, "audio_noise": args.audio_noise,
                 "audio_row_drop": args.audio_row_drop, "init": str(init)}
        write_log(args.out, args.log_name, entry)
        log(json.dumps(entry, indent=2))
    return metrics


if __name__ == "__main__":
    main()
