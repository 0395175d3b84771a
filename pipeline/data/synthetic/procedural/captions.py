"""HumanML3D-style captions from templates: varied subjects, and words that follow the parameters.

Templates say they/their/themselves for the subject; those are swapped for he/she forms to agree
with a gendered subject (a plain "them" is left alone: it usually means the hands). Fields:
{subj} (a person / the man / ...), {poss} (their / his / her), {obj} (them / him / her),
{hand} ("their right hand" or "both hands"), {arm}, {hands_word} ("right hand" / "both hands"),
{side} (left / right / both), {adv} (" quickly", " slowly" or nothing, by speed), {times}
(" twice", " three times" or nothing, by repetitions), {count} (two, three...), plus any extra
string parameter of the action.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

SUBJECTS: tuple[tuple[str, str], ...] = (
    ("a person", "their"), ("someone", "their"), ("the person", "their"), ("a man", "his"),
    ("the man", "his"), ("a woman", "her"), ("the woman", "her"),
)
PRONOUNS: dict[str, dict[str, str]] = {
    # templates say they/their/themselves for the subject; gendered subjects swap them
    "their": {"their": "their", "themselves": "themselves", "they": "they", "obj": "them"},
    "his": {"their": "his", "themselves": "himself", "they": "he", "obj": "him"},
    "her": {"their": "her", "themselves": "herself", "they": "she", "obj": "her"},
}
_PRONOUN_RE = re.compile(r"\b(their|themselves|they)\b")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")
FAST_SPEED = 1.3
SLOW_SPEED = 0.75


def speed_adverb(speed: float) -> str:
    """' quickly' / ' slowly' only when the speed is clearly off the usual pace."""
    if speed >= FAST_SPEED:
        return " quickly"
    if speed <= SLOW_SPEED:
        return " slowly"
    return ""


def times_phrase(repetitions: int) -> str:
    if repetitions == 2:
        return " twice"
    if 3 <= repetitions < len(NUMBER_WORDS):
        return f" {NUMBER_WORDS[repetitions]} times"
    return ""


def _fields(params: dict, subject: str, poss: str) -> dict[str, str]:
    side = params.get("side", "right")
    reps = int(params.get("repetitions", 1))
    fields = {k: v for k, v in params.items() if isinstance(v, str)}
    fields.update(
        subj=subject, poss=poss, side=side, obj=PRONOUNS[poss]["obj"],
        hand="both hands" if side == "both" else f"{poss} {side} hand",
        arm="both arms" if side == "both" else f"{poss} {side} arm",
        hands_word="both hands" if side == "both" else f"{side} hand",
        adv=speed_adverb(float(params.get("speed", 1.0))),
        times=times_phrase(reps) if params.get("count_matters", True) else "",
        count=NUMBER_WORDS[reps] if 0 <= reps < len(NUMBER_WORDS) else str(reps),
    )
    return fields


def render_captions(templates: Sequence[str], params: dict, rng: np.random.Generator,
                    n_min: int = 3, n_max: int = 5) -> list[str]:
    """Between n_min and n_max distinct captions from distinct templates, random subjects.
    When the speed or the repetition count is worth saying, a template that says it comes first."""
    order = [int(i) for i in rng.permutation(len(templates))]
    probe = _fields(params, "", "their")
    for key in ("times", "adv"):
        if probe[key]:
            carrying = [i for i in order if "{" + key + "}" in templates[i]]
            if carrying:
                order.remove(carrying[0])
                order.insert(0, carrying[0])
    wanted = int(rng.integers(n_min, n_max + 1))
    out: list[str] = []
    for i in order:
        subject, poss = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
        text = templates[i].format(**_fields(params, subject, poss))
        text = _PRONOUN_RE.sub(lambda m: PRONOUNS[poss][m.group(1)], text)
        text = " ".join(text.split()).replace(" ,", ",").replace(" .", ".").strip()
        if not text.endswith("."):
            text += "."
        if text not in out:
            out.append(text)
        if len(out) >= wanted:
            break
    return out
