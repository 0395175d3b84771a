"""Prompt understanding figures: `python -m benchmarks.prompts`.

On the hand-written held-out prompts of benchmarks/prompt_sets.py (never trained on):
- the unknown-prompt threshold is CHOSEN on the development half: the lowest threshold that still
  reports 90 % of its out-of-vocabulary prompts (the issue's recall target), so false alarms are
  as few as that allows; the generator's vocabulary.json stores it as unknown_threshold (else the
  constant UNKNOWN_THRESHOLD, chosen for the 43-action vocabulary, is used);
- on the test half, with the threshold in use: unknown_prompt_recall (out-of-vocabulary prompts
  reported as unknown), unknown_false_alarm (in-vocabulary prompts reported as unknown),
  paraphrase_action_acc (the understood action is the expected one and the prompt was accepted)
  and side_acc (the understood side is the one named, over prompts that name a side).
These score the text understanding alone; benchmarks.motion scores the generated motion.

Last line: unknown_threshold_dev=<f> unknown_prompt_recall=<f> unknown_false_alarm=<f>
prompt_action_acc=<f> prompt_side_acc=<f>
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.prompt_sets import IN_VOCABULARY, OUT_OF_VOCABULARY, split


def expected_matches(interpretation, expected: str) -> bool:
    """The interpretation names the expected action ("mocap:<word>": a mocap description with <word>)."""
    if not interpretation.known:
        return False
    if expected.startswith("mocap:"):
        return interpretation.action is None and expected[6:] in interpretation.family
    return interpretation.action == expected


TARGET_RECALL = 0.9


def choose_threshold(in_sims: np.ndarray, out_sims: np.ndarray, target_recall: float = TARGET_RECALL) -> float:
    """The lowest threshold (fewest false alarms) that still reports `target_recall` of the
    out-of-vocabulary prompts: midway between the last out-of-vocabulary similarity it may accept
    and the next one up. in_sims is unused by the rule; it is given for the report."""
    del in_sims
    ranked = np.sort(np.asarray(out_sims))[::-1]
    allowed = int(np.floor((1.0 - target_recall) * len(ranked) + 1e-9))   # may be accepted
    if allowed >= len(ranked):
        return float(ranked[-1])
    upper = ranked[allowed - 1] if allowed > 0 else ranked[0] + 0.02
    return float((ranked[allowed] + upper) / 2) if allowed > 0 else float(ranked[0] + 0.01)


def evaluate(half: str, threshold: float | None = None, generator_dir=None) -> dict:
    """Scores on one half; generator_dir: the generator whose vocabulary.json is understood
    (default: the shipped one)."""
    from pipeline.text.understand import default_vocabulary, interpret_prompts

    vocabulary = default_vocabulary(generator_dir)
    threshold = vocabulary.threshold if threshold is None else threshold   # the generator's own
    ins = split(IN_VOCABULARY, half)
    outs = split(OUT_OF_VOCABULARY, half)
    got_in = interpret_prompts([p for p, _, _ in ins], vocabulary, threshold=threshold)
    got_out = interpret_prompts(outs, vocabulary, threshold=threshold)
    action = [expected_matches(it, a) for it, (_, a, _) in zip(got_in, ins)]
    sided = [(it, s) for it, (_, _, s) in zip(got_in, ins) if s is not None]
    side = [it.known and it.side == s for it, s in sided]
    return {
        "n_in": len(ins), "n_out": len(outs), "n_sided": len(sided),
        "in_sims": np.array([it.similarity for it in got_in]),
        "out_sims": np.array([it.similarity for it in got_out]),
        "recall": float(np.mean([not it.known for it in got_out])),
        "false_alarm": float(np.mean([not it.known for it in got_in])),
        "action_acc": float(np.mean(action)), "side_acc": float(np.mean(side)) if side else float("nan"),
        "errors": [(p, a, it.action or it.family, it.similarity) for ok, it, (p, a, _) in zip(action, got_in, ins)
                   if not ok],
        "alarms_missed": [(it.prompt, it.family, it.similarity) for it in got_out if it.known],
    }


def store_threshold(generator_dir, threshold: float) -> None:
    """Write `threshold` (rounded to 3 decimals) as unknown_threshold into the generator's vocabulary.json."""
    import json
    from pathlib import Path

    from pipeline.text.understand import VOCABULARY_FILE

    if generator_dir is None:
        raise SystemExit("--store-threshold needs --generator DIR (a folder with a vocabulary.json)")
    path = Path(generator_dir) / VOCABULARY_FILE
    if not path.is_file():
        raise SystemExit(f"{path} does not exist: --store-threshold writes into a generator's vocabulary.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["unknown_threshold"] = round(float(threshold), 3)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"stored unknown_threshold {data['unknown_threshold']} in {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--generator", default=None,
                        help="generator folder whose vocabulary.json is understood (default: the shipped one)")
    parser.add_argument("--store-threshold", action="store_true",
                        help="write the threshold chosen on the dev half into --generator's vocabulary.json "
                             "(unknown_threshold, what prompt understanding then uses) and score the test half with it")
    args = parser.parse_args()
    from pipeline.text.understand import generator_unknown_threshold

    used = generator_unknown_threshold(args.generator)
    dev = evaluate("dev", generator_dir=args.generator)
    chosen = choose_threshold(dev["in_sims"], dev["out_sims"])
    if args.store_threshold:
        store_threshold(args.generator, chosen)
        used = chosen
        dev = evaluate("dev", threshold=used, generator_dir=args.generator)   # its rows at the stored value
    test = evaluate("test", threshold=used, generator_dir=args.generator)
    print(f"| {'measure':<62} | {'value':>10} |")
    print(f"|{'-' * 64}|{'-' * 12}|")
    print(f"| {'threshold chosen on dev (' + str(dev['n_in']) + ' in / ' + str(dev['n_out']) + ' out)':<62} | {chosen:>10.3f} |")
    print(f"| {'threshold in use (vocabulary.json, else UNKNOWN_THRESHOLD)':<62} | {used:>10.3f} |")
    for name, r in (("dev", dev), ("test", test)):
        print(f"| {name + ': unknown-prompt recall (' + str(r['n_out']) + ' out-of-vocabulary)':<62} | {r['recall']:>10.3f} |")
        print(f"| {name + ': false alarms (' + str(r['n_in']) + ' in-vocabulary)':<62} | {r['false_alarm']:>10.3f} |")
        print(f"| {name + ': action understood':<62} | {r['action_acc']:>10.3f} |")
        print(f"| {name + ': side understood (' + str(r['n_sided']) + ' prompts naming a side)':<62} | {r['side_acc']:>10.3f} |")
    if args.show_errors:
        for r in (dev, test):
            for p, a, got, sim in r["errors"]:
                print(f"  wrong: {p!r}: expected {a}, got {got} ({sim:.2f})")
            for p, fam, sim in r["alarms_missed"]:
                print(f"  accepted out-of-vocabulary: {p!r} as {fam} ({sim:.2f})")
    print(f"unknown_threshold_dev={chosen:.3f} unknown_prompt_recall={test['recall']:.3f} "
          f"unknown_false_alarm={test['false_alarm']:.3f} prompt_action_acc={test['action_acc']:.3f} "
          f"prompt_side_acc={test['side_acc']:.3f}")


if __name__ == "__main__":
    main()
