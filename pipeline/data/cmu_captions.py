"""Sentence captions from CMU's one-line take descriptions ("dance - expressive arms, pirouette").

CMU labels are terse noun/verb phrases. We turn them into a few HumanML3D-style sentences by
putting a subject in front and conjugating a leading bare verb, and keep the original wording.
"""

from __future__ import annotations

import csv
from pathlib import Path

_SUBJECTS = ("a person", "someone", "the subject")
_NOT_VERBS = {"playground", "dance", "salsa", "swordplay", "basketball", "soccer", "boxing", "general",
              "martial", "story", "various", "forward", "sideways", "backwards", "backward", "slow",
              "fast", "quick", "small", "big", "long", "short", "two", "one", "three", "expressive",
              "careful", "normal", "jumping", "cartwheel", "ballet", "indian", "action", "motion"}


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(verb) > 2 and verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _phrase_to_predicate(phrase: str) -> str:
    """'walk' -> 'walks'; 'run/jog' -> 'runs or jogs'; 'walking' -> 'is walking'; nouns get 'does'."""
    phrase = phrase.strip().strip(".")
    if not phrase:
        return ""
    alternatives = [p.strip() for p in phrase.split("/") if p.strip()]
    if len(alternatives) > 1 and all(" " not in a for a in alternatives):
        return " or ".join(_phrase_to_predicate(a) for a in alternatives)
    words = phrase.split()
    head = words[0].lower()
    if head.endswith("ing"):
        return "is " + phrase
    if head in _NOT_VERBS or not head.isalpha():
        return "does " + phrase
    return " ".join([_third_person(head)] + words[1:])


def captions_for_description(description: str) -> list[str]:
    """Three different sentences for one CMU description, plus the label itself."""
    description = " ".join(description.split())
    context, _, action = description.rpartition(" - ")
    parts = [p for p in (s.strip() for s in action.split(",")) if p]
    predicates = [_phrase_to_predicate(p) for p in parts] or ["moves"]
    body = predicates[0] if len(predicates) == 1 else ", ".join(predicates[:-1]) + " and " + predicates[-1]
    where = f" ({context.strip()})" if context.strip() else ""
    captions = [f"{subject} {body}{where}." for subject in _SUBJECTS]
    captions.append(f"motion capture: {description}.")
    return captions


def read_cmu_index(path: Path) -> dict[tuple[int, int], str]:
    """(subject, trial) -> description, from cmu_index.csv."""
    index = {}
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            try:
                key = (int(row["Subject"]), int(row["Trial #"]))
            except (KeyError, ValueError):
                continue
            index[key] = (row.get("Motion Description") or "").strip()
    return index


def take_key(bvh_name: str) -> tuple[int, int]:
    """'005_02.bvh' or '05_02.bvh' -> (5, 2)."""
    subject, trial = Path(bvh_name).stem.split("_")[:2]
    return int(subject), int(trial)
