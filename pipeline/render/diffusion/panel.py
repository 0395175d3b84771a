"""The text of the studio's render panel for the diffusion backend: its state and a time estimate.

The studio only places this text; what it says comes from :mod:`.state` (no GPU / no weights /
downloading / ready) and :mod:`.estimate`, for the portrait, speech length and settings at hand.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_SECONDS = 10.0
"""The video length the estimate is given for before any speech is loaded."""


def estimate_line(portrait_size: tuple[int, int] | None, seconds: float | None, resolution: int, fps: float,
                  offload: bool = False, loaded: bool = False) -> str:
    """'about 4 min (...)' for a render of ``seconds`` of video of a ``portrait_size`` (w, h) portrait."""
    from .estimate import estimate_render
    from .render import FrameLayout
    from .runtime import options_from_env

    w, h = portrait_size or (576, 1024)
    layout = FrameLayout.for_image(int(w), int(h), int(resolution))
    secs = float(seconds) if seconds else DEFAULT_SECONDS
    frames = max(1, int(round(secs * float(fps))))
    est = estimate_render(frames, layout.frame_w, layout.frame_h, options_from_env(), offload=offload, loaded=loaded)
    what = f"{secs:.1f} s of video" if seconds else f"{DEFAULT_SECONDS:g} s of video (no speech loaded yet)"
    return f"{est.describe()} for {what}, {frames} frames at {layout.frame_w}x{layout.frame_h}"


def render_panel(weights_folder: str | Path | None, portrait_size: tuple[int, int] | None = None,
                 seconds: float | None = None, resolution: int = 512, fps: float = 25.0,
                 cache_dir: str | Path | None = None) -> str:
    """Markdown: the diffusion backend's state and, when it can render, the estimated time."""
    from .render import is_loaded
    from .runtime import gpu_memory_gib, options_from_env, wants_offload
    from .state import diffusion_state, panel_text

    state = diffusion_state(weights_folder, cache_dir)
    estimate = None
    if state.usable:
        try:
            opts = options_from_env()
            estimate = estimate_line(portrait_size, seconds, resolution, fps,
                                     offload=wants_offload(opts, gpu_memory_gib()),
                                     loaded=is_loaded(state.weights, "cuda", opts))
        except ValueError as err:        # a bad $VERSA_DIFFUSION_* setting: say which
            estimate = f"unknown ({err})"
    return panel_text(state, estimate)
