"""The Director page's outputs: the portrait card and overlay, the stage payload, the table,
the compare menu, downloads, and the guard that turns a failure into a message (VIEW_FIELDS).

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from components.stage import empty_payload
from pipeline.project import timeline as tl
from studio import body_actions
from studio import speech_text as speech
from studio import stage_payload as stage
from studio.director_session import (
    COMPARE_NONE,
    COMPARE_PROJECTION,
    OVERLAY_ALPHA,
    VIEW_FIELDS,
    DirectorSession,
    _gr,
    log,
)
from studio.motion_page import md_escape

if TYPE_CHECKING:
    from pipeline.portrait.types import PortraitAnalysis
    from pipeline.project.document import Take

# ----------------------------------------------------------------------------- text and figures

def portrait_card(analysis: PortraitAnalysis | None) -> str:
    if analysis is None:
        return "_No portrait yet: upload a photo, take one with the webcam, or use the example._"
    w, h = analysis.size
    framing = analysis.framing.replace("_", " ")
    lines = [f"**{framing}** portrait · {w}×{h} px · skeleton and face box drawn over the photo"]
    lines += [f"- ⚠ {md_escape(wn)}" for wn in analysis.warnings]
    return "\n".join(lines)


def portrait_overlay(analysis: PortraitAnalysis) -> np.ndarray:
    """The photo with the detected whole-body skeleton and the face box drawn over it."""
    from pipeline.render.pose_maps import draw_pose_overlay

    image = draw_pose_overlay(analysis.image, analysis.pose, 0, OVERLAY_ALPHA)
    x0, y0, x1, y1 = (int(round(v)) for v in analysis.face_box)
    h, w = image.shape[:2]
    x0, x1 = max(0, min(x0, w - 1)), max(0, min(x1, w - 1))
    y0, y1 = max(0, min(y0, h - 1)), max(0, min(y1, h - 1))
    colour = np.array([255, 214, 10], dtype=np.uint8)
    for t in range(2):
        image[y0 + t if y0 + t < h else y0, x0:x1 + 1] = colour
        image[max(y1 - t, 0), x0:x1 + 1] = colour
        image[y0:y1 + 1, x0 + t if x0 + t < w else x0] = colour
        image[y0:y1 + 1, max(x1 - t, 0)] = colour
    return image


def table_for(session: DirectorSession) -> list[list]:
    return tl.to_rows(session.project.segments)


def _file_key(path: str | None) -> str:
    if not path:
        return ""
    p = Path(path)
    try:
        st = p.stat()
        return stage.digest(str(p), st.st_size, st.st_mtime_ns)
    except OSError:
        return stage.digest(str(p))


def current_label(session: DirectorSession) -> str:
    takes = session.project.takes
    if session.result is None:
        return "Portrait"
    label = takes[-1].label if takes and np.array_equal(takes[-1].tokens, session.project.tokens) else "edited"
    return f"Current · {label}"


def stage_for(session: DirectorSession) -> dict:
    """The stage's payload: timeline, tokens and the current take (and the compared one)."""
    p = session.project
    if session.clip is None and session.portrait is None:
        return empty_payload()
    views = []
    if session.result is not None:
        views.append(stage.View(current_label(session), session.result, session.poses, face=speech.face_key(session)))
        if session.compare_view is not None:
            views.append(session.compare_view)
    segments = [(s.start, s.end, s.prompt, s.locked, s.seed) for s in p.segments]
    message = "" if session.clip is not None else "Now add a speech recording."
    return stage.build_payload(session.stage_cache, clip=session.clip, audio_key=_file_key(p.audio_file),
                               segments=segments, portrait=session.portrait,
                               portrait_key=_file_key(p.portrait_file), views=views, tokens=p.tokens,
                               locked=p.locked, selected=session.selected, span=session.span, message=message,
                               speech=speech.speech_payload(next(iter(session.mouths.values()), None)),
                               body=body_actions.body_for(session))


def take_title(index: int, take: Take) -> str:
    """'Take 3 (seed 0)' for generated takes (their label starts with 'take N'), else 'Take 3 · label'."""
    label = str(take.label)
    if label.lower().startswith(f"take {index + 1}"):
        return "T" + label[1:]
    return f"Take {index + 1} · {label}"


def compare_choices(session: DirectorSession) -> list[tuple[str, str]]:
    """The 'compare with' menu: nothing, bank vs projection of this take, and the saved takes."""
    choices = [("Nothing", COMPARE_NONE), ("This take: relation bank vs projection", COMPARE_PROJECTION)]
    n = len(session.project.tokens) if session.project.tokens is not None else -1
    for i, take in reversed(list(enumerate(session.project.takes))):
        if len(take.tokens) == n:
            choices.append((take_title(i, take), f"take:{i}"))
    return choices


def downloads_for(session: DirectorSession) -> list[str] | None:
    files = [f for f in session.files.values() if f and Path(f).is_file()]
    return files or None


def ok(text: str) -> str:
    return f"✓ {text}"


# ----------------------------------------------------------------------------- outputs

def _view(session: DirectorSession, status: str, *, portrait=False, timeline=True, motion=False,
          downloads=False) -> tuple:
    gr = _gr()
    skip = gr.skip()
    portrait_img = portrait_md = skip
    if portrait:
        portrait_img = portrait_overlay(session.portrait) if session.portrait is not None else None
        portrait_md = portrait_card(session.portrait)
    payload = stage_for(session) if (timeline or motion or portrait) else skip
    table = table_for(session) if timeline else skip
    compare = skip
    if motion:
        choices = compare_choices(session)
        if session.compare not in {v for _, v in choices}:
            session.compare, session.compare_view = COMPARE_NONE, None
        compare = gr.update(choices=choices, value=session.compare)
    files = downloads_for(session) if downloads or motion else skip
    return session, portrait_img, portrait_md, payload, table, compare, files, status


def _kept(session: DirectorSession | None, what: str, err: BaseException | str) -> tuple:
    """A failure: a toast and the status line; the session and everything shown stay as they are."""
    gr = _gr()
    message = _file_names_only(str(err) or type(err).__name__)
    gr.Warning(f"{what}: {message}")
    status = f"⚠ **{md_escape(what)}**\n\n> {md_escape(message)}\n\n_Your project is unchanged._"
    return (session,) + (gr.skip(),) * (len(VIEW_FIELDS) - 2) + (status,)


_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s/:'\"()]+/)+([^\s/:'\"()]+)")


def _file_names_only(message: str) -> str:
    """Server paths (the upload cache, the sessions folder) in a message cut to the file's name:
    the user knows their file by its name, and the server's layout is nobody's business."""
    return _ABS_PATH.sub(r"\1", message)


_EXPECTED = (ValueError, RuntimeError, OSError)


def _guard(what: str):
    """Decorator: expected pipeline errors become a warning; unexpected ones too, logged."""
    def wrap(fn):
        def inner(*args, **kwargs):
            session = next((a for a in (*args, *kwargs.values()) if isinstance(a, DirectorSession)), None)
            try:
                return fn(*args, **kwargs)
            except _EXPECTED as err:
                if type(err).__name__ == "RenderCancelled":
                    raise
                return _kept(session, what, err)
            except Exception as err:  # noqa: BLE001 - the page shows a message, never a traceback
                log.exception("%s failed", what)
                return _kept(session, what, f"{type(err).__name__}: {err}")
        inner.__name__ = fn.__name__
        inner.__doc__ = fn.__doc__
        return inner
    return wrap
