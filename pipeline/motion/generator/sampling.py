"""Iterative confidence-ordered decoding of masked motion tokens (MaskGIT / MoMask) with locks.

`masked_decode` fills the target positions of a batch of windows in K steps on a cosine schedule:
every step predicts all still-masked targets (classifier-free guidance against the learned null
text where asked), samples them (temperature + top-k through gumbel noise), keeps the most
confident and re-masks the rest. Locked positions are never changed and act as context; positions
that are neither locked nor targets stay [MASK] (unknown). Span editing is the same thing: unlock a
span, keep the rest locked.

`decode_windowed` runs it over sequences of any length with windows of cfg.max_tokens tokens
(10 s, the training length), batched for CPU speed:
  * a free run that fits in a window with `min_context` tokens each side is decoded in one window
    centred on it (context on both sides);
  * a longer run is cut into chunks of (window - 2*min_context) tokens separated by gaps
    of `overlap` tokens; pass 1 decodes all chunks at once (each window carries min_context tokens
    of locked context or unknown neighbours), pass 2 fills the gaps at once with the chunks on
    both sides as locked context, so every border between windows is decoded seeing both sides.
Audio guidance (options.audio_guidance != 1): windows decoded without text guidance (audio-only
segments) also run without the audio branch's residuals and use no-audio logits + w * (audio
logits - no-audio logits), amplifying what the audio adds (one extra batch row per such window).
Everything random comes from one torch.Generator: the same seed gives the same tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pipeline.motion.generator.model import DualBranchGenerator


@dataclass
class SamplingOptions:
    steps: int = 8
    guidance: float = 3.0
    """Classifier-free guidance scale on prompted positions (1.0 = conditional logits only)."""
    temperature: float = 1.0
    top_k: int = 32
    """Sample among the top-k tokens (0 or >= codebook: no filtering)."""
    confidence_noise: float = 1.0
    """Gumbel noise on the confidences, annealed to 0 over the steps (MaskGIT's choice temperature)."""
    overlap: int = 10
    """Length of the gaps decoded in pass 2 between pass-1 chunks (see decode_windowed)."""
    min_context: int = 5
    """Tokens of context kept on each side of a window's targets where the sequence allows."""
    gap_steps: int | None = None
    """Steps for pass 2 (default: half of steps, at least 2)."""
    audio_guidance: float = 1.0
    """Audio guidance on windows without a user prompt (and with audio): logits without the audio
    branch + audio_guidance * (logits with it - without); 1.0 = off (no extra pass)."""

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if self.overlap < 1 or self.min_context < 0:
            raise ValueError("overlap must be >= 1 and min_context >= 0")


def _gumbel(shape, generator: torch.Generator | None, device) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=device).clamp_(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def cosine_schedule(step: int, steps: int) -> float:
    """Fraction of the targets still masked after `step` (0-based) of `steps`."""
    return math.cos(math.pi / 2 * (step + 1) / steps)


@torch.no_grad()
def masked_decode(model: DualBranchGenerator, tokens: torch.Tensor, locked: torch.Tensor, cond: torch.Tensor,
                  *, target: torch.Tensor | None = None, padding: torch.Tensor | None = None,
                  audio_res: list[torch.Tensor] | None = None, guidance: float | torch.Tensor | None = None,
                  options: SamplingOptions | None = None, steps: int | None = None,
                  generator: torch.Generator | None = None,
                  audio_guidance: float | torch.Tensor | None = None) -> torch.Tensor:
    """Decode the target positions of tokens (B, N) given cond (B, N, text_dim); returns (B, N).

    locked (B, N): kept exactly; target (B, N): decoded (default: every unlocked, unpadded position);
    the rest stays mask_id. padding (B, N): True where a window is padded. audio_res comes from
    model.audio_residuals (or None). guidance: a scale, or one per batch row (1.0 skips the null pass).
    audio_guidance: a scale, or one per row, applied to rows without text guidance when audio_res
    is given (1.0 skips the no-audio pass).
    """
    opts = options or SamplingOptions()
    steps = steps or opts.steps
    cfg = model.config
    b, n = tokens.shape
    locked = locked.bool()
    if locked.shape != tokens.shape:
        raise ValueError(f"locked mask {tuple(locked.shape)} does not match tokens {tuple(tokens.shape)}")
    if ((tokens < 0) | (tokens >= cfg.codebook_size))[locked].any():
        raise ValueError(f"locked tokens must be codebook ids in [0, {cfg.codebook_size})")
    pad = torch.zeros_like(locked) if padding is None else padding.bool()
    target = (~locked & ~pad) if target is None else (target.bool() & ~locked & ~pad)
    base = torch.where(locked, tokens, torch.full_like(tokens, cfg.mask_id))
    base = torch.where(pad, torch.full_like(tokens, cfg.pad_id), base)
    ids = base.clone()
    is_masked = target.clone()
    n_free = target.sum(dim=1)
    if int(n_free.max()) == 0:
        return torch.where(locked, tokens, ids)
    g = opts.guidance if guidance is None else guidance
    g = torch.as_tensor(g, dtype=torch.float32).expand(b).clone()
    guided = (g != 1.0).nonzero().flatten()
    ag = opts.audio_guidance if audio_guidance is None else audio_guidance
    ag = torch.as_tensor(ag, dtype=torch.float32).expand(b).clone()
    aguided = ((ag != 1.0) & (g == 1.0)).nonzero().flatten() if audio_res is not None else guided[:0]
    extra = torch.cat([guided, aguided])
    pad_arg = padding if padding is not None and bool(pad.any()) else None
    if len(extra):
        cond_in = torch.cat([cond, model.null_cond(len(guided), n).to(cond.dtype), cond[aguided]], dim=0)
        res_in = None if audio_res is None else [
            torch.cat([r, r[guided], torch.zeros_like(r[aguided])], dim=0) for r in audio_res]
        pad_in = None if pad_arg is None else torch.cat([pad_arg, pad_arg[extra]], dim=0)
    else:
        cond_in, res_in, pad_in = cond, audio_res, pad_arg
    arange = torch.arange(n, device=tokens.device)
    for step in range(steps):
        ids_in = torch.cat([ids, ids[extra]], dim=0) if len(extra) else ids
        logits = model(ids_in, cond_in, audio_res=res_in, padding=pad_in).float()
        if len(extra):
            logits, other = logits[:b].clone(), logits[b:]
            null_logits, noaudio_logits = other[:len(guided)], other[len(guided):]
            if len(guided):
                cond_g = logits[guided]
                logits[guided] = null_logits + g[guided, None, None] * (cond_g - null_logits)
            if len(aguided):
                with_audio = logits[aguided]
                logits[aguided] = noaudio_logits + ag[aguided, None, None] * (with_audio - noaudio_logits)
        if 0 < opts.top_k < logits.shape[-1]:
            kth = torch.topk(logits, opts.top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if opts.temperature > 0:
            sampled = (logits / opts.temperature + _gumbel(logits.shape, generator, logits.device)).argmax(-1)
        else:
            sampled = logits.argmax(-1)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, sampled[..., None]).squeeze(-1)
        anneal = opts.confidence_noise * (1.0 - (step + 1) / steps)
        if anneal > 0:
            logp = logp + anneal * _gumbel(logp.shape, generator, logp.device)
        ids = torch.where(is_masked, sampled, ids)
        keep_masked = torch.floor(n_free.float() * cosine_schedule(step, steps)).long()  # (B,)
        if int(keep_masked.max()) == 0:
            break
        conf = logp.masked_fill(~is_masked, float("inf"))
        order = conf.argsort(dim=-1, stable=True)          # least confident first
        rank = torch.empty_like(order)
        rank.scatter_(1, order, arange.expand(b, n).contiguous())
        is_masked = rank < keep_masked[:, None]
        ids = torch.where(is_masked, torch.full_like(ids, cfg.mask_id), ids)
    return torch.where(target, ids, torch.where(locked, tokens, base))


def _runs(free: torch.Tensor) -> list[tuple[int, int]]:
    """Maximal runs [s, e) of True in a 1-D bool tensor."""
    f = free.bool().tolist()
    runs, start = [], None
    for i, v in enumerate(f + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _window_around(ts: int, te: int, n: int, window: int) -> tuple[int, int]:
    """A window of at most `window` tokens inside [0, n) holding [ts, te), centred on it."""
    if n <= window:
        return 0, n
    left = (window - (te - ts)) // 2
    s = max(0, min(ts - left, n - window))
    return s, s + window


def plan_windows(free: torch.Tensor, window: int, overlap: int = 10,
                 min_context: int = 5) -> list[list[tuple[int, int, int, int]]]:
    """Passes of (target_start, target_end, window_start, window_end) for a free mask (N,)."""
    n = free.numel()
    ctx = min(min_context, max(0, (window - overlap - 1) // 2))
    fits = window - 2 * ctx
    chunk = max(1, fits)
    pass1, pass2 = [], []
    for s, e in _runs(free):
        if n <= window or e - s <= fits:
            pass1.append((s, e, *_window_around(s, e, n, window)))
            continue
        t = s
        while t < e:
            ce = min(t + chunk, e)
            pass1.append((t, ce, *_window_around(t, ce, n, window)))
            if ce >= e:
                break
            ge = min(ce + overlap, e)
            if e - ge < max(1, overlap // 2):   # a short tail joins the gap
                ge = e
            pass2.append((ce, ge, *_window_around(ce, ge, n, window)))
            t = ge
    return [p for p in (pass1, pass2) if p]


@torch.no_grad()
def decode_windowed(model: DualBranchGenerator, tokens: torch.Tensor, locked: torch.Tensor, cond: torch.Tensor,
                    *, audio_tok: torch.Tensor | None = None, guided: torch.Tensor | None = None,
                    options: SamplingOptions | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Decode the free positions of one sequence of any length by batched windows.

    tokens (N,) (any value at free positions), locked (N,) bool, cond (N, text_dim), audio_tok
    (N, d_model) audio tokens for the whole sequence or None, guided (N,) bool: positions whose
    prompt is the user's (classifier-free guidance applies to windows with guided targets; others
    decode with the conditional logits). Returns (N,) LongTensor; locked positions unchanged.
    """
    opts = options or SamplingOptions()
    window = model.config.max_tokens
    n = tokens.numel()
    if cond.shape[0] != n or (audio_tok is not None and audio_tok.shape[0] != n):
        raise ValueError(f"cond {tuple(cond.shape)} / audio tokens "
                         f"{None if audio_tok is None else tuple(audio_tok.shape)} do not match {n} tokens")
    ids = tokens.clone().long()
    locked = locked.bool().clone()
    guided = torch.ones(n, dtype=torch.bool) if guided is None else guided.bool()
    passes = plan_windows(~locked, window, opts.overlap, opts.min_context)
    for index, plan in enumerate(passes):
        length = max(we - ws for _, _, ws, we in plan)
        b = len(plan)
        tok = torch.full((b, length), model.config.pad_id, dtype=torch.long)
        lck = torch.zeros((b, length), dtype=torch.bool)
        tgt = torch.zeros((b, length), dtype=torch.bool)
        padding = torch.ones((b, length), dtype=torch.bool)
        cnd = model.null_cond(b, length).detach().clone().to(cond.dtype)
        aud = None if audio_tok is None else audio_tok.new_zeros((b, length, audio_tok.shape[1]))
        scale = torch.ones(b)
        for row, (ts, te, ws, we) in enumerate(plan):
            m = we - ws
            tok[row, :m] = ids[ws:we]
            lck[row, :m] = locked[ws:we]
            tgt[row, ts - ws:te - ws] = True
            padding[row, :m] = False
            cnd[row, :m] = cond[ws:we]
            if aud is not None:
                aud[row, :m] = audio_tok[ws:we]
            if bool(guided[ts:te].any()):
                scale[row] = opts.guidance
        tok = torch.where(lck | padding, tok, torch.zeros_like(tok))
        res = None if aud is None else model.audio_residuals(aud, padding if bool(padding.any()) else None)
        steps = opts.steps if index == 0 else (opts.gap_steps or max(2, opts.steps // 2))
        out = masked_decode(model, tok, lck, cnd, target=tgt, padding=padding, audio_res=res, guidance=scale,
                            options=opts, steps=steps, generator=generator)
        for row, (ts, te, ws, _) in enumerate(plan):
            ids[ts:te] = torch.where(locked[ts:te], ids[ts:te], out[row, ts - ws:te - ws])
            locked[ts:te] = True
    return ids
