"""Bad saved values in a project.json put back to their defaults, each said out loud.

Why: a project (an autosave above all) must open even when one value in it is out of range, e.g.
a seed of 1e30 typed before seeds were checked: the page would otherwise fail to restore on every
reload. Structure that cannot be repaired (no segments, a timeline that does not cover the audio,
missing files) is still refused by studio.project; values that have a safe default are reset here
and the rest of the project is kept. ``repair`` edits the parsed JSON in place and returns one
line per reset, for the page's status.
"""

from __future__ import annotations

import math

from pipeline.constants import CODEBOOK_SIZE
from pipeline.validation import (ARTICULATION_RANGE, InputError, check_blink_rate, check_fps, check_number,
                                 check_resolution, check_seed)

BACKENDS = ("warp", "diffusion")

_SETTINGS = {
    "seed": ("the generation seed", check_seed),
    "render_seed": ("the render seed", check_seed),
    "fps": ("the render frame rate", check_fps),
    "resolution": ("the render resolution", check_resolution),
    "blink_rate": ("the blink rate", check_blink_rate),
}


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and abs(value) > 10**12:
        return f"{float(value):.3g}"
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _seed_ok(value) -> bool:
    try:
        check_seed(value)
        return True
    except InputError:
        return False


def _fix_segment_seeds(segments, where: str, notes: list[str] | None) -> int:
    """Seeds of a segment list reset to 0 when they are not seeds; returns how many were reset."""
    if not isinstance(segments, list):
        return 0
    reset = 0
    for i, seg in enumerate(segments):
        if isinstance(seg, dict) and "seed" in seg and not _seed_ok(seg["seed"]):
            if notes is not None:
                notes.append(f"{where} {i + 1}'s seed {_short(seg['seed'])} is not a seed (0..2147483647); "
                             "reset to 0")
            seg["seed"] = 0
            reset += 1
        elif isinstance(seg, dict) and "seed" in seg:
            seg["seed"] = check_seed(seg["seed"])   # 3.0, "3" and None (-> 0) as whole numbers
    return reset


def _tokens_ok(values) -> bool:
    return values is None or (isinstance(values, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < CODEBOOK_SIZE for v in values))


def repair(data: dict) -> list[str]:
    """Reset the bad values of a parsed project.json (in place); one message per reset."""
    notes: list[str] = []
    _fix_segment_seeds(data.get("segments"), "segment", notes)

    duration = data.get("duration_s")
    try:
        ok = duration is None or math.isfinite(float(duration)) and float(duration) >= 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        segs = data.get("segments") if isinstance(data.get("segments"), list) else []
        try:
            fallback = float(segs[-1]["end"]) if segs else 0.0
        except (KeyError, TypeError, ValueError, IndexError):
            fallback = 0.0
        notes.append(f"the saved duration {_short(duration)} is not a length of time; taken from the timeline "
                     f"({fallback:.2f} s)")
        data["duration_s"] = fallback

    settings = data.get("settings")
    if settings is not None and not isinstance(settings, dict):
        notes.append("the saved render settings were damaged; the defaults are used")
        data["settings"] = {}
    for key, (what, check) in _SETTINGS.items():
        if isinstance(data.get("settings"), dict) and key in data["settings"]:
            try:
                data["settings"][key] = check(data["settings"][key])
            except InputError:
                notes.append(f"{what} {_short(data['settings'][key])} was out of range; reset to the default")
                del data["settings"][key]
    if isinstance(data.get("settings"), dict) and data["settings"].get("backend", "warp") not in BACKENDS:
        notes.append(f"the saved renderer {_short(data['settings']['backend'])} is unknown; reset to warp")
        data["settings"]["backend"] = "warp"

    speech = data.get("speech")
    if isinstance(speech, dict) and "articulation" in speech:
        try:
            speech["articulation"] = check_number(speech["articulation"], "articulation", *ARTICULATION_RANGE)
        except InputError:
            notes.append(f"the articulation strength {_short(speech['articulation'])} was out of range; reset to 1")
            speech["articulation"] = 1.0

    takes = data.get("takes")
    if isinstance(takes, list):
        kept = [t for t in takes if isinstance(t, dict) and _tokens_ok(t.get("tokens")) and "label" in t]
        if len(kept) != len(takes):
            notes.append(f"{len(takes) - len(kept)} damaged take(s) dropped; {len(kept)} kept")
            data["takes"] = kept

    history = data.get("history")
    if isinstance(history, dict):
        dropped = 0
        for side in ("undo", "redo"):
            steps = history.get(side)
            if not isinstance(steps, list):
                continue
            good = []
            for step in steps:
                if isinstance(step, dict) and _tokens_ok(step.get("tokens")):
                    dropped += bool(_fix_segment_seeds(step.get("segments"), "step", None))
                    good.append(step)
                else:
                    dropped += 1
                    continue
            history[side] = good
        if dropped:
            notes.append(f"{dropped} undo step(s) held bad values (reset or dropped)")
    return notes
