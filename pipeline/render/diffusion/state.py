"""The diffusion backend's state as the user should see it: no GPU / no weights / downloading / ready.

One function, :func:`diffusion_state`, answers from cheap checks (torch's CUDA query, file names,
HF's cache, the download in progress); the studio's render panel and
``backends.available_backends`` both show its message, so they never disagree.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from . import hub
from .sources import WeightPaths, lookup_weights


class State(str, Enum):
    MISSING_PACKAGE = "missing package"
    NO_GPU = "no GPU"
    NO_WEIGHTS = "no weights"
    DOWNLOADABLE = "weights to download"
    DOWNLOADING = "weights downloading"
    READY = "ready"


@dataclass(frozen=True)
class DiffusionState:
    """What the backend can do now. ``usable``: a render may start (it downloads first when
    ``state`` is DOWNLOADABLE)."""

    state: State
    message: str
    gpu: str | None = None
    gpu_gib: float | None = None
    weights: WeightPaths | None = None
    download_fraction: float | None = None

    @property
    def usable(self) -> bool:
        return self.state in (State.READY, State.DOWNLOADABLE)


def gpu_info() -> tuple[str | None, float | None]:
    """(name, total GiB) of CUDA device 0, (None, None) without one. On a ZeroGPU Space the GPU
    is attached per call, so its presence is taken from the platform."""
    from .zerogpu import zero_gpu

    try:
        import torch
    except ImportError:
        return None, None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return props.name, props.total_memory / 2 ** 30
    if zero_gpu():
        return "ZeroGPU (attached per render)", None
    return None, None


def diffusion_state(folder: str | Path | None, cache_dir: str | Path | None = None) -> DiffusionState:
    """The state for the weights folder ``folder`` (and HF's cache), with a message that names
    everything missing at once and what to do."""
    missing = [name for name in ("torch", "diffusers", "transformers", "accelerate")
               if importlib.util.find_spec(name) is None]  # found, not imported: the check stays fast
    if "torch" in missing:
        return DiffusionState(State.MISSING_PACKAGE, "needs torch with CUDA; torch is not installed")
    gpu, gib = gpu_info()
    progress = hub.PROGRESS
    if progress.active:
        return DiffusionState(State.DOWNLOADING, progress.describe(), gpu, gib, None, progress.fraction())
    found = lookup_weights(folder, cache_dir)
    problems = []
    if missing:
        problems.append(f"the {', '.join(missing)} package{'s' * (len(missing) > 1)} "
                        f"{'are' if len(missing) > 1 else 'is'} not installed")
    if gpu is None:
        problems.append("no CUDA GPU is available")
    if found.paths is None and not found.downloadable:
        problems.append(f"{found.reason} (set $VERSA_DIFFUSION_WEIGHTS to another folder; see "
                        "pipeline/render/diffusion/README.md)")
    if missing:
        return DiffusionState(State.MISSING_PACKAGE, "needs " + "; ".join(problems), gpu, gib, found.paths)
    if gpu is None:
        weights_part = "; ".join(problems[1:]) or ("weights are ready" if found.paths else found.reason)
        return DiffusionState(State.NO_GPU, f"needs a CUDA GPU and diffusion weights: no CUDA GPU is available; "
                                            f"{weights_part}", None, None, found.paths)
    if found.paths is None and not found.downloadable:
        return DiffusionState(State.NO_WEIGHTS, "needs diffusion weights: " + "; ".join(problems), gpu, gib)
    where = f"{gpu}" + (f", {gib:.0f} GiB" if gib else "")
    if found.paths is None:
        return DiffusionState(State.DOWNLOADABLE, f"{where}; {found.reason}", gpu, gib)
    return DiffusionState(State.READY, f"{where}; {found.reason}", gpu, gib, found.paths)


def panel_text(state: DiffusionState, estimate: str | None = None) -> str:
    """The render panel's line for the diffusion backend (Markdown)."""
    icon = {State.READY: "🟢", State.DOWNLOADABLE: "🟡", State.DOWNLOADING: "⏬"}.get(state.state, "⚪")
    text = f"{icon} **Photoreal (diffusion): {state.state.value}** — {state.message}"
    if estimate and state.usable:
        text += f"\n\nEstimated render time: {estimate}"
    return text
