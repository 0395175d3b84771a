"""The default CPU renderer: the portrait as a skinned 2D mesh following the pose sequence."""

from pipeline.render.warp.config import WarpConfig
from pipeline.render.warp.renderer import WarpRenderer, render_frames
from pipeline.render.warp.skeleton import BONE_NAMES

__all__ = ["BONE_NAMES", "WarpConfig", "WarpRenderer", "render_frames"]
