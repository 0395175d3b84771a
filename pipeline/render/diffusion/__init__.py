"""The GPU diffusion renderer (backend "diffusion"); see README.md in this folder.

Modules, one job each: ``weights`` (folder layout and its check, no torch), ``pose_encoder``
(MimicMotion's PoseNet and the conv_in hook), ``conditions`` (face condition tokens and the extra
cross-attention per UNet block), ``checkpoint`` (MimicMotion checkpoint loading), ``pipeline``
(:class:`VersaAnimatorPipeline`), ``render`` (:func:`render_frames` for the backend switch).
Names are imported on use so that checking the weights folder does not load diffusers.
"""

from __future__ import annotations

import importlib

from .weights import validate_weights_dir

__all__ = ["validate_weights_dir", "render_frames", "VersaAnimatorPipeline", "PoseNet", "VersaConditions",
           "ConditionConfig", "FrameConditions", "load_mimicmotion_checkpoint"]

_LAZY = {"render_frames": "render", "VersaAnimatorPipeline": "pipeline", "PoseNet": "pose_encoder",
         "VersaConditions": "conditions", "ConditionConfig": "conditions", "FrameConditions": "conditions",
         "load_mimicmotion_checkpoint": "checkpoint"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
