"""The Director page's persistence: save and open project zips, restore the autosave on page load.

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

import time
from pathlib import Path

from studio import project as proj
from studio.director_motion import _sync_result, _update_previews
from studio.director_session import VIEW_FIELDS, DirectorSession, _autosave, _gr, log, new_session
from studio.director_view import _guard, _view, ok
from studio.handler_types import Outputs
from studio.motion_page import md_escape

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
def open_project_file(path: str | Path | None, session: DirectorSession | None) -> Outputs:
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


def restore_session(stored_id: str | None, session: DirectorSession | None,
                    sessions_root: str | Path | None = None) -> Outputs:
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
