"""The Director page: portrait + speech -> timeline -> motion -> video, with save/open and autosave.

Handlers are plain functions from (inputs, session) to outputs; studio/director_layout.py wires
them into Gradio blocks (studio/layout.py puts them in the first tab) and tests call them directly.
Every handler that changes the page returns ``VIEW_FIELDS`` in order:

    (session, portrait overlay, portrait card, stage, segments table, compare choices, downloads, status)

The stage (components/stage.py) draws the 3D body, the 2D pose over the portrait and the timeline
in the page from arrays (studio/stage_payload.py), so an edit resends data, not video.

with ``gr.skip()`` for what did not change. A failure shows a warning toast and a status line and
returns the session untouched: the project is never cleared by an error.

Events a script can call (gradio_client ``api_name``): analyze_portrait, load_speech,
load_examples, edit_segments, split_segment, merge_segment, delete_segment, add_segment,
reroll_segment, undo, redo, generate, regenerate_span, lock_span, unlock_span, compare_with,
use_take, copy_span, render, cancel_render, export_motion, save_project, open_project.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import numpy as np

from components.stage import empty_payload
from pipeline.constants import MOTION_FPS, VIDEO_FPS
from pipeline import validation as check
from pipeline.project import edits
from pipeline.project import timeline as tl
from studio import body_actions
from studio import project as proj
from studio import stage_payload as stage
from studio import speech_text as speech
from studio.motion_page import md_escape

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "assets" / "examples"
EXAMPLE_PORTRAIT = EXAMPLES_DIR / "astronaut.jpg"
EXAMPLE_SPEECH = EXAMPLES_DIR / "speech.wav"

OVERLAY_ALPHA = 0.75
STAGE_ELEM_ID = "director-stage"
BROWSER_STORAGE_KEY = "versastudio-session"
DEFAULT_ADD_SECONDS = 2.0
STATE_TTL_S = 24 * 3600
"""A page's in-memory session is dropped a day after its last use (its autosave stays on disk)."""
COMPARE_NONE, COMPARE_PROJECTION = "none", "projection"

VIEW_FIELDS = ("session", "portrait_view", "portrait_card", "stage", "table", "compare", "downloads", "status")

# Render cancel flags, by session key (a Gradio state may be copied; the key is not).
_CANCELS: dict[str, threading.Event] = {}


@dataclass
class DirectorSession:
    """One browser session: the project and what is computed from it (never saved)."""

    project: proj.Project = field(default_factory=proj.Project)
    session_id: str | None = None
    sessions_root: str | None = None
    workdir: str = ""
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    portrait: object | None = None          # PortraitAnalysis
    clip: object | None = None              # AudioClip
    clip_file: str | None = None            # the file session.clip was decoded from
    result: object | None = None            # GenerationResult of project.tokens
    poses: object | None = None             # WholeBodyPose at VIDEO_FPS for the portrait
    selected: int | None = None
    span: tuple[int, int] | None = None     # the token span picked on the strip (inclusive)
    compare: str = COMPARE_NONE             # what the stage shows beside the current take
    compare_view: object | None = None      # stage.View of it (None: nothing)
    stage_cache: stage.StageCache = field(default_factory=stage.StageCache)
    files: dict = field(default_factory=dict)  # downloads: kind -> path
    mouths: dict = field(default_factory=dict)  # the mouth track of the speech text (studio/speech_text.py)
    smpl_dir: str = ""                      # the user's SMPL / SMPL-X folder ('' : Anny; studio/body_actions.py)
    body_note: str = ""

    def folder(self) -> Path:
        if not self.workdir:
            if self.session_id:
                self.workdir = str(proj.session_dir(self.session_id, self.sessions_root) / "files")
            else:
                self.workdir = tempfile.mkdtemp(prefix="versastudio-")
        path = Path(self.workdir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def cancel_event(self) -> threading.Event:
        return _CANCELS.setdefault(self.key, threading.Event())


def end_session(session: DirectorSession | None) -> None:
    """Gradio's state expired (the tab closed long ago): drop its cancel flag, and its files when it
    had no autosave folder (a session with one keeps it for a restore; prune_sessions ages it out)."""
    if session is None:
        return
    _CANCELS.pop(session.key, None)
    if not session.session_id and session.workdir:
        shutil.rmtree(session.workdir, ignore_errors=True)


def new_session(session_id: str | None = None, sessions_root: str | Path | None = None) -> DirectorSession:
    return DirectorSession(session_id=session_id,
                           sessions_root=None if sessions_root is None else str(sessions_root))


def _gr():
    return gr


# ----------------------------------------------------------------------------- text and figures

def portrait_card(analysis) -> str:
    if analysis is None:
        return "_No portrait yet: upload a photo, take one with the webcam, or use the example._"
    w, h = analysis.size
    framing = analysis.framing.replace("_", " ")
    lines = [f"**{framing}** portrait · {w}×{h} px · skeleton and face box drawn over the photo"]
    lines += [f"- ⚠ {md_escape(wn)}" for wn in analysis.warnings]
    return "\n".join(lines)


def portrait_overlay(analysis) -> np.ndarray:
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


def take_title(index: int, take) -> str:
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


def _autosave(session: DirectorSession) -> None:
    if not session.session_id:
        return
    try:
        proj.autosave(session.project, session.session_id, session.sessions_root)
    except Exception:  # noqa: BLE001 - autosave must never break an edit
        log.exception("autosave of session %s failed", session.session_id)


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


def _copy_in(session: DirectorSession, src: str | Path, kind: str) -> str:
    src = Path(src)
    out = session.folder() / f"{kind}-{uuid.uuid4().hex[:8]}{src.suffix.lower() or '.bin'}"
    shutil.copyfile(src, out)
    return str(out)


def _progress(progress, fraction: float, desc: str) -> None:
    if progress is not None:
        try:
            progress(fraction, desc=desc)
        except Exception:  # noqa: BLE001 - progress is cosmetic
            pass


# ----------------------------------------------------------------------------- portrait and speech

@_guard("Could not use this portrait")
def analyze_portrait(image_path: str | None, session: DirectorSession | None) -> tuple:
    """Analyse the photo; show it with the detected skeleton and face box."""
    from pipeline.portrait.analysis import analyze_portrait as analyze

    session = session or new_session()
    if not image_path:
        return _view(session, "", timeline=False)
    analysis = analyze(str(image_path))
    stored = _copy_in(session, image_path, "portrait")
    session.portrait = analysis
    session.project.portrait_file = stored
    session.poses = None
    if session.result is not None:
        _update_previews(session)
    _autosave(session)
    return _view(session, ok(f"Portrait analysed: {analysis.framing.replace('_', ' ')} framing."),
                 portrait=True, timeline=False, motion=session.result is not None)


@_guard("Could not use this recording")
def load_speech(audio_path: str | None, session: DirectorSession | None) -> tuple:
    """Load the speech and cut it into segments at its pauses. A new recording starts a new
    timeline (the previous one can be brought back with Undo)."""
    from pipeline.audio import load_audio, suggest_segments

    session = session or new_session()
    if not audio_path:
        return _view(session, "", timeline=False)
    clip = load_audio(str(audio_path))
    segments = tl.from_pauses(suggest_segments(clip), clip.duration_s)
    stored = _copy_in(session, audio_path, "audio")
    p = session.project
    if p.audio_file or p.segments or p.tokens is not None:
        p.checkpoint()          # recording, segments and motion: one undo step together
    p.audio_file, p.duration_s, p.segments = stored, float(clip.duration_s), segments
    p.tokens = p.locked = None
    _use_clip(session, clip, stored)
    words = ""
    if p.transcript:
        words = " " + speech.speech_status(speech.mouth_for(session, VIDEO_FPS))
    _autosave(session)
    n = len(segments)
    return _view(session, ok(f"Speech loaded: {clip.duration_s:.2f} s, cut at pauses into {n} "
                             f"segment{'s' if n != 1 else ''}. Type prompts in the table, then Generate."
                             + md_escape(words))
                 + "".join(f"\n- ⚠ {md_escape(_file_names_only(w))}" for w in getattr(clip, "warnings", [])),
                 motion=True)


def _use_clip(session: DirectorSession, clip, path: str | None) -> None:
    """``clip`` (decoded from ``path``) becomes the session's speech; what was computed from the
    previous one (motion, poses, comparison, downloads, mouth tracks) is dropped."""
    session.clip, session.clip_file = clip, path
    session.result, session.poses, session.selected = None, None, None
    session.compare, session.compare_view, session.span = COMPARE_NONE, None, None
    for kind in ("video", "pose_video", "bvh", "npz", "poses_json"):
        session.files.pop(kind, None)
    session.mouths.clear()


def load_examples(session: DirectorSession | None) -> tuple:
    """The bundled example portrait and speech."""
    first = analyze_portrait(str(EXAMPLE_PORTRAIT), session)
    session = first[0]
    second = load_speech(str(EXAMPLE_SPEECH), session)
    merged = list(second)
    merged[1], merged[2] = first[1], first[2]
    return tuple(merged)


@_guard("Could not use the transcript")
def set_speech_text(transcript, articulation, language, session: DirectorSession | None) -> tuple:
    """The transcript (optional; blank = recognise the speech), the language and the articulation
    strength: the mouth track is remade, the words go on the timeline, the poses talk. A transcript
    that does not fit the speech falls back to recognition, and the status says so."""
    session = session or new_session()
    text, strength, lang = speech.clean_settings(transcript, articulation, language)
    p = session.project
    unchanged = (p.transcript, float(p.articulation), p.language) == (text, strength, lang)
    if unchanged and (session.clip is None or session.mouths):
        return (session,) + (_gr().skip(),) * (len(VIEW_FIELDS) - 1)
    p.transcript, p.articulation, p.language = text, strength, lang
    _autosave(session)
    if session.clip is None:
        return _view(session, ok("Speech settings kept; they apply when a recording is loaded."), timeline=False)
    track = speech.mouth_for(session, VIDEO_FPS)
    if session.result is not None:
        _update_previews(session)
    status = speech.speech_status(track)
    fell_back = bool(text) and track.source != "aligned" and lang == "en"
    if fell_back:
        _gr().Warning("The transcript could not be aligned to the speech; recognising it instead.")
    return _view(session, ("⚠ " if fell_back else "✓ ") + md_escape(status), motion=session.result is not None)


def apply_speech_text(transcript, articulation, language, session: DirectorSession | None) -> None:
    """Take the speech text boxes as they are now (Generate and Render read them, so a transcript
    typed without leaving the box is not lost); bad values are left for set_speech_text to report."""
    if session is None:
        return
    try:
        text, strength, lang = speech.clean_settings(transcript, articulation, language)
    except ValueError:
        return
    p = session.project
    if (p.transcript, float(p.articulation), p.language) != (text, strength, lang):
        p.transcript, p.articulation, p.language = text, strength, lang


def speech_fields(session: DirectorSession | None) -> tuple:
    """The transcript box, the language and the articulation slider as the project has them."""
    if session is None:
        return "", "en", 1.0
    p = session.project
    return p.transcript, p.language, float(p.articulation)


# ----------------------------------------------------------------------------- timeline edits

def _need_timeline(session: DirectorSession | None) -> DirectorSession:
    if session is None or session.clip is None or not session.project.segments:
        raise tl.TimelineError("load a speech recording first")
    return session


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
def edit_segments(table, session: DirectorSession | None) -> tuple:
    session = _need_timeline(session)
    p = session.project
    segments = tl.from_rows(p.segments, _rows(table), p.duration_s)
    if segments == p.segments:  # the table sends its value again after an edit: keep the page as it is
        return (session,) + (_gr().skip(),) * (len(VIEW_FIELDS) - 1)
    return _edit(session, segments, "Segments updated.")


@_guard("Could not split")
def split_segment(at_time, session: DirectorSession | None) -> tuple:
    session = _need_timeline(session)
    if at_time is None:
        raise tl.TimelineError("give the time to split at, in seconds")
    at = check.check_time(at_time, "the time to split at")
    return _edit(session, tl.split(session.project.segments, at), f"Split at {at:.2f} s.")


@_guard("Could not merge")
def merge_segment(number, session: DirectorSession | None) -> tuple:
    session = _need_timeline(session)
    i = _index(number)
    return _edit(session, tl.merge_with_next(session.project.segments, i), f"Merged segments {i + 1} and {i + 2}.")


@_guard("Could not delete")
def delete_segment(number, session: DirectorSession | None) -> tuple:
    session = _need_timeline(session)
    i = _index(number)
    return _edit(session, tl.delete(session.project.segments, i), f"Deleted segment {i + 1}.")


@_guard("Could not add a segment")
def add_segment(at_time, length, session: DirectorSession | None) -> tuple:
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
def resize_border(index, time_s, session: DirectorSession | None) -> tuple:
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


# ----------------------------------------------------------------------------- motion

# The edits themselves (masks, locks, per-segment seeds, span resampling, takes) are in
# pipeline/project/edits.py; the CLI makes the same ones.
_span_mask = edits.span_mask


def _free_mask(p: proj.Project, n: int) -> np.ndarray:
    """Tokens that may change: not locked by the token mask nor inside a locked segment."""
    return edits.free_mask(p.tokens, p.locked, p.segments, n)


def _n_tokens(session: DirectorSession) -> int:
    from pipeline.motion.generate import num_tokens_for
    return num_tokens_for(session.clip.duration_s, session.clip.num_motion_frames)


def _decode(session: DirectorSession, tokens: np.ndarray):
    """The motion of exactly these tokens (every token locked: the generator only decodes)."""
    p = session.project
    return edits.decode(session.clip, p.segments, tokens, int(p.settings.get("seed", 0)))


def _sync_result(session: DirectorSession) -> bool:
    """Make session.result match project.tokens (after undo, redo or open). True if it changed."""
    p = session.project
    if p.tokens is None:
        changed = session.result is not None
        session.result, session.poses, session.compare_view = None, None, None
        session.compare = COMPARE_NONE
        return changed
    if session.result is not None and np.array_equal(session.result.tokens, p.tokens):
        return False
    if session.clip is None:
        return False
    if len(p.tokens) != _n_tokens(session):
        raise ValueError(f"the project's {len(p.tokens)} motion tokens do not match its audio "
                         f"({_n_tokens(session)} tokens); generate again")
    session.result = _decode(session, p.tokens)
    _update_previews(session)
    return True


def _resample(session: DirectorSession, free: np.ndarray, seed: int, prompt: str | None = None):
    """Resample the free tokens of the current result (regenerate_span when they form one span)."""
    return edits.resample(session.clip, session.result, session.project.segments, free, seed, prompt)


def _update_previews(session: DirectorSession, progress=None) -> None:
    """The current take's poses for the portrait (the stage draws them; the render uses them), and
    the compared view when it follows the current take (bank vs projection)."""
    from pipeline.token2pose import translate

    session.poses = None
    if session.result is None or session.portrait is None or session.clip is None:
        if session.compare == COMPARE_PROJECTION:
            session.compare_view = None
        return
    _progress(progress, 0.6, "Fitting the poses to the portrait")
    session.poses = translate(session.result, session.portrait, fps=VIDEO_FPS,
                              **speech.face_args(session, VIDEO_FPS)).pose
    if session.compare == COMPARE_PROJECTION:
        session.compare_view = _projection_view(session)


def _projection_view(session: DirectorSession) -> stage.View:
    from pipeline.token2pose import translate

    poses = translate(session.result, session.portrait, fps=VIDEO_FPS, method="projection",
                      **speech.face_args(session, VIDEO_FPS)).pose
    return stage.View("Same take · direct projection (baseline)", session.result, poses, method="projection",
                      face=speech.face_key(session))


def _motion_status(session: DirectorSession, text: str) -> str:
    r = session.result
    lines = [ok(f"{text} {r.num_tokens} tokens, {len(r.joints)} frames at {MOTION_FPS} fps.")]
    if session.portrait is None:
        lines.append("Add a portrait to see the 2D pose preview and to render.")
    track = next(iter(session.mouths.values()), None)
    if track is not None and session.poses is not None:
        lines.append(md_escape(speech.speech_status(track)))
    lines += [f"- ⚠ {md_escape(w)}" for w in r.warnings]  # unknown prompts are among them, with the closest actions
    lines += [f"- {md_escape(it.summary())}" for it in getattr(r, "interpretations", {}).values() if it.known]
    return "\n".join(lines)


def _commit_tokens(session: DirectorSession, result, label: str, progress=None, segments=None) -> None:
    """The new motion becomes the project's (one undo step, with ``segments`` when they change too)."""
    p = session.project
    p.checkpoint()
    if segments is not None:
        p.segments = segments
    locked = p.locked if p.locked is not None and len(p.locked) == len(result.tokens) else None
    p.tokens = np.asarray(result.tokens, dtype=np.int64)
    p.locked = locked if locked is not None else np.zeros(len(p.tokens), dtype=bool)
    p.add_take(label)
    session.result = result
    for kind in ("video", "pose_video", "bvh", "npz", "poses_json"):
        session.files.pop(kind, None)
    _progress(progress, 0.5, "Fitting the poses to the portrait")
    _update_previews(session, progress)
    _autosave(session)


@_guard("Could not generate the motion")
def generate_motion(seed, session: DirectorSession | None, progress=None) -> tuple:
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


_span = edits.token_span


def _need_motion(session: DirectorSession | None) -> DirectorSession:
    session = _need_timeline(session)
    if session.project.tokens is None:
        raise ValueError("generate the motion first")
    _sync_result(session)
    return session


@_guard("Could not regenerate the span")
def regenerate_span(start, end, seed, session: DirectorSession | None, progress=None) -> tuple:
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
def reroll_segment(number, session: DirectorSession | None, progress=None) -> tuple:
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
def lock_span(start, end, session: DirectorSession | None) -> tuple:
    return _set_lock(start, end, True, session)


@_guard("Could not unlock the span")
def unlock_span(start, end, session: DirectorSession | None) -> tuple:
    return _set_lock(start, end, False, session)


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
def compare_with(choice, session: DirectorSession | None) -> tuple:
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
def use_take(choice, session: DirectorSession | None, progress=None) -> tuple:
    """Make the compared take the current motion (undoable; locked tokens stay)."""
    session = _need_motion(session)
    _copied, kept = _take_into(session, choice, 0, len(session.project.tokens), "take {take} picked", progress)
    if session.compare == str(choice):
        session.compare, session.compare_view = COMPARE_NONE, None
    return _view(session, _copied_status(session, "Take picked:", kept), motion=True)


@_guard("Could not copy the span")
def copy_span(choice, start, end, session: DirectorSession | None, progress=None) -> tuple:
    """Tokens start..end (inclusive) of the compared take copied into the current motion."""
    session = _need_motion(session)
    a, b = _span(start, end, len(session.project.tokens))
    copied, kept = _take_into(session, choice, a, b, f"tokens {a}-{b - 1} from take {{take}}", progress)
    if not copied:
        raise ValueError(f"tokens {a}..{b - 1} are all locked; unlock them to copy over them")
    return _view(session, _copied_status(session, f"Tokens {a}..{b - 1} copied from the compared take:", kept),
                 motion=True)


# ----------------------------------------------------------------------------- render and export

@_guard("Could not render")
def _render(backend, resolution, fps, blink_rate, seed, session, progress):
    from pipeline.render.backends import available_backends, render
    from pipeline.render.warp.depth import depth_for_motion
    from pipeline.token2pose import translate
    from pipeline.video import RenderCancelled

    blank = (None, "")                              # typed numbers first: nothing starts with a bad one
    fps = check.check_fps(VIDEO_FPS if fps in blank else fps)
    blink = check.check_blink_rate(15 if blink_rate in blank else blink_rate)
    resolution = check.check_resolution(512 if resolution in blank else resolution)
    seed = check.check_seed(seed, "the render seed")
    session = _need_motion(session)
    if session.portrait is None:
        raise ValueError("add a portrait first")
    backend = backend or "warp"
    status = available_backends().get(backend)
    if status is None:
        raise ValueError(f"unknown renderer {backend!r}")
    if not status[0]:
        raise RuntimeError(f"the {backend} renderer is unavailable: {status[1]}")
    same_face = (session.project.settings.get("blink_rate", 15.0) == blink and
                 int(session.project.settings.get("render_seed", 0)) == seed)
    poses = session.poses if session.poses is not None and abs(fps - VIDEO_FPS) < 1e-6 and same_face else \
        translate(session.result, session.portrait, fps=fps, mouth=speech.mouth_for(session, fps),
                  blink_rate_per_min=blink, seed=seed).pose
    cancel = session.cancel_event
    cancel.clear()
    out = session.folder() / f"render-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}.mp4"

    def report(done: int, total: int) -> None:
        _progress(progress, done / max(total, 1), f"Rendering frame {done}/{total}")

    if backend == "diffusion":   # the estimate, said before the render starts
        from studio.render_status import diffusion_status

        _gr().Info(diffusion_status(session, resolution, fps).replace("**", ""))
    try:
        depth = depth_for_motion(session.result.joints, session.portrait, len(poses), fps)   # who is in front
        path = render(backend, session.portrait, poses, session.clip, out, resolution=resolution,
                      fps=fps, blink_rate_per_min=blink, seed=seed, depth=depth, progress=report,
                      cancel=cancel,
                      **speech.render_kwargs(render, session, fps, backend))
    except RenderCancelled:
        _gr().Info("Render cancelled.")
        return session, _gr().skip(), _gr().skip(), "Render cancelled; nothing was written."
    session.files["video"] = str(path)
    from pipeline.render.backends import model_pose_video_path

    if backend == "diffusion" and model_pose_video_path(path).is_file():   # the pose maps the model was given
        session.files["pose_video"] = str(model_pose_video_path(path))
    session.project.settings.update({"backend": backend, "resolution": resolution, "fps": fps,
                                     "blink_rate": blink, "render_seed": seed})
    _autosave(session)
    return session, str(path), downloads_for(session), ok(f"Rendered {Path(path).name} ({backend}, "
                                                          f"{resolution} px, {fps:g} fps).")


def render_video(backend, resolution, fps, blink_rate, seed, session, progress=None) -> tuple:
    """Render the video. Returns (session, video path, downloads, status)."""
    out = _render(backend, resolution, fps, blink_rate, seed, session, progress)
    if len(out) == len(VIEW_FIELDS):  # a failure from the guard
        return out[0], _gr().skip(), _gr().skip(), out[-1]
    return out


def cancel_render(session: DirectorSession | None) -> str:
    if session is not None:
        session.cancel_event.set()
    return "Cancelling the render…"


@_guard("Could not export the motion")
def export_motion(session: DirectorSession | None) -> tuple:
    """BVH, npz (tokens, joints, features), the pose video and the poses as JSON of the current motion."""
    from pipeline.motion.bvh import write_bvh
    from pipeline.portrait.wholebody import write_pose_json
    from pipeline.project.motion_file import write_motion_npz
    from pipeline.video.pose_video import write_pose_video

    session = _need_motion(session)
    r = session.result
    folder = session.folder()
    stem = f"motion-{uuid.uuid4().hex[:6]}"
    bvh = write_bvh(folder / f"{stem}.bvh", r.joints)
    npz = write_motion_npz(folder / f"{stem}.npz", r, tl.as_pipeline_segments(session.project.segments),
                           session.project.locked)
    session.files.update({"bvh": str(bvh), "npz": str(npz)})
    if session.poses is not None:
        session.files["pose_video"] = str(write_pose_video(session.poses, session.clip, folder / f"{stem}-pose.mp4"))
        session.files["poses_json"] = str(write_pose_json(session.poses, folder / f"{stem}-poses.json"))
    what = "BVH, npz, the pose video and the poses (JSON)." if session.poses is not None else \
        "BVH and npz (add a portrait for the pose video and JSON)."
    return _view(session, ok(f"Exported {what}"), timeline=False, downloads=True)


@_guard("Could not export the body")
def export_body(session: DirectorSession | None, progress=None) -> tuple:
    """The body as a shaded video and an animated .glb. Returns (session, downloads, status)."""
    return body_actions.export_body(session, progress)


def export_body_files(session: DirectorSession | None, progress=None) -> tuple:
    """``export_body`` with the guard's failure reshaped to (session, downloads, status)."""
    try:
        out = export_body(session, progress)
    except Exception as err:  # RenderCancelled passes the guard
        if type(err).__name__ != "RenderCancelled":
            raise
        return session, _gr().skip(), "Body export cancelled; the .glb is kept, the video was not written."
    if len(out) == len(VIEW_FIELDS):
        return out[0], _gr().skip(), out[-1]
    return out


# ----------------------------------------------------------------------------- save / open / autosave

def save_project_file(session: DirectorSession | None) -> str:
    """The project as a zip to download."""
    gr = _gr()
    if session is None or (session.clip is None and session.portrait is None):
        raise gr.Error("Nothing to save yet: add a portrait or a speech recording.")
    try:
        name = f"versastudio-project-{time.strftime('%Y%m%d-%H%M%S')}.zip"
        return str(proj.save_project(session.project, session.folder() / name))
    except (ValueError, OSError) as err:
        raise gr.Error(f"Could not save the project: {err}") from None


def _load_project(session: DirectorSession, project: proj.Project) -> DirectorSession:
    """A new session state for ``project`` (portrait analysed, audio loaded, motion decoded)."""
    from pipeline.audio import load_audio
    from pipeline.portrait.analysis import analyze_portrait as analyze

    fresh = DirectorSession(project=project, session_id=session.session_id,
                            sessions_root=session.sessions_root, workdir=session.workdir, key=session.key)
    if project.portrait_file:
        fresh.portrait = analyze(project.portrait_file)
    if project.audio_file:
        fresh.clip, fresh.clip_file = load_audio(project.audio_file), project.audio_file
        if abs(fresh.clip.duration_s - project.duration_s) > 0.05:
            raise proj.ProjectError(f"the project's audio lasts {fresh.clip.duration_s:.2f} s but its timeline "
                                    f"{project.duration_s:.2f} s")
    _sync_result(fresh)
    if fresh.result is not None and fresh.poses is None:
        _update_previews(fresh)
    return fresh


@_guard("Could not open the project")
def open_project_file(path, session: DirectorSession | None) -> tuple:
    session = session or new_session()
    if not path:
        return _view(session, "", timeline=False)
    project = proj.open_project(path, session.folder())
    try:
        fresh = _load_project(session, project)
    except BaseException:
        proj.discard_opened(project)      # nothing of a project that did not open stays on disk
        raise
    _autosave(fresh)
    return _view(fresh, ok(f"Opened {md_escape(Path(path).name)}.") + _repairs_note(project),
                 portrait=True, motion=True)


def _repairs_note(project: proj.Project) -> str:
    """The values opening reset (a toast too): the user is told, the rest of the project is kept."""
    if not project.repairs:
        return ""
    _gr().Warning("Some saved values were out of range and were reset; see the status line.")
    return "\n\n⚠ Reset to defaults on opening:\n" + "\n".join(f"- {md_escape(r)}" for r in project.repairs)


def restore_session(stored_id, session: DirectorSession | None, sessions_root=None) -> tuple:
    """On page load: this browser's session id (made when missing) and its autosaved project.

    Returns VIEW_FIELDS plus the id for the browser's storage."""
    gr = _gr()
    sid = stored_id if proj.valid_session_id(stored_id) else proj.new_session_id()
    if session is not None:  # the user was quicker than the page load: keep their work
        if not session.session_id:
            session.session_id, session.sessions_root = sid, None if sessions_root is None else str(sessions_root)
            _autosave(session)
        return (session,) + (gr.skip(),) * (len(VIEW_FIELDS) - 1) + (session.session_id,)
    fresh = new_session(sid, sessions_root)
    try:
        project = proj.restore_autosave(sid, sessions_root)
    except Exception as err:  # noqa: BLE001 - a broken autosave must not block the page
        log.warning("could not restore session %s: %s", sid, err)
        project = None
    if project is None:
        return _view(fresh, "", timeline=False) + (sid,)
    try:
        fresh = _load_project(fresh, project)
    except Exception as err:  # noqa: BLE001
        log.warning("could not restore session %s: %s", sid, err)
        proj.discard_opened(project)
        return _view(new_session(sid, sessions_root), f"⚠ Your last session could not be restored: "
                                                      f"{md_escape(str(err))}", timeline=False) + (sid,)
    if project.repairs:
        _autosave(fresh)                  # the repaired values, so the next reload is clean
    return _view(fresh, ok("Restored your last session.") + _repairs_note(project), portrait=True,
                 motion=True) + (sid,)


def select_segment(index, session: DirectorSession | None, at_time: float | None = None):
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


def select_span(start, end, session: DirectorSession | None):
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


def resend_stage(session: DirectorSession | None):
    """The page lost cached arrays (reload, dropped reply): everything again."""
    if session is None:
        return empty_payload()
    session.stage_cache.forget()
    return stage_for(session)
