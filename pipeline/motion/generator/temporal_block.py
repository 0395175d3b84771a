"""The audio branch's temporal block: motion-rate audio features -> audio tokens at the token rate.

Paper, appendix B: "a temporal block to extract and fuse the temporal information. Through
multiple convolution layers, we transformed the pre-trained audio embeddings into
{c_audio^t}_{t=1}^{T/l}", with ``l`` the downsampling rate. Here ``l = TOKEN_DOWNSAMPLE`` (4):
20 fps feature rows become 5 tokens per second, one per motion token.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.constants import TOKEN_DOWNSAMPLE


@dataclass
class AudioTemporalBlockConfig:
    in_dim: int
    d_model: int
    hidden: int = 256
    downsample: int = TOKEN_DOWNSAMPLE
    kernel_size: int = 3
    res_blocks: int = 2
    dropout: float = 0.0


class _ResBlock(nn.Module):
    def __init__(self, ch: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = dilation * (kernel_size - 1) // 2
        self.norm = nn.GroupNorm(1, ch)
        self.conv1 = nn.Conv1d(ch, ch, kernel_size, padding=pad, dilation=dilation, padding_mode="replicate")
        self.conv2 = nn.Conv1d(ch, ch, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.conv2(F.gelu(self.conv1(self.norm(x)))))


class AudioTemporalBlock(nn.Module):
    """(B, T, in_dim) feature rows at MOTION_FPS -> (B, ceil(T / downsample), d_model) tokens.

    Layers: LayerNorm over the features, a kernel-3 input convolution to ``hidden`` channels,
    ``res_blocks`` residual conv blocks (GELU, dilations 1, 2, ...), then ``log2(downsample)``
    stages of a stride-2 convolution (kernel 4) each followed by a residual block, and a
    pointwise projection to ``d_model``. The input is padded to a multiple of ``downsample`` by
    replicating its last row, so token ``j`` sees rows ``[j*downsample, (j+1)*downsample)``
    (plus the convolutions' context).
    """

    def __init__(self, in_dim: int, d_model: int, hidden: int = 256, downsample: int = TOKEN_DOWNSAMPLE,
                 kernel_size: int = 3, res_blocks: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        if downsample < 1 or downsample & (downsample - 1):
            raise ValueError(f"downsample must be a power of two, got {downsample}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.config = AudioTemporalBlockConfig(in_dim, d_model, hidden, downsample, kernel_size, res_blocks, dropout)
        self.in_dim, self.d_model, self.downsample = int(in_dim), int(d_model), int(downsample)
        self.norm = nn.LayerNorm(in_dim)
        self.conv_in = nn.Conv1d(in_dim, hidden, kernel_size, padding=kernel_size // 2, padding_mode="replicate")
        self.blocks = nn.Sequential(*[_ResBlock(hidden, kernel_size, 2 ** i, dropout) for i in range(res_blocks)])
        stages = []
        for _ in range(downsample.bit_length() - 1):
            stages += [nn.Conv1d(hidden, hidden, 4, stride=2, padding=1, padding_mode="replicate"), nn.GELU(),
                       _ResBlock(hidden, kernel_size, 1, dropout)]
        self.down = nn.Sequential(*stages)
        self.out_norm = nn.GroupNorm(1, hidden)
        self.proj = nn.Conv1d(hidden, d_model, 1)

    def to_dict(self) -> dict:
        return asdict(self.config)

    @staticmethod
    def num_tokens(num_rows: int, downsample: int = TOKEN_DOWNSAMPLE) -> int:
        return -(-int(num_rows) // int(downsample))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.in_dim:
            raise ValueError(f"expected (batch, frames, {self.in_dim}) features, got {tuple(x.shape)}")
        T = x.shape[1]
        if T == 0:
            return x.new_zeros(x.shape[0], 0, self.d_model)
        pad = (-T) % self.downsample
        if pad:
            x = torch.cat([x, x[:, -1:].expand(-1, pad, -1)], dim=1)
        h = self.conv_in(self.norm(x).transpose(1, 2))
        h = self.down(self.blocks(h))
        h = self.proj(F.gelu(self.out_norm(h)))
        return h.transpose(1, 2)
