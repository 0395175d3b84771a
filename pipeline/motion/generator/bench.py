"""Speed and segment-border smoothness of the shipped generator (numbers for the model card).

    python -m pipeline.motion.generator.bench [--checkpoints assets/checkpoints] [--threads 2]

Speech: held-out synthetic co-speech pairs (cache/cospeech test split) concatenated to 60 s,
or a speech-like tone when the pairs are absent.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS, TOKEN_DOWNSAMPLE

REPO = Path(__file__).resolve().parents[3]
PROMPTS = ["a person waves with the right hand", None, "a person raises both arms", None,
           "a person points forward with the left hand", None, "a person claps their hands", None]


def speech(seconds: float, pairs: Path = REPO / "cache" / "cospeech") -> np.ndarray:
    import soundfile as sf

    out, total = [], 0
    ids = (pairs / "test.txt").read_text().split() if (pairs / "test.txt").exists() else []
    for cid in ids * 10:
        y, sr = sf.read(pairs / "wav" / f"{cid}.wav", dtype="float32")
        if sr != AUDIO_SAMPLE_RATE:
            continue
        out.append(y)
        total += len(y)
        if total >= seconds * AUDIO_SAMPLE_RATE:
            break
    if not out:
        t = np.arange(int(seconds * AUDIO_SAMPLE_RATE)) / AUDIO_SAMPLE_RATE
        return (0.3 * np.sin(2 * np.pi * 150 * t) * np.clip(np.sin(2 * np.pi * 4 * t), 0, None)).astype(np.float32)
    return np.concatenate(out)[: int(seconds * AUDIO_SAMPLE_RATE)]


def segments_for(duration: float, length: float) -> list:
    edges = list(np.arange(0.0, duration, length)) + [duration]
    if edges[-1] - edges[-2] < 1.0 and len(edges) > 2:
        edges.pop(-2)
    return [(float(a), float(b), PROMPTS[i % len(PROMPTS)]) for i, (a, b) in enumerate(zip(edges, edges[1:]))]


def border_velocity(result, frames: int = 2) -> dict:
    """Mean-over-joints speed (m/s) per frame step; steps within `frames` of a segment border vs the rest."""
    speed = np.linalg.norm(np.diff(result.joints, axis=0), axis=-1).mean(-1) * MOTION_FPS  # (T-1,)
    near = np.zeros(len(speed), dtype=bool)
    for _, end, _ in result.segments[:-1]:
        f = int(round(end * MOTION_FPS))
        near[max(0, f - frames):f + frames] = True
    inside = speed[~near]
    return {"border_max": float(speed[near].max()), "border_mean": float(speed[near].mean()),
            "inside_p99": float(np.percentile(inside, 99)), "inside_max": float(inside.max()),
            "inside_mean": float(inside.mean()),
            "ratio_border_max_to_inside_p99": float(speed[near].max() / np.percentile(inside, 99))}


def main(argv=None) -> dict:
    from pipeline.audio import load_audio
    from pipeline.motion.generate import generate, load_models, regenerate_span

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoints", type=Path, default=REPO / "assets" / "checkpoints")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    models = load_models(args.checkpoints)
    load_s = time.perf_counter() - t0
    clip = load_audio((AUDIO_SAMPLE_RATE, speech(60.0)))
    segs = segments_for(clip.duration_s, 4.0)
    generate(clip, segs, models=models)  # warm-up
    times, edit_times, parts = [], [], []
    for r in range(args.repeats):
        t = time.perf_counter()
        feats = models.audio_features(clip)
        t_feat = time.perf_counter() - t
        t = time.perf_counter()
        res = generate(clip, segs, seed=r, models=models)
        times.append(time.perf_counter() - t)
        parts.append(t_feat)
        n = res.num_tokens
        t = time.perf_counter()
        regenerate_span(res, n // 2, n // 2 + 25, seed=r + 100, models=models)  # a 5 s span
        edit_times.append(time.perf_counter() - t)
    smooth = border_velocity(res)
    report = {
        "threads": args.threads, "load_s": round(load_s, 2), "audio_s": round(clip.duration_s, 2),
        "tokens": int(res.num_tokens), "generate_60s_s": round(float(np.median(times)), 3),
        "of_which_audio_features_s": round(float(np.median(parts)), 3),
        "motion_seconds_per_compute_second": round(clip.duration_s / float(np.median(times)), 1),
        "edit_5s_span_ms": round(1000 * float(np.median(edit_times)), 1),
        "segments": len(segs), "border_velocity": smooth,
        "frames": int(len(res.joints)), "token_downsample": TOKEN_DOWNSAMPLE,
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
