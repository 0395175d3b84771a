"""benchmarks/diffusion_gpu.py runs end to end (--tiny, CPU) and refuses clearly without CUDA.

The GPU figures themselves are only meaningful on a GPU; this checks the script, not the numbers.
"""

from __future__ import annotations

import re

import pytest
import torch

pytest.importorskip("diffusers")

from benchmarks import diffusion_gpu  # noqa: E402


@pytest.mark.slow
def test_tiny_run_prints_the_table_and_the_key_line(tmp_path, capsys) -> None:
    from pipeline.render.diffusion.estimate import Calibration

    cal_path = tmp_path / "cal.json"
    assert diffusion_gpu.main(["--tiny", "--write-calibration", str(cal_path)]) == 0
    out = capsys.readouterr().out
    assert "diffusers SVD, 1 window" in out and "time split" in out and "pose encoder" in out
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(r"s_per_frame=([\d.]+) peak_gib=([\d.]+) overhead_vs_svd=([\d.]+) offload_peak_gib=([\d.]+)",
                     last)
    assert m, last
    s_per_frame, peak, overhead, offload_peak = map(float, m.groups())
    assert s_per_frame > 0 and peak > 0 and overhead > 0 and offload_peak > 0
    cal = Calibration.read(cal_path)     # what the studio's estimate reads once a GPU run writes it
    assert cal.unet_s_per_frame_step > 0 and cal.vae_s_per_frame > 0 and "measured on CPU" in cal.source


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
