"""Compare motion tokenizers: per-action round trip and test MPJPE (issue 14).

    python scripts/tokenizer_round_trip.py shipped=assets/checkpoints/motion_tokenizer \
        ft2=cache/ft2/motion_tokenizer ft4=cache/ft4/motion_tokenizer [--json out.json]

For each tokenizer: the library clips of the val and test splits of cache/motion-dataset whose action
the action classifier knows, encoded and decoded, classified (top-1), per action and averaged over
the 43 old and the 37 new (issue-14) actions, the same clips and measure as the "tokenizer round trip"
rows of `python -m benchmarks.motion`; then evaluate_tokenizer on the test split (global and
root-relative MPJPE, codebook usage), as the tokenizer card reports it. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.motion import library_clips, round_trip_joints  # noqa: E402
from pipeline.data.humanml3d import MotionDataset  # noqa: E402
from pipeline.eval.action_classifier import ActionClassifier  # noqa: E402
from pipeline.motion.tokenizer import MotionTokenizer  # noqa: E402
from pipeline.train.tokenizer import evaluate_tokenizer, new_library_actions  # noqa: E402

# The one-arm gestures the ft2 fine-tune lost (tokenizer card, issue-14 section).
WATCH = ["point_left", "raise_hand", "wave_left", "hand_on_chest", "wave_both", "beckon"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tokenizers", nargs="+", metavar="NAME=PATH")
    p.add_argument("--dataset", default="cache/motion-dataset")
    p.add_argument("--classifier", default="assets/checkpoints/action_classifier")
    p.add_argument("--no-mpjpe", action="store_true", help="round trip only")
    p.add_argument("--json", help="write every figure here")
    a = p.parse_args()
    torch.set_num_threads(1)
    toks = {}
    for spec in a.tokenizers:
        name, _, path = spec.partition("=")
        toks[name] = MotionTokenizer.from_pretrained(path).eval()
    clf = ActionClassifier.from_pretrained(a.classifier).eval()
    ds = MotionDataset(a.dataset)
    new = new_library_actions()
    joints: dict[str, list] = {k: [] for k in toks}
    targets = []
    for action, f in library_clips(ds, clf):
        for k, t in toks.items():
            joints[k].append(round_trip_joints(t, f))
        targets.append(action)
    result: dict = {}
    per: dict = defaultdict(lambda: defaultdict(float))
    for k in toks:
        pred = [lab for lab, _ in clf.predict(joints[k])]
        hit = np.array([p_ == t_ for p_, t_ in zip(pred, targets)], dtype=float)
        is_new = np.array([t_ in new for t_ in targets])
        result[k] = {"round_trip_old": float(hit[~is_new].mean()), "n_old": int((~is_new).sum()),
                     "round_trip_new": float(hit[is_new].mean()), "n_new": int(is_new.sum())}
        for h, t_ in zip(hit, targets):
            per[t_][k] += h
    counts = defaultdict(int)
    for t_ in targets:
        counts[t_] += 1
    for k in toks:
        result[k]["per_action"] = {act: per[act][k] / counts[act] for act in sorted(counts)}
    if not a.no_mpjpe:
        for k, t in toks.items():
            t0 = time.time()
            m = evaluate_tokenizer(t, ds, "test")
            result[k]["test"] = m
            print(f"{k}: test {m['mpjpe_mm']:.1f} / {m['mpjpe_root_rel_mm']:.1f} mm, usage {m['codebook_usage']:.3f} "
                  f"({m['clips']} clips, {time.time() - t0:.0f} s)")
    names = list(toks)
    print(f"{'':28}" + "".join(f"{k:>10}" for k in names))
    for key in ("round_trip_old", "round_trip_new"):
        print(f"{key:28}" + "".join(f"{result[k][key]:10.3f}" for k in names))
    for act in WATCH + sorted(set(counts) - set(WATCH), key=lambda x: (x in new, x)):
        tag = "new" if act in new else "old"
        print(f"{act + ' (' + str(counts[act]) + ', ' + tag + ')':28}"
              + "".join(f"{result[k]['per_action'][act]:10.2f}" for k in names))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
