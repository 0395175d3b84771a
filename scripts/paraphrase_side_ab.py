"""The unseen-paraphrase rows of benchmarks.motion (action and side of the generated motion, prompt
understanding on) with the generator's sides as asked and with one-arm actions generated on a
canonical side and mirrored (pipeline.motion.generate.Models.canonical_side), seeds 0 and 1.

    python scripts/paraphrase_side_ab.py assets/checkpoints none right
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from benchmarks.motion import _held_out_speech
    from benchmarks.text_control import paraphrase_generation
    from pipeline.eval.action_classifier import ActionClassifier
    from pipeline.motion.generate import load_models

    torch.set_num_threads(1)
    ck = sys.argv[1] if len(sys.argv) > 1 else "assets/checkpoints"
    sides = sys.argv[2:] or ["none", "right"]
    models = load_models(ck)
    clf = ActionClassifier.from_pretrained(f"{ck}/action_classifier").eval()
    speech = [s for _, s in _held_out_speech(20)]
    for side in sides:
        models.canonical_side = None if side == "none" else side
        for seed in (0, 1):
            r = paraphrase_generation(models, speech, clf, seed, modes=("understood",))["understood"]
            print(f"canonical_side={side} seed={seed}: action {r['action_acc']:.3f} ({r['n']}) "
                  f"side {r['side_acc']:.3f} ({r['n_sided']})", flush=True)


if __name__ == "__main__":
    main()
