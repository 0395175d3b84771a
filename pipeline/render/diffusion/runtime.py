"""Memory and speed controls of the diffusion renderer, and how they are put on a pipeline.

What users of SVD / MimicMotion run out of is GPU memory (the UNet is 1.5 B parameters; a
72-frame window at 576 x 1024 is a batch of 144 images with classifier-free guidance) and time
(25 steps per window). The knobs, all in :class:`RuntimeOptions`: fp16 weights, model CPU offload
through accelerate (one model on the GPU at a time), PyTorch's SDPA attention kernels, guidance
as two half-size passes instead of one batch of two, feed-forward chunking, VAE decoding a few
frames at a time, window length / overlap and the number of steps.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

OFFLOAD_MODES = ("auto", "none", "model")
ATTENTION_MODES = ("sdpa", "default")
DTYPES = ("float16", "bfloat16", "float32")
OFFLOAD_BELOW_GIB = 24.0
"""``offload="auto"`` offloads on cards with less memory than this (a 16 GB card needs it)."""
ENV_PREFIX = "VERSA_DIFFUSION_"
"""Every option can be set as ``VERSA_DIFFUSION_<NAME>`` (e.g. VERSA_DIFFUSION_OFFLOAD=model)."""


@dataclass(frozen=True)
class RuntimeOptions:
    """How to run the model. Defaults are MimicMotion 1.1's (72-frame windows, 6 shared, 25 steps)."""

    dtype: str = "float16"
    offload: str = "auto"
    """"none": everything on the GPU; "model": accelerate moves each model to the GPU when it
    runs (UNet, then VAE, ...); "auto": "model" below OFFLOAD_BELOW_GIB of GPU memory."""
    attention: str = "sdpa"
    """"sdpa": PyTorch's scaled_dot_product_attention (flash / memory-efficient kernels);
    "default": whatever diffusers picks."""
    cfg_batch: bool = True
    """Guidance as one UNet batch of two; False: two passes (slower, half the activations)."""
    forward_chunking: int = 0
    """Feed-forward layers in chunks of this many tokens (0: off); saves memory at long windows."""
    decode_chunk_size: int = 8
    """Frames the temporal VAE decodes at once (4 on a 16 GB card)."""
    window: int = 72
    overlap: int = 6
    steps: int = 25

    def validated(self) -> "RuntimeOptions":
        """Self, or a ValueError that names the bad option and its allowed values."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.offload not in OFFLOAD_MODES:
            raise ValueError(f"offload must be one of {', '.join(OFFLOAD_MODES)}, got {self.offload!r}")
        if self.attention not in ATTENTION_MODES:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION_MODES)}, got {self.attention!r}")
        if self.window < 1 or not 0 <= self.overlap < self.window:
            raise ValueError(f"need window >= 1 and 0 <= overlap < window, got window={self.window}, "
                             f"overlap={self.overlap}")
        if self.steps < 1 or self.decode_chunk_size < 1 or self.forward_chunking < 0:
            raise ValueError("steps and decode_chunk_size must be at least 1 and forward_chunking at least 0")
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parse(kind: Any, raw: str, name: str) -> Any:
    if kind is bool or kind == "bool":
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be 0 or 1, got {raw!r}")
    if kind is int or kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a whole number, got {raw!r}") from None
    return raw.strip()


def options_from_env(base: RuntimeOptions | None = None, **overrides: Any) -> RuntimeOptions:
    """``base`` (defaults) with ``$VERSA_DIFFUSION_<NAME>`` settings, then ``overrides`` (None ones ignored)."""
    opts = base or RuntimeOptions()
    changes: dict[str, Any] = {}
    for f in fields(RuntimeOptions):
        raw = os.environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw.strip():
            changes[f.name] = _parse(f.type, raw, f.name)
    changes.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(changes) - {f.name for f in fields(RuntimeOptions)}
    if unknown:
        raise ValueError(f"unknown diffusion options: {', '.join(sorted(unknown))}")
    return replace(opts, **changes).validated()


def gpu_memory_gib(device: str = "cuda") -> float | None:
    """Total memory of the CUDA device, None without one."""
    import torch

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    index = torch.device(device).index or 0
    return torch.cuda.get_device_properties(index).total_memory / 2 ** 30


def wants_offload(opts: RuntimeOptions, total_gib: float | None) -> bool:
    """Whether to offload: asked for, or "auto" on a card below OFFLOAD_BELOW_GIB."""
    if opts.offload == "model":
        return True
    if opts.offload == "none":
        return False
    return total_gib is not None and total_gib < OFFLOAD_BELOW_GIB


def apply_runtime(pipe: Any, opts: RuntimeOptions, device: str = "cuda") -> list[str]:
    """Put ``opts`` on ``pipe`` (a VersaAnimatorPipeline or any SVD pipeline) and place it on ``device``.

    Returns notes on what was done (for the log and the benchmark's table). Offload needs
    accelerate; it is placed with diffusers' ``enable_model_cpu_offload(device=...)``, which also
    works with device="cpu" (the tests use that to check the wiring).
    """
    from diffusers.models.attention_processor import AttnProcessor2_0

    opts = opts.validated()
    notes = []
    if opts.attention == "sdpa":
        for name in ("unet", "vae"):
            model = getattr(pipe, name, None)
            if model is not None and hasattr(model, "set_attn_processor"):
                model.set_attn_processor(AttnProcessor2_0())
        notes.append("attention: SDPA")
    if opts.forward_chunking:
        pipe.unet.enable_forward_chunking(chunk_size=int(opts.forward_chunking), dim=1)
        notes.append(f"feed-forward chunks of {opts.forward_chunking}")
    pipe.cfg_batch = bool(opts.cfg_batch)
    if not opts.cfg_batch:
        notes.append("guidance in two passes")
    offload = wants_offload(opts, gpu_memory_gib(device))
    if offload:
        pipe.enable_model_cpu_offload(device=device)
        notes.append(f"model CPU offload to {device}")
    else:
        pipe.to(device)
        notes.append(f"all models on {device}")
    return notes
