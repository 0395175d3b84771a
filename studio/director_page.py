"""The Director page: portrait + speech -> timeline -> motion -> video, with save/open and autosave.

Handlers are plain functions from (inputs, session) to outputs; studio/director_layout.py wires
them into Gradio blocks (studio/layout.py puts them in the first tab) and tests call them directly.
Every handler that changes the page returns ``VIEW_FIELDS`` in order:

    (session, portrait overlay, portrait card, stage, segments table, compare choices, downloads, status)

The stage (components/stage.py) draws the 3D body, the 2D pose over the portrait and the timeline
in the page from arrays (studio/stage_payload.py), so an edit resends data, not video.

with ``gr.skip()`` for what did not change. A failure shows a warning toast and a status line and
returns the session untouched: the project is never cleared by an error.

Events a script can call (gradio_client ``api_name``): analyze_portrait, load_speech,
load_examples, edit_segments, split_segment, merge_segment, delete_segment, add_segment,
reroll_segment, undo, redo, generate, regenerate_span, lock_span, unlock_span, compare_with,
use_take, copy_span, render, cancel_render, export_motion, save_project, open_project.

The handlers live in one module per job (issue 16): studio/director_session.py (the session,
constants, autosave), director_view.py (outputs and the error guard), director_motion.py (the
session's motion state), director_inputs.py (portrait, speech), director_edits.py (timeline,
undo, generate, spans, locks), director_takes.py (compare, pick, copy), director_render.py
(render, exports) and director_persistence.py (save, open, restore). This module re-exports them
all, so ``studio.director_page.X`` stays the one name the layout, the tests and scripts use.
"""

from __future__ import annotations

from studio.director_edits import (  # noqa: F401
    _edit,
    _index,
    _rows,
    _set_lock,
    _step_history,
    add_segment,
    delete_segment,
    edit_segments,
    generate_motion,
    lock_span,
    merge_segment,
    redo,
    regenerate_span,
    reroll_segment,
    resend_stage,
    resize_border,
    select_segment,
    select_span,
    split_segment,
    undo,
    unlock_span,
)
from studio.director_inputs import (  # noqa: F401
    analyze_portrait,
    apply_speech_text,
    load_examples,
    load_speech,
    set_speech_text,
    speech_fields,
)
from studio.director_motion import (  # noqa: F401
    _commit_tokens,
    _decode,
    _free_mask,
    _motion_status,
    _n_tokens,
    _need_motion,
    _need_timeline,
    _projection_view,
    _resample,
    _span,
    _span_mask,
    _sync_result,
    _update_previews,
    _use_clip,
)
from studio.director_persistence import (  # noqa: F401
    _load_project,
    _repairs_note,
    open_project_file,
    restore_session,
    save_project_file,
)
from studio.director_render import _render, cancel_render, export_body, export_body_files, export_motion, render_video  # noqa: F401
from studio.director_session import (  # noqa: F401
    _CANCELS,
    BROWSER_STORAGE_KEY,
    COMPARE_NONE,
    COMPARE_PROJECTION,
    DEFAULT_ADD_SECONDS,
    EXAMPLE_PORTRAIT,
    EXAMPLE_SPEECH,
    EXAMPLES_DIR,
    OVERLAY_ALPHA,
    REPO_ROOT,
    STAGE_ELEM_ID,
    STATE_TTL_S,
    VIEW_FIELDS,
    DirectorSession,
    _autosave,
    _copy_in,
    _gr,
    _progress,
    end_session,
    log,
    new_session,
)
from studio.director_takes import (  # noqa: F401
    _compare_view,
    _copied_status,
    _take_index,
    _take_into,
    compare_with,
    copy_span,
    use_take,
)
from studio.director_view import (  # noqa: F401
    _ABS_PATH,
    _EXPECTED,
    _file_key,
    _file_names_only,
    _guard,
    _kept,
    _view,
    compare_choices,
    current_label,
    downloads_for,
    ok,
    portrait_card,
    portrait_overlay,
    stage_for,
    table_for,
    take_title,
)
