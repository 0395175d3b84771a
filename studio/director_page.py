"""The Director page: portrait + speech -> timeline -> motion -> video, with save/open and autosave.

Handlers are plain functions from (inputs, session) to outputs; ``build_director_tab()`` wires
them into Gradio blocks (studio/layout.py puts it in the first tab) and tests call them directly.
Every handler that changes the page returns ``VIEW_FIELDS`` in order:

    (session, portrait overlay, portrait card, timeline figure, segments table, 3D figure,
     2D pose preview video, downloads, status)

with ``gr.skip()`` for what did not change. A failure shows a warning toast and a status line and
returns the session untouched: the project is never cleared by an error.

Events a script can call (gradio_client ``api_name``): analyze_portrait, load_speech,
load_examples, edit_segments, split_segment, merge_segment, delete_segment, reroll_segment,
undo, redo, generate, regenerate_span, lock_span, unlock_span, render, cancel_render,
export_motion, save_project, open_project.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import numpy as np

from components.motion_viewer import empty_figure, motion_figure
from components.timeline_view import empty_timeline, timeline_figure
from pipeline.constants import CODEBOOK_SIZE, MOTION_FPS, TOKENS_PER_SECOND, VIDEO_FPS
from studio import project as proj
from studio import timeline as tl
from studio.motion_page import md_escape

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "assets" / "examples"
EXAMPLE_PORTRAIT = EXAMPLES_DIR / "astronaut.jpg"
EXAMPLE_SPEECH = EXAMPLES_DIR / "speech.wav"

PREVIEW_MAX_SIDE = 384
PREVIEW_FPS = VIDEO_FPS / 2
OVERLAY_ALPHA = 0.75
VIEWER_ELEM_ID = "director-motion-viewer"
BROWSER_STORAGE_KEY = "versastudio-session"

VIEW_FIELDS = ("session", "portrait_view", "portrait_card", "timeline", "table", "motion", "pose_preview",
               "downloads", "status")

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
    result: object | None = None            # GenerationResult of project.tokens
    poses: object | None = None             # WholeBodyPose at VIDEO_FPS for the portrait
    selected: int | None = None
    files: dict = field(default_factory=dict)  # downloads: kind -> path

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


def timeline_for(session: DirectorSession):
    p = session.project
    if session.clip is None or not p.segments:
        return empty_timeline()
    return timeline_figure(session.clip.samples, session.clip.sample_rate,
                           [(s.start, s.end, s.prompt, s.locked) for s in p.segments],
                           tokens=p.tokens, locked=p.locked, tokens_per_second=TOKENS_PER_SECOND,
                           codebook_size=CODEBOOK_SIZE, selected=session.selected)


def table_for(session: DirectorSession) -> list[list]:
    return tl.to_rows(session.project.segments)


def motion_for(session: DirectorSession):
    from pipeline.motion.skeleton import JOINT_NAMES, PARENTS

    if session.result is None:
        return empty_figure("Press Generate to see the motion here.")
    return motion_figure(session.result.joints, PARENTS, MOTION_FPS, "Generated motion",
                         joint_names=JOINT_NAMES)


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
    fig = table = skip
    if timeline:
        fig, table = timeline_for(session), table_for(session)
    motion_fig = preview = skip
    if motion:
        motion_fig = motion_for(session)
        preview = session.files.get("preview")
    files = downloads_for(session) if downloads or motion else skip
    return session, portrait_img, portrait_md, fig, table, motion_fig, preview, files, status


def _kept(session: DirectorSession | None, what: str, err: BaseException | str) -> tuple:
    """A failure: a toast and the status line; the session and everything shown stay as they are."""
    gr = _gr()
    message = str(err) or type(err).__name__
    gr.Warning(f"{what}: {message}")
    status = f"⚠ **{md_escape(what)}**\n\n> {md_escape(message)}\n\n_Your project is unchanged._"
    return (session,) + (gr.skip(),) * (len(VIEW_FIELDS) - 2) + (status,)


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
    session.files.pop("preview", None)
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
    if p.segments or p.tokens is not None:
        p.checkpoint()
    p.audio_file, p.duration_s, p.segments = stored, float(clip.duration_s), segments
    p.tokens = p.locked = None
    session.clip, session.result, session.poses, session.selected = clip, None, None, None
    for kind in ("preview", "video", "pose_video", "bvh", "npz"):
        session.files.pop(kind, None)
    _autosave(session)
    n = len(segments)
    return _view(session, ok(f"Speech loaded: {clip.duration_s:.2f} s, cut at pauses into {n} "
                             f"segment{'s' if n != 1 else ''}. Type prompts in the table, then Generate."),
                 motion=True)


def load_examples(session: DirectorSession | None) -> tuple:
    """The bundled example portrait and speech."""
    first = analyze_portrait(str(EXAMPLE_PORTRAIT), session)
    session = first[0]
    second = load_speech(str(EXAMPLE_SPEECH), session)
    merged = list(second)
    merged[1], merged[2] = first[1], first[2]
    return tuple(merged)


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
        return int(number) - 1
    except (TypeError, ValueError):
        raise tl.TimelineError("give the segment's number (the table's row, from 1)") from None


@_guard("Could not apply the table edit")
def edit_segments(table, session: DirectorSession | None) -> tuple:
    session = _need_timeline(session)
    p = session.project
    segments = tl.from_rows(p.segments, _rows(table), p.duration_s)
    if segments == p.segments:
        return _view(session, "", timeline=False)
    return _edit(session, segments, "Segments updated.")


@_guard("Could not split")
def split_segment(at_time, session: DirectorSession | None) -> tuple:
    session = _need_timeline(session)
    if at_time is None:
        raise tl.TimelineError("give the time to split at, in seconds")
    return _edit(session, tl.split(session.project.segments, float(at_time)), f"Split at {float(at_time):.2f} s.")


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


@_guard("Nothing to undo")
def undo(session: DirectorSession | None) -> tuple:
    session = session or new_session()
    session.project.undo()
    return _after_history(session, "Undone.")


@_guard("Nothing to redo")
def redo(session: DirectorSession | None) -> tuple:
    session = session or new_session()
    session.project.redo()
    return _after_history(session, "Redone.")


def _after_history(session: DirectorSession, text: str) -> tuple:
    changed = _sync_result(session)
    _autosave(session)
    return _view(session, ok(text), motion=changed)


# ----------------------------------------------------------------------------- motion

def _free_mask(p: proj.Project, n: int) -> np.ndarray:
    """Tokens that may change: not locked by the token mask nor inside a locked segment."""
    free = np.ones(n, dtype=bool)
    if p.tokens is None or len(p.tokens) != n:
        return free
    if p.locked is not None:
        free &= ~p.locked
    for seg in p.segments:
        if seg.locked:
            a, b = tl.token_range(seg, n)
            free[a:b] = False
    return free


def _n_tokens(session: DirectorSession) -> int:
    from pipeline.motion.generate import num_tokens_for
    return num_tokens_for(session.clip.duration_s, session.clip.num_motion_frames)


def _locks_arg(p: proj.Project, free: np.ndarray):
    if p.tokens is None or len(p.tokens) != len(free) or free.all():
        return None
    return np.where(free, -1, p.tokens).astype(np.int64)


def _sync_result(session: DirectorSession) -> bool:
    """Make session.result match project.tokens (after undo, redo or open). True if it changed."""
    from pipeline.motion.generate import generate

    p = session.project
    if p.tokens is None:
        changed = session.result is not None
        session.result, session.poses = None, None
        session.files.pop("preview", None)
        return changed
    if session.result is not None and np.array_equal(session.result.tokens, p.tokens):
        return False
    if session.clip is None:
        return False
    if len(p.tokens) != _n_tokens(session):
        raise ValueError(f"the project's {len(p.tokens)} motion tokens do not match its audio "
                         f"({_n_tokens(session)} tokens); generate again")
    # Every token locked: the generator keeps them and decodes their motion.
    session.result = generate(session.clip, tl.as_pipeline_segments(p.segments), locked_tokens=p.tokens,
                              seed=int(p.settings.get("seed", 0)))
    _update_previews(session)
    return True


def _resample(session: DirectorSession, free: np.ndarray, seed: int, prompt: str | None = None):
    """Resample the free tokens of the current result (regenerate_span when they form one span)."""
    from pipeline.motion.generate import generate, regenerate_span, token_prompts_for

    result = session.result
    idx = np.flatnonzero(free)
    if idx.size == 0:
        return result
    a, b = int(idx[0]), int(idx[-1]) + 1
    segs = tl.as_pipeline_segments(session.project.segments)
    if idx.size == b - a:
        from dataclasses import replace
        current = replace(result, segments=segs, token_prompts=token_prompts_for(segs, result.num_tokens))
        return regenerate_span(current, a, b, seed=seed, prompt=prompt)
    locks = np.where(free, -1, result.tokens).astype(np.int64)
    return generate(session.clip, segs, locked_tokens=locks, seed=seed)


def _update_previews(session: DirectorSession, progress=None) -> None:
    """Poses for the portrait and the 2D preview video (pose over portrait, with the speech)."""
    from pipeline.portrait.wholebody import WholeBodyPose
    from pipeline.render.pose_maps import draw_pose_overlay
    from pipeline.token2pose import translate
    from pipeline.video import write_video

    session.poses = None
    session.files.pop("preview", None)
    if session.result is None or session.portrait is None or session.clip is None:
        return
    session.poses = translate(session.result, session.portrait, fps=VIDEO_FPS).pose
    image = session.portrait.image
    h, w = image.shape[:2]
    scale = min(1.0, PREVIEW_MAX_SIDE / max(h, w))
    if scale < 1.0:
        from PIL import Image
        size = (max(2, int(round(w * scale))), max(2, int(round(h * scale))))
        image = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
    poses = session.poses
    step = max(1, int(round(VIDEO_FPS / PREVIEW_FPS)))
    small = WholeBodyPose(poses.keypoints[::step] * scale, poses.scores[::step],
                          (image.shape[1], image.shape[0]), VIDEO_FPS / step)

    def frames():
        for i in range(len(small)):
            yield draw_pose_overlay(image, small, i, OVERLAY_ALPHA)

    out = session.folder() / f"preview-{uuid.uuid4().hex[:8]}.mp4"
    total = max(1, len(small))

    def report(done, _total):
        _progress(progress, 0.5 + 0.5 * done / max(total, 1), "Drawing the 2D preview")

    write_video(frames(), session.clip, out, VIDEO_FPS / step, progress=report)
    old = session.files.get("preview")
    session.files["preview"] = str(out)
    if old and old != str(out):
        Path(old).unlink(missing_ok=True)


def _motion_status(session: DirectorSession, text: str) -> str:
    r = session.result
    lines = [ok(f"{text} {r.num_tokens} tokens, {len(r.joints)} frames at {MOTION_FPS} fps.")]
    if session.portrait is None:
        lines.append("Add a portrait to see the 2D pose preview and to render.")
    lines += [f"- ⚠ {md_escape(w)}" for w in r.warnings]
    return "\n".join(lines)


def _commit_tokens(session: DirectorSession, result, label: str, progress=None) -> None:
    p = session.project
    p.checkpoint()
    locked = p.locked if p.locked is not None and len(p.locked) == len(result.tokens) else None
    p.tokens = np.asarray(result.tokens, dtype=np.int64)
    p.locked = locked if locked is not None else np.zeros(len(p.tokens), dtype=bool)
    p.add_take(label)
    session.result = result
    for kind in ("video", "pose_video", "bvh", "npz"):
        session.files.pop(kind, None)
    _progress(progress, 0.5, "Fitting the poses to the portrait")
    _update_previews(session, progress)
    _autosave(session)


@_guard("Could not generate the motion")
def generate_motion(seed, session: DirectorSession | None, progress=None) -> tuple:
    """Motion for the whole timeline: each segment's prompt (blank: speech gestures), locked tokens
    and locked segments kept; a segment with its own seed is re-sampled with it."""
    from pipeline.motion.generate import generate

    session = _need_timeline(session)
    p = session.project
    seed = int(seed or 0)
    _progress(progress, 0.05, "Generating motion tokens")
    n = _n_tokens(session)
    free = _free_mask(p, n)
    result = generate(session.clip, tl.as_pipeline_segments(p.segments), locked_tokens=_locks_arg(p, free),
                      seed=seed)
    session_result_before = session.result
    session.result = result
    try:
        for seg in p.segments:
            if seg.seed and not seg.locked:
                a, b = tl.token_range(seg, n)
                span = np.zeros(n, dtype=bool)
                span[a:b] = True
                session.result = _resample(session, span & free, seed + seg.seed)
    except Exception:
        session.result = session_result_before
        raise
    result = session.result
    p.settings["seed"] = seed
    _commit_tokens(session, result, f"take {len(p.takes) + 1} (seed {seed})", progress)
    return _view(session, _motion_status(session, "Motion generated:"), motion=True)


def _span(start, end, n: int) -> tuple[int, int]:
    try:
        a, b = int(start), int(end)
    except (TypeError, ValueError):
        raise ValueError("give the span as first and last token numbers") from None
    if not 0 <= a <= b < n:
        raise ValueError(f"tokens {a}..{b} are not inside the motion's {n} tokens (0..{n - 1})")
    return a, b + 1


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
    span = np.zeros(n, dtype=bool)
    span[a:b] = True
    free = span & _free_mask(p, n)
    if not free.any():
        raise ValueError(f"tokens {a}..{b - 1} are all locked; unlock them to regenerate")
    _progress(progress, 0.05, "Regenerating the span")
    result = _resample(session, free, int(seed or 0))
    _commit_tokens(session, result, f"span {a}-{b - 1} (seed {int(seed or 0)})", progress)
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
    span = np.zeros(n, dtype=bool)
    span[a:b] = True
    free = span & _free_mask(p, n)
    if not free.any():
        raise ValueError(f"segment {i + 1}'s tokens are all locked")
    new_seed = seg.seed + 1
    result = _resample(session, free, int(p.settings.get("seed", 0)) + new_seed)
    _commit_tokens(session, result, f"segment {i + 1} re-rolled (seed {new_seed})", progress)
    p.segments = tl.set_seed(p.segments, i, new_seed)
    _autosave(session)
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


# ----------------------------------------------------------------------------- render and export

def backend_choices() -> tuple[list[tuple[str, str]], str]:
    """(radio choices, markdown about the backends). Unavailable ones are labelled with the reason."""
    from pipeline.render.backends import available_backends

    choices, notes = [], []
    for name, (usable, reason) in available_backends().items():
        label = name if usable else f"{name} (unavailable)"
        choices.append((label, name))
        notes.append(f"- **{name}**: {'✓ ' if usable else '✗ '}{md_escape(reason)}")
    return choices, "\n".join(notes)


def render_outputs(session, video, status) -> tuple:
    return session, video, downloads_for(session) if session is not None else None, status


@_guard("Could not render")
def _render(backend, resolution, fps, blink_rate, seed, session, progress):
    from pipeline.render.backends import available_backends, render
    from pipeline.token2pose import translate
    from pipeline.video import RenderCancelled

    session = _need_motion(session)
    if session.portrait is None:
        raise ValueError("add a portrait first")
    backend = backend or "warp"
    status = available_backends().get(backend)
    if status is None:
        raise ValueError(f"unknown renderer {backend!r}")
    if not status[0]:
        raise RuntimeError(f"the {backend} renderer is unavailable: {status[1]}")
    fps = float(fps or VIDEO_FPS)
    poses = session.poses if session.poses is not None and abs(fps - VIDEO_FPS) < 1e-6 else \
        translate(session.result, session.portrait, fps=fps).pose
    cancel = session.cancel_event
    cancel.clear()
    out = session.folder() / f"render-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}.mp4"

    def report(done: int, total: int) -> None:
        _progress(progress, done / max(total, 1), f"Rendering frame {done}/{total}")

    try:
        path = render(backend, session.portrait, poses, session.clip, out, resolution=int(resolution or 512),
                      fps=fps, blink_rate_per_min=float(blink_rate if blink_rate is not None else 15),
                      seed=int(seed or 0), progress=report, cancel=cancel)
    except RenderCancelled:
        _gr().Info("Render cancelled.")
        return session, _gr().skip(), _gr().skip(), "Render cancelled; nothing was written."
    session.files["video"] = str(path)
    session.project.settings.update({"backend": backend, "resolution": int(resolution or 512), "fps": fps,
                                     "blink_rate": float(blink_rate or 0), "render_seed": int(seed or 0)})
    _autosave(session)
    return session, str(path), downloads_for(session), ok(f"Rendered {Path(path).name} ({backend}, "
                                                          f"{int(resolution or 512)} px, {fps:g} fps).")


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
    """BVH, npz (tokens, joints, features) and the pose video of the current motion."""
    from pipeline.motion.bvh import write_bvh
    from pipeline.video.pose_video import write_pose_video

    session = _need_motion(session)
    r = session.result
    folder = session.folder()
    stem = f"motion-{uuid.uuid4().hex[:6]}"
    bvh = write_bvh(folder / f"{stem}.bvh", r.joints)
    npz = folder / f"{stem}.npz"
    np.savez(npz, joints=r.joints, features=r.features, tokens=r.tokens, fps=r.fps,
             locked=session.project.locked, segments=np.array(
                 [f"{a:.2f}-{b:.2f}: {p or ''}" for a, b, p in tl.as_pipeline_segments(session.project.segments)]))
    session.files.update({"bvh": str(bvh), "npz": str(npz)})
    if session.poses is not None:
        session.files["pose_video"] = str(write_pose_video(session.poses, session.clip, folder / f"{stem}-pose.mp4"))
    return _view(session, ok("Exported BVH, npz" + (" and the pose video." if session.poses is not None else ".")),
                 timeline=False, downloads=True)


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
        fresh.clip = load_audio(project.audio_file)
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
    fresh = _load_project(session, project)
    _autosave(fresh)
    return _view(fresh, ok(f"Opened {md_escape(Path(path).name)}."), portrait=True, motion=True)


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
        return _view(new_session(sid, sessions_root), f"⚠ Your last session could not be restored: "
                                                      f"{md_escape(str(err))}", timeline=False) + (sid,)
    return _view(fresh, ok("Restored your last session."), portrait=True, motion=True) + (sid,)


def select_segment(index, session: DirectorSession | None):
    """Table click -> the segment number box and the highlighted span."""
    gr = _gr()
    if session is None or index is None:
        return gr.skip(), gr.skip(), gr.skip()
    session.selected = int(index)
    seg = session.project.segments[int(index)] if 0 <= int(index) < len(session.project.segments) else None
    split_at = round((seg.start + seg.end) / 2, 2) if seg else gr.skip()
    return int(index) + 1, split_at, timeline_for(session)


# ----------------------------------------------------------------------------- the Gradio tab

CSS = """
#director-motion-viewer { border-radius: 12px; overflow: hidden; min-height: 460px; }
#director-status { min-height: 1.5em; font-size: 0.9rem; }
"""


def build_director_tab(sessions_root: str | Path | None = None) -> dict:
    """The Director page's blocks (call inside a gr.Blocks / gr.Tab). Returns its components."""
    from components.motion_viewer import motion_viewer
    from components.timeline_view import timeline_view

    root = None if sessions_root is None else str(sessions_root)
    choices, backend_notes = backend_choices()
    state = gr.State(None)
    from studio.project import browser_secret

    browser_id = gr.BrowserState("", storage_key=BROWSER_STORAGE_KEY, secret=browser_secret(root))

    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            gr.Markdown("#### 1 · Portrait", elem_classes=["studio-panel-title"])
            portrait_in = gr.Image(label="Portrait photo", sources=["upload", "webcam", "clipboard"],
                                   type="filepath", height=260)
            portrait_view = gr.Image(label="Detected skeleton and framing", interactive=False, height=260,
                                     format="jpeg")
            portrait_md = gr.Markdown(portrait_card(None))
        with gr.Column(scale=8, min_width=480):
            gr.Markdown("#### 2 · Speech and timeline", elem_classes=["studio-panel-title"])
            with gr.Row():
                audio_in = gr.Audio(label="Speech", sources=["upload", "microphone"], type="filepath", scale=3)
                examples_btn = gr.Button("Load examples", scale=1, variant="secondary")
            timeline = timeline_view(elem_id="director-timeline")
            table = gr.Dataframe(headers=tl.TABLE_HEADERS, datatype=["number", "number", "str", "number", "bool"],
                                 column_count=5, interactive=True, label="Segments (edit prompts, times, "
                                 "seeds, locks; click a row to select it)", wrap=True,
                                 column_widths=["11%", "11%", "56%", "11%", "11%"], elem_id="director-segments")
            with gr.Row():
                seg_no = gr.Number(label="Segment #", value=1, precision=0, minimum=1, scale=1, min_width=90)
                split_at = gr.Number(label="Split at (s)", value=None, scale=1, min_width=90)
                split_btn = gr.Button("Split", size="sm")
                merge_btn = gr.Button("Merge with next", size="sm")
                delete_btn = gr.Button("Delete", size="sm")
                reroll_btn = gr.Button("Re-roll", size="sm")
                undo_btn = gr.Button("↶ Undo", size="sm")
                redo_btn = gr.Button("↷ Redo", size="sm")
    gr.Markdown("#### 3 · Motion", elem_classes=["studio-panel-title"])
    with gr.Row():
        gen_seed = gr.Number(label="Seed", value=0, precision=0, scale=1, min_width=90)
        generate_btn = gr.Button("Generate", variant="primary", scale=2)
    with gr.Row(equal_height=False):
        with gr.Column(scale=6):
            motion = motion_viewer(elem_id=VIEWER_ELEM_ID)
        with gr.Column(scale=5):
            pose_preview = gr.Video(label="2D pose over the portrait", interactive=False, height=460,
                                    elem_id="director-pose-preview")
    with gr.Row():
        span_start = gr.Number(label="First token", value=0, precision=0, min_width=90)
        span_end = gr.Number(label="Last token", value=4, precision=0, min_width=90)
        span_seed = gr.Number(label="Span seed", value=1, precision=0, min_width=90)
        regen_btn = gr.Button("Regenerate span", size="sm")
        lock_btn = gr.Button("Lock span", size="sm")
        unlock_btn = gr.Button("Unlock span", size="sm")
    gr.Markdown("#### 4 · Render", elem_classes=["studio-panel-title"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=4):
            backend = gr.Radio(choices=choices, value="warp", label="Renderer")
            gr.Markdown(backend_notes)
            with gr.Row():
                resolution = gr.Dropdown([256, 384, 512, 768], value=512, label="Resolution")
                fps = gr.Dropdown([12.5, 20, 25, 30], value=25, label="FPS")
            with gr.Row():
                blink = gr.Slider(0, 40, value=15, step=1, label="Blinks per minute")
                render_seed = gr.Number(label="Render seed", value=0, precision=0)
            with gr.Row():
                render_btn = gr.Button("Render", variant="primary")
                cancel_btn = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=6):
            video = gr.Video(label="Video", interactive=False, elem_id="director-video")
    with gr.Row():
        export_btn = gr.Button("Export BVH, npz and pose video")
        save_btn = gr.Button("Save project")
        open_file = gr.File(label="Open project (.zip)", file_types=[".zip"], type="filepath", height=90)
    with gr.Row():
        downloads = gr.Files(label="Downloads", interactive=False, elem_id="director-downloads")
        saved = gr.File(label="Project file", interactive=False)
    status = gr.Markdown("", elem_id="director-status")

    view = [state, portrait_view, portrait_md, timeline, table, motion, pose_preview, downloads, status]

    def on_analyze(path, s):
        return analyze_portrait(path, s)

    def on_speech(path, s):
        return load_speech(path, s)

    def on_generate(seed, s, progress=gr.Progress()):
        return generate_motion(seed, s, progress)

    def on_regenerate(a, b, seed, s, progress=gr.Progress()):
        return regenerate_span(a, b, seed, s, progress)

    def on_reroll(number, s, progress=gr.Progress()):
        return reroll_segment(number, s, progress)

    def on_render(name, res, rate, blinks, seed, s, progress=gr.Progress()):
        return render_video(name, res, rate, blinks, seed, s, progress)

    def on_select(s, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return select_segment(row, s)

    def on_load(stored, s):
        return restore_session(stored, s, root)

    portrait_in.change(on_analyze, [portrait_in, state], view, api_name="analyze_portrait")
    audio_in.change(on_speech, [audio_in, state], view, api_name="load_speech")
    examples_btn.click(load_examples, [state], view, api_name="load_examples")
    table.input(edit_segments, [table, state], view, api_name="edit_segments")
    table.select(on_select, [state], [seg_no, split_at, timeline], api_visibility="private")
    split_btn.click(split_segment, [split_at, state], view, api_name="split_segment")
    merge_btn.click(merge_segment, [seg_no, state], view, api_name="merge_segment")
    delete_btn.click(delete_segment, [seg_no, state], view, api_name="delete_segment")
    reroll_btn.click(on_reroll, [seg_no, state], view, api_name="reroll_segment")
    undo_btn.click(undo, [state], view, api_name="undo")
    redo_btn.click(redo, [state], view, api_name="redo")
    generate_btn.click(on_generate, [gen_seed, state], view, api_name="generate")
    regen_btn.click(on_regenerate, [span_start, span_end, span_seed, state], view, api_name="regenerate_span")
    lock_btn.click(lock_span, [span_start, span_end, state], view, api_name="lock_span")
    unlock_btn.click(unlock_span, [span_start, span_end, state], view, api_name="unlock_span")
    render_event = render_btn.click(on_render, [backend, resolution, fps, blink, render_seed, state],
                                    [state, video, downloads, status], api_name="render",
                                    concurrency_limit=1, concurrency_id="render")
    cancel_btn.click(cancel_render, [state], [status], api_name="cancel_render", cancels=[render_event],
                     queue=False)
    export_btn.click(export_motion, [state], view, api_name="export_motion")
    save_btn.click(save_project_file, [state], [saved], api_name="save_project")
    open_file.upload(open_project_file, [open_file, state], view, api_name="open_project")
    return {"state": state, "browser_id": browser_id, "view": view, "on_load": on_load,
            "load_outputs": view + [browser_id], "examples": examples_btn, "generate": generate_btn,
            "status": status}
