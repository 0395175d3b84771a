"""Where the studio's motion comes from: the built dataset, the procedural action library, BVH files.

Everything here returns a ``LoadedMotion``: 22 SMPL joints (T, 22, 3) in metres, Y up, at
MOTION_FPS, with what the page shows about it (captions, source, duration). The pipeline modules
are imported lazily, so the page still opens (with fewer sources) while one of them is missing.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.constants import MOTION_FPS

log = logging.getLogger(__name__)

ACTION_SEED: int = 0
"""Procedural actions are generated with this fixed seed, so a clip looks the same every time."""

DATASET_CHOICES_LIMIT: int = 2000
"""At most this many dataset clips are listed in the picker (the browser gets the whole list)."""

ACTION_PREFIX = "action:"
DATASET_PREFIX = "dataset:"
PREFERRED_DEFAULT_ACTIONS: tuple[str, ...] = ("wave", "wave_right", "speech_gesture", "talk")


@dataclass
class LoadedMotion:
    """A motion ready to show and export. ``joints`` is (T, 22, 3) float32 at ``fps``."""

    key: str
    title: str
    joints: np.ndarray
    fps: float
    origin: str  # "procedural" | "dataset" | "upload"
    source: str  # what the page shows as the source, e.g. "cmu", "synthetic", "cgspeed-daz rig"
    synthetic: bool
    captions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration(self) -> float:
        return self.n_frames / float(self.fps)


class MotionSourceError(ValueError):
    """A motion could not be loaded; the message says what was wrong and what to do."""


# ----------------------------------------------------------------------------- procedural actions

def _procedural():
    from pipeline.data.synthetic import procedural  # imported on use: 0.44 s, only the motion page needs it
    return procedural


_warned_no_actions = False


def action_names() -> list[str]:
    """The procedural action library, or [] when it cannot be imported."""
    global _warned_no_actions
    try:
        return list(_procedural().action_names())
    except Exception:  # noqa: BLE001 - a missing library must not take the page down
        if not _warned_no_actions:
            log.exception("procedural action library unavailable; the picker lists no actions")
            _warned_no_actions = True
        return []


@functools.lru_cache(maxsize=128)
def _generate_action(name: str, seed: int):
    return _procedural().generate_action(name, np.random.default_rng(seed))


def load_action(name: str, seed: int = ACTION_SEED) -> LoadedMotion:
    if name not in action_names():
        raise MotionSourceError(f"Unknown action '{name}'. Available: {', '.join(action_names())}.")
    clip = _generate_action(name, seed)
    return LoadedMotion(
        key=f"{ACTION_PREFIX}{name}",
        title=name.replace("_", " "),
        joints=np.array(clip.joints, dtype=np.float32, copy=True),
        fps=float(MOTION_FPS),
        origin="procedural",
        source="procedural",
        synthetic=bool(getattr(clip, "synthetic", True)),
        captions=list(clip.captions),
        notes=[f"generated with seed {seed}"],
    )


# ----------------------------------------------------------------------------- built dataset

def default_dataset_dir() -> Path | None:
    try:
        from pipeline.data.humanml3d import default_dataset_dir as _default
    except Exception:  # noqa: BLE001
        log.exception("dataset module unavailable")
        return None
    return Path(_default())


@functools.lru_cache(maxsize=4)
def _dataset(root: str):
    from pipeline.data.humanml3d import MotionDataset
    return MotionDataset(Path(root))


def dataset_clip_ids(root: Path | None) -> list[str]:
    """Clip ids of the dataset at ``root``, or [] when there is none (a fresh clone)."""
    if root is None or not Path(root).is_dir():
        return []
    try:
        return list(_dataset(str(root)).clip_ids())
    except Exception:  # noqa: BLE001
        log.exception("could not list the dataset at %s", root)
        return []


@functools.lru_cache(maxsize=8192)
def _dataset_clip_summary(root: str, clip_id: str) -> tuple[str, str]:
    """(source, first caption) of a dataset clip, without loading its motion when possible."""
    dataset = _dataset(root)
    if hasattr(dataset, "source_of") and hasattr(dataset, "captions"):
        source, captions = dataset.source_of(clip_id), dataset.captions(clip_id)
    else:
        clip = dataset.load(clip_id)
        source, captions = clip.source, clip.captions
    return str(source), (captions[0] if captions else "")


def _source_label(source: str) -> str:
    return "synthetic" if source.lower().startswith("synth") else source


def load_dataset_clip(root: Path, clip_id: str) -> LoadedMotion:
    try:
        clip = _dataset(str(root)).load(clip_id)
    except (KeyError, FileNotFoundError) as err:
        raise MotionSourceError(f"Clip '{clip_id}' is not in the dataset at {root}.") from err
    source = _source_label(str(clip.source))
    return LoadedMotion(
        key=f"{DATASET_PREFIX}{clip_id}",
        title=clip_id,
        joints=np.array(clip.joints, dtype=np.float32, copy=True),
        fps=float(MOTION_FPS),
        origin="dataset",
        source=source,
        synthetic=source == "synthetic",
        captions=list(clip.captions),
        notes=[n for n in (f"from {clip.origin}" if getattr(clip, "origin", "") else "",
                           f"dataset: {root}") if n],
    )


# ----------------------------------------------------------------------------- the picker

def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_choices(dataset_dir: Path | None) -> list[tuple[str, str]]:
    """(label, key) pairs for the picker: the dataset's clips (when built), then every action."""
    choices: list[tuple[str, str]] = []
    ids = dataset_clip_ids(dataset_dir)
    for clip_id in ids[:DATASET_CHOICES_LIMIT]:
        try:
            source, caption = _dataset_clip_summary(str(dataset_dir), clip_id)
        except Exception:  # noqa: BLE001 - one broken clip must not hide the others
            log.exception("could not read dataset clip %s", clip_id)
            continue
        label = f"{clip_id} · {_source_label(source)}"
        if caption:
            label += f" · {_short(caption)}"
        choices.append((label, f"{DATASET_PREFIX}{clip_id}"))
    for name in action_names():
        try:
            captions = _generate_action(name, ACTION_SEED).captions
        except Exception:  # noqa: BLE001
            log.exception("could not generate action %s", name)
            continue
        label = f"{name.replace('_', ' ')} · procedural, synthetic"
        if captions:
            label += f" · {_short(captions[0])}"
        choices.append((label, f"{ACTION_PREFIX}{name}"))
    return choices


def default_choice(choices: list[tuple[str, str]]) -> str | None:
    """The clip the page opens with: a friendly procedural action when there is one."""
    keys = [key for _, key in choices]
    for name in PREFERRED_DEFAULT_ACTIONS:
        if f"{ACTION_PREFIX}{name}" in keys:
            return f"{ACTION_PREFIX}{name}"
    actions = [k for k in keys if k.startswith(ACTION_PREFIX)]
    if actions:
        return actions[0]
    return keys[0] if keys else None


def load_choice(key: str, dataset_dir: Path | None) -> LoadedMotion:
    """Load a picker entry by its key ("action:<name>" or "dataset:<clip id>")."""
    if not key:
        raise MotionSourceError("No clip selected. Pick one from the list.")
    if key.startswith(ACTION_PREFIX):
        return load_action(key[len(ACTION_PREFIX):])
    if key.startswith(DATASET_PREFIX):
        if dataset_dir is None or not Path(dataset_dir).is_dir():
            raise MotionSourceError(
                "No dataset is built yet. Run `python -m pipeline build-dataset`, then refresh.")
        return load_dataset_clip(Path(dataset_dir), key[len(DATASET_PREFIX):])
    raise MotionSourceError(f"Unknown clip '{key}'. Pick one from the list.")


# ----------------------------------------------------------------------------- BVH files

def load_bvh_file(path: str | Path) -> LoadedMotion:
    """Read and retarget a BVH file. BvhFormatError / UnknownRigError (ValueErrors) pass through."""
    from pipeline.motion.retarget import load_bvh_motion

    path = Path(path)
    motion = load_bvh_motion(path)
    joints = np.asarray(motion.joints, dtype=np.float32)
    fps = float(getattr(motion, "fps", MOTION_FPS))
    notes: list[str] = []
    source_fps = float(getattr(motion, "source_fps", fps))
    if abs(source_fps - fps) > 1e-3:
        notes.append(f"resampled from {source_fps:g} to {fps:g} fps")
    dropped = int(getattr(motion, "dropped_frames", 0) or getattr(motion, "dropped_tpose", 0) or 0)
    if dropped:
        notes.append(f"{dropped} leading T-pose frame{'s' if dropped > 1 else ''} dropped")
    return LoadedMotion(
        key=f"upload:{path.name}",
        title=path.stem,
        joints=joints,
        fps=fps,
        origin="upload",
        source=f"{motion.rig} rig",
        synthetic=False,
        captions=[],
        notes=notes,
    )


def forget_cached_sources() -> None:
    """Drop cached dataset listings (after `build-dataset` wrote a new one)."""
    _dataset.cache_clear()
    _dataset_clip_summary.cache_clear()
