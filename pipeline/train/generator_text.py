"""Stage 1: train the generator's text branch (masked token model) on the motion dataset.

    python -m pipeline.train.generator_text --dataset cache/motion-dataset \
        --tokenizer assets/checkpoints/motion_tokenizer --out assets/checkpoints/motion_generator --steps N

Every clip is tokenised once with the shipped tokenizer and every caption embedded once with the
default text encoder (both cached under --cache). Each step: a random caption per clip, a mask
ratio per sample from the cosine schedule (MoMask: ratio = cos(pi/2 * u), u ~ U(0,1)); masked
positions become [MASK] (10 % a random code, 10 % unchanged, BERT-style); cross-entropy on the
masked positions; the text condition is replaced by the learned null text with probability
cfg.cond_drop_prob (classifier-free guidance). The same script runs on CPU and under
`accelerate launch` on GPUs; `--resume` continues from the last periodic checkpoint.

Fine-tuning (`--init DIR`): start from a saved generator, its config.json and weights, instead of
from scratch (e.g. the shipped one on a dataset with new actions, a lower --lr and short --warmup).
Its tokenizer_sha256 must be that of --tokenizer (its weights predict those codes) and any size
given (--config, --d-model, ...) must be its own; otherwise it refuses. `--allow-tokenizer-change`
lifts the tokenizer check for a --tokenizer that was itself fine-tuned (`pipeline.train.tokenizer
--init-from`) from the one the checkpoint was trained on: the codebook's entries mostly keep their
meaning, so the weights are a good start; the saved config then carries the new tokenizer's sha and
train_log.json the old one (`tokenizer_changed_from`). Only the text branch is
trained (as from scratch); an audio branch the checkpoint holds is carried over unchanged and saved
with it, as are its config's inference defaults (audio_guidance). Note that the audio branch's
per-layer outputs are added to the text layers' outputs, so its effect after fine-tuning has to be
measured again (model card).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.motion.generator.config import GeneratorConfig, tokenizer_sha256
from pipeline.motion.generator.model import DualBranchGenerator

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_LOG = "train_log.json"


# ------------------------------------------------------------------------------------------ masking
def mask_tokens(tokens: torch.Tensor, padding: torch.Tensor, cfg: GeneratorConfig,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MoMask-style masking of (B, N) tokens: returns (inputs, masked (B, N) bool).

    Per sample: ratio = cos(pi/2 * u), u ~ U(0,1); ceil(ratio * length) positions (at least one)
    are chosen; of those 80 % become [MASK], 10 % a random code, 10 % stay (all count in the loss).
    """
    b, n = tokens.shape
    dev = tokens.device
    lengths = (~padding).sum(1)
    u = torch.rand(b, generator=generator, device=dev)
    n_mask = torch.ceil(torch.cos(u * math.pi / 2) * lengths).long().clamp(min=1)
    n_mask = torch.minimum(n_mask, lengths)
    scores = torch.rand(b, n, generator=generator, device=dev).masked_fill(padding, 2.0)
    rank = scores.argsort(1).argsort(1)
    masked = rank < n_mask[:, None]
    action = torch.rand(b, n, generator=generator, device=dev)
    rand_tok = torch.randint(0, cfg.codebook_size, (b, n), generator=generator, device=dev)
    inputs = torch.where(masked & (action < 0.8), torch.full_like(tokens, cfg.mask_id), tokens)
    inputs = torch.where(masked & (action >= 0.8) & (action < 0.9), rand_tok, inputs)
    inputs = torch.where(padding, torch.full_like(tokens, cfg.pad_id), inputs)
    return inputs, masked


def masked_loss(logits: torch.Tensor, tokens: torch.Tensor, masked: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy over masked positions, accuracy over masked positions)."""
    sel = logits[masked]
    tgt = tokens[masked]
    loss = F.cross_entropy(sel.float(), tgt)
    acc = (sel.argmax(-1) == tgt).float().mean()
    return loss, acc


# ------------------------------------------------------------------------------------------ data
@dataclass
class TokenClip:
    clip_id: str
    tokens: np.ndarray            # (N,) int64
    caption_ids: list[int]        # rows of the caption-embedding table


def _fingerprint(path: Path) -> str:
    h = hashlib.sha1()
    for name in ("config.json", "model.safetensors"):
        p = Path(path) / name
        if p.exists():
            st = p.stat()
            h.update(f"{name}{st.st_size}{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


def tokenize_dataset(dataset_dir: Path, tokenizer_dir: Path, cache_dir: Path, text_encoder_spec: str | None = None,
                     log=print) -> tuple[dict[str, list[TokenClip]], torch.Tensor, list[str]]:
    """Tokens of every clip (by split) and the caption embedding table, each cached in cache_dir
    (caption embeddings do not depend on the tokenizer and are kept across tokenizer changes)."""
    from pipeline.data.humanml3d import MotionDataset

    cache_dir.mkdir(parents=True, exist_ok=True)
    ds = MotionDataset(dataset_dir)
    name = Path(dataset_dir).resolve().name
    captions, emb, clip_captions = embed_captions(ds, cache_dir / f"captions_{name}_{text_encoder_spec or 'default'}.pt",
                                                  text_encoder_spec, log)
    tokens = cached_tokens(cache_dir / f"tokens_{_fingerprint(tokenizer_dir)}_{name}.pt", tokenizer_dir,
                           {cid: (lambda cid=cid: ds.load(cid).features) for split in ("train", "val", "test")
                            for cid in ds.clip_ids(split)}, log)
    splits = {split: [TokenClip(cid, tokens[cid], clip_captions[cid]) for cid in ds.clip_ids(split) if cid in tokens]
              for split in ("train", "val", "test")}
    return splits, emb, captions


def embed_captions(ds, cache: Path, spec: str | None, log=print):
    if cache.exists():
        data = torch.load(cache, weights_only=False)
        log(f"caption embeddings from {cache}")
        return data["captions"], data["embeddings"], data["clip_captions"]
    from pipeline.text.encoder import load_text_encoder

    captions: list[str] = []
    index: dict[str, int] = {}
    clip_captions: dict[str, list[int]] = {}
    for cid in ds.clip_ids():
        ids = []
        for c in ds.captions(cid) or ["a person moves."]:
            if c not in index:
                index[c] = len(captions)
                captions.append(c)
            ids.append(index[c])
        clip_captions[cid] = ids
    enc = load_text_encoder(spec)
    t0 = time.time()
    emb = torch.cat([enc.encode(captions[i:i + 256]) for i in range(0, len(captions), 256)]).float()
    log(f"embedded {len(captions)} captions ({enc.name}, dim {enc.dim}) in {time.time() - t0:.1f} s")
    torch.save({"captions": captions, "embeddings": emb, "clip_captions": clip_captions}, cache)
    return captions, emb, clip_captions


def cached_tokens(cache: Path, tokenizer_dir: Path, features: dict, log=print) -> dict[str, np.ndarray]:
    """{id: tokens (N,)} for {id: callable returning raw features (T, 263)}, cached per tokenizer."""
    if cache.exists():
        log(f"tokens from {cache}")
        return {k: np.asarray(v, np.int64) for k, v in torch.load(cache, weights_only=False).items()}
    from pipeline.motion.tokenizer import MotionTokenizer

    tok = MotionTokenizer.from_pretrained(tokenizer_dir)
    out = {}
    t0 = time.time()
    with torch.no_grad():
        for cid, load in features.items():
            feats = load()
            if feats is None or len(feats) < 4:
                continue
            out[cid] = tok.encode(torch.from_numpy(np.asarray(feats, np.float32))[None])[0].numpy().astype(np.int64)
    log(f"tokenised {len(out)} clips with {tokenizer_dir} in {time.time() - t0:.1f} s")
    torch.save({k: v.tolist() for k, v in out.items()}, cache)
    return out


class TextTokenData(torch.utils.data.Dataset):
    """Clips of tokens with a random caption each time; random crops of clips longer than the window."""

    def __init__(self, clips: list[TokenClip], embeddings: torch.Tensor, window: int, seed: int = 0):
        self.clips = clips
        self.emb = embeddings
        self.window = window
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int):
        c = self.clips[i]
        toks = torch.from_numpy(c.tokens)
        if len(toks) > self.window:
            s = self.rng.randint(0, len(toks) - self.window)
            toks = toks[s:s + self.window]
        return toks, self.emb[self.rng.choice(c.caption_ids)]


class TokenBudgetBatches(torch.utils.data.Sampler):
    """Batches of clips of similar length holding at most `budget` padded tokens (CPU time is per token).

    Each epoch: shuffle, sort by length within pools of 32 batches, cut, shuffle the batches.
    """

    def __init__(self, lengths: list[int], budget: int, seed: int = 0, max_batch: int = 256):
        self.lengths = list(lengths)
        self.budget = budget
        self.max_batch = max_batch
        self.rng = random.Random(seed)
        self._n = len(self._plan(random.Random(seed)))

    def _plan(self, rng: random.Random) -> list[list[int]]:
        idx = list(range(len(self.lengths)))
        rng.shuffle(idx)
        pool = max(1, 32 * self.budget // max(1, int(np.mean(self.lengths))))
        batches = []
        for p in range(0, len(idx), pool):
            chunk = sorted(idx[p:p + pool], key=lambda i: self.lengths[i])
            cur: list[int] = []
            for i in chunk:
                longest = max([self.lengths[j] for j in cur] + [self.lengths[i]])
                if cur and (longest * (len(cur) + 1) > self.budget or len(cur) >= self.max_batch):
                    batches.append(cur)
                    cur = []
                cur.append(i)
            if cur:
                batches.append(cur)
        rng.shuffle(batches)
        return batches

    def __iter__(self):
        yield from self._plan(self.rng)

    def __len__(self) -> int:
        return self._n


def collate_tokens(batch, pad_id: int, window: int):
    n = max(len(t) for t, _ in batch)
    tokens = torch.full((len(batch), n), pad_id, dtype=torch.long)
    padding = torch.ones((len(batch), n), dtype=torch.bool)
    for i, (t, _) in enumerate(batch):
        tokens[i, :len(t)] = t
        padding[i, :len(t)] = False
    cond = torch.stack([c for _, c in batch])
    return tokens, padding, cond


@torch.no_grad()
def evaluate_masked_accuracy(model: DualBranchGenerator, clips: list[TokenClip], embeddings: torch.Tensor,
                             ratio: float = 0.5, seed: int = 1234, audio: list[torch.Tensor] | None = None) -> dict:
    """Accuracy / loss of predicting a fixed random `ratio` of the tokens of every clip (first caption).

    audio: optional per-clip audio features (T, audio_dim) for the dual-branch model.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    correct = total = 0
    loss_sum = 0.0
    for i, c in enumerate(clips):
        toks = torch.from_numpy(c.tokens)[: cfg.max_tokens][None]
        n = toks.shape[1]
        k = max(1, int(round(ratio * n)))
        pos = torch.randperm(n, generator=g)[:k]
        masked = torch.zeros_like(toks, dtype=torch.bool)
        masked[0, pos] = True
        inputs = torch.where(masked, torch.full_like(toks, cfg.mask_id), toks)
        cond = embeddings[c.caption_ids[0]][None]
        audio_tok = None
        if audio is not None:
            audio_tok = model.audio_tokens(audio[i][None])[:, :n]
        logits = model(inputs, cond, audio_tok=audio_tok)
        sel, tgt = logits[masked], toks[masked]
        correct += int((sel.argmax(-1) == tgt).sum())
        total += int(tgt.numel())
        loss_sum += float(F.cross_entropy(sel, tgt, reduction="sum"))
    return {"masked_token_accuracy": correct / max(total, 1), "masked_token_loss": loss_sum / max(total, 1),
            "mask_ratio": ratio, "clips": len(clips), "tokens_scored": total}


# ------------------------------------------------------------------------------------------ loop
def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tokenizer", type=Path, default=REPO_ROOT / "assets/checkpoints/motion_tokenizer")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "assets/checkpoints/motion_generator")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="periodic training state for --resume (default: cache/generator_train/<stage>)")
    p.add_argument("--cache", type=Path, default=REPO_ROOT / "cache/generator_train")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-tokens", type=int, default=1024,
                   help="padded tokens per batch (clips of similar length are batched together)")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this wall time")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")


def load_init(init: Path, tokenizer: Path, *, overrides: dict | None = None, text_dim: int | None = None,
              text_encoder: str | None = None, allow_tokenizer_change: bool = False) -> DualBranchGenerator:
    """The generator saved in `init`, to fine-tune on tokens of `tokenizer` (ValueError if it cannot be).

    Refuses a checkpoint trained on another tokenizer's codes (its config's tokenizer_sha256 is not
    that of `tokenizer`, or is unknown), sizes in `overrides` ({"d_model": 256, ...}, None values
    ignored) that differ from its own, a caption embedding width `text_dim` or a text encoder name
    other than its own. With `allow_tokenizer_change` another tokenizer is accepted (one fine-tuned
    from the checkpoint's: the caller's claim); the returned model's cfg then carries `tokenizer`'s
    sha256 and its `tokenizer_changed_from` attribute the old one (None when unchanged)."""
    init = Path(init)
    if not (init / "config.json").is_file():
        raise ValueError(f"--init {init}: no config.json there (give a saved generator folder)")
    cfg = GeneratorConfig.load(init / "config.json")
    sha = tokenizer_sha256(tokenizer)
    changed_from = None
    if cfg.tokenizer_sha256 != sha:
        if not allow_tokenizer_change:
            raise ValueError(f"--init {init} was trained on the codes of tokenizer {cfg.tokenizer_sha256 or '(unknown)'}, "
                             f"not of --tokenizer {tokenizer} ({sha}): its weights would predict the wrong codes; "
                             "pass the tokenizer it was trained with, train from scratch (no --init), or, if "
                             "--tokenizer was fine-tuned from that one, --allow-tokenizer-change")
        changed_from = cfg.tokenizer_sha256 or "(unknown)"
    wrong = [f"{k} {v} (it has {getattr(cfg, k)})" for k, v in (overrides or {}).items()
             if v is not None and v != getattr(cfg, k)]
    if text_dim is not None and text_dim != cfg.text_dim:
        wrong.append(f"caption embeddings of width {text_dim} (it has text_dim {cfg.text_dim})")
    if text_encoder is not None and text_encoder != cfg.text_encoder:
        wrong.append(f"text encoder {text_encoder} (it has {cfg.text_encoder})")
    if wrong:
        raise ValueError(f"--init {init} does not match what was asked: {'; '.join(wrong)}. "
                         "Fine-tuning keeps the checkpoint's sizes; drop those options or train from scratch")
    model = DualBranchGenerator.from_pretrained(init)
    model.cfg.tokenizer_sha256 = sha
    model.tokenizer_changed_from = changed_from
    return model


def write_log(out: Path, stage: str, entry: dict) -> None:
    path = out / TRAIN_LOG
    log = json.loads(path.read_text()) if path.exists() else {}
    log[stage] = entry
    path.write_text(json.dumps(log, indent=2) + "\n")


def run_loop(*, accelerator, model, trainable, batches, step_fn, args, state_dir: Path, save_fn, log) -> dict:
    """Shared loop: AdamW on `trainable`, warmup + cosine LR, periodic save_state, --resume, tqdm."""
    from tqdm.auto import tqdm

    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.99))
    model, opt = accelerator.prepare(model, opt)
    step = 0
    meta_path = state_dir / "progress.json"
    if args.resume and meta_path.exists():
        accelerator.load_state(str(state_dir))
        step = json.loads(meta_path.read_text())["step"]
        log(f"resumed at step {step} from {state_dir}")
    elif args.resume:
        log(f"--resume: no state in {state_dir}; starting from scratch")
    t0 = time.time()
    bar = tqdm(total=args.steps, initial=step, disable=not accelerator.is_local_main_process, mininterval=5)
    ema_loss = ema_acc = None
    it = batches()
    while step < args.steps:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        model.train()
        loss, acc = step_fn(model, next(it))
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(trainable, 1.0)
        opt.step()
        step += 1
        loss_v, acc_v = loss.item(), acc.item()
        ema_loss = loss_v if ema_loss is None else 0.98 * ema_loss + 0.02 * loss_v
        ema_acc = acc_v if ema_acc is None else 0.98 * ema_acc + 0.02 * acc_v
        bar.update(1)
        bar.set_postfix(loss=f"{ema_loss:.3f}", acc=f"{ema_acc:.3f}")
        out_of_time = args.max_minutes is not None and time.time() - t0 > args.max_minutes * 60
        if step % args.save_every == 0 or step == args.steps or out_of_time:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                accelerator.save_state(str(state_dir))
                meta_path.write_text(json.dumps({"step": step}))
                save_fn(accelerator.unwrap_model(model))
        if out_of_time:
            log(f"stopping at step {step}: --max-minutes {args.max_minutes} reached")
            break
    bar.close()
    return {"steps": step, "wall_s": round(time.time() - t0, 1), "train_loss_ema": ema_loss,
            "train_masked_acc_ema": ema_acc, "model": accelerator.unwrap_model(model)}


def infinite(loader):
    while True:
        yield from loader


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", type=Path, default=REPO_ROOT / "cache/motion-dataset")
    p.add_argument("--config", type=Path, default=None, help="a GeneratorConfig json (default: the CPU default)")
    p.add_argument("--d-model", type=int, default=None)
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--heads", type=int, default=None)
    p.add_argument("--ff", type=int, default=None)
    p.add_argument("--text-encoder", default=None)
    p.add_argument("--init", type=Path, default=None,
                   help="fine-tune: start from this saved generator (its config and weights; see the docstring)")
    p.add_argument("--allow-tokenizer-change", action="store_true",
                   help="with --init: accept a --tokenizer other than the one it was trained on, for a tokenizer "
                        "fine-tuned from that one (pipeline.train.tokenizer --init-from); the saved config gets "
                        "the new tokenizer's sha256")
    p.add_argument("--log-name", default="text", help="key of this run in train_log.json")
    add_common_args(p)
    args = p.parse_args(argv)

    from accelerate import Accelerator
    from accelerate.utils import set_seed

    torch.set_num_threads(args.threads)
    accelerator = Accelerator()
    log = accelerator.print
    set_seed(args.seed)
    splits, emb, captions = tokenize_dataset(args.dataset, args.tokenizer, args.cache, args.text_encoder, log)

    overrides = {"d_model": args.d_model, "n_layers": args.layers, "n_heads": args.heads, "ff": args.ff}
    from pipeline.audio import load_audio_features
    if args.init is not None:
        if args.config is not None:
            given = GeneratorConfig.from_dict(json.loads(args.config.read_text()))
            overrides.update({k: getattr(given, k) for k in ("d_model", "n_layers", "n_heads", "ff")
                              if overrides[k] is None})
        model = load_init(args.init, args.tokenizer, overrides=overrides, text_dim=int(emb.shape[1]),
                          text_encoder=args.text_encoder, allow_tokenizer_change=args.allow_tokenizer_change)
        if model.tokenizer_changed_from:
            log(f"--allow-tokenizer-change: {args.init} was trained on tokenizer {model.tokenizer_changed_from}; "
                f"fine-tuning it on the codes of {args.tokenizer} ({model.cfg.tokenizer_sha256})")
        cfg = model.cfg
        audio_dim = int(load_audio_features(cfg.audio_features).dim)
        if "audio" in model.loaded_branches and audio_dim != cfg.audio_dim:
            raise ValueError(f"--init {args.init}: its audio branch reads {cfg.audio_dim}-d features, "
                             f"the feature extractor gives {audio_dim}")
        log(f"fine-tuning {args.init} (branches {list(model.loaded_branches)}); config {cfg.to_dict()}")
    else:
        cfg = GeneratorConfig.from_dict(json.loads(args.config.read_text())) if args.config else default_cpu_config()
        cfg = GeneratorConfig.from_dict({**cfg.to_dict(), **{k: v for k, v in overrides.items() if v is not None},
                                         "text_dim": int(emb.shape[1]),
                                         "text_encoder": args.text_encoder or "minilm",
                                         "tokenizer_sha256": tokenizer_sha256(args.tokenizer)})
        cfg.audio_dim = int(load_audio_features(cfg.audio_features).dim)
        model = DualBranchGenerator(cfg)
        model.loaded_branches = ("text",)
    log(f"text branch: {model.num_parameters('text') / 1e6:.2f} M parameters; config {cfg.to_dict()}")
    # What is saved: the text branch, plus an audio branch carried over unchanged from --init.
    saved_branches = tuple(b for b in ("text", "audio") if b in model.loaded_branches or b == "text")
    if args.init is not None and Path(args.out).resolve() != Path(args.init).resolve():
        Path(args.out).mkdir(parents=True, exist_ok=True)
        if (Path(args.init) / TRAIN_LOG).is_file() and not (Path(args.out) / TRAIN_LOG).exists():
            (Path(args.out) / TRAIN_LOG).write_text((Path(args.init) / TRAIN_LOG).read_text())  # keep its history

    data = TextTokenData(splits["train"], emb, cfg.max_tokens, seed=args.seed)
    sampler = TokenBudgetBatches([min(len(c.tokens), cfg.max_tokens) for c in splits["train"]],
                                 args.batch_tokens, seed=args.seed)
    loader = torch.utils.data.DataLoader(data, batch_sampler=sampler,
                                         collate_fn=lambda b: collate_tokens(b, cfg.pad_id, cfg.max_tokens))
    loader = accelerator.prepare(loader)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)

    def step_fn(m, batch):
        tokens, padding, cond = batch
        inputs, masked = mask_tokens(tokens.cpu(), padding.cpu(), cfg, gen)
        inputs, masked = inputs.to(tokens.device), masked.to(tokens.device)
        core = accelerator.unwrap_model(m)
        cond = core.drop_cond(cond[:, None, :].expand(-1, tokens.shape[1], -1))
        logits = m(inputs, cond, padding=padding)
        return masked_loss(logits, tokens, masked)

    state_dir = args.state_dir or args.cache / "state_text"
    save = lambda m: m.save_pretrained(args.out, branches=saved_branches)  # noqa: E731
    trainable = list(model.text.parameters())
    result = run_loop(accelerator=accelerator, model=model, trainable=trainable, batches=lambda: infinite(loader),
                      step_fn=step_fn, args=args, state_dir=state_dir, save_fn=save, log=log)
    model = result.pop("model")
    metrics = {}
    if accelerator.is_main_process:
        model.save_pretrained(args.out, branches=saved_branches)
        # What prompt understanding may offer: the actions and mocap descriptions trained on.
        from pipeline.text.understand import write_vocabulary
        write_vocabulary(args.out, args.dataset)
        for split in ("val", "test"):
            metrics[split] = evaluate_masked_accuracy(model, splits[split], emb)
        entry = {**result, "metrics": metrics, "dataset": str(args.dataset), "batch_tokens": args.batch_tokens,
                 "lr": args.lr, "train_clips": len(splits["train"]), "captions": len(captions),
                 "threads": args.threads, "processes": accelerator.num_processes, "warmup": args.warmup,
                 "init": None if args.init is None else str(args.init), "branches_saved": list(saved_branches),
                 "tokenizer": str(args.tokenizer),
                 "tokenizer_changed_from": getattr(model, "tokenizer_changed_from", None)}
        write_log(args.out, args.log_name, entry)
        log(json.dumps(entry, indent=2))
    return metrics


def default_cpu_config() -> GeneratorConfig:
    """The shipped CPU size (see the model card): narrower and shallower than the paper's 8x384."""
    return GeneratorConfig(d_model=256, n_layers=4, n_heads=4, ff=1024, dropout=0.1)


if __name__ == "__main__":
    main()
