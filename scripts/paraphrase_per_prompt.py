"""Per prompt, the action classifier's label on the motion generated for each unseen paraphrase of
the test half (benchmarks.text_control.paraphrase_generation's items, speech and seeds; prompt
understanding on), for one or more chains: which prompts a chain loses or wins.

    python scripts/paraphrase_per_prompt.py shipped=assets/checkpoints ft4=cache/ft4chain [--seed 0] [--text-only]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def labels(checkpoints: Path, seed: int, text_only: bool = False) -> list[tuple[str, str, str, bool]]:
    """(prompt, expected action, predicted label, side right or None) per paraphrase."""
    from benchmarks.motion import _held_out_speech
    from benchmarks.prompt_sets import IN_VOCABULARY, split
    from benchmarks.text_control import active_side, limb_of
    from pipeline.constants import AUDIO_SAMPLE_RATE
    from pipeline.eval.action_classifier import ActionClassifier
    from pipeline.motion.generate import generate, load_models

    models = load_models(checkpoints)
    saved = models.audio_branch_trained
    models.audio_branch_trained = saved and not text_only
    classifier = ActionClassifier.from_pretrained(checkpoints / "action_classifier").eval()
    speech = [s for _, s in _held_out_speech(20)]
    items = [(p, a, s) for p, a, s in split(IN_VOCABULARY, "test") if not a.startswith("mocap:")]
    out, motions = [], []
    for k, (prompt, action, side) in enumerate(items):
        samples = speech[k % len(speech)][: 6 * AUDIO_SAMPLE_RATE]
        res = generate((AUDIO_SAMPLE_RATE, samples), [(0.0, len(samples) / AUDIO_SAMPLE_RATE, prompt)],
                       seed=seed + k, models=models)
        motions.append(res.joints)
        out.append([prompt, action, "", None if side is None else active_side(res.joints, limb_of(action)) == side])
    models.audio_branch_trained = saved
    for row, (label, _) in zip(out, classifier.predict(motions)):
        row[2] = label
    return [tuple(r) for r in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chains", nargs="+", help="NAME=CHECKPOINT_DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-only", action="store_true", help="the audio branch off (text branch only)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = {}
    for spec in args.chains:
        name, path = spec.split("=", 1)
        runs[name] = labels(Path(path), args.seed, args.text_only)
    names = list(runs)
    print(f"{'expected':20s} " + " ".join(f"{n:>22s}" for n in names) + "  prompt")
    for i, (prompt, action, _, _) in enumerate(runs[names[0]]):
        cells = []
        for n in names:
            _, _, label, side_ok = runs[n][i]
            mark = "ok" if label == action else label
            side = "" if side_ok is None else (" S" if side_ok else " s!")
            cells.append(f"{mark + side:>22s}")
        print(f"{action:20s} " + " ".join(cells) + f"  {prompt}")
    for n in names:
        hits = [label == action for _, action, label, _ in runs[n]]
        print(f"{n}: action {sum(hits) / len(hits):.3f} ({sum(hits)}/{len(hits)})")


if __name__ == "__main__":
    main()
