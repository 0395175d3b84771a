"""Why the side of generated motion is wrong: per sided paraphrase prompt of the test half
(benchmarks.text_control.paraphrase_generation's items, same speech and seeds), what prompt
understanding made of it, and the side of the generated motion with speech (as benchmarked) and
with the audio branch off (text branch only), over a few seeds.

    python scripts/side_diagnosis.py [--checkpoints assets/checkpoints] [--seeds 3] [--threads 1] \
        [--modes speech,text_only] [--canonical-side none|right|left] [--swap-sides]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def wrist_paths(joints: np.ndarray) -> tuple[float, float]:
    from pipeline.motion import skeleton as sk

    chest = joints[:, sk.JOINT_INDEX["spine3"]]
    out = []
    for side in ("left", "right"):
        rel = joints[:, sk.JOINT_INDEX[f"{side}_wrist"]] - chest
        out.append(float(np.linalg.norm(np.diff(rel, axis=0), axis=-1).sum()))
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoints", type=Path, default=REPO / "assets" / "checkpoints")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--modes", default="speech,text_only", help="speech (as benchmarked), text_only (audio branch off)")
    parser.add_argument("--canonical-side", default="none", help="Models.canonical_side (left / right); 'none' "
                        "(the default, as shipped) generates every side as asked")
    parser.add_argument("--swap-sides", action="store_true", help="the same prompts with left and right swapped "
                        "(does the generator bind one side better than the other?)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from benchmarks.motion import _held_out_speech
    from benchmarks.prompt_sets import IN_VOCABULARY, split
    from benchmarks.text_control import active_side
    from pipeline.constants import AUDIO_SAMPLE_RATE
    from pipeline.eval.action_classifier import ActionClassifier
    from pipeline.motion.generate import generate, load_models

    models = load_models(args.checkpoints)
    models.canonical_side = None if args.canonical_side == "none" else args.canonical_side
    modes = args.modes.split(",")
    classifier = ActionClassifier.from_pretrained(args.checkpoints / "action_classifier").eval()
    speech = [s for _, s in _held_out_speech(20)]
    items = [(p, a, s) for p, a, s in split(IN_VOCABULARY, "test") if not a.startswith("mocap:")]
    if args.swap_sides:
        from pipeline.data.build import mirror_action, mirror_caption

        swap = {"left": "right", "right": "left"}
        items = [(mirror_caption(p), mirror_action(a), swap.get(s, s)) if s else (p, a, s) for p, a, s in items]
    trained = models.audio_branch_trained
    by_side: dict[str, list[bool]] = {}
    totals = {mode: [] for mode in modes}
    for k, (prompt, action, side) in enumerate(items):
        if side is None:
            continue
        samples = speech[k % len(speech)][: 6 * AUDIO_SAMPLE_RATE]
        duration = len(samples) / AUDIO_SAMPLE_RATE
        rows = {}
        for mode in modes:
            models.audio_branch_trained = trained and mode == "speech"
            got = []
            for r in range(args.seeds):
                seed = k + 1000 * r        # r = 0: the benchmark's seed
                res = generate((AUDIO_SAMPLE_RATE, samples), [(0.0, duration, prompt)], seed=seed, models=models)
                left, right = wrist_paths(res.joints)
                label = classifier.predict([res.joints])[0][0]
                got.append((active_side(res.joints), left, right, label))
                totals[mode].append(got[-1][0] == side)
                by_side.setdefault(f"{mode} {side}", []).append(got[-1][0] == side)
            rows[mode] = got
        models.audio_branch_trained = trained
        it = res.interpretations.get(prompt)
        print(f"\n{prompt!r}: expected {action}/{side}; understood {it.action}/{it.side} -> {it.caption!r}")
        for mode, got in rows.items():
            cells = ", ".join(f"{s}{'*' if s == side else ''} L{lft:.1f}/R{rgt:.1f} {lab}" for s, lft, rgt, lab in got)
            print(f"  {mode:9s}: {cells}")
    for mode, hits in totals.items():
        print(f"side_acc {mode}, {args.seeds} seeds: {np.mean(hits):.3f} ({sum(hits)}/{len(hits)})")
    for key, hits in sorted(by_side.items()):
        print(f"  {key} asked: {np.mean(hits):.3f} ({sum(hits)}/{len(hits)})")


if __name__ == "__main__":
    main()
