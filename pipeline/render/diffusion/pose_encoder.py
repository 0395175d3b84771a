"""The pose encoder (MimicMotion's PoseNet) and the hook that adds its features after conv_in.

MimicMotion guides the stable video diffusion UNet with DWPose maps: a small conv stack brings
the map (3 x H x W, values in [-1, 1]) down 8x to the latent grid and to the UNet's first-block
width, and the result is added to the output of the UNet's first convolution. The parameter
names (``conv_layers.{0,2,..,14}``, ``final_proj``, ``scale``) match MimicMotion's so that its
released checkpoint (keys ``pose_net.*``) loads unchanged. The last projection starts at zero,
so an untrained encoder leaves the UNet exactly as it was.

The feature is added by a forward hook on ``unet.conv_in`` rather than by a forked UNet, so the
UNet stays diffusers' own class and its weights load with diffusers' loader.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

POSE_DOWNSAMPLE = 8
"""The encoder has three stride-2 convolutions: the pose map must be 8x the latent size."""


class PoseNet(ModelMixin, ConfigMixin):
    """Pose map (N or B x F, 3, H, W) in [-1, 1] -> features (N, noise_latent_channels, H/8, W/8)."""

    @register_to_config
    def __init__(self, noise_latent_channels: int = 320) -> None:
        super().__init__()
        widths = ((3, 3, 3, 1, 1), (3, 16, 4, 2, 1), (16, 16, 3, 1, 1), (16, 32, 4, 2, 1),
                  (32, 32, 3, 1, 1), (32, 64, 4, 2, 1), (64, 64, 3, 1, 1), (64, 128, 3, 1, 1))
        layers: list[nn.Module] = []
        for cin, cout, k, s, p in widths:  # conv / SiLU pairs: conv_layers.0, .2, ..., .14
            layers += [nn.Conv2d(cin, cout, kernel_size=k, stride=s, padding=p), nn.SiLU()]
        self.conv_layers = nn.Sequential(*layers)
        self.final_proj = nn.Conv2d(128, noise_latent_channels, kernel_size=1)
        self.scale = nn.Parameter(torch.full((1,), 2.0))
        self._init_weights()

    def _init_weights(self) -> None:
        # He-normal convs with zero bias; the projection is zero so training starts from the base UNet
        for m in self.conv_layers:
            if isinstance(m, nn.Conv2d):
                fan_in = m.kernel_size[0] * m.kernel_size[1] * m.in_channels
                nn.init.normal_(m.weight, 0.0, float(np.sqrt(2.0 / fan_in)))
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.final_proj.weight)
        nn.init.zeros_(self.final_proj.bias)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        if pose.ndim == 5:
            pose = pose.flatten(0, 1)
        if pose.shape[-1] % POSE_DOWNSAMPLE or pose.shape[-2] % POSE_DOWNSAMPLE:
            raise ValueError(f"pose maps must be a multiple of {POSE_DOWNSAMPLE} px, got {tuple(pose.shape[-2:])}")
        return self.final_proj(self.conv_layers(pose)) * self.scale

    def is_trained(self) -> bool:
        """False while the final projection is still all zeros (the encoder then has no effect)."""
        return bool(self.final_proj.weight.detach().abs().sum() > 0)


class PoseInjection:
    """A forward hook on ``unet.conv_in`` that adds the current pose features to its output.

    Use :meth:`features` around each UNet call; outside it the hook does nothing, so the same
    UNet still runs without poses.
    """

    def __init__(self, unet: nn.Module) -> None:
        self._features: torch.Tensor | None = None
        self._handle = unet.conv_in.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if self._features is None:
            return None
        if self._features.shape != output.shape:
            raise ValueError(f"pose features {tuple(self._features.shape)} do not match the UNet's first "
                             f"convolution output {tuple(output.shape)}")
        return output + self._features.to(output.dtype)

    @contextlib.contextmanager
    def features(self, features: torch.Tensor | None) -> Iterator[None]:
        """Add ``features`` ((batch * frames), C, h, w) after conv_in for the calls inside."""
        previous, self._features = self._features, features
        try:
            yield
        finally:
            self._features = previous

    def remove(self) -> None:
        self._handle.remove()
