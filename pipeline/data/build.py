"""Build the project's motion dataset in the HumanML3D layout from CMU mocap and procedural actions.

Two sources, labelled in sources.csv and in every report:
  cmu        every usable take of $VERSASTUDIO_DATA/cmu-bvh (default ../shared/data/cmu-bvh; both rigs,
             one copy per take) and of $VERSASTUDIO_DATA/cmu-amc (CMU's ASF/AMC originals, the takes the
             BVH folders lack), cut into windows of at most 10 s at pauses, captioned from CMU's
             descriptions; mirrored too.
  synthetic  the procedural library of talking-relevant actions (pipeline.data.synthetic.procedural), with
             mirrored copies too (sides of the captions and action names swapped).
"""

from __future__ import annotations

import hashlib
import json
import re
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
    duplicates: int = 0
    """AMC takes left out because a BVH copy of the same take was used."""

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
            "amc_takes_already_in_bvh": self.duplicates,
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


_SIDE_WORD = re.compile(r"\b(left|right|Left|Right)\b")
_SWAP = {"left": "right", "right": "left", "Left": "Right", "Right": "Left"}


def mirror_caption(caption: str) -> str:
    """Left and right swapped as whole words, punctuation or not ("veers left." -> "veers right.")."""
    return _SIDE_WORD.sub(lambda m: _SWAP[m.group(1)], caption)


SUPERSEDED_BY_AMC: dict[str, str] = {
    # cgspeed's conversion of this take uses CMU's skeleton but says 30 fps for a 120 fps take (it
    # plays 4x too slowly) and drops the thorax bone (the upper body sits 12 cm low); the AMC
    # original, when present, is read instead.
    "cgspeed-daz/16_02.bvh": "replaced by cmu-amc/amc/16_02.amc (the BVH plays 120 fps data at 30 fps)",
}


def _take_files(cmu_dir: Path, exclude: frozenset[str] = frozenset()) -> list[Path]:
    """One BVH per CMU take across the rig folders (the first folder's copy wins)."""
    chosen: dict[tuple[int, int], Path] = {}
    for folder in CMU_RIG_FOLDERS:
        for path in sorted((cmu_dir / folder).glob("*.bvh")):
            name = f"{folder}/{path.name}"
            if name not in DAMAGED_TAKES and name not in exclude:
                chosen.setdefault(take_key(path.name), path)
    return [chosen[k] for k in sorted(chosen)]


def amc_take_files(amc_dir: Path) -> dict[tuple[int, int], tuple[Path, Path]]:
    """(subject, trial) -> (ASF skeleton, AMC take) for every take whose subject's ASF exists."""
    out = {}
    for amc in sorted((amc_dir / "amc").glob("*.amc")):
        key = take_key(amc.name)
        asf = amc_dir / "asf" / f"{amc.stem.split('_')[0]}.asf"
        if asf.is_file():
            out[key] = (asf, amc)
    return out


def _windows(name: str, key: tuple[int, int], joints: np.ndarray, index: dict, report: BuildReport,
             mirror: bool) -> Iterator[BuiltClip]:
    """A take's windows (and their mirrored copies), captioned from CMU's description."""
    if len(joints) < MIN_TAKE_SECONDS * MOTION_FPS:
        report.skipped[name] = f"shorter than {MIN_TAKE_SECONDS} s"
        return
    description = index.get(key, "")
    if not description:
        report.skipped[name] = "no description in cmu_index.csv"
        return
    captions = captions_for_description(description)
    for k, (start, end) in enumerate(cut_points(joints, MOTION_FPS, MAX_CLIP_SECONDS)):
        clip_id = f"cmu_{key[0]:03d}_{key[1]:02d}_{k:02d}"
        origin = f"{name} {start / MOTION_FPS:.2f}-{end / MOTION_FPS:.2f}s"
        window = joints[start:end]
        yield BuiltClip(clip_id, window, captions, "cmu", origin, group=f"cmu_{key}")
        if mirror:
            yield BuiltClip("M" + clip_id, mirror_joints(window), [mirror_caption(c) for c in captions],
                            "cmu", origin + " mirrored", group=f"cmu_{key}", mirrored=True)


def _read_index(*folders: Path | None) -> dict[tuple[int, int], str]:
    for folder in folders:
        if folder is not None and (folder / "cmu_index.csv").is_file():
            return read_cmu_index(folder / "cmu_index.csv")
    raise FileNotFoundError("cmu_index.csv (CMU's take descriptions) was found in none of "
                            f"{', '.join(str(f) for f in folders if f is not None)}; it captions every take")


def cmu_clips(cmu_dir: Path | None, report: BuildReport, mirror: bool = True,
              amc_dir: Path | None = None) -> Iterator[BuiltClip]:
    """Windows of every usable CMU take, with captions; unusable takes land in report.skipped.

    BVH takes come from cmu_dir; amc_dir (ASF/AMC, see pipeline.motion.amc) adds the takes the BVH
    folders lack, and replaces the BVH copies in SUPERSEDED_BY_AMC. A take is used once.
    """
    from pipeline.motion.amc import load_amc_motion
    from pipeline.motion.retarget import load_bvh_motion

    index = _read_index(cmu_dir, amc_dir, amc_dir.parent / "cmu-bvh" if amc_dir is not None else None)
    amc = amc_take_files(amc_dir) if amc_dir is not None else {}
    superseded = frozenset(n for n in SUPERSEDED_BY_AMC if take_key(Path(n).name) in amc)
    bvh = _take_files(cmu_dir, superseded) if cmu_dir is not None else []
    for name in superseded:
        report.skipped[name] = SUPERSEDED_BY_AMC[name]
    if cmu_dir is not None:
        for name, reason in DAMAGED_TAKES.items():
            if (cmu_dir / name).exists():
                report.skipped[name] = reason
    have = {take_key(p.name) for p in bvh}
    jobs = [(f"{p.parent.name}/{p.name}", take_key(p.name), "bvh", (p,)) for p in bvh]
    jobs += [(f"cmu-amc/amc/{files[1].name}", key, "amc", files) for key, files in sorted(amc.items())
             if key not in have]
    report.duplicates = sum(key in have for key in amc)
    for name, key, kind, files in tqdm(jobs, desc="cmu takes", unit="take"):
        try:
            joints = (load_bvh_motion(*files) if kind == "bvh" else load_amc_motion(*files)).joints
        except ValueError as err:
            report.skipped[name] = str(err).splitlines()[0]
            continue
        yield from _windows(name, key, joints, index, report, mirror)


def mirror_action(name: str) -> str:
    """The action a mirrored clip shows: wave_left <-> wave_right; actions without a side in the name
    keep it (their side is a parameter the mirrored captions swap)."""
    return _SIDE_WORD.sub(lambda m: _SWAP[m.group(1)], name.replace("_", " ")).replace(" ", "_")


def synthetic_clips(variations_per_action: int, seed: int, mirror: bool = True) -> Iterator[BuiltClip]:
    """The procedural action library, labelled synthetic, and (mirror=True) each clip's left-right
    mirror with the sides of its captions and action name swapped ("Msyn_..." ids, same group and so
    the same split as the original).

    Why the mirrors: the library draws the right side more often than the left (a salute, a
    pointing hand: up to 5 to 1; train-split clips captioned with one side only: 199 right, 133
    left), so a generator trained on it alone sees few left-handed examples of many gestures.
    Mirroring gives every sided clip its exact counterpart on the other side."""
    from pipeline.data.synthetic.procedural import sample_library

    counts: dict[str, int] = defaultdict(int)
    for clip in tqdm(sample_library(variations_per_action, seed), desc="synthetic actions", unit="clip"):
        k = counts[clip.name]
        counts[clip.name] += 1
        group = f"syn_{clip.name}_{k}"
        yield BuiltClip(f"syn_{clip.name}_{k:03d}", clip.joints, list(clip.captions), "synthetic",
                        clip.name, group=group)
        if mirror:
            yield BuiltClip(f"Msyn_{clip.name}_{k:03d}", mirror_joints(clip.joints),
                            [mirror_caption(c) for c in clip.captions], "synthetic", mirror_action(clip.name),
                            group=group, mirrored=True)


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
                  seed: int = 0, mirror: bool = True, amc_dir: Path | str | None = None) -> BuildReport:
    """Write the dataset to out_dir and return what it holds; cmu_dir and amc_dir None build
    synthetic only (amc_dir: CMU's ASF/AMC folder with asf/ and amc/).

    The build goes to a sibling '.partial' folder that replaces out_dir only when complete, so a
    cancelled or failed build never leaves a half-written dataset behind.
    """
    final = Path(out_dir)
    partial = final.with_name(final.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        report = _build_into(partial, cmu_dir, variations_per_action, seed, mirror, amc_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    return report


def _build_into(out: Path, cmu_dir: Path | str | None, variations_per_action: int, seed: int,
                mirror: bool, amc_dir: Path | str | None = None) -> BuildReport:
    report = BuildReport()
    sources: dict[str, tuple[str, str]] = {}
    splits: dict[str, list[str]] = {s: [] for s in SPLIT_FRACTIONS}
    train_features: list[np.ndarray] = []

    streams: list[Iterable[BuiltClip]] = [synthetic_clips(variations_per_action, seed, mirror)]
    if cmu_dir is not None or amc_dir is not None:
        streams.insert(0, cmu_clips(Path(cmu_dir) if cmu_dir is not None else None, report, mirror=mirror,
                                    amc_dir=Path(amc_dir) if amc_dir is not None else None))
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
