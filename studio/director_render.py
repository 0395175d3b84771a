"""The Director page's render and exports: the video (warp or diffusion, cancellable), motion and body files.

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from pipeline import validation as check
from pipeline.constants import VIDEO_FPS
from pipeline.project import timeline as tl
from studio import body_actions
from studio import speech_text as speech
from studio.director_motion import _need_motion
from studio.director_session import VIEW_FIELDS, DirectorSession, _autosave, _gr, _progress
from studio.director_view import _guard, _view, downloads_for, ok
from studio.handler_types import FieldValue, Outputs, ProgressFn

# ----------------------------------------------------------------------------- render and export

@_guard("Could not render")
def _render(backend, resolution, fps, blink_rate, seed, session, progress):
    from pipeline.render.backends import available_backends, render
    from pipeline.render.warp.depth import depth_for_motion
    from pipeline.token2pose import translate
    from pipeline.jobs import RenderCancelled

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


def render_video(backend: str, resolution: FieldValue, fps: FieldValue, blink_rate: FieldValue, seed: FieldValue,
                 session: DirectorSession | None, progress: ProgressFn = None) -> Outputs:
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
    from pipeline.render.pose_video import write_pose_video

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
def export_body(session: DirectorSession | None, progress: ProgressFn = None) -> Outputs:
    """The body as a shaded video and an animated .glb. Returns (session, downloads, status)."""
    return body_actions.export_body(session, progress)


def export_body_files(session: DirectorSession | None, progress: ProgressFn = None) -> Outputs:
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
