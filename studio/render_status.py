"""The render panel's diffusion line: the backend's state and the time estimate for this session.

Only wiring: the text comes from pipeline.render.diffusion.panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.handler_types import FieldValue

if TYPE_CHECKING:
    from studio.director_session import DirectorSession


def diffusion_status(session: DirectorSession | None, resolution: FieldValue, fps: FieldValue) -> str:
    """Markdown for the render panel, for the session's portrait and speech (either may be missing)."""
    from pipeline.constants import VIDEO_FPS
    from pipeline.render.backends import diffusion_weights_dir
    from pipeline.render.diffusion.panel import render_panel

    portrait = getattr(session, "portrait", None)
    clip = getattr(session, "clip", None)
    try:
        return render_panel(diffusion_weights_dir(), portrait.size if portrait is not None else None,
                            clip.duration_s if clip is not None else None, int(resolution or 512),
                            float(fps or VIDEO_FPS))
    except Exception as err:  # noqa: BLE001 - the panel must never break the page; say what failed instead
        return f"⚪ **Photoreal (diffusion): state unknown** — {type(err).__name__}: {err}"
