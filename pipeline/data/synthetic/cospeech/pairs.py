"""Synthetic (speech, co-speech motion) pairs for the audio branch, in the HumanML3D layout.

    python -m pipeline.data.synthetic.cospeech.pairs --out cache/cospeech --clips 400 --seed 0 --jobs 2

Layout of out_dir:
  wav/<id>.wav              16 kHz mono speech (AUDIO_SAMPLE_RATE)
  new_joints/<id>.npy       (T, 22, 3) float32 joints, frame i at audio time i / MOTION_FPS
  new_joint_vecs/<id>.npy   (T, 263) float32 HumanML3D features, row i at audio time i / MOTION_FPS
  texts/<id>.txt            the caption line "A person is giving a speech.#tokens#0.0#0.0"
  transcripts/<id>.txt      the spoken sentences (kept out of texts/ so that caption readers
                            never take the transcript for a motion description)
  motion_params/<id>.json   the gesture plan (beat times, phrases, style...) and the pause mask
  meta.csv                  id, engine, voice, rate, pitch, duration, style, frames, beats, text
  train.txt val.txt test.txt all.txt

Alignment: T = ceil(duration * MOTION_FPS). The rule model renders T + 1 frames, the features
(which are T+1-1 = T frames) and the first T joint frames are saved, so both arrays have T rows
and row i belongs to audio time i / MOTION_FPS (HumanML3D also stores as many joint frames as
feature rows).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS
from .gesture_rules import cospeech_motion
from .speech_synth import ENGINES, SpeechSynthError, engine_available, synthesize_clip

PROMPT = "A person is giving a speech."
SPLIT_FRACTIONS = {"train": 0.9, "val": 0.05, "test": 0.05}
META_FIELDS = ("id", "engine", "voice", "rate", "pitch", "duration", "style", "frames", "beats",
               "text")


def clip_id(index: int) -> str:
    return f"cs{index:06d}"


def _write_text(root: Path, cid: str, transcript: str) -> None:
    from pipeline.data.humanml3d import simple_tokens
    (root / "texts").mkdir(parents=True, exist_ok=True)
    (root / "transcripts").mkdir(parents=True, exist_ok=True)
    (root / "texts" / f"{cid}.txt").write_text(
        f"{PROMPT}#{' '.join(simple_tokens(PROMPT))}#0.0#0.0\n", encoding="utf-8")
    (root / "transcripts" / f"{cid}.txt").write_text(transcript + "\n", encoding="utf-8")


def make_pair(root: str | Path, index: int, seed: int, engines: tuple[str, ...]) -> dict:
    """Build pair `index` (deterministic in seed and index) and return its meta row."""
    import torch

    from pipeline.motion.features import joints_to_features
    torch.set_num_threads(1)
    root = Path(root)
    cid = clip_id(index)
    rng = np.random.default_rng([seed, index])
    engine = engines[int(rng.integers(len(engines)))]
    clip = synthesize_clip(rng, engine, root / "wav" / f"{cid}.wav")
    motion = cospeech_motion(clip.samples, AUDIO_SAMPLE_RATE, rng,
                             extra_frames=1)
    features = joints_to_features(motion.joints)
    n = features.shape[0]
    joints = motion.joints[:n]
    for sub in ("new_joints", "new_joint_vecs", "motion_params"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    np.save(root / "new_joints" / f"{cid}.npy", joints.astype(np.float32))
    np.save(root / "new_joint_vecs" / f"{cid}.npy", features.astype(np.float32))
    _write_text(root, cid, clip.text)
    params = dict(motion.params)
    params.update({"pause_mask": motion.pause_mask[:n].astype(int).tolist(),
                   "beat_times": motion.beat_times.tolist(),
                   "sentence_segments": clip.segments, "fps": MOTION_FPS})
    (root / "motion_params" / f"{cid}.json").write_text(json.dumps(params), encoding="utf-8")
    return {"id": cid, "engine": engine, "voice": clip.voice.voice, "rate": clip.voice.rate_wpm,
            "pitch": clip.voice.pitch, "duration": round(clip.duration, 4),
            "style": params["style"], "frames": n, "beats": len(motion.beat_times),
            "text": clip.text}


def _job(args: tuple) -> dict:
    return make_pair(*args)


def split_ids(ids: list[str], seed: int) -> dict[str, list[str]]:
    order = np.random.default_rng([seed, 7]).permutation(len(ids))
    n_val = max(1, int(round(SPLIT_FRACTIONS["val"] * len(ids)))) if len(ids) >= 3 else 0
    n_test = max(1, int(round(SPLIT_FRACTIONS["test"] * len(ids)))) if len(ids) >= 3 else 0
    val = sorted(ids[i] for i in order[:n_val])
    test = sorted(ids[i] for i in order[n_val:n_val + n_test])
    train = sorted(ids[i] for i in order[n_val + n_test:])
    return {"train": train, "val": val, "test": test}


def build_pairs(out_dir: str | Path, n_clips: int, seed: int = 0,
                engines: tuple[str, ...] = ENGINES, jobs: int = 2, progress: bool = False) -> dict:
    """Write `n_clips` synthetic pairs into out_dir (layout in the module docstring) and return a
    summary: clips, seconds of audio, wall time, per-engine counts, beats per second, the splits.
    Engines that are not installed raise SpeechSynthError (ask for the ones you have)."""
    engines = tuple(engines)
    for e in engines:
        if not engine_available(e):
            raise SpeechSynthError(f"speech engine {e!r} is not installed (apt-get install "
                                   f"{'espeak-ng' if e == 'espeak' else 'festival festvox-us-slt-hts'})")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    tasks = [(str(root), i, seed, engines) for i in range(n_clips)]
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n_clips, desc="co-speech pairs", unit="clip")
    rows = []
    if jobs > 1 and n_clips > 1:
        with mp.get_context("fork").Pool(jobs) as pool:
            for row in pool.imap(_job, tasks, chunksize=1):
                rows.append(row)
                if bar:
                    bar.update()
    else:
        for task in tasks:
            rows.append(_job(task))
            if bar:
                bar.update()
    if bar:
        bar.close()
    rows.sort(key=lambda r: r["id"])
    with open(root / "meta.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=META_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    ids = [r["id"] for r in rows]
    splits = split_ids(ids, seed)
    for name, members in {**splits, "all": ids}.items():
        (root / f"{name}.txt").write_text("".join(f"{i}\n" for i in members), encoding="utf-8")
    seconds = float(sum(r["duration"] for r in rows))
    return {
        "out_dir": str(root), "clips": len(rows), "audio_seconds": round(seconds, 1),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "engines": {e: sum(r["engine"] == e for r in rows) for e in engines},
        "styles": {s: sum(r["style"] == s for r in rows) for s in ("calm", "animated")},
        "beats_per_second": round(sum(r["beats"] for r in rows) / max(seconds, 1e-9), 3),
        "splits": {k: len(v) for k, v in splits.items()},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="cache/cospeech")
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help="comma-separated: espeak,festival")
    args = ap.parse_args(argv)
    summary = build_pairs(args.out, args.clips, args.seed,
                          tuple(e for e in args.engines.split(",") if e), args.jobs, progress=True)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
