"""The studio's project: the document and its zip (pipeline/project/), plus browser sessions and autosave.

The document and the zip format live in pipeline/project/document.py and archive.py (the CLI uses
them too) and are re-exported here for the page's imports. This module keeps what only the studio
needs: each browser session has a folder ``<root>/<session id>/`` (root: ``$VERSASTUDIO_SESSIONS``
or ``~/.cache/versastudio/sessions``) holding ``autosave.zip`` and the session's working files.
Session ids are random (uuid4 hex) and checked before they become a path.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

from pipeline.project.archive import (AUDIO_SUFFIXES, HISTORY_AUDIO_PREFIX, LOCKED_NPY,  # noqa: F401
                                      MAX_HISTORY_AUDIO, MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_ZIP_BYTES,
                                      OPENED_PREFIX, PORTRAIT_SUFFIXES, PROJECT_JSON, TOKENS_NPY, discard_opened,
                                      open_project, save_project)
from pipeline.project.document import (FORMAT, MAX_TAKES, VERSION, Project, ProjectError,  # noqa: F401
                                       Snapshot, Take)

AUTOSAVE_NAME = "autosave.zip"
SESSIONS_ENV = "VERSASTUDIO_SESSIONS"

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")

# ----------------------------------------------------------------------------- sessions / autosave

def sessions_root(root: str | Path | None = None) -> Path:
    if root is not None:
        return Path(root)
    env = os.environ.get(SESSIONS_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "versastudio" / "sessions"


BROWSER_SECRET_FILE = ".browser-secret"


def browser_secret(root: str | Path | None = None) -> str:
    """The key the browser-side session id is encrypted with, made once per sessions root and kept
    there: a key drawn anew at every start would make a restarted app unable to read the id back,
    and the autosave would never be found again."""
    folder = sessions_root(root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / BROWSER_SECRET_FILE
    if not path.exists():
        import secrets

        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def new_session_id() -> str:
    return uuid.uuid4().hex


def valid_session_id(session_id: object) -> bool:
    return isinstance(session_id, str) and bool(_SESSION_ID.match(session_id))


def session_dir(session_id: str, root: str | Path | None = None) -> Path:
    """The session's folder; ProjectError for an id that is not one the studio made."""
    if not valid_session_id(session_id):
        raise ProjectError("invalid session id")
    return sessions_root(root) / session_id


def autosave(project: Project, session_id: str, root: str | Path | None = None) -> Path:
    return save_project(project, session_dir(session_id, root) / AUTOSAVE_NAME)


def restore_autosave(session_id: str, root: str | Path | None = None) -> Project | None:
    """The session's autosaved project, or None when there is none (or the id is not valid)."""
    if not valid_session_id(session_id):
        return None
    folder = session_dir(session_id, root)
    path = folder / AUTOSAVE_NAME
    if not path.is_file():
        return None
    return open_project(path, folder / "files")


SESSION_MAX_AGE_ENV = "VERSASTUDIO_SESSION_DAYS"
SESSION_MAX_AGE_DAYS = 30.0


def session_max_age_days() -> float:
    try:
        return float(os.environ.get(SESSION_MAX_AGE_ENV, SESSION_MAX_AGE_DAYS))
    except ValueError:
        return SESSION_MAX_AGE_DAYS


def prune_sessions(root: str | Path | None = None, max_age_days: float | None = None,
                   now: float | None = None) -> list[str]:
    """Delete the session folders nobody touched for ``max_age_days`` (default 30, or
    $VERSASTUDIO_SESSION_DAYS); only folders named like a session id. Returns the removed ids."""
    folder = sessions_root(root)
    if not folder.is_dir():
        return []
    limit = (now if now is not None else time.time()) - 86400.0 * (
        session_max_age_days() if max_age_days is None else float(max_age_days))
    removed: list[str] = []
    for path in folder.iterdir():
        if not (path.is_dir() and valid_session_id(path.name)):
            continue
        autosaved = path / AUTOSAVE_NAME
        last = (autosaved if autosaved.exists() else path).stat().st_mtime
        if last < limit:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def clean_stale_partials(root: str | Path | None = None) -> int:
    """At start-up: the partial files renders killed mid-way left in the session folders
    (pipeline.video.writer writes under partial names and renames when done). Returns how many."""
    from pipeline.video.writer import clean_partials

    folder = sessions_root(root)
    if not folder.is_dir():
        return 0
    return sum(len(clean_partials(path / "files")) for path in folder.iterdir()
               if path.is_dir() and valid_session_id(path.name))
