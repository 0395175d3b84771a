"""R-precision and FID of generated motion against real held-out motion: `python -m benchmarks.retrieval`.

For every clip of the dataset's TEST split (never trained on by the generator or the evaluator),
the generator makes motion for the clip's first caption over held-out speech of the clip's length;
the shipped retrieval evaluator (assets/checkpoints/retrieval_evaluator) then scores
- R-precision top-1 / top-3 (pools of 32) of the real test motion (the ceiling) and of the
  generated motion, against the same captions;
- FID between the evaluator's embeddings of real and generated motion.
The subset "known to the shipped generator" leaves out the test clips of data it was never
trained on (the ASF/AMC takes and the procedural actions added in issue 14).

Last line: r_precision_top1=<f> r_precision_top3=<f> fid=<f> real_r_precision_top1=<f> real_r_precision_top3=<f>
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS

REPO = Path(__file__).resolve().parents[1]


def known_to_generator(clip) -> bool:
    from pipeline.text.understand import GENERATOR_ACTIONS

    if clip.source == "synthetic":
        return clip.origin in GENERATOR_ACTIONS
    return "cmu-amc/" not in clip.origin


def retrieval_scores(models, evaluator, dataset, speech: list[np.ndarray], seed: int = 0) -> dict:
    from pipeline.eval.retrieval import frechet_distance, r_precision
    from pipeline.motion.generate import generate

    clips = [dataset.load(cid) for cid in dataset.clip_ids("test")]
    clips = [c for c in clips if c.captions]
    captions = [c.captions[0] for c in clips]
    generated = []
    for k, clip in enumerate(clips):
        seconds = max(2.0, len(clip.joints) / MOTION_FPS)
        samples = np.asarray(speech[k % len(speech)])
        while len(samples) < seconds * AUDIO_SAMPLE_RATE:
            samples = np.concatenate([samples, samples])
        samples = samples[: int(seconds * AUDIO_SAMPLE_RATE)]
        result = generate((AUDIO_SAMPLE_RATE, samples), [(0.0, seconds, captions[k])], seed=seed + k, models=models)
        generated.append(result.joints[: len(clip.joints)])
    text = evaluator.encode_text(captions)
    real = evaluator.encode_motion([c.joints for c in clips])
    gen = evaluator.encode_motion(generated)
    known = np.array([known_to_generator(c) for c in clips])
    out = {"n": len(clips), "n_known": int(known.sum()),
           "real": r_precision(text, real, seed=seed), "generated": r_precision(text, gen, seed=seed),
           "fid": frechet_distance(real, gen), "fid_real_halves": frechet_distance(real[0::2], real[1::2])}
    if known.sum() >= 32:
        out["real_known"] = r_precision(text[known], real[known], seed=seed)
        out["generated_known"] = r_precision(text[known], gen[known], seed=seed)
    return out


def print_table(r: dict) -> None:
    print(f"| {'measure':<66} | {'value':>10} |")
    print(f"|{'-' * 68}|{'-' * 12}|")
    rows = [(f"real test motion: R-precision top-1 / top-3 ({r['n']} clips)", r["real"]),
            ("generated motion, same captions: R-precision top-1 / top-3", r["generated"])]
    if "real_known" in r:
        rows += [(f"  known to the shipped generator ({r['n_known']}): real", r["real_known"]),
                 ("  known to the shipped generator: generated", r["generated_known"])]
    for name, v in rows:
        print(f"| {name:<66} | {v['top1']:.3f}/{v['top3']:.3f} |")
    print(f"| {'FID, generated vs real test motion':<66} | {r['fid']:>10.3f} |")
    print(f"| {'FID, real vs real (two halves of the test split, a floor)':<66} | {r['fid_real_halves']:>10.3f} |")


def main() -> None:
    from benchmarks.motion import _held_out_speech
    from pipeline.data.humanml3d import MotionDataset, default_dataset_dir
    from pipeline.eval.retrieval import RetrievalEvaluator, default_checkpoint_dir
    from pipeline.motion.generate import load_models

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", type=Path, default=default_dataset_dir())
    p.add_argument("--evaluator", type=Path, default=default_checkpoint_dir())
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if not (REPO / "cache" / "cospeech" / "test.txt").exists():
        raise SystemExit("needs held-out speech: python -m pipeline.data.synthetic.cospeech.pairs --out cache/cospeech")
    r = retrieval_scores(load_models(), RetrievalEvaluator.from_pretrained(args.evaluator), MotionDataset(args.dataset),
                         [s for _, s in _held_out_speech(20)], args.seed)
    print_table(r)
    print(f"r_precision_top1={r['generated']['top1']:.3f} r_precision_top3={r['generated']['top3']:.3f} "
          f"fid={r['fid']:.3f} real_r_precision_top1={r['real']['top1']:.3f} "
          f"real_r_precision_top3={r['real']['top3']:.3f}")


if __name__ == "__main__":
    main()
