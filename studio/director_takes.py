"""The Director page's takes: compare another take (or the projection baseline), pick one, copy a span.

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

import numpy as np

from pipeline.constants import VIDEO_FPS
from pipeline.project import edits
from studio import speech_text as speech
from studio import stage_payload as stage
from studio.director_motion import (
    _commit_tokens,
    _decode,
    _free_mask,
    _motion_status,
    _need_motion,
    _projection_view,
    _span,
)
from studio.director_session import COMPARE_NONE, COMPARE_PROJECTION, DirectorSession, _progress
from studio.director_view import _guard, _view, ok, take_title
from studio.handler_types import FieldValue, Outputs, ProgressFn

# ----------------------------------------------------------------------------- takes: compare, pick, copy

def _take_index(choice: str | None, session: DirectorSession) -> int:
    takes = session.project.takes
    try:
        i = int(str(choice).split(":", 1)[1])
    except (IndexError, ValueError):
        raise ValueError("pick a take in 'Compare with' first") from None
    if not 0 <= i < len(takes):
        raise ValueError(f"there is no take {i + 1} (the project has {len(takes)})")
    if len(takes[i].tokens) != len(session.project.tokens):
        raise ValueError(f"take {i + 1} has {len(takes[i].tokens)} tokens but this speech needs "
                         f"{len(session.project.tokens)}: it was made for other audio")
    return i


def _compare_view(session: DirectorSession, choice: str):
    from pipeline.token2pose import translate

    if choice == COMPARE_NONE:
        return None
    if choice == COMPARE_PROJECTION:
        return _projection_view(session) if session.portrait is not None else \
            stage.View("Same take (add a portrait for the 2D comparison)", session.result, None)
    i = _take_index(choice, session)
    take = session.project.takes[i]
    result = _decode(session, np.asarray(take.tokens))
    poses = translate(result, session.portrait, fps=VIDEO_FPS, **speech.face_args(session, VIDEO_FPS)).pose \
        if session.portrait is not None else None
    return stage.View(take_title(i, take), result, poses, face=speech.face_key(session))


@_guard("Could not compare")
def compare_with(choice: str | None, session: DirectorSession | None) -> Outputs:
    """Show another take (or this take's direct projection) beside the current one, in sync."""
    session = _need_motion(session)
    choice = str(choice or COMPARE_NONE)
    session.compare_view = _compare_view(session, choice)
    session.compare = choice
    text = "Comparison off." if choice == COMPARE_NONE else f"Comparing with: {session.compare_view.label}."
    return _view(session, ok(text), timeline=False, motion=True)


def _take_into(session: DirectorSession, choice, a: int, b: int, label: str, progress=None) -> tuple[int, int]:
    """Copy tokens [a, b) of the compared take into the current motion; locked tokens stay.
    Returns (copied, kept because locked)."""
    i = _take_index(choice, session)
    p = session.project
    tokens, copied, kept = edits.copy_from_take(p.tokens, p.takes[i].tokens, _free_mask(p, len(p.tokens)), a, b)
    _progress(progress, 0.2, "Decoding the motion")
    _commit_tokens(session, _decode(session, tokens), label.format(take=i + 1), progress)
    return copied, kept


def _copied_status(session: DirectorSession, text: str, kept: int) -> str:
    extra = f" {kept} locked token{'s' if kept != 1 else ''} kept as they were." if kept else ""
    return _motion_status(session, text + extra)


@_guard("Could not use the take")
def use_take(choice: str | None, session: DirectorSession | None, progress: ProgressFn = None) -> Outputs:
    """Make the compared take the current motion (undoable; locked tokens stay)."""
    session = _need_motion(session)
    _copied, kept = _take_into(session, choice, 0, len(session.project.tokens), "take {take} picked", progress)
    if session.compare == str(choice):
        session.compare, session.compare_view = COMPARE_NONE, None
    return _view(session, _copied_status(session, "Take picked:", kept), motion=True)


@_guard("Could not copy the span")
def copy_span(choice: str | None, start: FieldValue, end: FieldValue, session: DirectorSession | None,
              progress: ProgressFn = None) -> Outputs:
    """Tokens start..end (inclusive) of the compared take copied into the current motion."""
    session = _need_motion(session)
    a, b = _span(start, end, len(session.project.tokens))
    copied, kept = _take_into(session, choice, a, b, f"tokens {a}-{b - 1} from take {{take}}", progress)
    if not copied:
        raise ValueError(f"tokens {a}..{b - 1} are all locked; unlock them to copy over them")
    return _view(session, _copied_status(session, f"Tokens {a}..{b - 1} copied from the compared take:", kept),
                 motion=True)
