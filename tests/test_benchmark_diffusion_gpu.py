"""benchmarks/diffusion_gpu.py runs end to end (--tiny, CPU) and refuses clearly without CUDA.

The GPU figures themselves are only meaningful on a GPU; this checks the script, not the numbers.
"""

from __future__ import annotations

import re

import pytest
import torch

pytest.importorskip("diffusers")

from benchmarks import diffusion_gpu  # noqa: E402


def test_tiny_run_prints_the_table_and_the_key_line(capsys) -> None:
    assert diffusion_gpu.main(["--tiny"]) == 0
    out = capsys.readouterr().out
    assert "diffusers SVD, 1 window" in out and "time split" in out and "pose encoder" in out
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(r"s_per_frame=([\d.]+) peak_gib=([\d.]+) overhead_vs_svd=([\d.]+) offload_peak_gib=([\d.]+)",
                     last)
    assert m, last
    s_per_frame, peak, overhead, offload_peak = map(float, m.groups())
    assert s_per_frame > 0 and peak > 0 and overhead > 0 and offload_peak > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_refuses_without_cuda(capsys) -> None:
    assert diffusion_gpu.main([]) == 2
    err = capsys.readouterr().err
    assert "CUDA GPU" in err and "--tiny" in err


def test_the_real_configs_have_svd_xt_sizes() -> None:
    """Guards the hand-written configs: SVD-xt's UNet 1.52 B, VAE 97.7 M, CLIP ViT-H/14 632 M parameters."""
    from pipeline.render.diffusion.svd_configs import parameter_counts

    counts = parameter_counts("svd-xt")
    assert counts["unet"] == 1_524_623_082
    assert 97.0e6 < counts["vae"] < 98.5e6
    assert 630e6 < counts["image_encoder"] < 634e6
