"""The Director page's edits: timeline (table, split, merge, add, delete, borders), undo/redo,
generate, span regeneration, segment re-roll, locks, and the stage's selections.

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

import numpy as np

from components.stage import empty_payload
from pipeline import validation as check
from pipeline.project import edits
from pipeline.project import timeline as tl
from studio.director_motion import (
    _commit_tokens,
    _free_mask,
    _motion_status,
    _n_tokens,
    _need_motion,
    _need_timeline,
    _resample,
    _span,
    _span_mask,
    _sync_result,
    _use_clip,
)
from studio.director_session import (
    DEFAULT_ADD_SECONDS,
    VIEW_FIELDS,
    DirectorSession,
    _autosave,
    _gr,
    _progress,
    new_session,
)
from studio.director_view import _guard, _view, ok, stage_for
from studio.handler_types import FieldValue, Outputs, ProgressFn, TableValue


def _edit(session: DirectorSession, segments: list, status: str) -> tuple:
    tl.validate(segments, session.project.duration_s)
    p = session.project
    p.checkpoint()
    p.segments = segments
    _autosave(session)
    return _view(session, ok(status))


def _rows(value) -> list[list]:
    if value is None:
        return []
    if hasattr(value, "values") and hasattr(value, "columns"):  # pandas
        return value.values.tolist()
    if isinstance(value, dict) and "data" in value:
        return [list(r) for r in value["data"]]
    return [list(r) for r in value]


def _index(number) -> int:
    try:
        return check.check_int(number, "the segment's number", 1, 10**6) - 1
    except check.InputError:
        raise tl.TimelineError("give the segment's number (the table's row, from 1)") from None


@_guard("Could not apply the table edit")
def edit_segments(table: TableValue, session: DirectorSession | None) -> Outputs:
    session = _need_timeline(session)
    p = session.project
    segments = tl.from_rows(p.segments, _rows(table), p.duration_s)
    if segments == p.segments:  # the table sends its value again after an edit: keep the page as it is
        return (session,) + (_gr().skip(),) * (len(VIEW_FIELDS) - 1)
    return _edit(session, segments, "Segments updated.")


@_guard("Could not split")
def split_segment(at_time: FieldValue, session: DirectorSession | None) -> Outputs:
    session = _need_timeline(session)
    if at_time is None:
        raise tl.TimelineError("give the time to split at, in seconds")
    at = check.check_time(at_time, "the time to split at")
    return _edit(session, tl.split(session.project.segments, at), f"Split at {at:.2f} s.")


@_guard("Could not merge")
def merge_segment(number: FieldValue, session: DirectorSession | None) -> Outputs:
    session = _need_timeline(session)
    i = _index(number)
    return _edit(session, tl.merge_with_next(session.project.segments, i), f"Merged segments {i + 1} and {i + 2}.")


@_guard("Could not delete")
def delete_segment(number: FieldValue, session: DirectorSession | None) -> Outputs:
    session = _need_timeline(session)
    i = _index(number)
    return _edit(session, tl.delete(session.project.segments, i), f"Deleted segment {i + 1}.")


@_guard("Could not add a segment")
def add_segment(at_time: FieldValue, length: FieldValue, session: DirectorSession | None) -> Outputs:
    """A new segment from ``at_time`` lasting ``length`` seconds, carved out of the timeline."""
    session = _need_timeline(session)
    if at_time is None:
        raise tl.TimelineError("give the time where the new segment starts, in seconds")
    start = check.check_time(at_time, "the new segment's start")
    end = start + check.check_number(length or DEFAULT_ADD_SECONDS, "the new segment's length", 0.0, 3600.0)
    segments = tl.add(session.project.segments, start, end)
    session.selected = next((i for i, s in enumerate(segments) if abs(s.start - tl._snap(start)) < 1e-6), None)
    return _edit(session, segments, f"Added a segment at {start:.2f} s.")


@_guard("Could not move the border")
def resize_border(index: FieldValue, time_s: FieldValue, session: DirectorSession | None) -> Outputs:
    """Move the border after segment ``index`` (from 0) to ``time_s``; neighbours keep at least
    the minimum length."""
    session = _need_timeline(session)
    index = check.check_int(index, "the border", 0, max(len(session.project.segments) - 2, 0))
    segments = tl.resize(session.project.segments, index, end=check.check_time(time_s, "the border's time"))
    return _edit(session, segments, f"Border {int(index) + 1}|{int(index) + 2} moved to "
                                    f"{segments[int(index)].end:.2f} s.")


@_guard("Could not undo")
def undo(session: DirectorSession | None) -> tuple:
    session = session or new_session()
    return _step_history(session, session.project.undo, session.project.redo, "Undone.")


@_guard("Could not redo")
def redo(session: DirectorSession | None) -> tuple:
    session = session or new_session()
    return _step_history(session, session.project.redo, session.project.undo, "Redone.")


def _step_history(session: DirectorSession, step, back, text: str) -> tuple:
    """Undo or redo one step: the recording comes back with its segments and motion. When the
    step cannot be shown (its recording no longer decodes), it is stepped back again, so a failure
    really leaves the project unchanged."""
    p = session.project
    step()
    old = (session.clip, session.clip_file, session.result, session.poses, session.compare, session.compare_view,
           dict(session.files), dict(session.mouths))
    try:
        audio_changed = bool(p.audio_file) and p.audio_file != session.clip_file
        if audio_changed:
            from pipeline.audio import load_audio

            _use_clip(session, load_audio(p.audio_file), p.audio_file)
            text += f" The recording before ({p.duration_s:.2f} s) is back with its segments."
        changed = _sync_result(session) or audio_changed
    except Exception:
        back()
        (session.clip, session.clip_file, session.result, session.poses, session.compare,
         session.compare_view, session.files, session.mouths) = old
        raise
    _autosave(session)
    return _view(session, ok(text), motion=changed)


@_guard("Could not generate the motion")
def generate_motion(seed: FieldValue, session: DirectorSession | None, progress: ProgressFn = None) -> Outputs:
    """Motion for the whole timeline: each segment's prompt (blank: speech gestures), locked tokens
    and locked segments kept; a segment with its own seed is re-sampled with it."""
    session = _need_timeline(session)
    p = session.project
    seed = check.check_seed(seed, "the seed")
    _progress(progress, 0.05, "Generating motion tokens")
    result = edits.generate_timeline(session.clip, p.segments, _n_tokens(session), seed, p.tokens, p.locked)
    p.settings["seed"] = seed
    _commit_tokens(session, result, f"take {len(p.takes) + 1} (seed {seed})", progress)
    return _view(session, _motion_status(session, "Motion generated:"), motion=True)


@_guard("Could not regenerate the span")
def regenerate_span(start: FieldValue, end: FieldValue, seed: FieldValue, session: DirectorSession | None,
                    progress: ProgressFn = None) -> Outputs:
    """Resample tokens start..end (inclusive); every other token, and locked ones, stay as they are."""
    session = _need_motion(session)
    p = session.project
    n = len(p.tokens)
    a, b = _span(start, end, n)
    seed = check.check_seed(seed, "the span seed")
    free = _span_mask(n, a, b) & _free_mask(p, n)
    if not free.any():
        raise ValueError(f"tokens {a}..{b - 1} are all locked; unlock them to regenerate")
    _progress(progress, 0.05, "Regenerating the span")
    result = _resample(session, free, seed)
    _commit_tokens(session, result, f"span {a}-{b - 1} (seed {seed})", progress)
    return _view(session, _motion_status(session, f"Tokens {a}..{b - 1} regenerated:"), motion=True)


@_guard("Could not re-roll the segment")
def reroll_segment(number: FieldValue, session: DirectorSession | None, progress: ProgressFn = None) -> Outputs:
    """A new variant of one segment's motion: its seed goes up by one and only its tokens change."""
    session = _need_motion(session)
    p = session.project
    i = _index(number)
    tl._check_index(p.segments, i)
    seg = p.segments[i]
    if seg.locked:
        raise ValueError(f"segment {i + 1} is locked; unlock it to re-roll")
    n = len(p.tokens)
    a, b = tl.token_range(seg, n)
    free = _span_mask(n, a, b) & _free_mask(p, n)
    if not free.any():
        raise ValueError(f"segment {i + 1}'s tokens are all locked")
    new_seed = check.wrap_seed(seg.seed + 1)
    result = _resample(session, free, check.wrap_seed(int(p.settings.get("seed", 0)) + new_seed))
    _commit_tokens(session, result, f"segment {i + 1} re-rolled (seed {new_seed})", progress,
                   segments=tl.set_seed(p.segments, i, new_seed))
    return _view(session, _motion_status(session, f"Segment {i + 1} re-rolled (seed {new_seed}):"), motion=True)


def _set_lock(start, end, value: bool, session: DirectorSession | None) -> tuple:
    session = _need_motion(session)
    p = session.project
    a, b = _span(start, end, len(p.tokens))
    p.checkpoint()
    locked = p.locked.copy() if p.locked is not None else np.zeros(len(p.tokens), dtype=bool)
    locked[a:b] = value
    p.locked = locked
    _autosave(session)
    what = "locked" if value else "unlocked"
    return _view(session, ok(f"Tokens {a}..{b - 1} {what} ({int(locked.sum())} locked in all)."))


@_guard("Could not lock the span")
def lock_span(start: FieldValue, end: FieldValue, session: DirectorSession | None) -> Outputs:
    return _set_lock(start, end, True, session)


@_guard("Could not unlock the span")
def unlock_span(start: FieldValue, end: FieldValue, session: DirectorSession | None) -> Outputs:
    return _set_lock(start, end, False, session)


def select_segment(index: FieldValue, session: DirectorSession | None, at_time: float | None = None) -> Outputs:
    """A segment picked (table row or a click on the waveform) -> (segment number, time box, stage).
    The stage is redrawn only for a table click; a click on the stage highlights it there."""
    gr = _gr()
    if session is None or index is None or not session.project.segments:
        return gr.skip(), gr.skip(), gr.skip()
    try:
        i = min(max(check.check_int(index, "row", -2**62, 2**62), 0), len(session.project.segments) - 1)
        at_time = None if at_time is None else check.check_time(at_time, "the time")
    except check.InputError:
        return gr.skip(), gr.skip(), gr.skip()
    session.selected = i
    seg = session.project.segments[i]
    if at_time is None:
        return i + 1, round((seg.start + seg.end) / 2, 2), stage_for(session)
    return i + 1, round(float(at_time), 2), gr.skip()


def select_span(start: FieldValue, end: FieldValue, session: DirectorSession | None) -> Outputs:
    """A token span painted on the strip -> the span boxes (first, last)."""
    gr = _gr()
    if session is None or session.project.tokens is None or start is None or end is None:
        return gr.skip(), gr.skip()
    n = len(session.project.tokens)
    try:
        start, end = (check.check_int(v, "token", -2**62, 2**62) for v in (start, end))
    except check.InputError:
        return gr.skip(), gr.skip()
    a, b = sorted((min(max(start, 0), n - 1), min(max(end, 0), n - 1)))
    session.span = (a, b)
    return a, b


def resend_stage(session: DirectorSession | None) -> dict:
    """The page lost cached arrays (reload, dropped reply): everything again."""
    if session is None:
        return empty_payload()
    session.stage_cache.forget()
    return stage_for(session)
