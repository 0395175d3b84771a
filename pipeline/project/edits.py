"""The director's motion edits on token arrays, without the UI: which tokens may change (locked
tokens and locked segments stay), per-segment seeds, span resampling and copying from a take.

Why here: the studio page (studio/director_page.py) and the CLI (`generate --lock`, `edit-span`)
make the same edits; each function takes the clip, the timeline and the tokens and returns a new
GenerationResult or array, never touching its inputs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from pipeline.project import timeline as tl
from pipeline.validation import check_int, wrap_seed


def span_mask(n: int, a: int, b: int) -> np.ndarray:
    """(n,) bool, True on tokens [a, b)."""
    mask = np.zeros(n, dtype=bool)
    mask[a:b] = True
    return mask


def free_mask(tokens: np.ndarray | None, locked: np.ndarray | None, segments: Sequence[tl.Segment],
              n: int) -> np.ndarray:
    """Tokens that may change: not locked by the token mask nor inside a locked segment (all free
    when there are no tokens of this length yet)."""
    free = np.ones(n, dtype=bool)
    if tokens is None or len(tokens) != n:
        return free
    if locked is not None:
        free &= ~np.asarray(locked, dtype=bool)
    for seg in segments:
        if seg.locked:
            a, b = tl.token_range(seg, n)
            free[a:b] = False
    return free


def locks_arg(tokens: np.ndarray | None, free: np.ndarray) -> np.ndarray | None:
    """generate()'s ``locked_tokens``: the kept ids, -1 where free (None when all are free)."""
    if tokens is None or len(tokens) != len(free) or free.all():
        return None
    return np.where(free, -1, tokens).astype(np.int64)


def token_span(start, end, n: int) -> tuple[int, int]:
    """First and last token numbers (inclusive, as typed) -> [a, b); ValueError when outside 0..n-1."""
    if start is None or end is None:
        raise ValueError("give the span as first and last token numbers")
    a = check_int(start, "the first token", -2**62, 2**62)
    b = check_int(end, "the last token", -2**62, 2**62)
    if not 0 <= a <= b < n:
        raise ValueError(f"tokens {a}..{b} are not inside the motion's {n} tokens (0..{n - 1})")
    return a, b + 1


def parse_token_span(text: str, n: int) -> tuple[int, int]:
    """'START-END' (token numbers, inclusive) -> [a, b); ValueError that says the form."""
    start, sep, end = str(text).partition("-")
    if not sep:
        raise ValueError(f"span {text!r}: use FIRST-LAST token numbers (inclusive), e.g. 3-7")
    try:
        return token_span(start.strip(), end.strip(), n)
    except ValueError as err:
        raise ValueError(f"span {text!r}: {err}") from None


def decode(clip, segments: Sequence[tl.Segment], tokens: np.ndarray, seed: int = 0):
    """The motion of exactly these tokens (every token locked: the generator only decodes)."""
    from pipeline.motion.generate import generate

    return generate(clip, tl.as_pipeline_segments(segments), locked_tokens=np.asarray(tokens, dtype=np.int64),
                    seed=int(seed))


def resample(clip, result, segments: Sequence[tl.Segment], free: np.ndarray, seed: int, prompt: str | None = None):
    """Resample the free tokens of ``result`` (regenerate_span when they form one span, else a
    generate with the rest locked); ``result`` itself when nothing is free."""
    from pipeline.motion.generate import generate, regenerate_span, token_prompts_for

    idx = np.flatnonzero(free)
    if idx.size == 0:
        return result
    a, b = int(idx[0]), int(idx[-1]) + 1
    segs = tl.as_pipeline_segments(segments)
    if idx.size == b - a:
        current = replace(result, segments=segs, token_prompts=token_prompts_for(segs, result.num_tokens))
        return regenerate_span(current, a, b, seed=seed, prompt=prompt)
    locks = np.where(free, -1, result.tokens).astype(np.int64)
    return generate(clip, segs, locked_tokens=locks, seed=seed)


def generate_timeline(clip, segments: Sequence[tl.Segment], n: int, seed: int, tokens: np.ndarray | None = None,
                      locked: np.ndarray | None = None):
    """Motion for the whole timeline: each segment's prompt, locked tokens and locked segments
    kept (of ``tokens``, the current motion), and every unlocked segment with its own seed
    re-sampled with ``seed + segment seed``."""
    from pipeline.motion.generate import generate

    free = free_mask(tokens, locked, segments, n)
    result = generate(clip, tl.as_pipeline_segments(segments), locked_tokens=locks_arg(tokens, free), seed=seed)
    for seg in segments:
        if seg.seed and not seg.locked:
            a, b = tl.token_range(seg, n)
            result = resample(clip, result, segments, span_mask(n, a, b) & free, wrap_seed(seed + seg.seed))
    return result


def copy_from_take(tokens: np.ndarray, source: Sequence[int], free: np.ndarray, a: int, b: int
                   ) -> tuple[np.ndarray, int, int]:
    """Tokens [a, b) of ``source`` (a take) copied into ``tokens`` where free. Returns (new tokens,
    copied, kept because locked)."""
    out = np.asarray(tokens, dtype=np.int64).copy()
    window = span_mask(len(out), a, b)
    take = window & free
    out[take] = np.asarray(source, dtype=np.int64)[take]
    return out, int(take.sum()), int((window & ~free).sum())
