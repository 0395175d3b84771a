"""The 3D motion viewer: an animated, scrubbable skeleton drawn with plotly (WebGL) in the browser.

Plain data in, a figure out: ``motion_figure(joints, parents, fps, title)`` takes a (T, J, 3) array
of joint positions (metres, Y up, the body facing +Z, the person's left side +X) and the parent
index of each joint, and returns a ``plotly.graph_objects.Figure`` with animation frames, play and
pause buttons and a time slider. ``motion_viewer()`` returns the Gradio block that shows it.

Axes: plotly's 3D scene has Z up, so a motion point (x, y, z) is drawn at (x, -z, y). That is a
rotation (not a mirror), so the person keeps their handedness: seen from the front, their left
hand is on the viewer's right, as when facing a real person. The camera starts in front of them.

No model code here (DESIGN.md): the caller passes arrays, the skeleton's parents and, to colour the
two sides of the body and find the head, the joint names.
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

MAX_ANIMATION_FRAMES: int = 200
"""Longer clips are subsampled in time for the animation; keeps the figure JSON small (< ~1 MB)."""

COORD_DECIMALS: int = 3
"""Coordinates are rounded to millimetres in the figure: invisible on screen, half the JSON."""

VIEWER_ELEM_ID: str = "motion-viewer"

# Look. A dark viewport, like a 3D application, inside the light studio page.
BACKGROUND = "#12151c"
FLOOR_COLOUR = "#1b2029"
GRID_COLOUR = "#333b49"
TRAJECTORY_COLOUR = "#56607a"
SIDE_COLOURS: dict[str, str] = {
    "left": "#f5a524",    # warm: the person's left side
    "right": "#3fb7f0",   # cool: the person's right side
    "centre": "#dfe3ea",  # spine, neck and head
}
LIMB_WIDTH = 16
JOINT_SIZE = 6.5
HEAD_SIZE = 24

# Trace order in the figure: the animated traces first (their indices are what frames update).
DYNAMIC_TRACES: tuple[str, ...] = ("bones centre", "bones left", "bones right", "joints", "head")
STATIC_TRACES: tuple[str, ...] = ("floor", "floor grid", "root path")


def to_plot_coords(points: np.ndarray) -> np.ndarray:
    """Motion coordinates (x, y up, z forward) -> plotly scene coordinates (x, -z, y), z up."""
    points = np.asarray(points, dtype=np.float64)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def joint_side(name: str) -> str:
    """'left', 'right' or 'centre' from a joint name (SMPL-style 'left_elbow', 'LeftArm', 'r_knee')."""
    lowered = name.lower()
    if lowered.startswith(("left", "l_")) or "_left" in lowered:
        return "left"
    if lowered.startswith(("right", "r_")) or "_right" in lowered:
        return "right"
    return "centre"


def _topological_order(parents: Sequence[int]) -> list[int]:
    depth: dict[int, int] = {}

    def depth_of(j: int) -> int:
        seen = 0
        k = j
        while parents[k] >= 0:
            k = parents[k]
            seen += 1
            if seen > len(parents):
                raise ValueError(f"parents has a cycle through joint {j}")
        return seen

    for j in range(len(parents)):
        depth[j] = depth_of(j)
    return sorted(range(len(parents)), key=lambda j: (depth[j], j))


def limb_polylines(parents: Sequence[int], sides: Sequence[str]) -> dict[str, list[list[int]]]:
    """Split the skeleton's bones into continuous polylines, grouped by side.

    Each bone (parent -> child) takes the side of its child joint. A polyline goes on through a
    joint's first child of the same side; any other child starts a new polyline at the joint.
    Returns {"centre": [[0, 3, 6, ...], ...], "left": [...], "right": [...]}.
    """
    polylines: list[tuple[str, list[int]]] = []
    open_end: dict[int, int] = {}  # joint -> index of the polyline that currently ends there
    for j in _topological_order(parents):
        p = parents[j]
        if p < 0:
            continue
        side = sides[j]
        idx = open_end.pop(p, None)
        if idx is not None and polylines[idx][0] == side:
            polylines[idx][1].append(j)
        else:
            if idx is not None:
                open_end[p] = idx  # a different side: leave that polyline open for a sibling
            idx = len(polylines)
            polylines.append((side, [p, j]))
        open_end[j] = idx
    grouped: dict[str, list[list[int]]] = {"centre": [], "left": [], "right": []}
    for side, line in polylines:
        grouped.setdefault(side, []).append(line)
    return grouped


def _polyline_points(frame: np.ndarray, lines: list[list[int]]) -> np.ndarray:
    """(N, 3) points of several polylines joined with NaN rows (plotly breaks lines at gaps)."""
    if not lines:
        return np.zeros((0, 3))
    chunks = []
    for k, line in enumerate(lines):
        if k:
            chunks.append(np.full((1, 3), np.nan))
        chunks.append(frame[line])
    return np.concatenate(chunks, axis=0)


def _as_list(values: np.ndarray) -> list[float | None]:
    """Rounded floats with NaN as None (a gap in a plotly line)."""
    rounded = np.round(values, COORD_DECIMALS)
    return [None if math.isnan(v) else v for v in rounded.tolist()]


def _xyz(points: np.ndarray) -> dict[str, list[float | None]]:
    return {"x": _as_list(points[:, 0]), "y": _as_list(points[:, 1]), "z": _as_list(points[:, 2])}


def _head_index(joint_names: Sequence[str] | None) -> int | None:
    if joint_names is None:
        return None
    for j, name in enumerate(joint_names):
        if name.lower() == "head":
            return j
    for j, name in enumerate(joint_names):
        if "head" in name.lower() and not name.lower().endswith(("_end", "end")):
            return j
    return None


def _head_centre(frames: np.ndarray, head: int, parents: Sequence[int]) -> np.ndarray:
    """Centre of the skull, a little beyond the head joint along the neck -> head direction."""
    parent = parents[head]
    if parent < 0:
        return frames[:, head]
    return frames[:, head] + 0.8 * (frames[:, head] - frames[:, parent])


def _dynamic_traces_data(frame: np.ndarray, polylines: dict[str, list[list[int]]],
                         head_centre: np.ndarray | None) -> list[dict]:
    data = []
    for side in ("centre", "left", "right"):
        data.append(_xyz(_polyline_points(frame, polylines.get(side, []))))
    data.append(_xyz(frame))
    data.append(_xyz(head_centre[None] if head_centre is not None else np.zeros((0, 3))))
    return data


def _frame_indices(n_frames: int, max_frames: int) -> np.ndarray:
    step = max(1, math.ceil(n_frames / max(1, max_frames)))
    return np.arange(0, n_frames, step)


def _scene_box(plot_pts: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Fixed axis ranges for the whole clip (the camera must not jump from frame to frame)."""
    lo = np.nanmin(plot_pts.reshape(-1, 3), axis=0)
    hi = np.nanmax(plot_pts.reshape(-1, 3), axis=0)
    centre = (lo + hi) / 2
    horizontal = max(hi[0] - lo[0], hi[1] - lo[1], 1.4) + 0.8
    floor = lo[2]
    height = max(hi[2] - floor + 0.3, 2.0)
    x_range = [centre[0] - horizontal / 2, centre[0] + horizontal / 2]
    y_range = [centre[1] - horizontal / 2, centre[1] + horizontal / 2]
    z_range = [floor - 0.02, floor + height]
    return x_range, y_range, z_range


def _grid_trace_points(x_range: list[float], y_range: list[float], floor: float,
                       spacing: float = 0.5) -> np.ndarray:
    xs = np.arange(math.ceil(x_range[0] / spacing), math.floor(x_range[1] / spacing) + 1) * spacing
    ys = np.arange(math.ceil(y_range[0] / spacing), math.floor(y_range[1] / spacing) + 1) * spacing
    rows = []
    for x in xs:
        rows += [[x, y_range[0], floor], [x, y_range[1], floor], [np.nan] * 3]
    for y in ys:
        rows += [[x_range[0], y, floor], [x_range[1], y, floor], [np.nan] * 3]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _figure_key(joints: np.ndarray, fps: float, title: str) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(joints, dtype=np.float32).tobytes())
    digest.update(f"{fps}|{title}|{joints.shape}".encode())
    return digest.hexdigest()[:16]


def _legend_annotation() -> dict:
    left, right = SIDE_COLOURS["left"], SIDE_COLOURS["right"]
    return dict(
        text=(f"<span style='color:{left}'>━</span> left&nbsp;&nbsp;"
              f"<span style='color:{right}'>━</span> right"),
        x=0.015, y=0.93, xref="paper", yref="paper", xanchor="left", yanchor="top",
        showarrow=False, font=dict(color="#9aa3b2", size=12),
    )


def motion_figure(joints: np.ndarray, parents: Sequence[int], fps: float, title: str = "", *,
                  joint_names: Sequence[str] | None = None,
                  max_frames: int = MAX_ANIMATION_FRAMES, height: int = 600) -> go.Figure:
    """An animated 3D skeleton: thick limbs, a head, left/right in two colours, a floor grid.

    joints: (T, J, 3) positions in metres, Y up. parents: parent index per joint (-1 for the
    root). fps: frame rate of ``joints``. joint_names: optional; colours the sides and finds the
    head. Clips longer than ``max_frames`` are subsampled in time for the animation (the slider
    still spans the whole clip). The first frame is what a renderer without animation shows.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[-1] != 3 or joints.shape[0] == 0:
        raise ValueError(f"joints must have shape (T, J, 3) with T >= 1, got {joints.shape}")
    if len(parents) != joints.shape[1]:
        raise ValueError(f"{len(parents)} parents for {joints.shape[1]} joints")
    if joint_names is not None and len(joint_names) != joints.shape[1]:
        raise ValueError(f"{len(joint_names)} joint names for {joints.shape[1]} joints")
    if not fps or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not np.all(np.isfinite(joints)):
        raise ValueError("joints contain NaN or infinite values")

    n_frames, n_joints, _ = joints.shape
    names = list(joint_names) if joint_names is not None else [f"joint {j}" for j in range(n_joints)]
    sides = [joint_side(n) for n in names] if joint_names is not None else ["centre"] * n_joints
    polylines = limb_polylines(parents, sides)
    head = _head_index(joint_names)

    plot_pts = to_plot_coords(joints)  # (T, J, 3) in scene coordinates
    head_pts = to_plot_coords(_head_centre(joints, head, parents)) if head is not None else None
    x_range, y_range, z_range = _scene_box(plot_pts if head_pts is None
                                           else np.concatenate([plot_pts, head_pts[:, None]], 1))
    floor = float(plot_pts[..., 2].min())

    # Static traces: the floor, its grid, the path of the root over the whole clip.
    floor_trace = go.Mesh3d(
        x=[x_range[0], x_range[1], x_range[1], x_range[0]],
        y=[y_range[0], y_range[0], y_range[1], y_range[1]],
        z=[floor - 0.003] * 4, i=[0, 0], j=[1, 2], k=[2, 3],
        color=FLOOR_COLOUR, flatshading=True, hoverinfo="skip", name="floor", showscale=False,
        lighting=dict(ambient=1.0, diffuse=0.0, specular=0.0, roughness=1.0, fresnel=0.0),
    )
    grid_trace = go.Scatter3d(
        mode="lines", name="floor grid", hoverinfo="skip", showlegend=False,
        line=dict(color=GRID_COLOUR, width=1.5), **_xyz(_grid_trace_points(x_range, y_range, floor)),
    )
    root_path = plot_pts[:, 0].copy()
    root_path[:, 2] = floor + 0.002
    path_trace = go.Scatter3d(
        mode="lines", name="root path", hoverinfo="skip", showlegend=False,
        line=dict(color=TRAJECTORY_COLOUR, width=3, dash="dot"), **_xyz(root_path),
    )

    # Animated traces, drawn at frame 0 in the figure's own data.
    first = _dynamic_traces_data(plot_pts[0], polylines, None if head_pts is None else head_pts[0])
    bone_traces = [
        go.Scatter3d(mode="lines", name=f"bones {side}", hoverinfo="skip", showlegend=False,
                     line=dict(color=SIDE_COLOURS[side], width=LIMB_WIDTH), **first[k])
        for k, side in enumerate(("centre", "left", "right"))
    ]
    joint_trace = go.Scatter3d(
        mode="markers", name="joints", showlegend=False, text=names,
        hovertemplate="%{text}<extra></extra>",
        marker=dict(size=JOINT_SIZE, color=[SIDE_COLOURS[s] for s in sides], line=dict(width=0)),
        **first[3],
    )
    head_trace = go.Scatter3d(
        mode="markers", name="head", hoverinfo="skip", showlegend=False,
        marker=dict(size=HEAD_SIZE, color=SIDE_COLOURS["centre"], opacity=1.0,
                    line=dict(color="#9aa3b2", width=1)),
        **first[4],
    )
    dynamic = [*bone_traces, joint_trace, head_trace]

    # Animation frames (subsampled for long clips) and their slider steps.
    indices = _frame_indices(n_frames, max_frames)
    step = int(indices[1] - indices[0]) if len(indices) > 1 else 1
    frame_ms = 1000.0 * step / fps
    dynamic_idx = list(range(len(dynamic)))
    frames, steps = [], []
    for t in indices:
        name = str(int(t))
        data = _dynamic_traces_data(plot_pts[t], polylines,
                                    None if head_pts is None else head_pts[t])
        frames.append(dict(name=name, traces=dynamic_idx,
                           data=[dict(type="scatter3d", **d) for d in data]))
        steps.append(dict(
            method="animate", label=f"{t / fps:.2f}",
            args=[[name], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                               transition=dict(duration=0))],
        ))

    duration_s = n_frames / fps
    play_args = dict(frame=dict(duration=frame_ms, redraw=True), fromcurrent=True,
                     transition=dict(duration=0), mode="immediate")
    pause_args = dict(frame=dict(duration=0, redraw=False), mode="immediate",
                      transition=dict(duration=0))
    span = [r[1] - r[0] for r in (x_range, y_range, z_range)]
    biggest = max(span)
    layout = dict(
        height=height,
        title=dict(text=html.escape(title), x=0.02, y=0.98, xanchor="left", yanchor="top",
                   font=dict(size=15, color="#e6e9ef")),
        paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND,
        font=dict(color="#c9ced8"),
        margin=dict(l=0, r=0, t=36, b=0),
        showlegend=False,
        uirevision="motion-viewer",  # keep the user's camera when the next clip loads
        meta=dict(motion_key=_figure_key(joints, fps, title), n_frames=n_frames, fps=fps,
                  animation_step=step),
        annotations=[_legend_annotation()],
        scene=dict(
            xaxis=dict(visible=False, range=x_range),
            yaxis=dict(visible=False, range=y_range),
            zaxis=dict(visible=False, range=z_range),
            aspectmode="manual",
            aspectratio=dict(x=span[0] / biggest, y=span[1] / biggest, z=span[2] / biggest),
            camera=dict(eye=dict(x=0.0, y=-1.2, z=0.12), center=dict(x=0.0, y=0.0, z=-0.13),
                        up=dict(x=0.0, y=0.0, z=1.0)),
            dragmode="turntable",
            bgcolor=BACKGROUND,
        ),
        updatemenus=[dict(
            type="buttons", direction="left", showactive=False,
            x=0.02, y=0.02, xanchor="left", yanchor="bottom", pad=dict(r=6, t=6),
            bgcolor="#262c38", bordercolor="#3a4252", font=dict(color="#e6e9ef", size=13),
            buttons=[
                dict(label="▶ Play", method="animate", args=[None, play_args]),
                dict(label="❚❚ Pause", method="animate", args=[[None], pause_args]),
            ],
        )],
        sliders=[dict(
            active=0, steps=steps, x=0.23, len=0.75, y=0.02, yanchor="bottom", xanchor="left",
            pad=dict(t=0, b=6), ticklen=0, minorticklen=0,
            bgcolor="#39414f", activebgcolor=SIDE_COLOURS["right"], bordercolor="#3a4252",
            font=dict(color="rgba(0,0,0,0)", size=1),  # hide one label per step; see currentvalue
            currentvalue=dict(prefix="t = ", suffix=f" s  / {duration_s:.2f} s", visible=True,
                              xanchor="left", font=dict(color="#c9ced8", size=12)),
            transition=dict(duration=0),
        )],
    )
    # Hundreds of frames go through plotly's per-property validation slowly (~1 s); the traces
    # and layout here are fixed code, checked once by the tests (go.Figure(fig.to_dict())).
    return go.Figure(data=[*dynamic, floor_trace, grid_trace, path_trace], layout=layout,
                     frames=frames, _validate=False)


def empty_figure(message: str = "Pick a clip or upload a BVH to see it here.",
                 height: int = 600) -> go.Figure:
    """The viewer before any motion is loaded: the dark viewport with a hint."""
    fig = go.Figure()
    fig.update_layout(
        height=height, paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND,
        margin=dict(l=0, r=0, t=0, b=0),
        xaxis=dict(visible=False), yaxis=dict(visible=False),
        annotations=[dict(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                          showarrow=False, font=dict(color="#9aa3b2", size=15))],
    )
    return fig


# Gradio's plot component hands plotly only data and layout (no frames), so after each new figure
# this re-attaches its animation frames to the plot in the browser; Play and the slider need them.
_ATTACH_FRAMES_JS = """
(value) => {
  let fig = value && (value.plot !== undefined ? value.plot : value);
  if (typeof fig === "string") { try { fig = JSON.parse(fig); } catch (e) { return; } }
  if (!fig || !fig.layout || !fig.layout.meta || !fig.frames) return;
  const key = fig.layout.meta.motion_key;
  let tries = 0;
  const attach = () => {
    const gd = document.querySelector("#ELEM_ID .js-plotly-plot");
    const P = window.Plotly;
    const shown = gd && gd.layout && gd.layout.meta && gd.layout.meta.motion_key;
    if (!P || !gd || !gd._fullLayout || shown !== key) {
      if (tries++ < 200) setTimeout(attach, 50);
      return;
    }
    if (gd.dataset.motionKey === key) return;
    gd.dataset.motionKey = key;
    Promise.resolve(P.animate(gd, [null], {mode: "immediate", frame: {duration: 0, redraw: false}}))
      .catch(() => {})
      .then(() => P.deleteFrames(gd))
      .then(() => P.addFrames(gd, fig.frames));
  };
  attach();
}
"""


def motion_viewer(label: str = "Motion", *, elem_id: str = VIEWER_ELEM_ID,
                  value: go.Figure | None = None) -> "gr.Plot":
    """The Gradio block that shows ``motion_figure`` output, with play, pause and scrubbing.

    Call inside a ``gr.Blocks`` context; set its value to a figure from ``motion_figure``.
    """
    import gradio as gr

    plot = gr.Plot(value=value if value is not None else empty_figure(), label=label,
                   show_label=False, elem_id=elem_id, elem_classes=["motion-viewer"])
    plot.change(fn=None, inputs=[plot], outputs=None,
                js=_ATTACH_FRAMES_JS.replace("ELEM_ID", elem_id))
    return plot
