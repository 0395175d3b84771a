"""The director's stage: the synced previews and the timeline editor, drawn in the browser.

One block shows, on one clock (the speech playing in the page):
- the 3D body (a shaded skinned mesh, components/stage_body.js, or the skeleton: the Body /
  Skeleton toggle; on a floor; drag to orbit, wheel to zoom),
- the 2D pose over the portrait (DWPose colours, interpolated between preview frames),
- optionally a second take beside them (compare two seeds, or bank vs projection),
- the timeline: the waveform with its segments (drag a border to resize, click to select,
  double-click to split) and the token strip (drag to select a span; locked tokens marked),
- one scrubber, play/pause and keyboard control (space, arrows, Home/End, S, [ and ]).

Why in the browser: a preview after an edit must appear within a second on 2 CPU cores. Drawing
frames on the server and encoding a video took seconds; here the server sends the motion and the
poses as compact arrays (int16, base64) and the page draws each frame itself.

Plain data in (DESIGN.md: no model code here): the caller builds the payload with the helpers
below (``pack_int16``, ``pack_uint8``, ``wave_envelope``) and the functions in ``stage_payload``
of the studio. Events the page sends (Gradio custom events, data in ``gr.EventData._data``):
``resize_border`` {index, time}, ``select_segment`` {index}, ``split_at`` {time},
``select_span`` {start, end}, ``need_media`` {} (the page lacks a cached array: send everything).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
STAGE_EVENTS: tuple[str, ...] = ("resize_border", "select_segment", "split_at", "select_span", "need_media")

WAVE_COLUMNS: int = 900
"""Waveform envelope columns sent to the page (it scales them to its width)."""

INT16_LIMIT = 32767

TEMPLATE = """
<div class="vs-stage" tabindex="0" aria-label="Director stage: previews and timeline. Space plays,
 arrows step, S splits at the playhead, [ and ] pick a token span.">
  <div class="vs-panes"></div>
  <div class="vs-transport">
    <button class="vs-play" type="button" title="Play / pause (space)">▶</button>
    <input class="vs-scrub" type="range" min="0" max="1" step="0.01" value="0" aria-label="Time">
    <span class="vs-clock">0.00 s</span>
    <button class="vs-mode" type="button" style="display:none">Skeleton</button>
  </div>
  <canvas class="vs-timeline" height="192"></canvas>
  <div class="vs-hint"></div>
  <audio class="vs-audio" preload="auto"></audio>
</div>
"""


def _read(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def quantize_int16(values: np.ndarray, scale: float) -> np.ndarray:
    """``values * scale`` rounded and clipped to little-endian int16 (what the page receives)."""
    q = np.clip(np.round(np.asarray(values, dtype=np.float64) * scale), -INT16_LIMIT, INT16_LIMIT)
    return q.astype("<i2")


def quantize_uint8(values: np.ndarray, scale: float = 255.0) -> np.ndarray:
    return np.clip(np.round(np.asarray(values, dtype=np.float64) * scale), 0, 255).astype(np.uint8)


def b64_array(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def pack_int16(values: np.ndarray, scale: float) -> str:
    """``values * scale`` as int16, base64 (the page decodes it into an Int16Array and divides by
    ``scale``)."""
    return b64_array(quantize_int16(values, scale))


def pack_uint8(values: np.ndarray, scale: float = 255.0) -> str:
    """``values * scale`` rounded and clipped to 0..255, base64."""
    return b64_array(quantize_uint8(values, scale))


def unpack_int16(text: str, scale: float, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of ``pack_int16`` (tests and scripts)."""
    return np.frombuffer(base64.b64decode(text), dtype="<i2").astype(np.float64).reshape(shape) / scale


def wave_envelope(samples: np.ndarray, columns: int = WAVE_COLUMNS) -> list[list[float]]:
    """[low, high] per column of the waveform, normalised to the peak, 3 decimals."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return [[], []]
    cols = int(min(columns, x.size))
    edges = np.linspace(0, x.size, cols + 1).astype(int)
    low, high = np.minimum.reduceat(x, edges[:-1]), np.maximum.reduceat(x, edges[:-1])
    peak = float(max(np.abs(low).max(), np.abs(high).max(), 1e-6))
    return [np.round(low / peak, 3).tolist(), np.round(high / peak, 3).tolist()]


def empty_payload(message: str = "Load a portrait and a speech recording to start.") -> dict[str, Any]:
    return {"v": 0, "duration": 0.0, "message": message, "segments": [], "views": []}


def director_stage(*, elem_id: str = "director-stage", value: dict | None = None):
    """The Gradio block (a gr.HTML custom component). Its value is the payload dict."""
    import gradio as gr

    return gr.HTML(value if value is not None else empty_payload(), html_template=TEMPLATE,
                   css_template=_read("stage.css"), js_on_load=_read("stage_body.js") + _read("stage.js"), elem_id=elem_id,
                   apply_default_css=False, padding=False, container=False)


def event_data(evt: Any) -> dict:
    """The data dict the page sent with a stage event (empty when called without one)."""
    data = getattr(evt, "_data", None)
    return data if isinstance(data, dict) else {}
