"""Handlers of the motion page: plain functions from (inputs, session state) to outputs.

Gradio calls them through studio/layout.py; tests call them directly. The session state is the
``LoadedMotion`` shown in the viewer (or None); a failed load returns the same state object and
leaves the viewer as it was (``gr.skip()``), with the reason in the status line.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from components.motion_viewer import empty_figure, motion_figure
from pipeline.motion.skeleton import JOINT_NAMES, PARENTS
from studio.motion_sources import LoadedMotion, MotionSourceError, load_bvh_file, load_choice

log = logging.getLogger(__name__)

EXPORT_DIR_PREFIX = "studio-bvh-"
EXPORT_MAX_AGE_S = 24 * 3600

ORIGIN_LABELS = {"procedural": "procedural", "dataset": "dataset", "upload": "BVH upload"}

PageOutputs = tuple[LoadedMotion | None, object, object, str]
"""(state, figure or gr.skip(), info markdown or gr.skip(), status markdown)."""


# ----------------------------------------------------------------------------- text for the page

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(text: str) -> str:
    """Text shown literally in Markdown (captions, file names, error messages)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("&", "&amp;")


def describe(motion: LoadedMotion | None) -> str:
    """The clip card: title, source badges, duration, frame count, captions."""
    if motion is None:
        return "### No motion yet\nPick a clip or upload a BVH."
    badges = [ORIGIN_LABELS.get(motion.origin, motion.origin)]
    if motion.source not in (motion.origin, ""):
        badges.append(motion.source)
    if motion.synthetic and "synthetic" not in motion.source:
        badges.append("synthetic")
    badges = [f"`{b.replace('`', '')}`" for b in badges]
    lines = [
        f"### {md_escape(motion.title)}",
        " ".join(badges),
        "",
        f"**{motion.duration:.2f} s** · {motion.n_frames} frames · {motion.fps:g} fps",
        "",
    ]
    if motion.captions:
        lines.append("**Captions**")
        lines += [f"- {md_escape(c)}" for c in motion.captions]
    else:
        lines.append("_No captions._")
    if motion.notes:
        lines += ["", " · ".join(f"_{md_escape(n)}_" for n in motion.notes)]
    return "\n".join(lines)


def ok_status(motion: LoadedMotion) -> str:
    return f"✓ Showing **{md_escape(motion.title)}** ({motion.n_frames} frames)."


def error_status(what: str, message: str, advice: str) -> str:
    text = f"⚠ **{md_escape(what)}**\n\n> {md_escape(message)}"
    if advice:
        text += f"\n\n{advice}"
    text += "\n\n_The motion shown before is unchanged._"
    return text


def figure_for(motion: LoadedMotion | None) -> go.Figure:
    if motion is None:
        return empty_figure()
    return motion_figure(motion.joints, PARENTS, motion.fps, motion.title, joint_names=JOINT_NAMES)


def _shown(motion: LoadedMotion) -> PageOutputs:
    return motion, figure_for(motion), describe(motion), ok_status(motion)


def _kept(state: LoadedMotion | None, status: str, toast: str) -> PageOutputs:
    gr.Warning(toast)
    return state, gr.skip(), gr.skip(), status


# ----------------------------------------------------------------------------- handlers

def load_clip(key: str | None, state: LoadedMotion | None,
              dataset_dir: Path | None = None) -> PageOutputs:
    """Show a picker entry: "action:<name>" or "dataset:<clip id>"."""
    try:
        motion = load_choice(key or "", dataset_dir)
    except MotionSourceError as err:
        return _kept(state, error_status("Could not load this clip.", str(err), ""), str(err))
    except Exception as err:  # noqa: BLE001 - the page shows a message, never a traceback
        log.exception("loading clip %r failed", key)
        message = f"{type(err).__name__}: {err}"
        return _kept(state, error_status(f"Could not load {key}.", message,
                                         "Try another clip; the server log has the details."),
                     message)
    return _shown(motion)


def _bvh_advice(err: Exception) -> str:
    name = type(err).__name__
    if name == "UnknownRigError":
        return ("The file parsed, but its skeleton is not one the studio knows how to map onto the "
                "22-joint body. Follow the message above to add a mapping for this rig, or export "
                "the motion with a standard (CMU, Mixamo, SMPL) skeleton.")
    if name == "BvhFormatError":
        return ("Check that the file is a complete BVH (a HIERARCHY section, then MOTION with "
                "`Frames:`, `Frame Time:` and one line of numbers per frame); re-export it from "
                "your animation tool if it was cut short.")
    return "Make sure the file is a BVH motion capture file (.bvh) and try again."


def load_bvh(path: str | Path | None, state: LoadedMotion | None) -> PageOutputs:
    """Show an uploaded BVH file retargeted onto the 22-joint skeleton."""
    if not path:
        return _kept(state, error_status("No file.", "No BVH file was given.",
                                         "Drop a .bvh file on the upload box."), "No BVH file given.")
    name = Path(path).name
    try:
        motion = load_bvh_file(path)
    except (ValueError, OSError) as err:  # BvhFormatError, UnknownRigError, unreadable files
        message = str(err) or type(err).__name__
        return _kept(state, error_status(f"Could not load {name}.", message, _bvh_advice(err)),
                     f"Could not load {name}: {message}")
    except Exception as err:  # noqa: BLE001
        log.exception("loading BVH %s failed", path)
        message = f"{type(err).__name__}: {err}"
        return _kept(state, error_status(f"Could not load {name}.", message, _bvh_advice(err)),
                     f"Could not load {name}: {message}")
    return _shown(motion)


def _safe_stem(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", title).strip("_")
    return stem[:60] or "motion"


def _clean_old_exports(now: float | None = None) -> None:
    now = time.time() if now is None else now
    for folder in Path(tempfile.gettempdir()).glob(f"{EXPORT_DIR_PREFIX}*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > EXPORT_MAX_AGE_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def export_bvh(state: LoadedMotion | None) -> str:
    """Write the motion on screen as a BVH in a fresh temporary folder; returns the file path."""
    if state is None:
        raise gr.Error("Nothing to export yet: pick a clip or upload a BVH first.")
    from pipeline.motion.bvh import write_bvh

    _clean_old_exports()
    folder = Path(tempfile.mkdtemp(prefix=f"{EXPORT_DIR_PREFIX}{uuid.uuid4().hex[:6]}-"))
    path = folder / f"{_safe_stem(state.title)}.bvh"
    try:
        write_bvh(path, state.joints, fps=state.fps)
    except Exception as err:  # noqa: BLE001
        log.exception("BVH export failed")
        raise gr.Error(f"Could not export this motion as BVH: {err}") from err
    return str(path)
