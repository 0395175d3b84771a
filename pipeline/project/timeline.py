"""The timeline's logic, without Gradio: segments over the speech and an undo/redo history.

Segments always cover the audio exactly: the first starts at 0, each starts where the one
before ends, the last ends at the duration, and none is shorter than ``MIN_SEGMENT_S``. Every
operation returns a new list (the input is never modified) or raises ``TimelineError`` (a
ValueError) with a message the page can show as it is.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any, Generic, Sequence, TypeVar

from pipeline.constants import MOTION_FPS, TOKENS_PER_SECOND
from pipeline.validation import InputError, check_number, check_seed

MIN_SEGMENT_S: float = 1.0 / TOKENS_PER_SECOND
"""The shortest segment: one motion token (0.2 s)."""

HISTORY_LIMIT: int = 100
TIME_DECIMALS: int = 3


class TimelineError(ValueError):
    """A timeline edit that cannot be done; the message says why."""


@dataclass(frozen=True)
class Segment:
    """A stretch of the speech with its own prompt (blank: audio-driven gestures) and seed.

    ``locked``: the segment's tokens are kept as they are when the motion is generated again.
    """

    start: float
    end: float
    prompt: str = ""
    seed: int = 0
    locked: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "prompt": self.prompt, "seed": self.seed,
                "locked": self.locked}

    @classmethod
    def from_dict(cls, data: dict) -> "Segment":
        try:
            return cls(start=float(data["start"]), end=float(data["end"]),
                       prompt=str(data.get("prompt") or ""), seed=check_seed(data.get("seed", 0), "a segment's seed"),
                       locked=bool(data.get("locked", False)))
        except InputError as err:
            raise TimelineError(str(err)) from None
        except (KeyError, TypeError, ValueError) as err:
            raise TimelineError(f"a segment needs start, end, prompt, seed and locked; got {data!r}") from err


def _t(x: float) -> float:
    return round(float(x), TIME_DECIMALS)


def _snap(t: float) -> float:
    """A time on the motion-frame grid (1 / MOTION_FPS)."""
    return round(float(t) * MOTION_FPS) / MOTION_FPS


def _check_index(segments: Sequence[Segment], index: int) -> int:
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise TimelineError(f"pick a segment by its number (1 to {len(segments)})") from None
    if not 0 <= index < len(segments):
        raise TimelineError(f"there is no segment {index + 1}; the timeline has {len(segments)} "
                            f"segment{'s' if len(segments) != 1 else ''}")
    return index


# ----------------------------------------------------------------------------- building

def whole(duration: float) -> list[Segment]:
    """One segment over the whole audio."""
    if not (math.isfinite(duration) and duration > 0):
        raise TimelineError(f"the audio must last more than 0 s, got {duration}")
    return [Segment(0.0, _t(duration))]


def from_pauses(bounds: Sequence[tuple[float, float]], duration: float) -> list[Segment]:
    """Segments from ``suggest_segments``' (start, end) pairs, made to cover [0, duration]."""
    if not bounds:
        return whole(duration)
    cuts = sorted(_t(b) for _, b in bounds[:-1])
    return _from_cuts(cuts, duration, [])


def _from_cuts(cuts: Sequence[float], duration: float, like: Sequence[Segment]) -> list[Segment]:
    edges = [0.0, *cuts, _t(duration)]
    out = []
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        base = like[i] if i < len(like) else Segment(0.0, 0.0)
        out.append(replace(base, start=_t(a), end=_t(b)))
    return out


def validate(segments: Sequence[Segment], duration: float) -> list[Segment]:
    """The same segments if they cover [0, duration] without gaps or overlaps, else TimelineError."""
    segments = list(segments)
    if not segments:
        raise TimelineError("the timeline has no segments")
    tol = 1e-3
    if abs(segments[0].start) > tol:
        raise TimelineError(f"the first segment must start at 0 s, not {segments[0].start:.2f} s")
    if abs(segments[-1].end - duration) > tol:
        raise TimelineError(f"the last segment must end with the audio ({duration:.2f} s), "
                            f"not at {segments[-1].end:.2f} s")
    for i, seg in enumerate(segments):
        if seg.end - seg.start < MIN_SEGMENT_S - tol:
            raise TimelineError(f"segment {i + 1} ({seg.start:.2f}-{seg.end:.2f} s) is shorter than "
                                f"{MIN_SEGMENT_S:.1f} s")
        if i and abs(seg.start - segments[i - 1].end) > tol:
            raise TimelineError(f"segment {i + 1} must start where segment {i} ends "
                                f"({segments[i - 1].end:.2f} s)")
    return segments


def as_pipeline_segments(segments: Sequence[Segment]) -> list[tuple[float, float, str | None]]:
    """(start, end, prompt or None) triples for ``pipeline.motion.generate``."""
    return [(s.start, s.end, s.prompt.strip() or None) for s in segments]


def token_range(segment: Segment, n_tokens: int) -> tuple[int, int]:
    """[first, last) tokens whose centre lies in the segment (the pipeline's own rule)."""
    first = max(0, math.ceil(segment.start * TOKENS_PER_SECOND - 0.5 - 1e-9))
    last = min(n_tokens, math.ceil(segment.end * TOKENS_PER_SECOND - 0.5 - 1e-9))
    return first, max(first, last)


def segment_at(segments: Sequence[Segment], time_s: float) -> int:
    for i, seg in enumerate(segments):
        if seg.start <= time_s < seg.end:
            return i
    return len(segments) - 1


# ----------------------------------------------------------------------------- operations

def split(segments: Sequence[Segment], time_s: float) -> list[Segment]:
    """Cut the segment under ``time_s`` in two (snapped to the motion-frame grid); both halves
    keep its prompt, seed and lock."""
    segments = list(segments)
    try:
        t = _snap(float(time_s))
    except (TypeError, ValueError):
        raise TimelineError("give the time to split at, in seconds") from None
    i = segment_at(segments, t)
    seg = segments[i]
    if t - seg.start < MIN_SEGMENT_S - 1e-6 or seg.end - t < MIN_SEGMENT_S - 1e-6:
        raise TimelineError(f"cannot split segment {i + 1} ({seg.start:.2f}-{seg.end:.2f} s) at {t:.2f} s: "
                            f"both parts must last at least {MIN_SEGMENT_S:.1f} s")
    return segments[:i] + [replace(seg, end=_t(t)), replace(seg, start=_t(t))] + segments[i + 1:]


def add(segments: Sequence[Segment], start: float, end: float, prompt: str = "", seed: int = 0
        ) -> list[Segment]:
    """A new segment [start, end) carved out of the timeline (what it covers is trimmed away)."""
    segments = list(segments)
    duration = segments[-1].end
    start, end = _t(max(0.0, _snap(start))), _t(min(duration, _snap(end)))
    if end - start < MIN_SEGMENT_S - 1e-6:
        raise TimelineError(f"a segment must last at least {MIN_SEGMENT_S:.1f} s inside the audio")
    out = segments
    for t in (start, end):
        if 0 < t < duration and not any(abs(s.start - t) < 1e-6 for s in out):
            out = _cut(out, t)
    kept = [s for s in out if s.end <= start + 1e-6 or s.start >= end - 1e-6]
    new = Segment(start, end, prompt, check_seed(seed))
    result = sorted(kept + [new], key=lambda s: s.start)
    return validate(result, duration)


def _cut(segments: list[Segment], t: float) -> list[Segment]:
    i = segment_at(segments, t)
    seg = segments[i]
    return segments[:i] + [replace(seg, end=t), replace(seg, start=t)] + segments[i + 1:]


def merge_with_next(segments: Sequence[Segment], index: int) -> list[Segment]:
    """Join segment ``index`` with the next one; the first one's prompt wins (or the next one's,
    when the first has none); locked if either was."""
    segments = list(segments)
    i = _check_index(segments, index)
    if i == len(segments) - 1:
        raise TimelineError(f"segment {i + 1} is the last one; there is nothing after it to merge with")
    a, b = segments[i], segments[i + 1]
    merged = replace(a, end=b.end, prompt=a.prompt or b.prompt, locked=a.locked or b.locked)
    return segments[:i] + [merged] + segments[i + 2:]


def delete(segments: Sequence[Segment], index: int) -> list[Segment]:
    """Remove segment ``index``; the segment before it (or after it, for the first) takes its time."""
    segments = list(segments)
    i = _check_index(segments, index)
    if len(segments) == 1:
        raise TimelineError("the only segment cannot be deleted; the timeline must cover the audio")
    if i == 0:
        return [replace(segments[1], start=0.0)] + segments[2:]
    return segments[:i - 1] + [replace(segments[i - 1], end=segments[i].end)] + segments[i + 1:]


def resize(segments: Sequence[Segment], index: int, start: float | None = None,
           end: float | None = None) -> list[Segment]:
    """Move segment ``index``'s start and/or end; its neighbours follow. Times are clamped so that
    every segment keeps at least MIN_SEGMENT_S and the outer edges stay at 0 and the duration."""
    segments = list(segments)
    i = _check_index(segments, index)
    cuts = [s.end for s in segments[:-1]]
    duration = segments[-1].end
    if start is not None and i > 0:
        cuts[i - 1] = float(start)
    if end is not None and i < len(segments) - 1:
        cuts[i] = float(end)
    return _from_cuts(_clamp_cuts(cuts, duration, prefer=i), duration, segments)


def _clamp_cuts(cuts: list[float], duration: float, prefer: int = 0) -> list[float]:
    """Boundaries moved (least first) so every segment lasts at least MIN_SEGMENT_S."""
    m = MIN_SEGMENT_S
    n = len(cuts)
    out = [_snap(c) for c in cuts]
    for k in range(n):  # bounds from both ends
        lo, hi = (k + 1) * m, duration - (n - k) * m
        out[k] = min(max(out[k], lo), hi)
    # push forward from the edited region, then backward
    for k in range(1, n):
        out[k] = max(out[k], out[k - 1] + m)
    for k in range(n - 2, -1, -1):
        out[k] = min(out[k], out[k + 1] - m)
    return [_t(c) for c in out]


def set_fields(segments: Sequence[Segment], index: int, **fields: Any) -> list[Segment]:
    """Set prompt / seed / locked of segment ``index``."""
    segments = list(segments)
    i = _check_index(segments, index)
    allowed = {"prompt", "seed", "locked"}
    unknown = set(fields) - allowed
    if unknown:
        raise TimelineError(f"unknown segment field(s): {', '.join(sorted(unknown))}")
    if "prompt" in fields:
        fields["prompt"] = str(fields["prompt"] or "")
    if "seed" in fields:
        try:
            fields["seed"] = check_seed(fields["seed"], f"segment {i + 1}'s seed")
        except InputError as err:
            raise TimelineError(str(err)) from None
    if "locked" in fields:
        fields["locked"] = bool(fields["locked"])
    segments[i] = replace(segments[i], **fields)
    return segments


def set_prompt(segments, index, prompt):
    return set_fields(segments, index, prompt=prompt)


def set_seed(segments, index, seed):
    return set_fields(segments, index, seed=seed)


def set_locked(segments, index, locked):
    return set_fields(segments, index, locked=locked)


# ----------------------------------------------------------------------------- the table

TABLE_HEADERS = ["start", "end", "prompt", "seed", "lock"]


def to_rows(segments: Sequence[Segment]) -> list[list]:
    return [[s.start, s.end, s.prompt, s.seed, s.locked] for s in segments]


def _number(value, what: str, row: int) -> float:
    """A typed time (seconds): a plain finite number ('1_0' is refused, not read as 10); values
    beyond the audio are clamped by the caller."""
    try:
        return check_number(value, f"row {row}: {what}", -1e6, 1e6)
    except InputError as err:
        raise TimelineError(str(err)) from None


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y", "x", "✓", "locked")
    return bool(value) and value == value  # NaN -> False


def from_rows(old: Sequence[Segment], rows: Sequence[Sequence], duration: float) -> list[Segment]:
    """The segments after the user edited the table.

    Rows keep their count and order (use split / merge / delete to change them). A moved border
    is read from whichever side changed (an edited end, or the next row's edited start); times
    are clamped so the segments still cover the audio.
    """
    old = list(old)
    rows = [list(r) for r in rows]
    if len(rows) != len(old):
        raise TimelineError(f"the table must keep its {len(old)} rows; use Split, Merge and Delete to "
                            "change the segments")
    cuts = []
    for k in range(len(old) - 1):
        end_k = _number(rows[k][1], "end", k + 1)
        start_next = _number(rows[k + 1][0], "start", k + 2)
        if abs(end_k - old[k].end) > 1e-6:
            cuts.append(end_k)
        elif abs(start_next - old[k + 1].start) > 1e-6:
            cuts.append(start_next)
        else:
            cuts.append(old[k].end)
    new = _from_cuts(_clamp_cuts(cuts, duration), duration, old)
    out = []
    for k, (seg, row) in enumerate(zip(new, rows)):
        prompt = "" if row[2] is None or row[2] != row[2] else str(row[2])
        seed_value = row[3] if not (row[3] is None or row[3] == "" or row[3] != row[3]) else 0  # blank/NaN: 0
        try:
            seed = check_seed(seed_value, f"row {k + 1}: the seed")
        except InputError as err:
            raise TimelineError(f"{err}; type a whole number from 0") from None
        out.append(replace(seg, prompt=prompt, seed=seed, locked=_flag(row[4])))
    return out


# ----------------------------------------------------------------------------- undo / redo

T = TypeVar("T")


class History(Generic[T]):
    """Undo and redo stacks of snapshots (deep copies), at most ``limit`` deep."""

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self.limit = int(limit)
        self.undo_stack: list[T] = []
        self.redo_stack: list[T] = []

    def push(self, snapshot: T) -> None:
        """Remember ``snapshot`` (the state before an edit); a new edit clears the redo stack."""
        self.undo_stack.append(copy.deepcopy(snapshot))
        del self.undo_stack[:-self.limit]
        self.redo_stack.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    def undo(self, current: T) -> T:
        if not self.undo_stack:
            raise TimelineError("nothing to undo")
        self.redo_stack.append(copy.deepcopy(current))
        return self.undo_stack.pop()

    def redo(self, current: T) -> T:
        if not self.redo_stack:
            raise TimelineError("nothing to redo")
        self.undo_stack.append(copy.deepcopy(current))
        return self.redo_stack.pop()

    def clear(self) -> None:
        self.undo_stack.clear()
        self.redo_stack.clear()
