"""Rendering: pose maps (pose_maps), the CPU warp renderer (warp), the GPU diffusion backend, and
the backend switch (backends). Submodules are imported on use so that drawing a pose map does
not load a renderer."""
