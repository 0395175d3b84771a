"""The diffusion renderer's runtime: what the model is given, memory/speed options, estimates, ZeroGPU.

All on the CPU with the tiny random pipeline of test_diffusion.py.
"""

from __future__ import annotations

import importlib
import sys
import types

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")

from pipeline.render.diffusion.estimate import (  # noqa: E402
    PRIOR, Calibration, estimate_render, gpu_lease_seconds)
from pipeline.render.diffusion.runtime import RuntimeOptions, apply_runtime, options_from_env  # noqa: E402
from tests.test_diffusion import inputs, tiny_pipeline  # noqa: E402


def _talking_poses(portrait, n: int = 3):
    """The portrait's pose held, its face points speaking: jaw shut, half open, wide open."""
    from pipeline.face import animate_face
    from pipeline.speech.visemes import MouthTrack
    from tests.test_render_warp import hold

    z = np.zeros(n, np.float32)
    track = MouthTrack(25.0, source="aligned", jaw=np.linspace(0, 1, n).astype(np.float32), width=z, rounding=z,
                       upper_lip=z, lower_lip=z, lip_closure=z)
    return animate_face(hold(portrait, n, fps=25.0), track)


def test_the_pose_video_shows_exactly_what_the_model_is_given(tmp_path, monkeypatch) -> None:
    """MimicMotion's case (face layers untrained -> DWPose maps): the maps handed to the pipeline
    are the frames of the pose video written next to the render, and they carry the talking face."""
    import pipeline.video as video
    from pipeline.render.backends import model_pose_video_path, render
    from pipeline.render.diffusion.render import model_inputs
    from pipeline.render.pose_maps import draw_pose
    from tests.test_render_warp import silent_then_loud, synthetic_portrait

    pipe = tiny_pipeline(conditions=True, clip=False)
    assert not pipe.conditions.is_trained()
    given = {}
    original_call = type(pipe).__call__

    def spy_call(self, image, pose_maps, *a, **k):
        given["image"], given["maps"] = np.array(image), np.array(pose_maps)
        return original_call(self, image, pose_maps, *a, **k)

    monkeypatch.setattr(type(pipe), "__call__", spy_call)
    written = {}
    real_write = video.write_video

    def spy_write(frames, clip, out_path, fps, **k):
        frames = list(frames)
        written[str(out_path)] = np.stack(frames)
        return real_write(iter(frames), clip, out_path, fps, **k)

    monkeypatch.setattr(video, "write_video", spy_write)
    monkeypatch.setattr("pipeline.render.backends.available_backends",
                        lambda: {"warp": (True, ""), "diffusion": (True, "test")})
    portrait = synthetic_portrait(256)
    poses = _talking_poses(portrait)
    out = tmp_path / "render.mp4"
    render("diffusion", portrait, poses, silent_then_loud(0.12), out, resolution=128, pipe=pipe, steps=1,
           window=3, overlap=0)
    pose_video = model_pose_video_path(out)
    assert pose_video.is_file() and out.is_file()
    np.testing.assert_array_equal(written[str(pose_video)], given["maps"])
    image, maps, layout = model_inputs(portrait, poses, 128, "dwpose")
    np.testing.assert_array_equal(maps, given["maps"])
    np.testing.assert_array_equal(image, given["image"])
    # DWPose drawing of the animated points, placed in the model frame
    np.testing.assert_array_equal(layout.crop(maps[2]), draw_pose(poses, 2, (layout.content_w, layout.content_h)))
    # the face talks in the maps: the mouth / chin region changes from shut to open, the forehead does not
    from pipeline.portrait.wholebody import FACE

    def region(frame: int, points: slice) -> np.ndarray:
        p = poses.keypoints[0][FACE][points] * (layout.content_w / portrait.size[0])
        x0, y0 = (p.min(0) - 6).astype(int)
        x1, y1 = (p.max(0) + 12).astype(int)
        return layout.crop(maps[frame])[max(y0, 0):y1, max(x0, 0):x1].astype(int)

    assert np.abs(region(2, slice(48, 68)) - region(0, slice(48, 68))).sum() > 0
    assert np.abs(region(2, slice(17, 27)) - region(0, slice(17, 27))).sum() == 0


def test_options_from_env_and_validation(monkeypatch) -> None:
    monkeypatch.setenv("VERSA_DIFFUSION_OFFLOAD", "model")
    monkeypatch.setenv("VERSA_DIFFUSION_CFG_BATCH", "0")
    monkeypatch.setenv("VERSA_DIFFUSION_DECODE_CHUNK_SIZE", "4")
    opts = options_from_env(steps=10, window=None)
    assert (opts.offload, opts.cfg_batch, opts.decode_chunk_size, opts.steps, opts.window) == ("model", False, 4, 10, 72)
    monkeypatch.setenv("VERSA_DIFFUSION_CFG_BATCH", "maybe")
    with pytest.raises(ValueError, match="VERSA_DIFFUSION_CFG_BATCH"):
        options_from_env()
    monkeypatch.delenv("VERSA_DIFFUSION_CFG_BATCH")
    with pytest.raises(ValueError, match="offload must be one of"):
        options_from_env(offload="sometimes")
    with pytest.raises(ValueError, match="overlap"):
        RuntimeOptions(window=8, overlap=8).validated()


def test_memory_controls_keep_the_result(monkeypatch) -> None:
    """Guidance in two passes, SDPA and model offload (wired with device='cpu') change memory, not output."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    base = tiny_pipeline()
    image, poses, cond = inputs(4)

    def run(pipe, guidance=2.0):
        return pipe(image, poses, cond, num_inference_steps=2, generator=torch.Generator().manual_seed(1), window=4,
                    overlap=0, guidance=guidance).frames

    ref = run(base)
    notes = apply_runtime(base, RuntimeOptions(dtype="float32", offload="model", cfg_batch=False), device="cpu")
    assert any("offload" in n for n in notes) and any("SDPA" in n for n in notes)
    assert base._all_hooks and hasattr(base.unet, "_hf_hook")            # accelerate's hooks are on
    assert all(isinstance(p, AttnProcessor2_0) for p in base.unet.attn_processors.values())
    assert base._execution_device.type == "cpu"
    np.testing.assert_allclose(run(base), ref, atol=1e-4)        # float summation order only
    assert np.abs(run(base, guidance=3.0) - ref).max() > 1e-3      # guidance itself does matter
    assert base.cfg_batch is False


def test_estimate_grows_with_the_video_and_sets_the_gpu_lease(tmp_path, monkeypatch) -> None:
    cal = Calibration(0.02, 0.05, 30.0, 1.5, "test")
    opts = RuntimeOptions()
    short = estimate_render(72, 1024, 576, opts, cal=cal)
    long = estimate_render(250, 1024, 576, opts, cal=cal)
    assert short.windows == 1 and long.windows == 4 and long.frame_steps == 4 * 72 * 25
    assert long.unet_s == pytest.approx(4 * 72 * 25 * 0.02)
    assert long.seconds > short.seconds
    assert estimate_render(250, 1024, 576, opts, cal=cal, offload=True).seconds > long.seconds
    assert estimate_render(250, 1024, 576, opts, cal=cal, loaded=True).seconds == pytest.approx(long.seconds - 30)
    assert gpu_lease_seconds(long) > gpu_lease_seconds(short) >= 60
    path = cal.write(tmp_path / "cal.json")
    monkeypatch.setenv("VERSA_DIFFUSION_CALIBRATION", str(path))
    from pipeline.render.diffusion.estimate import calibration

    assert calibration() == cal
    monkeypatch.setenv("VERSA_DIFFUSION_CALIBRATION", str(tmp_path / "none.json"))
    assert calibration() is PRIOR and "not measured" in estimate_render(10, 64, 64).describe()


def test_zero_gpu_gets_a_duration_from_the_video_length(tmp_path, monkeypatch) -> None:
    """A stand-in ``spaces`` module records what spaces.GPU was asked for and, as ZeroGPU does,
    pickles the call's arguments on the way into the GPU worker."""
    import pickle

    asked = []
    fake = types.ModuleType("spaces")

    def GPU(duration=60):
        def deco(fn):
            def wrapper(*args, **kwargs):
                asked.append(duration(*args, **kwargs) if callable(duration) else duration)
                args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))
                return fn(*args, **kwargs)
            return wrapper
        return deco

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    import pipeline.render.diffusion.zerogpu as zg

    zg = importlib.reload(zg)
    try:
        assert zg.run_gpu_job(str.upper, ("direct",), 99) == "DIRECT" and asked == []   # not a ZeroGPU Space
        monkeypatch.setenv("SPACES_ZERO_GPU", "true")
        short, long = estimate_render(72, 1024, 576), estimate_render(250, 1024, 576)
        assert zg.run_gpu_job(str.upper, ("on gpu",), gpu_lease_seconds(short)) == "ON GPU"
        zg.run_gpu_job(len, ("x",), gpu_lease_seconds(long))
        assert asked == [gpu_lease_seconds(short), gpu_lease_seconds(long)] and asked[1] > asked[0]
        # the renderer's own GPU call goes through it with picklable arguments
        from pipeline.render.diffusion.render import render_frames
        from tests.test_render_warp import hold, silent_then_loud, synthetic_portrait

        pipe = tiny_pipeline()
        torch.nn.init.normal_(pipe.pose_net.final_proj.weight, std=0.1)
        folder = pipe.save_pretrained(tmp_path / "w")
        portrait = synthetic_portrait(96)
        frames = list(render_frames(portrait, hold(portrait, 3, fps=25.0), silent_then_loud(0.12), resolution=64,
                                    weights_dir=folder, device="cpu", dtype="float32", offload="none", steps=1,
                                    window=3, overlap=0))
        assert len(frames) == 3 and frames[0].shape == (64, 64, 3) and len(asked) == 3 and asked[2] >= 60
    finally:
        monkeypatch.delitem(sys.modules, "spaces")
        importlib.reload(zg)
    assert zg.spaces is None or zg.spaces is not fake
