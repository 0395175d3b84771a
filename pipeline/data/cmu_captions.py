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
    phrase = PART_PHRASES.get(phrase.lower(), phrase)
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
    description = normalise_description(description)
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


# CMU's subject-105 (and a few other) labels are CamelCase tags, not phrases ("SadWalk", "180",
# "Digital8"). Each is written out once here as a bare verb phrase, so captions read like the rest.
TAG_PHRASES: dict[str, str] = {
    "walkdigital8": "walk in a figure eight", "walkstraight": "walk straight ahead",
    "walk8": "walk in a figure eight", "digital8": "walk in a figure eight",
    "walkfigure8": "walk in a figure eight", "mummywalk": "walk stiffly like a mummy with arms held out",
    "mummy8": "walk like a mummy in a figure eight", "mummydigital8": "walk like a mummy in a figure eight",
    "motorcyclepose": "hold a pose as if riding a motorcycle", "slowwalk": "walk slowly",
    "lavishwalk": "walk in a showy way", "toocoolwalk": "walk with a cool swagger",
    "sadwalk": "walk sadly with the head down", "depressedwalk": "walk slowly with a slumped posture",
    "clumsywalk": "walk clumsily", "limp": "walk with a limp", "quickwalk": "walk quickly",
    "carefulwalk lookingaround": "walk carefully while looking around", "march": "march forward",
    "shywalk": "walk shyly", "acheywalk": "walk stiffly as if aching", "casualquickwalk": "walk quickly and casually",
    "coolwalk": "walk with a cool swagger", "hurtlegwalk": "walk with a hurt leg",
    "dragbadlegwalk": "walk dragging a bad leg", "hurtstomachwalk": "walk holding a hurt stomach",
    "ghettowalk": "walk with a swagger", "normalwalk": "walk normally", "sexywalk": "walk with swaying hips",
    "scaredwalk": "walk fearfully", "machowalk": "walk in a macho way with the chest out",
    "trafficwalk": "wait for traffic while walking", "forward": "step forward",
    "smallforward": "take a small step forward", "jumpforward": "jump forward",
    "jumpsmallforward": "jump a little forward", "jump turn": "turn in the air while jumping",
    "jumpturn": "turn in the air while jumping", "furtherjumpturn": "turn in the air after a long jump",
    "smalljumpturn": "do a small jump and turn", "180": "turn around 180 degrees",
    "90": "turn 90 degrees", "270": "turn 270 degrees", "360": "turn all the way around 360 degrees",
    "360 smallstumble": "stumble a little while turning all the way around", "walkforward": "walk forward",
    "lindyhop2": "perform the lindy hop swing dance", "lindyhop": "perform the lindy hop swing dance",
    "dance, whirl": "twirl around while dancing", "lambada dance": "perform the lambada dance",
}
PART_PHRASES: dict[str, str] = {
    "jumping jacks": "do jumping jacks", "side twists": "twist the torso side to side", "squats": "do squats",
    "stretches": "stretch", "kick ball": "kick a ball",
}
"""Parts of CMU descriptions that the verb rule below would get wrong ("squats" -> "squatses")."""


def normalise_description(description: str) -> str:
    """CMU's tag-like labels written out as phrases ("SadWalk" -> "walk sadly with the head down");
    ordinary descriptions are returned unchanged."""
    text = " ".join(description.split())
    return TAG_PHRASES.get(text.lower(), text)
