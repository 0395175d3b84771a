"""The Director page's session: one browser's project and what is computed from it, the
page's constants, autosave and the render cancel flags.

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from studio import project as proj
from studio import stage_payload as stage

log = logging.getLogger("studio.director_page")

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


def _autosave(session: DirectorSession) -> None:
    if not session.session_id:
        return
    try:
        proj.autosave(session.project, session.session_id, session.sessions_root)
    except Exception:  # noqa: BLE001 - autosave must never break an edit
        log.exception("autosave of session %s failed", session.session_id)


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
