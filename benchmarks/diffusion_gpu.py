"""GPU figures of the diffusion renderer: `python -m benchmarks.diffusion_gpu` (needs CUDA).

The real SVD-xt UNet, VAE and CLIP image encoder configurations with random weights (speed and
memory do not depend on the values; nothing is downloaded) + the pose encoder + the
face-condition layers (random, so they run), at 576 x 1024 (portrait), 25 steps, guidance 2.0:

1. one 72-frame window: VersaAnimatorPipeline against diffusers' StableVideoDiffusionPipeline
   with the same UNet, VAE (fp16), image encoder, steps and size, in the same run
   (overhead_vs_svd = our seconds / SVD's seconds);
2. a 10 s video (250 frames at 25 fps) in 72-frame windows sharing 6, with the project's default
   float32 VAE: seconds per frame, peak memory, time split (UNet incl. face layers / face layers /
   VAE / pose encoder / rest);
3. the same window with model CPU offload through accelerate (--offload-steps steps: the peak
   does not depend on the step count): offload_peak_gib.

Prints a table, then one machine-readable line:
s_per_frame=<f> peak_gib=<f> overhead_vs_svd=<f> offload_peak_gib=<f>
Targets (issue 15): overhead_vs_svd <= 1.15, offload_peak_gib <= 16.

--write-calibration PATH writes the rates the studio's time estimate uses
(pipeline/render/diffusion/estimate.py). --tiny runs the same code with a tiny configuration on
the CPU in seconds (peaks are then the process's resident memory, not GPU memory): a check that
the script works, not a measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import resource
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

GIB = 2 ** 30


@dataclass
class Setup:
    device: str
    size: str
    height: int
    width: int
    window: int
    overlap: int
    video_frames: int
    steps: int
    offload_steps: int
    decode_chunk: int


class Timers:
    """Wall time per part, measured around each call (synchronising CUDA before and after)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.total: dict[str, float] = defaultdict(float)
        self._undo: list = []

    def _sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    def wrap(self, obj, name: str, label: str) -> None:
        original = getattr(obj, name)

        def timed(*args, **kwargs):
            self._sync()
            t0 = time.perf_counter()
            out = original(*args, **kwargs)
            self._sync()
            self.total[label] += time.perf_counter() - t0
            return out

        own = name in vars(obj)
        setattr(obj, name, timed)
        self._undo.append((obj, name, original, own))

    def remove(self) -> None:
        for obj, name, original, own in reversed(self._undo):
            if own:
                setattr(obj, name, original)
            else:
                delattr(obj, name)
        self._undo.clear()


def peak_reset(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated() / GIB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB  # Linux: KiB


@contextlib.contextmanager
def timed(device: str):
    box = {}
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    t0 = time.perf_counter()
    yield box
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    box["s"] = time.perf_counter() - t0


def build(setup: Setup):
    """(ours with the SVD pipeline's fp16 VAE, ours with the default float32 VAE, SVD's pipeline)."""
    import torch
    from diffusers import StableVideoDiffusionPipeline

    from pipeline.render.diffusion.conditions import VersaConditions
    from pipeline.render.diffusion.pipeline import VersaAnimatorPipeline
    from pipeline.render.diffusion.pose_encoder import PoseNet
    from pipeline.render.diffusion.runtime import RuntimeOptions, apply_runtime
    from pipeline.render.diffusion.svd_configs import build_models

    half = torch.float16 if setup.device.startswith("cuda") else torch.float32
    m = build_models(setup.size, setup.device, unet_dtype=half)
    vae32 = m["vae"]
    vae16 = type(vae32).from_config(vae32.config).to(setup.device, half).eval()
    vae16.load_state_dict(vae32.state_dict())
    unet = m["unet"]
    torch.manual_seed(1)
    with torch.device(setup.device):
        pose_net = PoseNet(noise_latent_channels=unet.config.block_out_channels[0]).eval()
        conditions = VersaConditions.for_unet(unet).eval()
    for p in (pose_net.final_proj.weight, *[layer.to_out.weight for layer in conditions.layers]):
        torch.nn.init.normal_(p, std=0.02)      # "trained": the layers do their work
    pose_net, conditions = pose_net.to(half), conditions.to(half)
    common = dict(unet=unet, scheduler=m["scheduler"], pose_net=pose_net, conditions=conditions,
                  image_encoder=m["image_encoder"], feature_extractor=m["feature_extractor"])
    ours16 = VersaAnimatorPipeline(vae=vae16, **common)
    ours32 = VersaAnimatorPipeline(vae=vae32, **common)
    svd = StableVideoDiffusionPipeline(vae=vae16, image_encoder=m["image_encoder"], unet=unet,
                                       scheduler=m["scheduler"], feature_extractor=m["feature_extractor"])
    opts = RuntimeOptions(dtype="float16", offload="none", window=setup.window, overlap=setup.overlap,
                          steps=setup.steps, decode_chunk_size=setup.decode_chunk)
    for pipe in (ours16, ours32):
        apply_runtime(pipe, opts, setup.device)
    svd.set_progress_bar_config(disable=True)
    return ours16, ours32, svd


def inputs(setup: Setup, frames: int, audio_dim: int, cfg):
    from pipeline.render.diffusion.conditions import FrameConditions

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (setup.height, setup.width, 3), dtype=np.uint8)
    maps = np.zeros((frames, setup.height, setup.width, 3), np.uint8)
    for t in range(frames):   # a moving limb, as pose maps look: mostly black
        x = (7 * t) % max(1, setup.width - 40)
        maps[t, setup.height // 4: setup.height // 2, x:x + 24] = (255, 85, 0)
    cond = FrameConditions(audio=rng.normal(size=(frames, cfg.audio_window, audio_dim)).astype(np.float32),
                           mouth=rng.uniform(size=frames).astype(np.float32), blink=np.zeros(frames, np.float32),
                           expression=np.zeros(frames, np.int64),
                           face=image[:cfg.face_size * 2, :cfg.face_size * 2])
    return image, maps, cond


def run_ours(pipe, setup: Setup, frames: int, steps: int):
    import torch

    cfg = pipe.conditions.config
    image, maps, cond = inputs(setup, frames, cfg.audio_dim, cfg)
    g = torch.Generator(device=pipe._execution_device).manual_seed(0)
    return pipe(image, maps, cond, num_frames=frames, num_inference_steps=steps, guidance=2.0, generator=g,
                window=setup.window, overlap=setup.overlap, output_type="uint8",
                decode_chunk_size=setup.decode_chunk).frames


def run_svd(svd, setup: Setup, frames: int, steps: int):
    import torch
    from PIL import Image

    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (setup.height, setup.width, 3), dtype=np.uint8))
    g = torch.Generator(device=setup.device).manual_seed(0)
    return svd(image, height=setup.height, width=setup.width, num_frames=frames, num_inference_steps=steps,
               min_guidance_scale=2.0, max_guidance_scale=2.0, decode_chunk_size=setup.decode_chunk, generator=g,
               output_type="np").frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny configuration on the CPU (a check, not a measurement)")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default 25; --tiny: 2)")
    parser.add_argument("--video-seconds", type=float, default=None, help="video length at 25 fps (default 10)")
    parser.add_argument("--window", type=int, default=None, help="window frames (default 72; --tiny: 6)")
    parser.add_argument("--overlap", type=int, default=None, help="frames shared by windows (default 6; --tiny: 2)")
    parser.add_argument("--offload-steps", type=int, default=2, help="steps of the offload run (default 2)")
    parser.add_argument("--decode-chunk", type=int, default=8, help="frames the VAE decodes at once (default 8)")
    parser.add_argument("--skip-svd", action="store_true", help="leave out diffusers' pipeline (overhead = nan)")
    parser.add_argument("--write-calibration", help="write the rates for the studio's time estimate here (.json)")
    args = parser.parse_args(argv)

    import torch

    if args.tiny:
        setup = Setup("cpu", "tiny", 64, 96, args.window or 6, 2 if args.overlap is None else args.overlap,
                      int(round((args.video_seconds or 0.4) * 25)), args.steps or 2, args.offload_steps,
                      args.decode_chunk)
        torch.set_num_threads(1)
    else:
        if not torch.cuda.is_available():
            print("error: this benchmark measures a CUDA GPU and none is available here (torch "
                  f"{torch.__version__}, cuda {torch.version.cuda}); run it on a GPU machine, or use --tiny to "
                  "check that the script runs (CPU, tiny model, no meaningful figures)", file=sys.stderr)
            return 2
        setup = Setup("cuda", "svd-xt", 1024, 576, args.window or 72, 6 if args.overlap is None else args.overlap,
                      int(round((args.video_seconds or 10.0) * 25)), args.steps or 25, args.offload_steps,
                      args.decode_chunk)
    device_name = torch.cuda.get_device_name(0) if setup.device == "cuda" else "CPU (tiny model)"
    print(f"device: {device_name}; {setup.size} {setup.width}x{setup.height}, {setup.steps} steps, window "
          f"{setup.window} / overlap {setup.overlap}, video {setup.video_frames} frames", flush=True)
    t_build = time.perf_counter()
    ours16, ours32, svd = build(setup)
    build_s = time.perf_counter() - t_build
    rows = []

    # warm-up (kernels, autotuning, allocator) for both pipelines
    run_ours(ours16, setup, min(setup.window, 8), 1)
    if not args.skip_svd:
        run_svd(svd, setup, min(setup.window, 8), 1)

    def split_timers(pipe, face: bool) -> Timers:
        t = Timers(setup.device)
        t.wrap(pipe.unet, "forward", "unet (incl. face layers)")
        t.wrap(pipe.vae, "decode", "vae decode")
        t.wrap(pipe.vae, "encode", "vae encode")
        if hasattr(pipe, "pose_net"):
            t.wrap(pipe.pose_net, "forward", "pose encoder")
        if face:
            for layer in pipe.conditions.layers:
                t.wrap(layer, "forward", "face layers")
        return t

    # 1. one window: ours vs diffusers' SVD pipeline (same UNet / VAE fp16 / encoder / steps / size);
    # both timed per UNet / VAE call alike (a sync per call), face layers not timed here
    splits: dict[str, tuple[Timers, float]] = {}
    peak_reset(setup.device)
    t1 = split_timers(ours16, face=False)
    with timed(setup.device) as ours_t:
        run_ours(ours16, setup, setup.window, setup.steps)
    t1.remove()
    ours_peak = peak_gib(setup.device)
    rows.append(("ours, 1 window (fp16 VAE)", setup.window, ours_t["s"], ours_peak))
    splits["ours, 1 window"] = (t1, ours_t["s"])
    overhead = float("nan")
    if not args.skip_svd:
        peak_reset(setup.device)
        t2 = split_timers(svd, face=False)
        with timed(setup.device) as svd_t:
            run_svd(svd, setup, setup.window, setup.steps)
        t2.remove()
        svd_peak = peak_gib(setup.device)
        rows.append(("diffusers SVD, 1 window", setup.window, svd_t["s"], svd_peak))
        splits["diffusers SVD, 1 window"] = (t2, svd_t["s"])
        overhead = ours_t["s"] / svd_t["s"]

    # 2. the video, default float32 VAE, time split with the face layers
    timers = split_timers(ours32, face=True)
    peak_reset(setup.device)
    with timed(setup.device) as video_t:
        frames = run_ours(ours32, setup, setup.video_frames, setup.steps)
    video_peak = peak_gib(setup.device)
    timers.remove()
    assert frames.shape[0] == setup.video_frames
    s_per_frame = video_t["s"] / setup.video_frames
    rows.append((f"ours, {setup.video_frames / 25:g} s video (fp32 VAE)", setup.video_frames, video_t["s"],
                 video_peak))

    # 3. model CPU offload, one window
    svd.to("cpu")
    ours16.to("cpu")
    from pipeline.render.diffusion.runtime import RuntimeOptions, apply_runtime

    apply_runtime(ours32, RuntimeOptions(offload="model", window=setup.window, overlap=setup.overlap),
                  setup.device)
    run_ours(ours32, setup, min(setup.window, 8), 1)
    peak_reset(setup.device)
    with timed(setup.device) as off_t:
        run_ours(ours32, setup, setup.window, setup.offload_steps)
    off_peak = peak_gib(setup.device)
    rows.append((f"ours + model offload, 1 window, {setup.offload_steps} steps", setup.window, off_t["s"], off_peak))

    print(f"\nmodels built in {build_s:.1f} s (random weights)\n")
    print(f"{'run':44s} {'frames':>6s} {'seconds':>9s} {'s/frame':>8s} {'peak GiB':>9s}")
    for name, n, s, peak in rows:
        print(f"{name:44s} {n:6d} {s:9.2f} {s / n:8.3f} {peak:9.2f}")
    splits["ours, video"] = (timers, video_t["s"])
    for name, (t, total) in splits.items():
        print(f"\ntime split, {name} (seconds; face layers run inside the UNet):")
        accounted = sum(v for k, v in t.total.items() if k != "face layers")
        for k, v in sorted(t.total.items(), key=lambda kv: -kv[1]):
            print(f"  {k:28s} {v:9.2f}  {100 * v / total:5.1f} %")
        print(f"  {'rest (CLIP, blending, ...)':28s} {total - accounted:9.2f}  {100 * (total - accounted) / total:5.1f} %")
    if args.write_calibration:
        from pipeline.render.diffusion.estimate import REF_PIXELS, Calibration
        from pipeline.render.diffusion.windows import sliding_windows

        scale = setup.width * setup.height / REF_PIXELS
        frame_steps = sum(len(w) for w in sliding_windows(setup.video_frames, setup.window, setup.overlap)) * setup.steps
        unet_rate = (timers.total["unet (incl. face layers)"] + timers.total["pose encoder"]) / frame_steps / scale
        vae_rate = (timers.total["vae decode"] + timers.total["vae encode"]) / setup.video_frames / scale
        one_window = ours_t["s"] / setup.steps * setup.offload_steps
        cal = Calibration(unet_rate, vae_rate, 60.0, max(1.0, off_t["s"] / max(one_window, 1e-9)),
                          f"measured on {device_name} by benchmarks/diffusion_gpu.py "
                          f"({time.strftime('%Y-%m-%d')})")
        print(f"wrote {cal.write(args.write_calibration)}")
    print(f"s_per_frame={s_per_frame:.4f} peak_gib={video_peak:.3f} overhead_vs_svd={overhead:.3f} "
          f"offload_peak_gib={off_peak:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
