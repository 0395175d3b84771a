"""The Director page's blocks: the handlers of studio/director_page.py wired into Gradio.

Layout: portrait and speech on the left; the stage (components/stage.py: 3D body, 2D pose over
the portrait, timeline, one clock) with Generate and the take comparison on the right; below, the
segments table and its edits, the token-span tools, the render settings and the files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from components.stage import director_stage, event_data
from pipeline.project import timeline as tl
from studio import project as proj
from studio.body_actions import set_body_folder
from studio.director_page import (
    BROWSER_STORAGE_KEY,
    COMPARE_NONE,
    DEFAULT_ADD_SECONDS,
    STAGE_ELEM_ID,
    STATE_TTL_S,
    add_segment,
    analyze_portrait,
    apply_speech_text,
    cancel_render,
    compare_with,
    copy_span,
    delete_segment,
    edit_segments,
    end_session,
    export_body_files,
    export_motion,
    generate_motion,
    load_examples,
    load_speech,
    lock_span,
    merge_segment,
    open_project_file,
    portrait_card,
    redo,
    regenerate_span,
    render_video,
    reroll_segment,
    resend_stage,
    resize_border,
    restore_session,
    save_project_file,
    select_segment,
    select_span,
    set_speech_text,
    speech_fields,
    split_segment,
    undo,
    unlock_span,
    use_take,
)
from studio.render_status import diffusion_status
from studio.speech_text import LANGUAGES
from studio.upload_inputs import PortraitImage

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- the Gradio tab

CSS = """
#director-status { min-height: 1.5em; font-size: 0.9rem; }
#director-root.studio-loading { opacity: 0.55; pointer-events: none; }
.director-backend-off { white-space: normal !important; text-align: left !important; }
"""


def _stage_events(stage_block, state, seg_no, at_time, span_start, span_end, view) -> None:
    """What the page's stage sends: border drags, clicks, splits, painted spans, cache misses."""
    def on_resize(s, evt: gr.EventData):
        d = event_data(evt)
        return resize_border(d.get("index"), d.get("time"), s)

    def on_split(s, evt: gr.EventData):
        return split_segment(event_data(evt).get("time"), s)

    def on_select(s, evt: gr.EventData):
        d = event_data(evt)
        return select_segment(d.get("index"), s, d.get("time", 0.0))

    def on_span(s, evt: gr.EventData):
        d = event_data(evt)
        return select_span(d.get("start"), d.get("end"), s)

    hidden = {"api_visibility": "private"}
    stage_block.resize_border(on_resize, [state], view, **hidden)
    stage_block.split_at(on_split, [state], view, **hidden)
    stage_block.select_segment(on_select, [state], [seg_no, at_time, stage_block], queue=False, **hidden)
    stage_block.select_span(on_span, [state], [span_start, span_end], queue=False, **hidden)
    stage_block.need_media(resend_stage, [state], [stage_block], **hidden)


def _backend_controls():
    """The renderer choice: usable backends in the radio; the others as greyed-out buttons that
    say why (a radio cannot disable a single choice)."""
    from pipeline.render.backends import available_backends

    usable, off = [], []
    for name, (ok_, reason) in available_backends().items():
        (usable if ok_ else off).append((name, reason))
    backend = gr.Radio(choices=[n for n, _ in usable], value=usable[0][0] if usable else None, label="Renderer",
                       info=" · ".join(f"{n}: {r}" for n, r in usable))
    for name, reason in off:
        gr.Button(f"{name} — unavailable: {reason}", interactive=False, size="sm",
                  elem_classes=["director-backend-off"])
    return backend


def build_director_tab(sessions_root: str | Path | None = None) -> dict:
    """The Director page's blocks (call inside a gr.Blocks / gr.Tab). Returns its components."""
    root = None if sessions_root is None else str(sessions_root)
    removed = proj.prune_sessions(root)
    proj.clean_stale_partials(root)           # leftovers of renders killed mid-way
    if removed:
        log.info("removed %d session folders idle for more than %g days", len(removed), proj.session_max_age_days())
    state = gr.State(None, time_to_live=STATE_TTL_S, delete_callback=end_session)
    browser_id = gr.BrowserState("", storage_key=BROWSER_STORAGE_KEY, secret=proj.browser_secret(root))

    with gr.Column(elem_id="director-root", elem_classes=["studio-loading"]):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=280):
                gr.Markdown("#### 1 · Portrait and speech", elem_classes=["studio-panel-title"])
                portrait_in = PortraitImage(label="Portrait photo", sources=["upload", "webcam", "clipboard"],
                                       type="filepath", height=220, elem_id="director-portrait-in")
                portrait_view = gr.Image(label="Detected skeleton and framing", interactive=False, height=220,
                                         format="jpeg")
                portrait_md = gr.Markdown(portrait_card(None))
                audio_in = gr.Audio(label="Speech", sources=["upload", "microphone"], type="filepath",
                                    elem_id="director-audio-in")
                transcript = gr.Textbox(label="Transcript (optional)", lines=2, max_lines=8,
                                        placeholder="What is said, for exact mouth shapes and words on the timeline. "
                                                    "Blank: recognised from the speech.",
                                        elem_id="director-transcript")
                with gr.Row():
                    language = gr.Dropdown(LANGUAGES, value="en", label="Language", min_width=120,
                                           elem_id="director-language")
                    articulation = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Articulation",
                                             info="mouth motion: 0 still, 1 natural, 2 exaggerated",
                                             min_width=140, elem_id="director-articulation")
                examples_btn = gr.Button("Load examples", variant="secondary")
            with gr.Column(scale=9, min_width=520):
                gr.Markdown("#### 2 · Stage: 3D body, 2D pose, timeline", elem_classes=["studio-panel-title"])
                stage_block = director_stage(elem_id=STAGE_ELEM_ID)
                with gr.Row():
                    gen_seed = gr.Number(label="Seed", value=0, precision=0, scale=1, min_width=80)
                    generate_btn = gr.Button("Generate", variant="primary", scale=2)
                    compare = gr.Dropdown(choices=[("Nothing", COMPARE_NONE)], value=COMPARE_NONE, scale=3,
                                          label="Compare with", elem_id="director-compare")
                    use_btn = gr.Button("Use compared take", size="sm", scale=1)
                status = gr.Markdown("", elem_id="director-status")
        gr.Markdown("#### 3 · Segments and tokens", elem_classes=["studio-panel-title"])
        table = gr.Dataframe(headers=tl.TABLE_HEADERS, datatype=["number", "number", "str", "number", "bool"],
                             column_count=5, interactive=True, label="Segments (type prompts; edit times, "
                             "seeds, locks; click a row to select it)", wrap=True,
                             column_widths=["11%", "11%", "56%", "11%", "11%"], elem_id="director-segments")
        with gr.Row():
            seg_no = gr.Number(label="Segment #", value=1, precision=0, minimum=1, min_width=80)
            at_time = gr.Number(label="At (s)", value=None, min_width=80)
            add_len = gr.Number(label="New length (s)", value=DEFAULT_ADD_SECONDS, min_width=80)
            add_btn = gr.Button("Add segment", size="sm")
            split_btn = gr.Button("Split", size="sm")
            merge_btn = gr.Button("Merge with next", size="sm")
            delete_btn = gr.Button("Delete", size="sm")
            reroll_btn = gr.Button("Re-roll", size="sm")
            undo_btn = gr.Button("↶ Undo", size="sm")
            redo_btn = gr.Button("↷ Redo", size="sm")
        with gr.Row():
            span_start = gr.Number(label="First token", value=0, precision=0, min_width=80)
            span_end = gr.Number(label="Last token", value=4, precision=0, min_width=80)
            span_seed = gr.Number(label="Span seed", value=1, precision=0, min_width=80)
            regen_btn = gr.Button("Regenerate span", size="sm")
            lock_btn = gr.Button("Lock span", size="sm")
            unlock_btn = gr.Button("Unlock span", size="sm")
            copy_btn = gr.Button("Copy span from compared take", size="sm")
        gr.Markdown("#### 4 · Render", elem_classes=["studio-panel-title"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=4):
                backend = _backend_controls()
                with gr.Row():
                    resolution = gr.Dropdown([256, 384, 512, 768], value=512, label="Resolution")
                    fps = gr.Dropdown([12.5, 20, 25, 30], value=25, label="FPS")
                with gr.Row():
                    blink = gr.Slider(0, 40, value=15, step=1, label="Blinks per minute")
                    render_seed = gr.Number(label="Render seed", value=0, precision=0)
                with gr.Row():
                    render_btn = gr.Button("Render", variant="primary")
                    cancel_btn = gr.Button("Cancel", variant="stop")
                diffusion_md = gr.Markdown(diffusion_status(None, 512, 25), elem_id="director-diffusion-state")
                diffusion_btn = gr.Button("↻ Photoreal renderer status", size="sm")
            with gr.Column(scale=6):
                video = gr.Video(label="Video", interactive=False, elem_id="director-video")
        with gr.Row():
            export_btn = gr.Button("Export BVH, npz, pose video and poses JSON")
            body_btn = gr.Button("Export the body: video + .glb for Blender")
            smpl_dir = gr.Textbox(label="SMPL / SMPL-X model folder (optional)", elem_id="director-smpl-dir",
                                  placeholder="a folder with your SMPLX_NEUTRAL.npz; empty: the Anny body", max_lines=1)
            save_btn = gr.Button("Save project")
            open_file = gr.File(label="Open project (.zip)", file_types=[".zip"], type="filepath", height=90)
        with gr.Row():
            downloads = gr.Files(label="Downloads", interactive=False, elem_id="director-downloads")
            saved = gr.File(label="Project file", interactive=False)

    view = [state, portrait_view, portrait_md, stage_block, table, compare, downloads, status]

    def on_generate(seed, s, progress=gr.Progress()):
        return generate_motion(seed, s, progress)

    def on_regenerate(a, b, seed, s, progress=gr.Progress()):
        return regenerate_span(a, b, seed, s, progress)

    def on_reroll(number, s, progress=gr.Progress()):
        return reroll_segment(number, s, progress)

    def on_use(choice, s, progress=gr.Progress()):
        return use_take(choice, s, progress)

    def on_copy(choice, a, b, s, progress=gr.Progress()):
        return copy_span(choice, a, b, s, progress)

    def on_render(name, res, rate, blinks, seed, s, progress=gr.Progress()):
        return render_video(name, res, rate, blinks, seed, s, progress)

    def take_speech_text(text, strength, lang, s):
        apply_speech_text(text, strength, lang, s)
        return s

    def on_table_select(s, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return select_segment(row, s)

    def on_load(stored, s):
        return restore_session(stored, s, root)

    portrait_in.change(analyze_portrait, [portrait_in, state], view, api_name="analyze_portrait")
    audio_in.change(load_speech, [audio_in, state], view, api_name="load_speech")
    examples_btn.click(load_examples, [state], view, api_name="load_examples")
    speech_in = [transcript, articulation, language, state]
    transcript.submit(set_speech_text, speech_in, view, api_name="set_transcript")
    transcript.blur(set_speech_text, speech_in, view, api_name="set_transcript_on_blur", api_visibility="private")
    language.input(set_speech_text, speech_in, view, api_name="set_language")
    articulation.release(set_speech_text, speech_in, view, api_name="set_articulation")
    table.input(edit_segments, [table, state], view, api_name="edit_segments")
    table.select(on_table_select, [state], [seg_no, at_time, stage_block], api_visibility="private")
    _stage_events(stage_block, state, seg_no, at_time, span_start, span_end, view)
    add_btn.click(add_segment, [at_time, add_len, state], view, api_name="add_segment")
    split_btn.click(split_segment, [at_time, state], view, api_name="split_segment")
    merge_btn.click(merge_segment, [seg_no, state], view, api_name="merge_segment")
    delete_btn.click(delete_segment, [seg_no, state], view, api_name="delete_segment")
    reroll_btn.click(on_reroll, [seg_no, state], view, api_name="reroll_segment")
    undo_btn.click(undo, [state], view, api_name="undo")
    redo_btn.click(redo, [state], view, api_name="redo")
    # Generate and Render take the speech text boxes as they are (a transcript typed without
    # leaving the box counts), then run as before (their API endpoints are unchanged)
    generate_btn.click(take_speech_text, speech_in, [state], api_name="take_speech_text_generate",
                       api_visibility="private", queue=False).then(
        on_generate, [gen_seed, state], view, api_name="generate")
    compare.input(compare_with, [compare, state], view, api_name="compare_with")
    use_btn.click(on_use, [compare, state], view, api_name="use_take")
    regen_btn.click(on_regenerate, [span_start, span_end, span_seed, state], view, api_name="regenerate_span")
    lock_btn.click(lock_span, [span_start, span_end, state], view, api_name="lock_span")
    unlock_btn.click(unlock_span, [span_start, span_end, state], view, api_name="unlock_span")
    copy_btn.click(on_copy, [compare, span_start, span_end, state], view, api_name="copy_span")
    render_event = render_btn.click(take_speech_text, speech_in, [state], api_name="take_speech_text_render",
                                    api_visibility="private", queue=False).then(
        on_render, [backend, resolution, fps, blink, render_seed, state], [state, video, downloads, status],
        api_name="render", concurrency_limit=1, concurrency_id="render")
    cancel_btn.click(cancel_render, [state], [status], api_name="cancel_render", cancels=[render_event],
                     queue=False)
    # the diffusion backend's state (no GPU / no weights / downloading / ready) and time estimate
    panel_in = [state, resolution, fps]
    diffusion_btn.click(diffusion_status, panel_in, [diffusion_md], api_name="diffusion_status", queue=False)
    for when, trigger in (("resolution", resolution.change), ("fps", fps.change), ("status", status.change),
                          ("render", render_event.then)):
        trigger(diffusion_status, panel_in, [diffusion_md], api_name=f"diffusion_status_after_{when}",
                api_visibility="private", queue=False)
    export_btn.click(export_motion, [state], view, api_name="export_motion")
    body_event = body_btn.click(export_body_files, [state], [state, downloads, status], api_name="export_body",
                                concurrency_limit=1, concurrency_id="render")
    cancel_btn.click(cancel_render, [state], [status], cancels=[body_event], api_name="cancel_body_export")
    smpl_dir.submit(set_body_folder, [smpl_dir, state], view, api_name="set_body_folder")
    save_btn.click(save_project_file, [state], [saved], api_name="save_project")
    speech_out = [transcript, language, articulation]
    open_file.upload(open_project_file, [open_file, state], view, api_name="open_project").then(
        speech_fields, [state], speech_out, api_name="speech_fields_after_open", api_visibility="private")
    return {"state": state, "browser_id": browser_id, "view": view, "on_load": on_load,
            "load_outputs": view + [browser_id], "examples": examples_btn, "generate": generate_btn,
            "status": status, "ready_js": READY_JS, "speech_fields": speech_fields, "speech_outputs": speech_out}


READY_JS = "() => { const r = document.querySelector('#director-root'); if (r) r.classList.remove('studio-loading'); }"
"""Run after the page-load restore: the Director accepts clicks only once its session is known."""
