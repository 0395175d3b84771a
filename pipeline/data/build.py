"""Build the project's motion dataset in the HumanML3D layout from CMU mocap and procedural actions.

Two sources, labelled in sources.csv and in every report:
  cmu        every usable take of $VERSASTUDIO_DATA/cmu-bvh (default ../shared/data/cmu-bvh; both rigs,
             one copy per take), cut into windows of at most 10 s at pauses, captioned from CMU's descriptions; mirrored too.
  synthetic  the procedural library of talking-relevant actions (pipeline.motion.procedural).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from tqdm import tqdm

from pipeline.constants import MAX_CLIP_SECONDS, MOTION_FPS
from pipeline.data.cmu_captions import captions_for_description, read_cmu_index, take_key
from pipeline.data.humanml3d import write_clip, write_index
from pipeline.data.windows import cut_points
from pipeline.motion.features import features_to_joints, group_normalised_std, joints_to_features
from pipeline.motion.skeleton import JOINT_NAMES

CMU_RIG_FOLDERS: tuple[str, ...] = ("reallusion", "cgspeed-daz")   # earlier folders win on duplicates
MIN_TAKE_SECONDS: float = 1.0
DAMAGED_TAKES: dict[str, str] = {
    # Broken in the source conversion: root height jitters, feet rise to 0.7-1.4 m while walking,
    # knees pass above the pelvis. A generic height check would also reject real climbing takes.
    "cgspeed-daz/07_12.bvh": "damaged in the source (feet and knees fly during a walk)",
    "cgspeed-daz/09_10.bvh": "damaged in the source (feet and knees fly during a run)",
}
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.8, "val": 0.1, "test": 0.1}
SUMMARY_FILE = "summary.json"


@dataclass
class BuiltClip:
    clip_id: str
    joints: np.ndarray
    captions: list[str]
    source: str
    origin: str
    group: str          # clips of one group (a take, an action variation) share a split
    mirrored: bool = False

    @property
    def report_key(self) -> str:
        """How the clip is counted: mirrored copies apart, so real minutes stay visible."""
        return f"{self.source} mirrored" if self.mirrored else self.source


@dataclass
class BuildReport:
    clips: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    frames: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: dict[str, str] = field(default_factory=dict)

    def minutes(self, source: str) -> float:
        return self.frames[source] / MOTION_FPS / 60.0

    def as_dict(self) -> dict:
        sources = sorted(self.clips)
        return {
            "clips": {s: self.clips[s] for s in sources},
            "minutes": {s: round(self.minutes(s), 3) for s in sources},
            "total_clips": sum(self.clips.values()),
            "total_minutes": round(sum(self.minutes(s) for s in sources), 3),
            "skipped_takes": self.skipped,
        }


_MIRROR_PAIRS = [(JOINT_NAMES.index(n), JOINT_NAMES.index(n.replace("left", "right")))
                 for n in JOINT_NAMES if n.startswith("left")]


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """The motion reflected left-right (x -> -x, left and right joints swapped)."""
    out = joints.copy()
    out[..., 0] *= -1
    for left, right in _MIRROR_PAIRS:
        out[:, [left, right]] = out[:, [right, left]]
    return out


def mirror_caption(caption: str) -> str:
    swap = {"left": "right", "right": "left", "Left": "Right", "Right": "Left"}
    return " ".join(swap.get(w, w) for w in caption.split(" "))


def _take_files(cmu_dir: Path) -> list[Path]:
    """One BVH per CMU take across the rig folders (the first folder's copy wins)."""
    chosen: dict[tuple[int, int], Path] = {}
    for folder in CMU_RIG_FOLDERS:
        for path in sorted((cmu_dir / folder).glob("*.bvh")):
            if f"{folder}/{path.name}" not in DAMAGED_TAKES:
                chosen.setdefault(take_key(path.name), path)
    return [chosen[k] for k in sorted(chosen)]


def cmu_clips(cmu_dir: Path, report: BuildReport, mirror: bool = True) -> Iterator[BuiltClip]:
    """Windows of every usable CMU take, with captions; unusable takes land in report.skipped."""
    from pipeline.motion.retarget import load_bvh_motion

    index = read_cmu_index(cmu_dir / "cmu_index.csv")
    for name, reason in DAMAGED_TAKES.items():
        if (cmu_dir / name).exists():
            report.skipped[name] = reason
    for path in tqdm(_take_files(cmu_dir), desc="cmu takes", unit="take"):
        name = f"{path.parent.name}/{path.name}"
        key = take_key(path.name)
        try:
            joints = load_bvh_motion(path).joints
        except ValueError as err:
            report.skipped[name] = str(err).splitlines()[0]
            continue
        if len(joints) < MIN_TAKE_SECONDS * MOTION_FPS:
            report.skipped[name] = f"shorter than {MIN_TAKE_SECONDS} s"
            continue
        description = index.get(key, "")
        if not description:
            report.skipped[name] = "no description in cmu_index.csv"
            continue
        captions = captions_for_description(description)
        for k, (start, end) in enumerate(cut_points(joints, MOTION_FPS, MAX_CLIP_SECONDS)):
            clip_id = f"cmu_{key[0]:03d}_{key[1]:02d}_{k:02d}"
            origin = f"{name} {start / MOTION_FPS:.2f}-{end / MOTION_FPS:.2f}s"
            window = joints[start:end]
            yield BuiltClip(clip_id, window, captions, "cmu", origin, group=f"cmu_{key}")
            if mirror:
                yield BuiltClip("M" + clip_id, mirror_joints(window), [mirror_caption(c) for c in captions],
                                "cmu", origin + " mirrored", group=f"cmu_{key}", mirrored=True)


def synthetic_clips(variations_per_action: int, seed: int) -> Iterator[BuiltClip]:
    """The procedural action library, labelled synthetic."""
    from pipeline.motion.procedural import sample_library

    counts: dict[str, int] = defaultdict(int)
    for clip in tqdm(sample_library(variations_per_action, seed), desc="synthetic actions", unit="clip"):
        k = counts[clip.name]
        counts[clip.name] += 1
        yield BuiltClip(f"syn_{clip.name}_{k:03d}", clip.joints, list(clip.captions), "synthetic",
                        clip.name, group=f"syn_{clip.name}_{k}")


def split_of(group: str, seed: int) -> str:
    """A stable split for a group, from a hash (so adding data never reshuffles old clips)."""
    h = int(hashlib.sha1(f"{seed}:{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    edge = 0.0
    for split, fraction in SPLIT_FRACTIONS.items():
        edge += fraction
        if h < edge:
            return split
    return "train"


def build_dataset(out_dir: Path | str, cmu_dir: Path | str | None, variations_per_action: int = 10,
                  seed: int = 0, mirror: bool = True) -> BuildReport:
    """Write the dataset to out_dir and return what it holds; cmu_dir None builds synthetic only.

    The build goes to a sibling '.partial' folder that replaces out_dir only when complete, so a
    cancelled or failed build never leaves a half-written dataset behind.
    """
    final = Path(out_dir)
    partial = final.with_name(final.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        report = _build_into(partial, cmu_dir, variations_per_action, seed, mirror)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    return report


def _build_into(out: Path, cmu_dir: Path | str | None, variations_per_action: int, seed: int,
                mirror: bool) -> BuildReport:
    report = BuildReport()
    sources: dict[str, tuple[str, str]] = {}
    splits: dict[str, list[str]] = {s: [] for s in SPLIT_FRACTIONS}
    train_features: list[np.ndarray] = []

    streams: list[Iterable[BuiltClip]] = [synthetic_clips(variations_per_action, seed)]
    if cmu_dir is not None:
        streams.insert(0, cmu_clips(Path(cmu_dir), report, mirror=mirror))
    for stream in streams:
        for clip in stream:
            features = joints_to_features(clip.joints)
            joints = features_to_joints(features)
            write_clip(out, clip.clip_id, joints, features, clip.captions)
            split = split_of(clip.group, seed)
            splits[split].append(clip.clip_id)
            sources[clip.clip_id] = (clip.source, clip.origin)
            report.clips[clip.report_key] += 1
            report.frames[clip.report_key] += len(features)
            if split == "train":
                train_features.append(features)
    if not train_features:
        raise RuntimeError("no training clips were built; check the data folder and the logs above")

    stacked = np.concatenate(train_features)
    std = group_normalised_std(stacked.std(axis=0))
    if not (std > 0).all():
        raise RuntimeError("a feature group has zero variance over the training clips; the data is degenerate")
    np.save(out / "Mean.npy", stacked.mean(axis=0).astype(np.float32))
    np.save(out / "Std.npy", std.astype(np.float32))
    write_index(out, splits, sources)
    (out / SUMMARY_FILE).write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    return report


def read_summary(dataset_dir: Path | str) -> dict:
    """The clip and minute counts written by build_dataset."""
    return json.loads((Path(dataset_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
