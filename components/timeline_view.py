"""The timeline view: the speech waveform with coloured segment spans and their prompts, and the
motion-token strip under it (one cell per token, coloured by codebook id, locked tokens marked).

Plain data in, a plotly figure out (DESIGN.md: no model code here):
``timeline_figure(samples, sample_rate, segments, tokens=None, locked=None, tokens_per_second=5)``
with ``segments`` as (start_s, end_s, prompt, locked) tuples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

WAVE_POINTS: int = 1200
"""The waveform is drawn as a min/max envelope of this many columns (small figure JSON)."""

SEGMENT_COLOURS = ("#6366f1", "#f59e0b", "#10b981", "#ec4899", "#0ea5e9", "#84cc16", "#f97316", "#a855f7")
WAVE_COLOUR = "#334155"
LOCK_COLOUR = "#111827"
PROMPT_CHARS = 28


def _short(text: str, limit: int = PROMPT_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def envelope(samples: np.ndarray, sample_rate: float, points: int = WAVE_POINTS
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, low, high) of a min/max envelope with at most ``points`` columns."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    cols = int(min(points, x.size))
    edges = np.linspace(0, x.size, cols + 1).astype(int)
    low = np.minimum.reduceat(x, edges[:-1])
    high = np.maximum.reduceat(x, edges[:-1])
    times = (edges[:-1] + edges[1:]) * 0.5 / float(sample_rate)
    return times, low, high


def timeline_figure(samples: np.ndarray | None, sample_rate: float, segments: Sequence[tuple],
                    tokens: np.ndarray | None = None, locked: np.ndarray | None = None,
                    tokens_per_second: float = 5.0, codebook_size: int = 512,
                    selected: int | None = None, height: int = 290) -> go.Figure:
    """Waveform + segment spans (row 1) and the token strip (row 2) on one time axis."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.74, 0.26], vertical_spacing=0.05)
    duration = 0.0
    if samples is not None and len(samples):
        duration = len(samples) / float(sample_rate)
        t, lo, hi = envelope(samples, sample_rate)
        peak = float(max(np.abs(lo).max(), np.abs(hi).max(), 1e-6))
        xs = np.concatenate([t, t[::-1]])
        ys = np.concatenate([hi, lo[::-1]]) / peak
        fig.add_trace(go.Scatter(x=np.round(xs, 4).tolist(), y=np.round(ys, 3).tolist(), fill="toself",
                                 mode="lines", line={"width": 0.6, "color": WAVE_COLOUR},
                                 fillcolor="rgba(51,65,85,0.55)", name="speech", hoverinfo="skip",
                                 showlegend=False), row=1, col=1)
    for i, seg in enumerate(segments):
        start, end = float(seg[0]), float(seg[1])
        prompt = seg[2] if len(seg) > 2 else ""
        seg_locked = bool(seg[3]) if len(seg) > 3 else False
        duration = max(duration, end)
        colour = SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)]
        fig.add_vrect(x0=start, x1=end, fillcolor=colour, opacity=0.30 if i == selected else 0.16,
                      line_width=2 if i == selected else 0, line_color=colour, layer="below", row=1, col=1)
        label = f"{i + 1}. " + (_short(prompt) if prompt else "<i>speech gestures</i>")
        if seg_locked:
            label += " 🔒"
        fig.add_annotation(x=(start + end) / 2, y=1.0, yref="y domain", xref="x", text=label,
                           showarrow=False, yanchor="bottom", font={"size": 11, "color": colour},
                           row=1, col=1)
        if i:
            fig.add_vline(x=start, line_width=1, line_dash="dot", line_color="#64748b", row=1, col=1)
    if tokens is not None and len(tokens):
        tokens = np.asarray(tokens).reshape(-1)
        n = len(tokens)
        centres = (np.arange(n) + 0.5) / tokens_per_second
        text = [f"token {k} · {k / tokens_per_second:.1f}-{(k + 1) / tokens_per_second:.1f} s · code {int(c)}"
                + (" · locked" if locked is not None and k < len(locked) and locked[k] else "")
                for k, c in enumerate(tokens)]
        fig.add_trace(go.Heatmap(x=np.round(centres, 3).tolist(), y=[0], z=[tokens.astype(int).tolist()],
                                 zmin=0, zmax=codebook_size - 1, colorscale="Turbo", showscale=False,
                                 xgap=1, text=[text], hoverinfo="text", name="tokens"), row=2, col=1)
        if locked is not None and np.any(locked):
            idx = np.flatnonzero(np.asarray(locked)[:n])
            fig.add_trace(go.Scatter(x=np.round(centres[idx], 3).tolist(), y=[0] * len(idx), mode="markers",
                                     marker={"symbol": "square-open", "size": 11, "color": LOCK_COLOUR,
                                             "line": {"width": 2}},
                                     name="locked", hoverinfo="skip", showlegend=False), row=2, col=1)
        duration = max(duration, n / tokens_per_second)
    else:
        fig.add_annotation(x=0.5, y=0.5, xref="x2 domain", yref="y2 domain", showarrow=False,
                           text="motion tokens appear here after Generate", font={"color": "#94a3b8"})
    fig.update_xaxes(range=[0, max(duration, 1e-3)], showgrid=False)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_yaxes(visible=False, fixedrange=True, row=1, col=1, range=[-1.1, 1.1])
    fig.update_yaxes(visible=False, fixedrange=True, row=2, col=1)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 28, "b": 36},
                      plot_bgcolor="#f8fafc", paper_bgcolor="rgba(0,0,0,0)", showlegend=False,
                      dragmode="zoom", meta={"segments": len(segments),
                                             "tokens": 0 if tokens is None else int(len(tokens))})
    return fig


def empty_timeline(message: str = "Load a speech recording to see its timeline.") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(x=0.5, y=0.5, xref="paper", yref="paper", text=message, showarrow=False,
                       font={"size": 14, "color": "#64748b"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=160, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)")
    return fig


def timeline_view(label: str = "Timeline", *, elem_id: str = "timeline-view", value: go.Figure | None = None):
    """The Gradio block that shows ``timeline_figure`` output."""
    import gradio as gr

    return gr.Plot(value=value if value is not None else empty_timeline(), label=label, show_label=False,
                   elem_id=elem_id)
