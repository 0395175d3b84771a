"""The Director session's motion state: the current take decoded from the project's tokens,
its poses on the portrait, committing a new take; the edits themselves are pipeline/project/edits.py.

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

import numpy as np

from pipeline.constants import MOTION_FPS, VIDEO_FPS
from pipeline.project import edits
from pipeline.project import timeline as tl
from studio import project as proj
from studio import speech_text as speech
from studio import stage_payload as stage
from studio.director_session import COMPARE_NONE, COMPARE_PROJECTION, DirectorSession, _autosave, _progress
from studio.director_view import ok
from studio.motion_page import md_escape


def _use_clip(session: DirectorSession, clip, path: str | None) -> None:
    """``clip`` (decoded from ``path``) becomes the session's speech; what was computed from the
    previous one (motion, poses, comparison, downloads, mouth tracks) is dropped."""
    session.clip, session.clip_file = clip, path
    session.result, session.poses, session.selected = None, None, None
    session.compare, session.compare_view, session.span = COMPARE_NONE, None, None
    for kind in ("video", "pose_video", "bvh", "npz", "poses_json"):
        session.files.pop(kind, None)
    session.mouths.clear()


# ----------------------------------------------------------------------------- what every edit needs

def _need_timeline(session: DirectorSession | None) -> DirectorSession:
    if session is None or session.clip is None or not session.project.segments:
        raise tl.TimelineError("load a speech recording first")
    return session


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


_span = edits.token_span


def _need_motion(session: DirectorSession | None) -> DirectorSession:
    session = _need_timeline(session)
    if session.project.tokens is None:
        raise ValueError("generate the motion first")
    _sync_result(session)
    return session
