"""Text control on unseen paraphrases, scored on the GENERATED motion (used by benchmarks.motion).

Each held-out test-half prompt of benchmarks/prompt_sets.py that names a procedural action is
generated over held-out speech, then
- action: the shipped action classifier's top-1 label on the generated joints must be the
  expected action (the classifier was trained on procedural clips, so it sees only whether the
  motion looks like the library's action, not whether it looks human);
- side: for prompts naming a side, the hand that moved more (wrist path relative to the chest)
  must be the named one, or both hands within a factor 0.6 of each other for "both".
Both are measured with prompt understanding on (the shipped path) and off (the prompt verbatim,
as before issue 14), so the table shows what understanding changes.
"""

from __future__ import annotations

import numpy as np

from pipeline.constants import AUDIO_SAMPLE_RATE
from pipeline.motion import skeleton as sk

BOTH_RATIO = 0.6


def active_side(joints: np.ndarray) -> str:
    """'left', 'right' or 'both': which wrist travels more relative to the chest."""
    chest = joints[:, sk.JOINT_INDEX["spine3"]]
    path = {}
    for side in ("left", "right"):
        rel = joints[:, sk.JOINT_INDEX[f"{side}_wrist"]] - chest
        path[side] = float(np.linalg.norm(np.diff(rel, axis=0), axis=-1).sum())
    lo, hi = sorted(path.values())
    if hi <= 0 or lo / hi >= BOTH_RATIO:
        return "both"
    return max(path, key=path.get)


def paraphrase_generation(models, speech: list[np.ndarray], classifier, seed: int = 0,
                          half: str = "test", items: list | None = None,
                          modes: tuple[str, ...] = ("understood", "verbatim")) -> dict:
    """{'understood': {...}, 'verbatim': {...}} with action_acc, side_acc and their counts; ``items``
    (prompt, action, side) replaces the test half of IN_VOCABULARY (e.g. prompt_sets.NEW_ACTIONS)."""
    from benchmarks.prompt_sets import IN_VOCABULARY, split
    from pipeline.motion.generate import generate

    if items is None:
        items = [(p, a, s) for p, a, s in split(IN_VOCABULARY, half) if not a.startswith("mocap:")]
    out = {}
    saved = models.understand_prompts
    try:
        for mode, flag in [m for m in (("understood", True), ("verbatim", False)) if m[0] in modes]:
            models.understand_prompts = flag
            motions, sides = [], []
            for k, (prompt, _, side) in enumerate(items):
                samples = speech[k % len(speech)][: 6 * AUDIO_SAMPLE_RATE]
                duration = len(samples) / AUDIO_SAMPLE_RATE
                result = generate((AUDIO_SAMPLE_RATE, samples), [(0.0, duration, prompt)], seed=seed + k,
                                  models=models)
                motions.append(result.joints)
                if side is not None:
                    sides.append(active_side(result.joints) == side)
            predicted = [label for label, _ in classifier.predict(motions)]
            action = [p == a for p, (_, a, _) in zip(predicted, items)]
            out[mode] = {"action_acc": float(np.mean(action)), "n": len(items),
                         "side_acc": float(np.mean(sides)) if sides else float("nan"), "n_sided": len(sides)}
    finally:
        models.understand_prompts = saved
    return out


def real_clip_side_check(n_per_side: int = 4, seed: int = 0) -> float:
    """How often active_side names the side of procedural clips with a known side (the measure's
    own accuracy, on motion whose side is true by construction)."""
    from pipeline.data.synthetic.procedural import generate_action

    rng = np.random.default_rng(seed)
    hits = []
    for action in ("wave_left", "wave_right", "raise_hand", "salute", "thumbs_up", "wave_both"):
        for _ in range(n_per_side):
            clip = generate_action(action, rng)
            hits.append(active_side(clip.joints) == clip.params["side"])
    return float(np.mean(hits))


__all__ = ["active_side", "paraphrase_generation", "real_clip_side_check"]
