"""Prompt understanding: which known action a director's prompt asks for, on which side, how often,
how fast, and whether it is something the models know at all.

    it = interpret_prompt("a person greets by waving his right arm")
    it.action, it.side, it.caption      # 'wave_right', 'right', 'the man waves with his right hand.'
    it.known, it.closest                # True, [('wave', 0.71), ('beckon', 0.52), ...]

How: the prompt's side / repetition / speed words are read by rules (pipeline.text.attributes) and
removed; what is left is embedded (all-MiniLM-L6-v2) and compared with every caption the shipped
generator was trained on, with the same words removed: the procedural library's templates (many
parameter draws) and CMU's mocap descriptions. Actions that differ only by side (wave_left /
wave_right) form one family; the family is picked by meaning, the side by the rules. The generator
is then given a caption in its own training wording, rendered from the action's templates with the
side, repetitions and speed asked for (:attr:`PromptInterpretation.caption`).

A prompt whose best similarity is below the generator's threshold (``unknown_threshold`` in its
vocabulary.json, else UNKNOWN_THRESHOLD) is reported as not understood, with the closest known
actions. The threshold is measured, not guessed: ``python -m benchmarks.prompts``
chooses it on the development half of benchmarks/prompt_sets.py and reports recall / false
alarms on the other half.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from pipeline.text.attributes import PromptAttributes, action_text, parse_attributes
from pipeline.text.encoder import TextEncoder, load_text_encoder

UNKNOWN_THRESHOLD: float = 0.50
"""Prompts whose best cosine similarity to a known caption is below this are reported as unknown.
Measured by ``python -m benchmarks.prompts``: the lowest threshold that reports 90 % of the
out-of-vocabulary prompts of the development half of benchmarks/prompt_sets.py (0.499, rounded), with
the 43-action vocabulary of the generator trained before issue 14. The threshold depends on the
vocabulary (more known captions raise every prompt's best similarity): a generator whose
vocabulary.json holds ``unknown_threshold`` uses that one (:func:`generator_unknown_threshold`)."""

TRAINED_MOCAP_DESCRIPTIONS: tuple[str, ...] = (
    # CMU's descriptions of the cmu-bvh takes in the dataset the shipped generator was trained on
    # (pipeline.data.build._take_files over ../shared/data/cmu-bvh). The ASF/AMC takes are not here:
    # the shipped generator has not seen them. Add their descriptions when it is retrained.
    "basketball - backward dribble", "basketball - crossover dribble, shoot", "basketball - dribble, shoot",
    "basketball - forward dribble", "basketball - forward dribble, 90-degree left turns",
    "basketball - forward dribble, 90-degree right turns",
    "basketball - forward dribble, 90-degree right turns, crossover dribble", "basketball - sideways dribble",
    "bend over, scoop up, rise, lift arm", "brisk walk",
    "dance - arms held high, pointe tendue a terre, upper body rotation",
    "dance - attitude/arabesque, jete en tourant, bending back", "dance - cartwheel-like start, pirouettes, jete",
    "dance - coupe dessous, grand jete en tourant", "dance - coupe dessous, jete en tourant",
    "dance - expressive arms, pirouette", "dance - glissade devant, glissade derriere, attitude/arabesque",
    "dance - quasi-cou-de-pied, raised leg above hip-height, jete en tourant",
    "dance - retire derriere, attitude/arabesque", "dance - rond de jambe in the air, jete, turn",
    "dance - sideways arabesque, folding arms, bending back", "dance - sideways arabesque, turn step, folding arms",
    "dance - sideways steps, pirouette", "dance - small jetes, attitude/arabesque, shifted-axis pirouette, turn",
    "dance - small jetes, pirouette", "forward jump", "jump", "jump up to grab, reach for, tiptoe", "jump, balance",
    "playground - climb, jump down, dangle, legs push off against",
    "playground - climb, sit, dangle legs, rock back, lower self to ground", "playground - forward jumps, turn around",
    "punch/strike", "run", "run/jog", "slow walk", "slow walk/stride", "swordplay", "walk", "walk on uneven terrain",
    "walk, exaggerated stride", "walk/stride", "wash self",
)

GENERATOR_ACTIONS: tuple[str, ...] = (
    # The procedural actions the shipped generator (and action classifier) were trained on: the
    # library before issue 14 added 37 whole-body actions. Prompts for the new ones are reported as
    # unknown until the generator is retrained on a dataset that holds them; then list them here.
    "arms_open_wide", "beat_gesture", "beckon", "bow", "clap", "count_on_hand", "cross_arms", "facepalm",
    "fist_pump", "hand_on_chest", "hand_to_ear", "hands_behind_back", "hands_on_hips", "head_tilt", "idle_sway",
    "lean_forward", "look_around", "nod", "point_at_self", "point_forward", "point_left", "point_right", "point_up",
    "present_open_palm", "raise_both_arms", "raise_hand", "salute", "scratch_head", "shake_head", "shrug",
    "steeple_hands", "step_back", "step_forward", "step_left", "step_right", "stop_sign", "thinking_pose",
    "thumbs_up", "turn_left", "turn_right", "wave_both", "wave_left", "wave_right",
)

VOCABULARY_FILE = "vocabulary.json"
"""Beside a generator's weights: the procedural actions and CMU descriptions its text branch was
trained on ({"actions": [...], "mocap_descriptions": [...]}, optionally "unknown_threshold": the
threshold ``python -m benchmarks.prompts --generator DIR`` measured with that vocabulary), written by
``python -m pipeline.train.generator_text`` (or :func:`write_vocabulary`). A generator folder without
it is the one trained before issue 14: GENERATOR_ACTIONS and TRAINED_MOCAP_DESCRIPTIONS describe it."""
DEFAULT_GENERATOR_DIR = Path(__file__).resolve().parents[2] / "assets" / "checkpoints" / "motion_generator"


def generator_vocabulary(generator_dir: str | Path | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(actions, mocap descriptions) the generator in ``generator_dir`` (default: the shipped one) knows."""
    path = Path(generator_dir or DEFAULT_GENERATOR_DIR) / VOCABULARY_FILE
    if not path.is_file():
        return GENERATOR_ACTIONS, TRAINED_MOCAP_DESCRIPTIONS

    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(data["actions"]), tuple(data["mocap_descriptions"])


def generator_unknown_threshold(generator_dir: str | Path | None = None) -> float:
    """The unknown-prompt threshold measured for the vocabulary of the generator in ``generator_dir``
    (its vocabulary.json's ``unknown_threshold``), else UNKNOWN_THRESHOLD."""
    path = Path(generator_dir or DEFAULT_GENERATOR_DIR) / VOCABULARY_FILE
    if not path.is_file():
        return UNKNOWN_THRESHOLD
    value = json.loads(path.read_text(encoding="utf-8")).get("unknown_threshold")
    if value is None:
        return UNKNOWN_THRESHOLD
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{path}: unknown_threshold {value} is not a cosine similarity in (0, 1)")
    return float(value)


def dataset_vocabulary(*dataset_dirs: str | Path, index_path: str | Path | None = None) -> dict:
    """The procedural actions and CMU take descriptions in the TRAIN splits of HumanML3D-layout
    datasets (what a generator trained on them knows). CMU clip ids ("cmu_SSS_TT_KK", mirrored
    "Mcmu_...") give the take, whose description comes from cmu_index.csv (default: the shared
    data folder's cmu-bvh or cmu-amc copy)."""
    from pipeline.data.cmu_captions import read_cmu_index
    from pipeline.data.humanml3d import MotionDataset
    from pipeline.paths import shared_data_dir

    if index_path is None:
        candidates = [shared_data_dir() / d / "cmu_index.csv" for d in ("cmu-bvh", "cmu-amc")]
        index_path = next((c for c in candidates if c.is_file()), None)
    index = read_cmu_index(Path(index_path)) if index_path is not None else {}
    actions, descriptions = set(), set()
    for folder in dataset_dirs:
        ds = MotionDataset(folder)
        for cid in ds.clip_ids("train"):
            source = ds.source_of(cid)
            if source == "synthetic":
                actions.add(ds.load(cid).origin)
            elif source == "cmu":
                parts = cid.lstrip("M").split("_")
                if not index:
                    raise FileNotFoundError("cmu_index.csv is needed to name the CMU takes; pass index_path")
                description = index.get((int(parts[1]), int(parts[2])), "")
                if description:
                    descriptions.add(description)
    return {"actions": sorted(actions), "mocap_descriptions": sorted(descriptions)}


def write_vocabulary(out_dir: str | Path, *dataset_dirs: str | Path) -> Path:
    """Write ``vocabulary.json`` (see VOCABULARY_FILE) for a generator trained on ``dataset_dirs``."""

    path = Path(out_dir) / VOCABULARY_FILE
    data = dataset_vocabulary(*dataset_dirs)
    data["datasets"] = [Path(d).name for d in dataset_dirs]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


SIDE_FAMILIES: dict[str, str] = {
    "wave_left": "wave", "wave_right": "wave", "wave_both": "wave",
    "point_left": "point to a side", "point_right": "point to a side",
    "step_left": "step sideways", "step_right": "step sideways",
    "turn_left": "turn", "turn_right": "turn",
    "kick_front_left": "kick forward", "kick_front_right": "kick forward",
    "kick_side_left": "kick sideways", "kick_side_right": "kick sideways",
}
"""Actions that differ only by side or direction: matched as one family, resolved by the rules."""
DIRECTION_FAMILIES = ("point to a side", "step sideways", "turn")
LIMB_FAMILIES = ("kick forward", "kick sideways")
"""Families whose action name says the limb (kick_front_left): resolved by the side the prompt names."""
BOTH_SIDES_COUNTERPART = {"raise_hand": "raise_both_arms"}
ONE_SIDE_COUNTERPART = {"raise_both_arms": "raise_hand"}
SLOW_SPEED, FAST_SPEED, NORMAL_SPEED = 0.7, 1.4, 1.0
SIDE_FIELDS = ("{hand}", "{arm}", "{hands_word}", "{side}")
"""Caption template fields that say the side (captions.py)."""
DRAWS_PER_ACTION = 6
CACHE_DIR = Path(__file__).resolve().parents[2] / "cache" / "text-understanding"


@dataclass
class VocabularyEntry:
    text: str            # the caption with side / count / speed words removed (what is matched)
    caption: str         # the caption as trained on
    family: str          # action family ("wave"), an action name, or "mocap: <description>"
    action: str | None   # the procedural action, or None for mocap


@dataclass
class PromptInterpretation:
    """What a prompt was understood as; ``caption`` is what the generator is given."""

    prompt: str
    caption: str
    known: bool
    similarity: float
    family: str
    action: str | None = None
    side: str | None = None
    attributes: PromptAttributes = field(default_factory=PromptAttributes)
    matched_caption: str = ""
    closest: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    threshold: float = UNKNOWN_THRESHOLD   # the unknown-prompt threshold it was judged by

    @property
    def source(self) -> str:
        return "unknown" if not self.known else "mocap" if self.action is None else "procedural"

    def summary(self) -> str:
        """One line for the CLI and the studio's status."""
        if not self.known:
            names = ", ".join(f"{name} ({sim:.2f})" for name, sim in self.closest[:3])
            return (f"not understood: \"{_short(self.prompt)}\" is far from every action the model knows "
                    f"(best similarity {self.similarity:.2f} < {self.threshold:.2f}); closest known: {names}. "
                    "The motion may not follow this prompt; rephrase it with one of those actions")
        what = self.action or self.family
        extra = self.attributes.describe()
        return f"\"{_short(self.prompt)}\" -> {what}{' (' + extra + ')' if extra else ''}: \"{self.caption}\""


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def family_of(action: str) -> str:
    return SIDE_FAMILIES.get(action, action)


# ------------------------------------------------------------------------------------ vocabulary
def _action_sides(spec, draws: int = 24) -> list[str]:
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()))
    seen: list[str] = []
    for _ in range(draws):
        side = spec.sample(rng).get("side")
        if side is not None and side not in seen:
            seen.append(side)
    return seen


def procedural_entries(draws: int = DRAWS_PER_ACTION, actions: Iterable[str] = GENERATOR_ACTIONS) -> list[VocabularyEntry]:
    """Every template of the given library actions, rendered with several parameter draws."""
    from pipeline.data.synthetic.procedural import ACTIONS
    from pipeline.data.synthetic.procedural.captions import render_captions

    out, seen = [], set()
    for name in sorted(actions):
        spec = ACTIONS[name]
        rng = np.random.default_rng([7, zlib.crc32(name.encode())])
        for _ in range(draws):
            params = spec.sample(rng)
            n = len(spec.captions)
            for caption in render_captions(spec.captions, params, rng, n_min=n, n_max=n):
                text = action_text(caption)
                if (name, text) not in seen:
                    seen.add((name, text))
                    out.append(VocabularyEntry(text, caption, family_of(name), name))
    return out


def mocap_entries(descriptions: Iterable[str] = TRAINED_MOCAP_DESCRIPTIONS) -> list[VocabularyEntry]:
    from pipeline.data.cmu_captions import captions_for_description

    out = []
    for d in descriptions:
        caption = captions_for_description(d)[0]
        out.append(VocabularyEntry(action_text(caption), caption, f"mocap: {d}", None))
    return out


class Vocabulary:
    """Known captions and their embeddings (computed once per process, cached on disk)."""

    def __init__(self, entries: list[VocabularyEntry], encoder: TextEncoder | None = None,
                 threshold: float = UNKNOWN_THRESHOLD) -> None:
        self.entries = entries
        self.threshold = threshold     # the unknown-prompt threshold measured for these entries
        self.encoder = encoder or load_text_encoder("minilm")
        self.families = sorted({e.family for e in entries})
        self._family_index = np.array([self.families.index(e.family) for e in entries])
        self.embeddings = self._embed([e.text for e in entries])

    def _embed(self, texts: list[str]) -> np.ndarray:
        key = hashlib.sha256(("\n".join(texts) + self.encoder.name).encode()).hexdigest()[:16]
        path = CACHE_DIR / f"vocabulary-{key}.npy"
        if path.is_file():
            emb = np.load(path, allow_pickle=False)
            if emb.shape == (len(texts), self.encoder.dim):
                return emb
        emb = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        try:
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            np.save(path, emb)
        except OSError:
            pass  # a read-only checkout recomputes next time; nothing is wrong with the result
        return emb

    def family_scores(self, prompts: list[str]) -> np.ndarray:
        """(N, families) best cosine similarity of each prompt's action text to each family."""
        texts = [action_text(p) for p in prompts]
        q = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        sims = q @ self.embeddings.T
        out = np.full((len(prompts), len(self.families)), -1.0, dtype=np.float32)
        for f in range(len(self.families)):
            out[:, f] = sims[:, self._family_index == f].max(axis=1)
        self._last_sims = sims
        return out


_VOCABS: dict[str, Vocabulary] = {}
_VOCAB_LOCK = threading.Lock()


def default_vocabulary(generator_dir: str | Path | None = None) -> Vocabulary:
    """The procedural actions and mocap descriptions the generator in ``generator_dir`` (default:
    the shipped one) was trained on (its vocabulary.json, see :func:`generator_vocabulary`);
    built once per folder and process."""
    key = str(Path(generator_dir or DEFAULT_GENERATOR_DIR).resolve())
    with _VOCAB_LOCK:
        if key not in _VOCABS:
            actions, descriptions = generator_vocabulary(generator_dir)
            _VOCABS[key] = Vocabulary(procedural_entries(actions=actions) + mocap_entries(descriptions),
                                      threshold=generator_unknown_threshold(generator_dir))
        return _VOCABS[key]


# ------------------------------------------------------------------------------------ resolution
def _resolve_action(family: str, best_entry: VocabularyEntry, attrs: PromptAttributes) -> tuple[str, list[str]]:
    notes: list[str] = []
    if family == "wave":
        side = attrs.side or attrs.direction or "right"
        return f"wave_{side}", notes
    if family in LIMB_FAMILIES:
        side = attrs.side if attrs.side in ("left", "right") else None
        if side is None:
            return best_entry.action, notes
        return f"{best_entry.action.rsplit('_', 1)[0]}_{side}", notes
    if family in DIRECTION_FAMILIES:
        direction = attrs.direction or (attrs.side if attrs.side in ("left", "right") else None)
        if direction is None:
            return best_entry.action, notes
        prefix = best_entry.action.rsplit("_", 1)[0]
        return f"{prefix}_{direction}", notes
    action = best_entry.action
    if attrs.side == "both" and action in BOTH_SIDES_COUNTERPART:
        return BOTH_SIDES_COUNTERPART[action], notes
    if attrs.side in ("left", "right") and action in ONE_SIDE_COUNTERPART:
        return ONE_SIDE_COUNTERPART[action], notes
    return action, notes


def _render(action: str, attrs: PromptAttributes, seed: int) -> tuple[str, str | None, list[str]]:
    """A caption in the library's wording for `action` with the asked side / count / speed."""
    from pipeline.data.synthetic.procedural import ACTIONS
    from pipeline.data.synthetic.procedural.captions import render_captions

    spec = ACTIONS[action]
    rng = np.random.default_rng(seed)
    params = spec.sample(rng)
    notes: list[str] = []
    sides = _action_sides(spec)
    wanted = attrs.side or (attrs.direction if family_of(action) not in DIRECTION_FAMILIES else None)
    if wanted and "side" in params and family_of(action) not in DIRECTION_FAMILIES and family_of(action) != "wave":
        if wanted in sides:
            params["side"] = wanted
        else:
            notes.append(f"{action} is done with {' or '.join(sides)}; the {wanted} side asked for is not available")
    if attrs.repetitions:
        params["repetitions"] = int(attrs.repetitions)
        params["count_matters"] = True
    else:
        params["count_matters"] = False  # no count asked for: say none
    params["speed"] = {"slow": SLOW_SPEED, "fast": FAST_SPEED}.get(attrs.speed or "", NORMAL_SPEED)
    if attrs.intensity:
        params["amplitude"] = 1.2 if attrs.intensity == "large" else 0.75
    templates = list(spec.captions)
    if wanted and params.get("side") == wanted:   # say the side: only templates that name it
        templates = [t for t in templates if any(f in t for f in SIDE_FIELDS)] or templates
    if attrs.repetitions and attrs.repetitions > 1:
        templates = [t for t in templates if "{times}" in t] or templates
    if attrs.speed:
        templates = [t for t in templates if "{adv}" in t] or templates
    captions = render_captions(templates, params, rng, n_min=1, n_max=1)
    caption = captions[0]
    if attrs.repetitions and attrs.repetitions > 1 and _times(attrs.repetitions).strip() not in caption:
        caption = caption.rstrip(".") + _times(attrs.repetitions) + "."
    adverb = {"slow": " slowly", "fast": " quickly"}.get(attrs.speed or "", "")
    if adverb and adverb.strip() not in caption:
        caption = caption.rstrip(".") + adverb + "."
    return caption, params.get("side"), notes


def _times(n: int) -> str:
    from pipeline.data.synthetic.procedural.captions import times_phrase

    return times_phrase(n) or f" {n} times"


def side_is_a_parameter(action: str | None) -> bool:
    """True for a library action done with either hand, its side a parameter (thumbs_up, beckon,
    raise_hand, ...): not the actions that differ by name (wave_left / wave_right, SIDE_FAMILIES)
    nor those done only with both hands or only with one of them (salute)."""
    from pipeline.data.synthetic.procedural import ACTIONS

    if action is None or action in SIDE_FAMILIES or action not in ACTIONS:
        return False
    sides = _action_sides(ACTIONS[action])
    return "left" in sides and "right" in sides


def _mocap_caption(entry: VocabularyEntry, attrs: PromptAttributes) -> str:
    """The mocap caption, mirrored when the prompt names the other side."""
    from pipeline.data.build import mirror_caption

    wanted = attrs.direction or attrs.side
    words = set(re.findall(r"\b(left|right)\b", entry.caption))
    if wanted in ("left", "right") and words and wanted not in words:
        return mirror_caption(entry.caption)
    return entry.caption


def interpret_prompts(prompts: list[str], vocabulary: Vocabulary | None = None,
                      threshold: float | None = None) -> list[PromptInterpretation]:
    """Interpretations of several prompts (one embedding batch)."""
    vocab = vocabulary or default_vocabulary()
    threshold = vocab.threshold if threshold is None else threshold
    scores = vocab.family_scores(prompts)
    sims = vocab._last_sims
    out = []
    for i, prompt in enumerate(prompts):
        attrs = parse_attributes(prompt)
        order = np.argsort(-scores[i])
        closest = [(vocab.families[f], float(scores[i, f])) for f in order[:5]]
        family, best = closest[0]
        members = [k for k, e in enumerate(vocab.entries) if e.family == family]
        entry = vocab.entries[max(members, key=lambda k: sims[i, k])]
        known = best >= threshold
        notes: list[str] = []
        action, side = None, None
        if not known:
            caption = prompt
        elif entry.action is None:
            caption = _mocap_caption(entry, attrs)
        else:
            action, notes = _resolve_action(family, entry, attrs)
            caption, side, more = _render(action, attrs, zlib.crc32(prompt.encode()))
            notes += more
        out.append(PromptInterpretation(prompt=prompt, caption=caption, known=known, similarity=float(best),
                                        family=family, action=action, side=side, attributes=attrs,
                                        matched_caption=entry.caption, closest=closest, notes=notes,
                                        threshold=threshold))
    return out


def interpret_prompt(prompt: str, vocabulary: Vocabulary | None = None,
                     threshold: float | None = None) -> PromptInterpretation:
    """How `prompt` is understood (see the module docstring)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("the prompt is empty: describe the motion (e.g. \"waves with the right hand\")")
    return interpret_prompts([prompt], vocabulary, threshold)[0]


__all__ = ["GENERATOR_ACTIONS", "PromptInterpretation", "VOCABULARY_FILE", "dataset_vocabulary",
           "generator_unknown_threshold", "generator_vocabulary", "write_vocabulary", "UNKNOWN_THRESHOLD", "Vocabulary", "default_vocabulary", "interpret_prompt",
           "interpret_prompts", "mocap_entries", "procedural_entries", "side_is_a_parameter"]
