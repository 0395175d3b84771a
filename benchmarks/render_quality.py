"""Does the body hold up on ordinary portraits? `python -m benchmarks.render_quality`.

Every shared portrait (../shared/data/portraits) plus scikit-image's astronaut and camera, each
with two motions from the full pipeline (generate -> token2pose bank, fitted to the portrait):
"audio" (audio-driven gestures on the speech) and "prompted" (one segment "a person raises both
arms", one "a person waves with the right hand"), rendered by the warp renderer at 512 px and
measured on the rendered frames with mediapipe (a second opinion that the renderer cannot game):

- pose_err: distance between the elbows and wrists the render was asked for (the fitted poses,
  as the renderer smooths them) and those mediapipe Pose finds in the frame, in shoulder widths;
  per frame the mean over the joints both sides see, then the median and 90th percentile. An
  arm is measured when its forearm and hand are in the frame or below it (the elbow asked inside
  it, the wrist and at least half of the hand's points not over its top or side edges; without
  hand points, the wrist HAND_MARGIN shoulder widths inside those edges; a joint below the bottom
  edge is not measured itself, as before): with the hands of raised
  arms cut off by the top of a half-body photo, mediapipe Pose puts both arms hanging at the
  sides (it guesses a default arm, with high visibility), which is not the render's error. The
  figure over every joint asked inside the frame (the earlier rule) is printed as a note.
- detached: share of frames whose person mask (SelfieSegmentation > 0.5) has a second blob over
  2 % of the largest (a forearm or hand come off the body).
- holes: share of the person's filled outline that the mask leaves empty (a torn mesh, a gap
  between layers).
- face_ssim: SSIM of the face above the mouth, the frame aligned onto the portrait by a
  similarity fitted on FaceMesh points (rigid head motion allowed), against the portrait.
- fps: warp frames per second at 512 px (rig built beforehand; measurement excluded).

mediapipe runs on every measured frame on its own (static-image mode): its video mode smooths
landmarks over time, which lags behind fast gestures and would be counted as the renderer's error.

What the figures cannot see: whether a fill looks plausible, whether a sleeve reads as cloth,
whether a hand is the right way round. Look at the contact sheet (--sheet writes
docs/render_quality.png).

Prints a table per portrait and motion, then one line:
pose_err_median=<f> pose_err_p90=<f> detached_share=<f> hole_share=<f> face_ssim=<f> realtime_ratio=<f>
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.paths import shared_data_dir
from pipeline.constants import VIDEO_FPS
from pipeline.portrait.wholebody import BODY_INDEX as J
from pipeline.portrait.wholebody import LEFT_HAND, RIGHT_HAND

from .render import ssim_map

REPO = Path(__file__).resolve().parents[1]
DATA = shared_data_dir()
SPEECH = DATA / "speech" / "jfk.flac"
SHEET = REPO / "docs" / "render_quality.png"
PROMPTS = ((1.0, 3.5, "a person raises both arms"), (3.5, 6.0, "a person waves with the right hand"))
ARM_JOINTS = (("left_elbow", 13), ("right_elbow", 14), ("left_wrist", 15), ("right_wrist", 16))
"""COCO-WholeBody joint name -> mediapipe Pose landmark (both name the person's own side)."""
HAND_MARGIN = 0.2
"""An arm is measured when its wrist is at least this many shoulder widths inside the frame (the hand shows)."""
FACE_UPPER = None   # filled lazily: FaceMesh points above the mouth


@dataclass
class ClipFigures:
    portrait: str
    motion: str
    pose_err: np.ndarray      # per measured frame (NaN where nothing comparable)
    pose_err_any: np.ndarray  # the same over every joint asked inside the frame (hands cut off or not)
    detached: np.ndarray      # per measured frame, bool
    holes: np.ndarray         # per measured frame
    face_ssim: np.ndarray     # per measured frame
    fps: float
    rig_s: float
    photo_holes: float = float("nan")   # the same hole measure on the input photo (at render size)


def portraits() -> dict[str, np.ndarray | str]:
    from skimage import data

    found: dict[str, np.ndarray | str] = {p.stem: str(p) for p in sorted((DATA / "portraits").glob("*.jpg"))}
    found["astronaut"] = data.astronaut()
    found["camera"] = np.stack([data.camera()] * 3, -1)
    return found


def motions(audio) -> dict:
    """The two generated motions on the speech (tokens + decoded joints), made once."""
    from pipeline.motion.generate import generate

    dur = audio.duration_s
    segments = [(0.0, PROMPTS[0][0], None)] + [(a, min(b, dur), p) for a, b, p in PROMPTS if a < dur]
    if dur > PROMPTS[-1][1]:
        segments.append((PROMPTS[-1][1], dur, None))
    return {"audio": generate(audio, [(0.0, dur, None)], seed=0), "prompted": generate(audio, segments, seed=0)}


def _face_points(mesh, frame: np.ndarray) -> np.ndarray | None:
    res = mesh.process(frame)
    if not res.multi_face_landmarks:
        return None
    h, w = frame.shape[:2]
    return np.array([[p.x * w, p.y * h] for p in res.multi_face_landmarks[0].landmark[:468]])


def _upper_face_index(points: np.ndarray) -> np.ndarray:
    """Face-mesh points above the upper lip (index 0 is the upper lip's top, 1 the nose tip)."""
    return np.nonzero(points[:, 1] < points[0, 1] - 0.02 * np.ptp(points[:, 1]))[0]


def _face_ssim(frame: np.ndarray, ref: np.ndarray, pts: np.ndarray | None, ref_pts: np.ndarray,
               upper: np.ndarray) -> float:
    if pts is None:
        return float("nan")
    m, _ = cv2.estimateAffinePartial2D(pts[upper].astype(np.float32), ref_pts[upper].astype(np.float32))
    if m is None:
        return float("nan")
    h, w = ref.shape[:2]
    aligned = cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    region = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(ref_pts[upper].astype(np.int32)), 1)
    grey = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)  # noqa: E731
    return float(ssim_map(grey(aligned), grey(ref))[region > 0].mean())


def _blob_figures(mask: np.ndarray) -> tuple[bool, float]:
    from scipy.ndimage import binary_fill_holes

    person = mask > 0.5
    count, _, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8), connectivity=8)
    areas = np.sort(stats[1:, cv2.CC_STAT_AREA])[::-1]
    detached = len(areas) > 1 and areas[1] > 0.02 * areas[0]
    filled = binary_fill_holes(person)
    holes = float((filled & ~person).sum()) / max(float(filled.sum()), 1.0)
    return bool(detached), holes


def measure_clip(name: str, motion: str, portrait, poses, audio, every: int, frames_out: list | None,
                 sheet_times: tuple[float, ...]) -> ClipFigures:
    import mediapipe as mp

    from pipeline.render.warp import WarpConfig, WarpRenderer

    t0 = time.perf_counter()
    renderer = WarpRenderer(portrait, WarpConfig(resolution=512))
    t_rig = time.perf_counter() - t0
    n = renderer.prepare(poses, audio)
    renderer.render_frame(0)                                  # warm-up (numba cache)
    ref = cv2.resize(portrait.image[..., :3], (renderer.width, renderer.height), interpolation=cv2.INTER_AREA)
    frames, t_render = [], 0.0
    for i in range(n):
        t0 = time.perf_counter()
        frame = renderer.render_frame(i)
        t_render += time.perf_counter() - t0
        if i % every == 0:
            frames.append((i, frame))
    if frames_out is not None:
        picks = [min(int(round(t * VIDEO_FPS)), n - 1) for t in sheet_times]
        frames_out.extend(renderer.render_frame(i) for i in picks)
    seq_kp, seq_sc = renderer._seq.keypoints, renderer._seq.scores   # what the renderer was asked for
    errs, errs_any, det, holes, ssims = [], [], [], [], []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose, \
            mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg, \
            mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        ref_pts = _face_points(mesh, ref)
        upper = _upper_face_index(ref_pts) if ref_pts is not None else None
        photo_holes = _blob_figures(seg.process(ref).segmentation_mask)[1]
        for i, frame in frames:
            j = min(i, len(seq_kp) - 1)
            res = pose.process(frame)
            kp, sc = seq_kp[j], seq_sc[j]
            sw = float(np.hypot(*(kp[J["left_shoulder"]] - kp[J["right_shoulder"]])))
            e, e_any = [], []
            if res.pose_landmarks is not None and sw > 1:
                lm = res.pose_landmarks.landmark
                whole = {side: _hand_in_frame(kp, sc, side, sw, renderer.width, renderer.height)
                         for side in ("left", "right")}
                for joint, k in ARM_JOINTS:
                    asked = kp[J[joint]]
                    inside = 0 <= asked[0] < renderer.width and 0 <= asked[1] < renderer.height
                    if sc[J[joint]] < 0.3 or not inside or lm[k].visibility < 0.5:
                        continue
                    found = np.array([lm[k].x * renderer.width, lm[k].y * renderer.height])
                    err = np.hypot(*(found - asked)) / sw
                    e_any.append(err)
                    if whole[joint.split("_")[0]]:
                        e.append(err)
            errs.append(float(np.mean(e)) if e else np.nan)
            errs_any.append(float(np.mean(e_any)) if e_any else np.nan)
            d, hl = _blob_figures(seg.process(frame).segmentation_mask)
            det.append(d)
            holes.append(hl)
            ssims.append(_face_ssim(frame, ref, _face_points(mesh, frame), ref_pts, upper)
                         if ref_pts is not None else np.nan)
    return ClipFigures(name, motion, np.array(errs), np.array(errs_any), np.array(det), np.array(holes), np.array(ssims), n / t_render, t_rig,
                       photo_holes)


def _hand_in_frame(kp: np.ndarray, sc: np.ndarray, side: str, shoulder_width: float, width: int,
                   height: int) -> bool:
    """Whether an arm's forearm and hand are in the frame (or below it): the elbow inside it, the
    wrist and most of the hand's points asked for not over its top or sides (without hand points,
    the wrist HAND_MARGIN inside them)."""
    elbow, wrist = kp[J[f"{side}_elbow"]], kp[J[f"{side}_wrist"]]
    if not (0 <= elbow[0] < width and 0 <= elbow[1] < height and 0 <= wrist[0] < width and wrist[1] >= 0):
        return False
    # (a hand below the bottom edge is where a hanging arm puts it, the arm mediapipe assumes when
    # it sees no hand: only hands gone over the top or the sides make it guess wrong)
    hand = LEFT_HAND if side == "left" else RIGHT_HAND
    drawn = sc[hand] >= 0.3
    if drawn.sum() >= 5:
        pts = kp[hand][drawn]
        shown = (pts[:, 0] >= 0) & (pts[:, 0] < width) & (pts[:, 1] >= 0)
        return bool(shown.mean() >= 0.5)
    m = HAND_MARGIN * shoulder_width
    return bool(m <= wrist[0] < width - m and wrist[1] >= m)


def _q(x: np.ndarray, q: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if len(x) else float("nan")


def write_sheet(rows: list[tuple[str, list[np.ndarray]]], path: Path, tile: int = 128) -> None:
    """A small PNG: one row per portrait, one column per moment of the prompted clip."""
    from PIL import Image

    lines = []
    for _, frames in rows:
        tiles = [cv2.resize(f, (tile, int(round(tile * f.shape[0] / f.shape[1]))), interpolation=cv2.INTER_AREA)
                 for f in frames]
        hmax = max(t.shape[0] for t in tiles)
        tiles = [np.pad(t, ((0, hmax - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
        lines.append(np.concatenate(tiles, 1))
    sheet = np.concatenate(lines, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                    dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each clip (speech cut to it)")
    parser.add_argument("--every", type=int, default=3, help="measure every n-th frame")
    parser.add_argument("--only", default="", help="comma-separated portrait names (default: all)")
    parser.add_argument("--sheet", action="store_true", help=f"write the contact sheet to {SHEET.relative_to(REPO)}")
    parser.add_argument("--sheet-portraits", type=int, default=8)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from pipeline.audio import load_audio
    from pipeline.portrait.analysis import analyze_portrait
    from pipeline.token2pose import poses_for_portrait

    if not SPEECH.exists():
        raise SystemExit(f"needs the shared data folder: {SPEECH} is missing")
    audio = load_audio(SPEECH)
    audio = audio.slice(0.0, min(args.seconds, audio.duration_s))
    made = motions(audio)
    chosen = portraits()
    if args.only:
        keep = set(args.only.split(","))
        chosen = {k: v for k, v in chosen.items() if k in keep}
    sheet_times = (0.0, 1.6, 2.4, 3.2, 4.2, 5.2)
    results: list[ClipFigures] = []
    sheet_rows = []
    print(f"| {'portrait':<18} | {'motion':<8} | {'pose_err med':>12} | {'p90':>6} | {'p90 any':>7} | {'detached':>8} | "
          f"{'holes':>8} | {'face_ssim':>9} | {'fps':>6} |")
    print(f"|{'-' * 20}|{'-' * 10}|{'-' * 14}|{'-' * 8}|{'-' * 9}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 8}|")
    # the sheet's rows are spread over the portraits (women and men, sleeves and bare arms, the
    # astronaut and camera at the end), not the first few of one kind
    on_sheet = set(np.unique(np.round(np.linspace(0, len(chosen) - 1, min(args.sheet_portraits, len(chosen))))
                             .astype(int)).tolist()) if chosen else set()
    for k, (name, source) in enumerate(chosen.items()):
        portrait = analyze_portrait(source)
        for motion, result in made.items():
            poses = poses_for_portrait(result, portrait, fps=VIDEO_FPS)
            sheet = [] if (args.sheet and motion == "prompted" and k in on_sheet) else None
            fig = measure_clip(name, motion, portrait, poses, audio, args.every, sheet, sheet_times)
            if sheet is not None:
                sheet_rows.append((name, sheet))
            results.append(fig)
            print(f"| {name:<18} | {motion:<8} | {_q(fig.pose_err, 50):>12.3f} | {_q(fig.pose_err, 90):>6.3f} | "
                  f"{_q(fig.pose_err_any, 90):>7.3f} | "
                  f"{fig.detached.mean():>8.3f} | {np.nanmean(fig.holes):>8.5f} | {np.nanmean(fig.face_ssim):>9.3f} | "
                  f"{fig.fps:>6.1f} |", flush=True)
    errs = np.concatenate([r.pose_err for r in results])
    detached = float(np.concatenate([r.detached for r in results]).mean())
    holes = float(np.nanmean(np.concatenate([r.holes for r in results])))
    ssim = float(np.nanmean(np.concatenate([r.face_ssim for r in results])))
    fps = float(np.median([r.fps for r in results]))
    if args.sheet and sheet_rows:
        write_sheet(sheet_rows, SHEET)
        print(f"note: contact sheet written to {SHEET.relative_to(REPO)} (prompted clip at "
              f"{', '.join(f'{t:g}' for t in sheet_times)} s)")
    print(f"note: {len(chosen)} portraits x {len(made)} motions, {audio.duration_s:.1f} s each, every "
          f"{args.every} frames measured; fps is the median over clips; rig build (cut, fills, meshes) "
          f"median {np.median([r.rig_s for r in results]):.2f} s per portrait")
    print(f"note: the hole measure on the input photos themselves: mean {np.nanmean([r.photo_holes for r in results]):.5f} "
          f"(an arm against the body down to the frame's edge, a hand on a hip enclose background in the photo too)")
    errs_any = np.concatenate([r.pose_err_any for r in results])
    print(f"note: pose_err over every elbow and wrist asked inside the frame, hands cut off by its edge or not "
          f"(the earlier rule; 'p90 any'): median {_q(errs_any, 50):.3f}, p90 {_q(errs_any, 90):.3f}; "
          f"frames with an arm measured: {np.isfinite(errs).mean():.2f} (any joint: {np.isfinite(errs_any).mean():.2f})")
    print(f"pose_err_median={_q(errs, 50):.3f} pose_err_p90={_q(errs, 90):.3f} detached_share={detached:.3f} "
          f"hole_share={holes:.5f} face_ssim={ssim:.3f} realtime_ratio={fps / VIDEO_FPS:.3f}")


if __name__ == "__main__":
    main()
