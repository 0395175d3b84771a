"""Lip-sync figures of the warp renderer: `python -m benchmarks.lipsync [--sheet]`.

Prints a table, then one machine-readable line:
phone_error_rate=<f> mouth_energy_r=<f> mouth_viseme_r=<f> bilabial_closure=<f> rounding_ratio=<f> chin_ssim=<f>

Speech: jfk.flac with its known text and again without it (so the phones are recognised), the
three zh_*.wav clips (first SECONDS_ZH s) with the language set to Mandarin as a user picks it in
the studio (so the mouth comes from the spectral fallback), and two sentences synthesised with
espeak-ng word by word (so the true word times are known). Every clip is rendered at 512 px with
each of three shared portraits holding its own pose (the same speech reads differently on
different faces), every frame measured with mediapipe's FaceMesh:

- phone_error_rate: pocketsphinx's phone recognition against the phones of the known text
  (its dictionary pronunciation, as aligned); word timing error: the aligned word boundaries
  against the synthetic sentences' true ones (table only).
- mouth_energy_r / mouth_viseme_r: Pearson r of the measured inner-lip gap (over the face
  height) with the speech-band energy (dB, floored at silence) / with the viseme track's jaw,
  per clip, averaged over clips weighted by frames.
- bilabial_closure: share of the MBP viseme segments (m, b, p) during which the rendered mouth
  closes (gap within 0.01 face heights of the portrait's own).
- rounding_ratio: measured lip width (corners over the face width) on rounded (UW, OW) over wide
  (IY) viseme segments; below 1 when "oo" reads narrower than "ee".
- chin_ssim: SSIM of the mouth and chin (aligned onto the portrait by a rigid transform fitted on
  the upper face's mesh points, refined by ECC on the upper face's pixels) against the portrait,
  on frames where the mouth is nearly closed. "Nearly closed" is the track's own state: the lip
  gap it asks for, jaw * (1 - lip_closure), is at most NEARLY_CLOSED_TRACK (pressed m/b/p lips,
  pauses, the narrow stretches between syllables), whatever the renderer then draws; choosing
  the frames by the measured gap instead would skip exactly the frames that should be closed
  but show a 2-3 px opening FaceMesh cannot see. The table also gives the figure on the frames
  whose measured gap is within NEARLY_CLOSED of the portrait's (the old definition).

``--sheet`` also writes docs/mouth_shapes.png: one portrait, one frame per viseme, labelled.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.render import ssim_map
from pipeline.paths import shared_data_dir
from pipeline.constants import VIDEO_FPS
from pipeline.portrait.wholebody import WholeBodyPose

REPO = Path(__file__).resolve().parents[1]
DATA = shared_data_dir()
JFK_TEXT = ("And so, my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
SYNTHETIC = ("Bob brought my mother blue boots", "we keep moving through the deep blue pool")
PORTRAITS = ("halfbody_0014", "halfbody_man_0001", "halfbody_0140")
SECONDS_ZH = 4.0
NEARLY_CLOSED = 0.005
"""Frames whose measured lip gap is within this share of the face height of the portrait's own."""
NEARLY_CLOSED_TRACK = 0.08
"""Frames whose track lip gap (jaw * (1 - lip_closure), 0 .. 1) is at most this count as nearly closed."""
SHEET_PORTRAIT = "halfbody_0014"
_UPPER_FACE = (33, 133, 362, 263, 70, 105, 107, 336, 334, 300, 168, 6, 197, 195, 5, 4, 1, 98, 327, 234, 454, 10)
_MOUTH_CHIN = (61, 291, 0, 17, 152, 172, 397, 136, 365, 149, 378)


def _row(name: str, value: str) -> None:
    print(f"| {name:<52} | {value:>16} |")


def _espeak_words(sentence: str, rate: int = 16000):
    """The sentence spoken word by word by espeak-ng, with its true word times."""
    from pipeline.audio import load_audio

    pieces, truth, t = [np.zeros(int(0.3 * rate), np.float32)], [], 0.3
    with tempfile.TemporaryDirectory() as tmp:
        for k, word in enumerate(sentence.split()):
            path = Path(tmp) / f"{k}.wav"
            subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), word], check=True, capture_output=True)
            s = load_audio(path).samples
            loud = np.nonzero(np.abs(s) > 0.02 * np.abs(s).max())[0]
            s = s[loud[0]:loud[-1] + 1]
            pieces += [s, np.zeros(int(0.06 * rate), np.float32)]
            truth.append((word.lower(), t, t + len(s) / rate))
            t += (len(s) + int(0.06 * rate)) / rate
    pieces.append(np.zeros(int(0.3 * rate), np.float32))
    return load_audio((rate, np.concatenate(pieces))), truth


def clips():
    """(name, audio, known text or None, true word times or None, language or None)."""
    from pipeline.audio import load_audio

    jfk = load_audio(DATA / "speech" / "jfk.flac")
    out = [("jfk", jfk, JFK_TEXT, None, None), ("jfk_no_text", jfk, None, None, None)]
    for k, sentence in enumerate(SYNTHETIC):
        audio, truth = _espeak_words(sentence)
        out.append((f"espeak_{k}", audio, sentence, truth, None))
    for path in sorted((DATA / "speech").glob("zh_*.wav")):
        out.append((path.stem, load_audio(path).slice(0.0, SECONDS_ZH), None, None, "zh"))
    return out


def face_measures(frames: list[np.ndarray]) -> np.ndarray:
    """(N, 468, 2) mediapipe face-mesh points per frame (NaN where no face was found)."""
    import mediapipe as mp

    out = np.full((len(frames), 468, 2), np.nan)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as mesh:
        for i, frame in enumerate(frames):
            res = mesh.process(frame)
            if res.multi_face_landmarks:
                lm = res.multi_face_landmarks[0].landmark
                h, w = frame.shape[:2]
                out[i] = [(p.x * w, p.y * h) for p in lm[:468]]
    return out


_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415)


def opening_and_width(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = lambda a, b: np.hypot(*(pts[:, a] - pts[:, b]).T)  # noqa: E731
    return d(13, 14) / d(10, 152), d(61, 291) / d(234, 454)


def inner_lip_width(pts: np.ndarray) -> np.ndarray:
    """Horizontal extent of FaceMesh's inner-lip contour over the face width (table only: a
    second reading of the lip width, less tied to the two corner points)."""
    xs = pts[:, list(_INNER_LIP), 0]
    return (xs.max(axis=1) - xs.min(axis=1)) / np.hypot(*(pts[:, 234] - pts[:, 454]).T)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10 or np.std(a[ok]) < 1e-9 or np.std(b[ok]) < 1e-9:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _segment_frames(a: float, b: float, n: int) -> np.ndarray:
    lo, hi = int(np.floor(a * VIDEO_FPS)), int(np.ceil(b * VIDEO_FPS))
    return np.arange(max(lo, 0), min(max(hi, lo + 1), n))


def chin_ssim(frame: np.ndarray, pts: np.ndarray, ref_grey: np.ndarray, ref_pts: np.ndarray) -> float:
    """SSIM of the mouth-and-chin box, the frame aligned onto the portrait by the upper face."""
    src, dst = pts[list(_UPPER_FACE)], ref_pts[list(_UPPER_FACE)]
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32))
    if m is None:
        return float("nan")
    h, w = ref_grey.shape
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    # the mesh's points shift by pixels as a whole when the mouth moves (one regression for the
    # whole face), so the fit is refined on the upper face's own pixels (eyes to nose tip)
    (ux0, uy0), (ux1, uy1) = ref_pts[list(_UPPER_FACE)].min(0), ref_pts[[1, 4, 98, 327]].max(0)
    upper = np.zeros((h, w), np.uint8)
    upper[int(max(uy0, 0)):int(uy1), int(max(ux0, 0)):int(ux1)] = 1
    warp = m.astype(np.float32)
    warp[:, :2] /= np.sqrt(abs(np.linalg.det(m[:, :2])))   # rigid: the face's size does not change
    try:
        inv = cv2.invertAffineTransform(warp)
        _, inv = cv2.findTransformECC(ref_grey.astype(np.float32), grey.astype(np.float32), inv,
                                      cv2.MOTION_EUCLIDEAN, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5),
                                      upper, 3)
        warp = cv2.invertAffineTransform(inv)
    except cv2.error:
        pass
    aligned = cv2.warpAffine(grey, warp, (w, h), flags=cv2.INTER_LINEAR)
    box = ref_pts[list(_MOUTH_CHIN)]
    (x0, y0), (x1, y1) = box.min(0), box.max(0)
    pad = 0.1 * (x1 - x0)
    x0, y0, x1, y1 = int(max(0, x0 - pad)), int(max(0, y0 - pad)), int(min(w, x1 + pad)), int(min(h, y1 + pad))
    return float(ssim_map(aligned[y0:y1, x0:x1], ref_grey[y0:y1, x0:x1])[5:-5, 5:-5].mean())


def write_sheet(renderer, portrait, path: Path) -> None:
    """One frame per viseme (and a blink) of one portrait, mouth and chin, labelled."""
    from pipeline.render.warp.face_params import FaceFrame
    from pipeline.speech.visemes import VISEMES

    kp, sc = renderer.rest.keypoints, portrait.pose.scores[0]
    fa = renderer.face
    mx, my = fa.origin
    r = 0.85 * fa.mouth_w
    x0, x1 = int(mx - 1.3 * r), int(mx + 1.3 * r)
    y0, y1 = int(my - 1.2 * r), int(my + 1.25 * r)
    tiles = []
    # each viseme's own target (the face lifts the jaw itself for a closure); th shows the tongue tip
    shapes = [(name, FaceFrame(jaw=v.target[0], width=v.target[1], rounding=v.target[2], upper_lip=v.target[3],
                               lower_lip=v.target[4], lip_closure=v.target[5], tongue=float(name == "TH")))
              for name, v in VISEMES.items()]
    shapes.append(("blink", FaceFrame(blink=1.0)))
    for name, frame in shapes:
        img = renderer.render_pose(kp, sc, frame)
        if name == "blink":   # the eyes instead of the mouth
            ey = int(np.mean([fa.topology.rest[e[0]].mean(0)[1] for e in fa.topology.eyes]))
            crop = img[ey - (y1 - y0) // 2: ey + (y1 - y0) - (y1 - y0) // 2, x0:x1]
        else:
            crop = img[y0:y1, x0:x1]
        big = cv2.resize(crop, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
        cv2.rectangle(big, (0, 0), (big.shape[1], 22), (0, 0, 0), -1)
        cv2.putText(big, name, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(big)
    cols = 5
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.concatenate([np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)], 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", action="store_true", help="also write docs/mouth_shapes.png")
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips (0 = all)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from pipeline.portrait.analysis import analyze_portrait
    from pipeline.render.audio_drive import band_energy_db
    from pipeline.render.warp import WarpConfig, WarpRenderer
    from pipeline.speech.phonemes import phone_error_rate, recognise
    from pipeline.speech.visemes import mouth_track

    t_start = time.perf_counter()
    portraits, renderers, rest = {}, {}, {}
    for name in PORTRAITS:
        portraits[name] = p = analyze_portrait(DATA / "portraits" / f"{name}.jpg")
        renderers[name] = r = WarpRenderer(p, WarpConfig(resolution=args.resolution))
        ref = r.render_pose(r.rest.keypoints, p.pose.scores[0])
        ref_pts = face_measures([ref])[0]
        rest[name] = (ref, cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY), ref_pts, opening_and_width(ref_pts[None])[0][0])
    t_setup = time.perf_counter() - t_start

    all_clips = clips()
    if args.clips > 0:
        all_clips = all_clips[:args.clips]
    pers, timing, r_energy, r_visemes, weights = [], [], [], [], []
    closed_hits, rounded_w, wide_w, ssims, ssims_measured = [], [], [], [], []
    rounded_inner, wide_inner = [], []
    sources, t_render, t_measure, t_speech = [], 0.0, 0.0, 0.0
    runs = [(clip, pname) for clip in all_clips for pname in PORTRAITS]
    for (name, audio, text, truth, language), pname in runs:
        renderer, portrait = renderers[pname], portraits[pname]
        ref, ref_grey, ref_pts, rest_open = rest[pname]
        n = int(round(audio.duration_s * VIDEO_FPS))
        first = pname == PORTRAITS[0]
        t0 = time.perf_counter()
        track = mouth_track(audio, VIDEO_FPS, n, text, language=language)
        if text is not None and first:
            rec = recognise(audio.samples, audio.sample_rate)
            if track.source == "aligned":
                pers.append(phone_error_rate([p[0] for p in track.phones], [p[0] for p in rec.phones]))
            if truth is not None and len(track.words) == len(truth):
                timing += [abs(a[1] - b[1]) for a, b in zip(track.words, truth)]
                timing += [abs(a[2] - b[2]) for a, b in zip(track.words, truth)]
        t_speech += time.perf_counter() - t0
        if first:
            sources.append(f"{name}:{track.source}")
        poses = WholeBodyPose(np.repeat(portrait.pose.keypoints, n, 0), np.repeat(portrait.pose.scores, n, 0),
                              portrait.pose.image_size, VIDEO_FPS)
        t0 = time.perf_counter()
        frames = list(renderer.frames(poses, audio, mouth=track))
        t_render += time.perf_counter() - t0
        t0 = time.perf_counter()
        pts = face_measures(frames)
        t_measure += time.perf_counter() - t0
        opening, width = opening_and_width(pts)
        inner_w = inner_lip_width(pts)
        energy = np.maximum(band_energy_db(audio.samples, audio.sample_rate, VIDEO_FPS, n), -55.0)
        r_energy.append(_pearson(opening, energy))
        r_visemes.append(_pearson(opening, track.jaw[:n].astype(np.float64)))
        weights.append(n)
        for vis, a, b in track.visemes:
            idx = _segment_frames(a, b, n)
            if not len(idx) or not np.isfinite(opening[idx]).any():
                continue
            if vis == "MBP":
                closed_hits.append(float(np.nanmin(opening[idx]) <= rest_open + 0.01))
            mid = idx[len(idx) // 2]
            if vis in ("UW", "OW") and np.isfinite(width[mid]):
                rounded_w.append(width[mid])
                rounded_inner.append(inner_w[mid])
            elif vis == "IY" and np.isfinite(width[mid]):
                wide_w.append(width[mid])
                wide_inner.append(inner_w[mid])
        track_gap = (track.jaw * (1.0 - track.lip_closure))[:n]
        closed = np.nonzero(np.isfinite(pts[:, 0, 0]) & (track_gap <= NEARLY_CLOSED_TRACK))[0]
        for i in closed[:: max(1, len(closed) // 25)]:
            ssims.append(chin_ssim(frames[i], pts[i], ref_grey, ref_pts))
        measured = np.nonzero(np.isfinite(opening) & (opening <= rest_open + NEARLY_CLOSED))[0]
        for i in measured[:: max(1, len(measured) // 25)]:
            ssims_measured.append(chin_ssim(frames[i], pts[i], ref_grey, ref_pts))

    def wmean(vals):
        v, w = np.asarray(vals, float), np.asarray(weights, float)
        ok = np.isfinite(v)
        return float(np.sum(v[ok] * w[ok]) / max(np.sum(w[ok]), 1e-9)) if ok.any() else float("nan")

    per = float(np.mean(pers)) if pers else float("nan")
    wte = 1000 * float(np.mean(timing)) if timing else float("nan")
    re, rv = wmean(r_energy), wmean(r_visemes)
    closure = float(np.mean(closed_hits)) if closed_hits else float("nan")
    ratio = float(np.mean(rounded_w) / np.mean(wide_w)) if rounded_w and wide_w else float("nan")
    chin = float(np.nanmean(ssims)) if ssims else float("nan")
    chin_measured = float(np.nanmean(ssims_measured)) if ssims_measured else float("nan")
    if args.sheet:
        write_sheet(renderers[SHEET_PORTRAIT], portraits[SHEET_PORTRAIT], REPO / "docs" / "mouth_shapes.png")
    total_frames = int(np.sum(weights))

    print(f"| {'measure':<52} | {'value':>16} |")
    print(f"|{'-' * 54}|{'-' * 18}|")
    _row("clips x portraits / frames", f"{len(all_clips)} x {len(PORTRAITS)} / {total_frames}")
    _row("portraits", ", ".join(p.split("_")[-1] for p in PORTRAITS))
    for s in sources:
        _row("mouth source", s)
    _row("phone error rate (recogniser vs known text)", f"{per:.3f}")
    _row("word timing error (alignment, synthetic, ms)", f"{wte:.0f}")
    for ((name, *_), pname), a, b in zip(runs, r_energy, r_visemes):
        _row(f"{name} @ {pname.split('_')[-1]}: mouth r energy / r viseme", f"{a:.3f} / {b:.3f}")
    _row("mouth opening vs energy (Pearson r, mean)", f"{re:.3f}")
    _row("mouth opening vs viseme jaw (Pearson r, mean)", f"{rv:.3f}")
    _row("bilabial closure (share of MBP segments)", f"{closure:.3f} ({len(closed_hits)})")
    _row("lip width rounded / wide (UW,OW vs IY)", f"{ratio:.3f} ({len(rounded_w)}/{len(wide_w)})")
    if rounded_inner and wide_inner:
        _row("inner-lip extent rounded / wide (table only)", f"{np.mean(rounded_inner) / np.mean(wide_inner):.3f}")
    _row("chin SSIM, frames the track holds nearly closed", f"{chin:.4f} ({len(ssims)})")
    _row("chin SSIM, frames FaceMesh measures nearly closed", f"{chin_measured:.4f} ({len(ssims_measured)})")
    _row("setup: 3 portraits analysed + rigged (s)", f"{t_setup:.1f}")
    _row("speech: align + recognise + tracks (s)", f"{t_speech:.1f}")
    _row("render (s) / ms per frame", f"{t_render:.1f} / {1000 * t_render / max(total_frames, 1):.1f}")
    _row("face-mesh measurement (s)", f"{t_measure:.1f}")
    _row("total (s)", f"{time.perf_counter() - t_start:.1f}")
    print(f"phone_error_rate={per:.3f} mouth_energy_r={re:.3f} mouth_viseme_r={rv:.3f} "
          f"bilabial_closure={closure:.3f} rounding_ratio={ratio:.3f} chin_ssim={chin:.4f}")


if __name__ == "__main__":
    main()
