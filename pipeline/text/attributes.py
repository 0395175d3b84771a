"""What a director's prompt says besides the action: side, repetitions, speed and intensity.

    parse_attributes("greets by waving his right arm three times, slowly")
    -> PromptAttributes(side="right", direction=None, repetitions=3, speed="slow", intensity=None)

A sentence embedding hardly separates "left" from "right" or "twice" from "three times", so these
are read with rules, and :func:`action_text` strips them before the action is matched by meaning.
``side`` is the body side named with a limb ("his right arm", "both hands", "the left leg");
``direction`` a direction of travel or pointing ("to the left", "turns right"); a bare side word
counts as both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10, "a couple of": 2, "a few": 3, "several": 4}
LIMBS = r"(?:hand|hands|arm|arms|palm|palms|fist|fists|leg|legs|foot|feet|knee|knees|shoulder|shoulders|side|elbow|fingers?)"
_SIDE = r"(left|right)"
_LIMB_SIDE = re.compile(rf"\b{_SIDE}(?:[- ]hand(?:ed)?)?\s+(?:\w+\s+)?{LIMBS}\b", re.I)
_LIMB_SIDE_BARE = re.compile(rf"\b(?:his|her|their|the|its|with)\s+{_SIDE}\b(?!\s*(?:side|direction|way)\b)", re.I)
_DIRECTION = re.compile(rf"\b(?:to|toward|towards|at|on|from)\s+(?:the|his|her|their)\s+{_SIDE}\b|"
                        rf"\b(?:turns?|turning|steps?|stepping|sidesteps?|looks?|points?|pointing|moves?|"
                        rf"shuffles?|rotates?|spins?|pivots?|leans?|walks?|veers?|glances?)\s+(?:\w+\s+)?{_SIDE}\b|"
                        rf"\b{_SIDE}(?:ward|wards)\b", re.I)
_BOTH = re.compile(rf"\b(?:both|two|each)\s+(?:of\s+(?:his|her|their)\s+)?{LIMBS}\b|\bwith\s+both\b|"
                   r"\btwo-handed\b|\bboth\s+(?:his|her|their)\s+" + LIMBS, re.I)
_ANY_SIDE = re.compile(rf"\b{_SIDE}\b", re.I)
_REPS = re.compile(r"\b(once|twice|thrice|(\d+|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few|"
                   r"several)\s+times)\b|\b(repeatedly|again and again|over and over)\b", re.I)
SLOW_WORDS = ("slowly", "slow", "leisurely", "unhurriedly", "unhurried", "in slow motion", "gradually", "lazily",
              "calmly", "languidly")
FAST_WORDS = ("quickly", "quick", "fast", "rapidly", "rapid", "briskly", "brisk", "swiftly", "hurriedly", "hastily",
              "speedily", "in a hurry", "snappily")
LARGE_WORDS = ("vigorously", "energetically", "enthusiastically", "emphatically", "wildly", "dramatically",
               "widely", "broadly", "big", "large", "huge", "strongly", "forcefully", "exaggerated", "high")
SMALL_WORDS = ("slightly", "subtly", "gently", "softly", "a little", "a bit", "small", "tiny", "barely", "faintly",
               "lightly", "discreetly")


def _word_re(words) -> re.Pattern:
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b", re.I)


_SLOW, _FAST, _LARGE, _SMALL = (_word_re(w) for w in (SLOW_WORDS, FAST_WORDS, LARGE_WORDS, SMALL_WORDS))


@dataclass(frozen=True)
class PromptAttributes:
    side: str | None = None          # "left" / "right" / "both": the limb named
    direction: str | None = None     # "left" / "right": where to step, turn, point
    repetitions: int | None = None
    speed: str | None = None         # "slow" / "fast"
    intensity: str | None = None     # "small" / "large"

    def describe(self) -> str:
        """A short phrase for the UI ("right side, 3 times, slowly"), empty when nothing was named."""
        parts = []
        if self.side:
            parts.append("both sides" if self.side == "both" else f"{self.side} side")
        if self.direction and self.direction != self.side:
            parts.append(f"toward the {self.direction}")
        if self.repetitions:
            parts.append("once" if self.repetitions == 1 else f"{self.repetitions} times")
        if self.speed:
            parts.append("slowly" if self.speed == "slow" else "quickly")
        if self.intensity:
            parts.append("small" if self.intensity == "small" else "large")
        return ", ".join(parts)


def _repetitions(text: str) -> int | None:
    m = _REPS.search(text)
    if not m:
        return None
    word = m.group(1)
    if word:
        word = word.lower()
        if word == "once":
            return 1
        if word == "twice":
            return 2
        if word == "thrice":
            return 3
        count = m.group(2).lower()
        return int(count) if count.isdigit() else NUMBERS[count]
    return 4  # repeatedly


def parse_attributes(prompt: str) -> PromptAttributes:
    """Side, direction, repetitions, speed and intensity named in `prompt` (None where not named)."""
    text = " ".join(prompt.split())
    side = None
    if _BOTH.search(text):
        side = "both"
    else:
        m = _LIMB_SIDE.search(text) or _LIMB_SIDE_BARE.search(_DIRECTION.sub(" ", text))
        if m:
            side = m.group(1).lower()
    d = _DIRECTION.search(text)
    direction = next((g.lower() for g in d.groups() if g), None) if d else None
    if side is None and direction is None:
        m = _ANY_SIDE.search(text)
        if m:
            side = direction = m.group(1).lower()
    elif direction is None and side in ("left", "right"):
        others = {w.lower() for w in _ANY_SIDE.findall(text)} - {side}
        direction = others.pop() if others else None
    speed = "slow" if _SLOW.search(text) else "fast" if _FAST.search(text) else None
    small, large = _SMALL.search(text), _LARGE.search(text)
    intensity = "large" if large and not small else "small" if small and not large else None
    return PromptAttributes(side, direction, _repetitions(text), speed, intensity)


_STRIP = [_REPS, _SLOW, _FAST, re.compile(r"\bboth\b", re.I)]
_SIDE_WORD = re.compile(r"\b(left|right)(?:-hand(?:ed)?)?\b", re.I)
SIDE_PLACEHOLDER = "side"


def action_text(prompt: str) -> str:
    """The prompt without repetition and speed words, and "left"/"right" replaced by one neutral
    word (so "points to the left" and "points to the right" read the same, but still unlike
    "points up"): what the action is matched on."""
    text = " ".join(prompt.lower().split())
    text = _SIDE_WORD.sub(SIDE_PLACEHOLDER, text)
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    text = re.sub(r"\s+([,.])", r"\1", " ".join(text.split()))
    return text.strip(" ,.") or prompt.lower()


__all__ = ["PromptAttributes", "action_text", "parse_attributes"]
