"""The Director's body: which body model the session shows (the Anny body, or the user's SMPL /
SMPL-X folder), and the body exports (a shaded video and an animated .glb) for Downloads."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.body.model import BodyError, BodyModel
from studio.handler_types import Outputs, ProgressFn

if TYPE_CHECKING:
    from studio.director_session import DirectorSession

log = logging.getLogger(__name__)
BODY_VIDEO_SIZE = 384
BODY_VIDEO_FPS = 20.0


def body_for(session: DirectorSession) -> BodyModel:
    """The fitted body of this session. A folder that became unusable falls back to the Anny body
    and says so in ``session.body_note`` (shown in the status by ``set_body_folder``)."""
    from pipeline.body.choice import session_body

    folder = getattr(session, "smpl_dir", "")
    try:
        return session_body(folder)
    except BodyError as err:
        session.body_note = f"Showing the Anny body: {err}"
        log.warning("body for folder %r: %s", folder, err)
        return session_body("")


def set_body_folder(folder: str | None, session: DirectorSession | None) -> Outputs:
    """Use the SMPL / SMPL-X model files in ``folder`` (empty: the Anny body). Returns the view."""
    from pipeline.body.choice import session_body
    from studio import director_page as dp

    if session is None:
        session = dp.new_session()
    folder = (folder or "").strip()
    try:
        body = session_body(folder)
    except BodyError as err:
        return dp._kept(session, "Could not use these body model files", err)
    session.smpl_dir = folder
    from studio.body_stage import body_label

    return dp._view(session, dp.ok(f"The stage and the body exports now use the {body_label(body)} "
                                   f"({len(body.vertices):,} vertices)."))


def export_body(session: DirectorSession | None, progress: ProgressFn = None) -> Outputs:
    """The take's body as an animated .glb and a shaded mp4 (with the speech), added to Downloads.
    Returns (session, downloads, status)."""
    from pipeline.body.gltf import write_glb
    from pipeline.body.video import write_body_video
    from studio import director_page as dp

    session = dp._need_motion(session)
    body = body_for(session)
    folder = session.folder()
    stem = f"body-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    summary = write_glb(body, session.result.joints, folder / f"{stem}.glb")
    cancel = session.cancel_event
    cancel.clear()

    def report(done: int, total: int) -> None:
        dp._progress(progress, done / max(total, 1), f"Body video: frame {done}/{total}")

    started = time.perf_counter()
    video = write_body_video(body, session.result.joints, folder / f"{stem}.mp4", audio=session.clip,
                             fps=BODY_VIDEO_FPS, size=BODY_VIDEO_SIZE, progress=report, cancel=cancel)
    took = time.perf_counter() - started
    session.files.update({"body_glb": summary["path"], "body_video": str(video)})
    note = getattr(session, "body_note", "")
    text = (f"Exported the body ({body.name}): {Path(summary['path']).name} ({summary['frames']} frames, "
            f"{summary['duration_s']:.1f} s, joint error {summary['joint_err_mm']:.1f} mm; in Blender: "
            f"File > Import > glTF) and {Path(video).name} ({took:.0f} s).")
    return session, dp.downloads_for(session), dp.ok(text + (f"\n\n{note}" if note else ""))
