"""The studio page: a gr.Blocks that wires motion sources, the 3D viewer and BVH export.

``build_app()`` returns the Blocks (queued). Theme and CSS go to ``launch()`` in Gradio 6:
``demo.launch(**launch_style())``; app.py does that.

Events a script can call (gradio_client, ``api_name``):
- ``/load_clip``  (clip key: "action:<name>" or "dataset:<clip id>") -> (figure, clip card, status)
- ``/load_bvh``   (a .bvh file) -> (figure, clip card, status)
- ``/export_bvh`` () -> a .bvh file of the motion on screen
- ``/list_clips`` () -> the picker, re-scanned (after `python -m pipeline build-dataset`)
Each browser session (and each gradio_client.Client) has its own motion in a gr.State.
The first tab is the Director page (studio/director_page.py, wired in studio/director_layout.py; its api_names are listed there:
/analyze_portrait, /load_speech, /generate, /regenerate_span, /render, /save_project, /open_project ...).
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from components.motion_viewer import motion_viewer
from components.stage import director_stage
from pipeline.constants import MOTION_FPS
from pipeline.validation import MAX_UPLOAD_BYTES
from studio import body_stage, director_layout, motion_page
from studio.motion_sources import (
    LoadedMotion,
    clip_choices,
    default_choice,
    default_dataset_dir,
    forget_cached_sources,
)
from studio.project import BROWSER_SECRET_FILE
from studio.project import sessions_root as default_root

STUDIO_TITLE = "Talking-Human Studio"
STUDIO_TAGLINE = (
    "Direct expressive talking humans: a portrait and a speech recording in, prompts on the timeline, "
    "gestures from the speech, then preview, edit and render the video."
)

CSS = """
.gradio-container { width: 100% !important; max-width: 1360px !important; margin: 0 auto !important; }
#studio-header { padding: 18px 4px 6px 4px; border-bottom: 1px solid var(--border-color-primary);
  margin-bottom: 6px; }
#studio-header .studio-title { font-size: 1.75rem; font-weight: 700; letter-spacing: -0.01em;
  color: var(--body-text-color); display: flex; align-items: center; gap: 10px; }
#studio-header .studio-mark { display: inline-block; width: 14px; height: 14px; border-radius: 4px;
  background: linear-gradient(135deg, #f5a524, #3fb7f0); }
#studio-header .studio-tagline { color: var(--body-text-color-subdued); margin-top: 4px;
  font-size: 0.98rem; }
#studio-header .studio-step { display: inline-block; margin-top: 10px; padding: 2px 10px;
  border-radius: 999px; font-size: 0.8rem; font-weight: 600;
  background: var(--color-accent-soft); color: var(--color-accent); }
.studio-panel-title { margin: 2px 0 0 0 !important; }
.studio-panel-title h4 { margin: 0 !important; text-transform: uppercase; letter-spacing: 0.06em;
  font-size: 0.78rem !important; color: var(--body-text-color-subdued) !important; }
#clip-card code { border-radius: 999px; padding: 1px 9px; font-size: 0.78rem;
  background: var(--color-accent-soft); color: var(--color-accent); border: none; }
#clip-card h3 { margin-bottom: 4px; text-transform: capitalize; }
#clip-card ul { margin-top: 2px; }
#status-line { min-height: 1.5em; font-size: 0.9rem; }
#status-line blockquote { font-family: var(--font-mono); font-size: 0.82rem; white-space: pre-wrap; }
#source-heading { align-items: center; }
#refresh-clips { max-width: 110px; }
#motion-viewer { border-radius: 12px; overflow: hidden; min-height: 600px; }
#studio-footer { color: var(--body-text-color-subdued); font-size: 0.82rem; text-align: center; }
""" + director_layout.CSS


def studio_theme() -> gr.themes.Base:
    """A calm, neutral theme with system fonts (the studio must work offline: no web fonts)."""
    return gr.themes.Soft(
        primary_hue="indigo",
        neutral_hue="slate",
        radius_size="md",
        font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


def launch_style(sessions_root: Path | str | None = None) -> dict:
    """Keyword arguments for ``demo.launch()``: the studio's theme and CSS (Gradio 6 API), and no
    run history: Gradio would keep every event's outputs in the browser's localStorage (the stage
    payloads: megabytes, re-serialised on every event — half a second per edit — and a copy of the
    user's work outside their project).

    And the one folder Gradio may serve files from besides its own cache: the sessions root
    (renders, downloads and saved projects are written there; the default
    ``~/.cache/versastudio/sessions`` is outside the working directory and the temp dir, where
    Gradio would refuse them). The browser-id key kept in that folder is blocked. Uploads are
    capped at MAX_UPLOAD_BYTES while they stream in (nothing bigger reaches the disk)."""

    root = default_root(sessions_root).expanduser().resolve()
    return {"theme": studio_theme(), "css": CSS, "run_history": False, "max_file_size": MAX_UPLOAD_BYTES,
            "allowed_paths": [str(root)], "blocked_paths": [str(root / BROWSER_SECRET_FILE)]}


def _header() -> str:
    return (
        '<div class="studio-title"><span class="studio-mark"></span>'
        f"{STUDIO_TITLE}</div>"
        f'<div class="studio-tagline">{STUDIO_TAGLINE}</div>'
        '<div class="studio-step">Director</div>'
    )


def build_app(dataset_dir: Path | str | None = None, sessions_root: Path | str | None = None) -> gr.Blocks:
    """The studio's Blocks. ``dataset_dir``: the built motion dataset (default: the pipeline's
    default cache folder); the procedural action library is always listed too. ``sessions_root``:
    where the Director page autosaves each browser session (default: studio.project.sessions_root())."""
    root = Path(dataset_dir) if dataset_dir is not None else default_dataset_dir()
    choices = clip_choices(root)
    first = default_choice(choices)

    with gr.Blocks(title=STUDIO_TITLE, delete_cache=(3600, 24 * 3600)) as demo:
        motion = gr.State(None)  # this session's LoadedMotion

        gr.HTML(_header(), elem_id="studio-header")
        with gr.Tabs():
            with gr.Tab("Director", id="director"):
                director = director_layout.build_director_tab(sessions_root)
            with gr.Tab("Motion library", id="motion"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4, min_width=320):
                        with gr.Row(equal_height=True, elem_id="source-heading"):
                            gr.Markdown("#### Motion source", elem_classes=["studio-panel-title"])
                            refresh = gr.Button("↻ Rescan", size="sm", scale=0, min_width=90,
                                                variant="secondary", elem_id="refresh-clips")
                        clip = gr.Dropdown(
                            choices=choices, value=first, label="Clip", filterable=True,
                            info="Dataset clips (when built) and the procedural action library. "
                                 "Type to search.",
                        )
                        bvh_file = gr.File(label="Upload BVH", file_types=[".bvh"], type="filepath",
                                           height=110)
                        status = gr.Markdown("", elem_id="status-line")
                        gr.Markdown("#### Clip", elem_classes=["studio-panel-title"])
                        card = gr.Markdown(motion_page.describe(None), elem_id="clip-card")
                        export = gr.Button("Export BVH", variant="primary", icon=None)
                        exported = gr.File(label="BVH download", interactive=False, visible=False)
                    with gr.Column(scale=8, min_width=480):
                        viewer = motion_viewer()
                        library_cache = gr.State(None)
                        library_stage = director_stage(elem_id="library-stage")  # the same body (issue 13)
                gr.Markdown(
                    f"Drag to orbit · scroll to zoom · ▶ plays, the slider scrubs · 22-joint SMPL "
                    f"skeleton at {MOTION_FPS} fps, metres, Y up; "
                    "<span style='color:#f5a524'>■</span> the person's left, "
                    "<span style='color:#3fb7f0'>■</span> their right.",
                    elem_id="studio-footer",
                )

        def on_load_clip(key: str | None, state: LoadedMotion | None):
            return motion_page.load_clip(key, state, dataset_dir=root)

        def on_load_bvh(path: str | None, state: LoadedMotion | None):
            return motion_page.load_bvh(path, state)

        def on_export(state: LoadedMotion | None):
            return gr.update(value=motion_page.export_bvh(state), visible=True)

        def on_list_clips():
            forget_cached_sources()
            return gr.update(choices=clip_choices(root))

        def on_open(state: LoadedMotion | None):
            if state is not None or first is None:
                return state, gr.skip(), gr.skip(), gr.skip()
            return motion_page.load_clip(first, state, dataset_dir=root)

        page_outputs = [motion, viewer, card, status]
        def hide_export():
            return gr.update(value=None, visible=False)

        def on_body(state, cache):
            return body_stage.library_payload(state, cache)

        body_io = ([motion, library_cache], [library_cache, library_stage])
        clip.input(on_load_clip, [clip, motion], page_outputs, api_name="load_clip").then(
            hide_export, None, [exported], api_visibility="private", queue=False).then(
            on_body, *body_io, api_name="library_body")
        def after_upload(state: LoadedMotion | None):
            # The picker no longer names what is shown once an upload replaced it.
            shown_upload = state is not None and state.origin == "upload"
            return gr.update(value=None, visible=False), (
                gr.update(value=None) if shown_upload else gr.skip())

        bvh_file.upload(on_load_bvh, [bvh_file, motion], page_outputs, api_name="load_bvh").then(
            after_upload, [motion], [exported, clip], api_visibility="private", queue=False).then(
            on_body, *body_io, api_name="library_body_upload", api_visibility="private")
        export.click(on_export, [motion], [exported], api_name="export_bvh")
        refresh.click(on_list_clips, None, [clip], api_name="list_clips")
        demo.load(on_open, [motion], page_outputs, api_visibility="private").then(
            on_body, *body_io, api_name="library_body_on_open", api_visibility="private")
        demo.load(director["on_load"], [director["browser_id"], director["state"]], director["load_outputs"],
                  api_visibility="private").then(
            director["speech_fields"], [director["state"]], director["speech_outputs"],
            api_name="speech_fields_on_load", api_visibility="private", queue=False).then(None, None, None, js=director["ready_js"], api_visibility="private", queue=False)

    _on_zero_gpu(demo)
    demo.queue(default_concurrency_limit=4)
    return demo


# Handlers that use the GPU when one is there; on a Hugging Face ZeroGPU Space each call borrows one.
GPU_API_NAMES = ("render",)
GPU_DURATION_S = 120


def _on_zero_gpu(demo: gr.Blocks) -> None:
    """Wrap the GPU-using handlers with ``spaces.GPU`` when the ``spaces`` package is importable
    (Hugging Face ZeroGPU); elsewhere nothing changes and nothing is downloaded."""
    try:
        import spaces
    except ImportError:
        return
    for block_fn in demo.fns.values():
        if block_fn.api_name in GPU_API_NAMES and block_fn.fn is not None:
            block_fn.fn = spaces.GPU(duration=GPU_DURATION_S)(block_fn.fn)
