"""CPU render figures: `python -m benchmarks.render`.

Prints a table, then one machine-readable line:
warp_fps_512=<float> realtime_ratio=<float> background_ssim=<float> identity_psnr_first_frame=<float>
mouth_audio_corr=<float>

- warp_fps_512: frames per second of the warp renderer at 512 px (rig built beforehand; the
  audio drivers, skinning, rasterising and compositing included; encoding not).
  realtime_ratio: that over the 25 fps video rate (>= 1 is real time).
- background_ssim: mean SSIM, over every frame, of the pixels the person never reaches (outside
  the union of the warped person masks over the whole video, grown by 8 px) against the portrait.
- identity_psnr_first_frame: the first frame (the portrait's own pose) against the portrait.
- mouth_audio_corr: Pearson correlation between the mouth opening mediapipe's face mesh measures
  on the rendered frames (inner-lip gap / face height) and the speech-band energy per frame (dB,
  floored at silence).

Portrait: scikit-image's astronaut (analysed by pipeline.portrait.analysis); speech: jfk.flac
(~11 s). Poses (--poses): "generated" (default) - the whole pipeline: motion generated from the
speech with one prompted segment (GENERATED_PROMPT) and the rest audio-driven, then token2pose with
the default relation bank; or "moved" - the portrait's own pose moved (a torso sway, a head tilt,
one forearm waving), controlled motion that exercises every bone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from pipeline.paths import shared_data_dir
from pipeline.constants import VIDEO_FPS
from pipeline.portrait.wholebody import BODY_INDEX as J
from pipeline.portrait.wholebody import FACE, WholeBodyPose

REPO = Path(__file__).resolve().parents[1]
SPEECH = shared_data_dir() / "speech" / "jfk.flac"


GENERATED_PROMPT = (3.0, 6.0, "a person raises both arms")


def generated_poses(portrait, audio) -> WholeBodyPose:
    """Poses of the full pipeline: generate() on the speech, then token2pose (bank) at 25 fps."""
    from pipeline.motion.generate import generate
    from pipeline.token2pose import poses_for_portrait

    a, b, prompt = GENERATED_PROMPT
    segments = [(0.0, a, None), (a, min(b, audio.duration_s), prompt)]
    if audio.duration_s > b:
        segments.append((b, audio.duration_s, None))
    result = generate(audio, segments, seed=0)
    return poses_for_portrait(result, portrait, fps=VIDEO_FPS)


def _row(name: str, value: str) -> None:
    print(f"| {name:<52} | {value:>14} |")


def load_portrait(resolution: int):
    """The astronaut, analysed; the drawn test portrait when the analysis stage is not installed."""
    try:
        from skimage import data

        from pipeline.portrait.analysis import analyze_portrait
    except ImportError as exc:
        from tests.test_render_warp import synthetic_portrait

        print(f"note: {exc}; using the drawn test portrait instead of the astronaut")
        return synthetic_portrait(resolution), "drawn test portrait"
    return analyze_portrait(data.astronaut()), "skimage astronaut"


def _rotate(points: np.ndarray, centre: np.ndarray, degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - centre) @ r.T + centre


def moved_pose(portrait, frames: int, fps: float = VIDEO_FPS) -> WholeBodyPose:
    """The portrait's pose with a slow torso sway, a head tilt and a waving forearm (starts at rest)."""
    base = portrait.pose.keypoints[0].astype(np.float64)
    kp = np.repeat(base[None], frames, 0)
    t = np.arange(frames) / fps
    ramp = np.clip(t / 1.0, 0, 1)                        # frame 0 is the portrait's own pose
    hips = (base[J["left_hip"]] + base[J["right_hip"]]) / 2
    neck = (base[J["left_shoulder"]] + base[J["right_shoulder"]]) / 2
    head = np.r_[0:5, FACE.start:FACE.stop]
    arm = [J["right_elbow"], J["right_wrist"]] + list(range(112, 133))
    forearm = [J["right_wrist"]] + list(range(112, 133))
    for i in range(frames):
        sway = 3.0 * np.sin(2 * np.pi * t[i] / 4.0) * ramp[i]
        tilt = 7.0 * np.sin(2 * np.pi * t[i] / 3.0) * ramp[i]
        lift = 35.0 * (0.5 - 0.5 * np.cos(2 * np.pi * t[i] / 5.0))
        wave = lift + 25.0 * np.sin(2 * np.pi * t[i] / 1.2) * ramp[i] * (lift / 35.0)
        p = kp[i]
        p[head] = _rotate(p[head], neck, tilt)
        p[arm] = _rotate(p[arm], p[J["right_shoulder"]], 0.4 * lift)
        p[forearm] = _rotate(p[forearm], p[J["right_elbow"]], wave)
        kp[i] = _rotate(p, hips, sway)
    return WholeBodyPose(kp.astype(np.float32), np.repeat(portrait.pose.scores, frames, 0),
                         portrait.pose.image_size, fps)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two grey images (Gaussian window, sigma 1.5, as Wang et al.)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma ** 2, blur(b * b) - mb ** 2, blur(a * b) - ma * mb
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2))


def mouth_openings(frames: list[np.ndarray]) -> np.ndarray:
    """Inner-lip gap / face height per frame from mediapipe's face mesh (NaN where no face)."""
    import mediapipe as mp

    out = np.full(len(frames), np.nan)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as mesh:
        for i, frame in enumerate(frames):
            res = mesh.process(frame)
            if not res.multi_face_landmarks:
                continue
            lm = res.multi_face_landmarks[0].landmark
            h, w = frame.shape[:2]
            pt = lambda k: np.array([lm[k].x * w, lm[k].y * h])  # noqa: E731
            out[i] = np.hypot(*(pt(14) - pt(13))) / max(np.hypot(*(pt(152) - pt(10))), 1e-6)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.0, help="cut the speech to this length (0 = all)")
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--poses", choices=("generated", "moved"), default="generated",
                        help="pose sequence: the full pipeline's, or the portrait's own pose moved")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from pipeline.audio import load_audio
    from pipeline.render.audio_drive import band_energy_db
    from pipeline.render.warp import WarpConfig, WarpRenderer

    audio = load_audio(SPEECH)
    if args.seconds > 0:
        audio = audio.slice(0.0, args.seconds)
    t0 = time.perf_counter()
    portrait, source = load_portrait(args.resolution)
    t_analyse = time.perf_counter() - t0
    n = int(round(audio.duration_s * VIDEO_FPS))
    if args.poses == "generated":
        poses = generated_poses(portrait, audio)
        pose_source = f"generated motion (prompt {GENERATED_PROMPT[2]!r} at {GENERATED_PROMPT[0]:g}-" \
                      f"{GENERATED_PROMPT[1]:g} s, audio-driven elsewhere) -> token2pose bank"
    else:
        poses = moved_pose(portrait, n)
        pose_source = "moved portrait pose"

    t0 = time.perf_counter()
    renderer = WarpRenderer(portrait, WarpConfig(resolution=args.resolution))
    t_rig = time.perf_counter() - t0
    renderer.render_pose(renderer.rest.keypoints, portrait.pose.scores[0])   # numba JIT / cache warm-up
    frames, coverage = [], None
    t0 = time.perf_counter()
    for frame in renderer.frames(poses, audio):
        frames.append(frame)
        cov = renderer.last_alpha > 5
        coverage = cov if coverage is None else coverage | cov
    t_render = time.perf_counter() - t0
    fps = len(frames) / t_render

    ref = cv2.resize(portrait.image, (renderer.width, renderer.height), interpolation=cv2.INTER_AREA)
    reach = cv2.dilate(coverage.astype(np.uint8), np.ones((17, 17), np.uint8)) > 0
    far = ~reach
    ref_grey = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY)
    ssims = [float(ssim_map(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), ref_grey)[far].mean()) for f in frames] \
        if far.any() else [float("nan")]
    mse = float(np.mean((frames[0].astype(np.float64) - ref) ** 2))
    psnr = 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)
    t0 = time.perf_counter()
    measured = mouth_openings(frames)
    t_mesh = time.perf_counter() - t0
    energy = np.maximum(band_energy_db(audio.samples, audio.sample_rate, VIDEO_FPS, len(frames)), -55.0)
    ok = np.isfinite(measured)
    corr = float(np.corrcoef(measured[ok], energy[ok])[0, 1]) if ok.sum() > 10 else float("nan")

    print(f"| {'measure':<52} | {'value':>14} |")
    print(f"|{'-' * 54}|{'-' * 16}|")
    _row("portrait", source)
    _row("pose sequence", args.poses)
    _row("speech (s)", f"{audio.duration_s:.2f}")
    _row("frames", f"{len(frames)}")
    _row("output size", f"{renderer.width}x{renderer.height}")
    verts = sum(len(layer.mesh.rest) for layer in renderer.layers)
    tris = sum(len(layer.mesh.triangles) for layer in renderer.layers)
    _row(f"mesh vertices / triangles ({len(renderer.layers)} layers)", f"{verts}/{tris}")
    _row("portrait analysis (s)", f"{t_analyse:.2f}")
    _row("rig + fills (s)", f"{t_rig:.3f}")
    _row("render time (s)", f"{t_render:.2f}")
    _row("ms per frame", f"{1000 * t_render / len(frames):.2f}")
    _row("warp fps", f"{fps:.1f}")
    _row("far-background share of the frame", f"{far.mean():.3f}")
    _row("background SSIM (mean over frames)", f"{np.nanmean(ssims):.4f}")
    _row("background SSIM (worst frame)", f"{np.nanmin(ssims):.4f}")
    _row("identity PSNR first frame (dB)", f"{psnr:.2f}")
    _row("face mesh found (share of frames)", f"{ok.mean():.3f}")
    _row("face mesh time (s)", f"{t_mesh:.1f}")
    _row("mouth opening vs audio energy (Pearson r)", f"{corr:.3f}")
    print(f"note: poses = {pose_source}")
    print(f"warp_fps_512={fps:.2f} realtime_ratio={fps / VIDEO_FPS:.3f} background_ssim={np.nanmean(ssims):.4f} "
          f"identity_psnr_first_frame={psnr:.2f} mouth_audio_corr={corr:.3f}")


if __name__ == "__main__":
    main()
