"""Loading MimicMotion's released checkpoint into diffusers' UNet and our PoseNet.

``MimicMotion_1-1.pth`` is a flat state dict with keys ``pose_net.<name>`` (the pose encoder) and
``unet.<name>`` (its fine-tuned SVD UNet, whose names are diffusers' own because MimicMotion's
UNet is a copy of diffusers' class with the pose addition). It is read with
``torch.load(weights_only=True)``, which refuses anything but tensors and plain containers, so a
user's file cannot run code; a ``.safetensors`` conversion loads as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

PREFIXES = ("pose_net.", "unet.")
WRAPPER_KEYS = ("state_dict", "module", "model")
"""Checkpoints saved from a trainer sometimes nest the weights under one of these keys."""


@dataclass
class LoadReport:
    """What a checkpoint load matched: counts of loaded tensors and the names that did not fit."""

    loaded: dict[str, int] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    unexpected: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    """Keys with neither prefix (left out)."""

    def summary(self) -> str:
        parts = [f"{name}: {n} tensors loaded, {len(self.missing.get(name, []))} missing, "
                 f"{len(self.unexpected.get(name, []))} unexpected" for name, n in self.loaded.items()]
        if self.ignored:
            parts.append(f"{len(self.ignored)} keys ignored (e.g. {self.ignored[0]})")
        return "; ".join(parts)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a .pth/.pt/.bin (tensors only) or .safetensors file, unwrapped and without ``module.``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd: object = load_file(str(path))
    else:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    while isinstance(sd, Mapping) and len(sd) == 1 and next(iter(sd)) in WRAPPER_KEYS:
        sd = next(iter(sd.values()))
    if isinstance(sd, Mapping):
        for key in WRAPPER_KEYS:  # {"state_dict": ..., "epoch": 3}
            if key in sd and isinstance(sd[key], Mapping):
                sd = sd[key]
                break
    if not isinstance(sd, Mapping):
        raise ValueError(f"{path} does not hold a state dict (got {type(sd).__name__})")
    out = {}
    for k, v in sd.items():
        if isinstance(v, torch.Tensor):
            out[k[len("module."):] if k.startswith("module.") else k] = v
    return out


def split_mimicmotion_state_dict(sd: Mapping[str, torch.Tensor]
                                 ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], list[str]]:
    """(pose_net state, unet state, ignored keys) from MimicMotion's flat key names."""
    pose, unet, ignored = {}, {}, []
    for k, v in sd.items():
        if k.startswith("pose_net."):
            pose[k[len("pose_net."):]] = v
        elif k.startswith("unet."):
            unet[k[len("unet."):]] = v
        else:
            ignored.append(k)
    return pose, unet, ignored


def _load_into(module: nn.Module, sd: dict[str, torch.Tensor]) -> tuple[int, list[str], list[str]]:
    own = module.state_dict()
    shaped = {}
    unexpected = []
    for k, v in sd.items():
        if k in own and tuple(own[k].shape) == tuple(v.shape):
            shaped[k] = v
        else:
            unexpected.append(k if k not in own else f"{k} (shape {tuple(v.shape)} != {tuple(own[k].shape)})")
    result = module.load_state_dict(shaped, strict=False)
    return len(shaped), list(result.missing_keys), unexpected


def load_mimicmotion_checkpoint(path: str | Path | Mapping[str, torch.Tensor], unet: nn.Module | None,
                                pose_net: nn.Module | None, strict_pose: bool = True) -> LoadReport:
    """Load MimicMotion's ``pose_net.*`` into ``pose_net`` and ``unet.*`` into ``unet``.

    ``path`` may also be an already-read state dict. The UNet load is partial by design (a
    checkpoint may carry only the pose encoder, the UNet then keeps its SVD weights); the pose
    encoder must match exactly unless ``strict_pose`` is False. Tensors are cast to each
    module's dtype by ``load_state_dict``.
    """
    sd = read_state_dict(path) if not isinstance(path, Mapping) else dict(path)
    pose_sd, unet_sd, ignored = split_mimicmotion_state_dict(sd)
    report = LoadReport(ignored=ignored)
    if pose_net is not None:
        n, missing, unexpected = _load_into(pose_net, pose_sd)
        if strict_pose and (missing or unexpected):
            raise ValueError(f"the checkpoint's pose_net does not fit: missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]}")
        report.loaded["pose_net"], report.missing["pose_net"], report.unexpected["pose_net"] = n, missing, unexpected
    if unet is not None:
        n, missing, unexpected = _load_into(unet, unet_sd)
        report.loaded["unet"], report.missing["unet"], report.unexpected["unet"] = n, missing, unexpected
    return report
