"""How long a diffusion render will take, said before it starts (and the Space's GPU lease).

The cost is counted in UNet frame-steps (every frame of every window, every step), plus the
VAE per frame and the model load. The rates come from a calibration file that
``benchmarks/diffusion_gpu.py --write-calibration`` writes on a GPU; without one, a prior is
used and the estimate says so (the prior is not a measurement of this project).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .runtime import RuntimeOptions
from .windows import sliding_windows

REF_PIXELS = 576 * 1024
"""The calibration's frame size (MimicMotion's 576 x 1024)."""
CALIBRATION_ENV = "VERSA_DIFFUSION_CALIBRATION"
DEFAULT_CALIBRATION = Path(__file__).resolve().parents[3] / "assets" / "checkpoints" / "diffusion_calibration.json"


@dataclass(frozen=True)
class Calibration:
    """Seconds per unit of work on one GPU, at REF_PIXELS, fp16, guidance as one batch of two."""

    unet_s_per_frame_step: float
    vae_s_per_frame: float
    load_s: float
    offload_factor: float
    """Time with model CPU offload / time without."""
    source: str

    @classmethod
    def read(cls, path: str | Path) -> "Calibration":
        data = json.loads(Path(path).read_text())
        try:
            return cls(float(data["unet_s_per_frame_step"]), float(data["vae_s_per_frame"]), float(data["load_s"]),
                       float(data["offload_factor"]), str(data.get("source", f"measured ({Path(path).name})")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path} is not a diffusion calibration file ({exc}); write it with "
                             "benchmarks/diffusion_gpu.py --write-calibration") from None

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path


PRIOR = Calibration(unet_s_per_frame_step=0.04, vae_s_per_frame=0.06, load_s=60.0, offload_factor=1.3,
                    source="a prior guess for an A100-class GPU, not measured in this project")
"""Used until a benchmark run writes a calibration: about 25 steps x 72 frames x 0.04 s = 72 s
per window, the order of what SVD-xt users report at 576 x 1024 on such cards."""


def calibration() -> Calibration:
    """The calibration file ($VERSA_DIFFUSION_CALIBRATION or assets/checkpoints/...), else PRIOR."""
    path = Path(os.environ.get(CALIBRATION_ENV, "").strip() or DEFAULT_CALIBRATION)
    if path.is_file():
        try:
            return Calibration.read(path)
        except (OSError, ValueError):
            return PRIOR
    return PRIOR


@dataclass(frozen=True)
class Estimate:
    """Predicted seconds for one render and what they are made of."""

    seconds: float
    unet_s: float
    vae_s: float
    load_s: float
    windows: int
    frame_steps: int
    source: str

    def describe(self) -> str:
        return (f"about {format_duration(self.seconds)} ({self.windows} window{'s' * (self.windows != 1)}, "
                f"{self.frame_steps} frame-steps; {self.source})")


def format_duration(seconds: float) -> str:
    """'45 s', '3 min', '1 h 5 min'."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def estimate_render(num_frames: int, width: int, height: int, opts: RuntimeOptions | None = None, *,
                    guidance: float = 2.0, offload: bool = False, loaded: bool = False,
                    cal: Calibration | None = None) -> Estimate:
    """Seconds to render ``num_frames`` frames of ``width`` x ``height`` with ``opts``."""
    opts = (opts or RuntimeOptions()).validated()
    cal = cal or calibration()
    if num_frames <= 0:
        return Estimate(0.0, 0.0, 0.0, 0.0, 0, 0, cal.source)
    wins = sliding_windows(num_frames, opts.window, opts.overlap)
    frame_steps = sum(len(w) for w in wins) * opts.steps
    scale = (width * height) / REF_PIXELS
    guided = 1.0 if guidance > 1.0 else 0.5
    passes = 1.0 if opts.cfg_batch or guidance <= 1.0 else 1.1  # two half batches use the GPU a little worse
    unet = frame_steps * cal.unet_s_per_frame_step * scale * guided * passes
    vae = num_frames * cal.vae_s_per_frame * scale
    slow = cal.offload_factor if offload else 1.0
    load = 0.0 if loaded else cal.load_s
    total = (unet + vae) * slow + load
    return Estimate(total, unet * slow, vae * slow, load, len(wins), frame_steps, cal.source)


def gpu_lease_seconds(estimate: Estimate, margin: float = 1.3, floor: int = 60, ceiling: int = 1800) -> int:
    """The duration to ask ``spaces.GPU`` for: the estimate with a margin, within [floor, ceiling]."""
    return int(min(ceiling, max(floor, math.ceil(estimate.seconds * margin + 15))))
