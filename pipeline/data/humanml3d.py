"""Read and write motion datasets in the HumanML3D directory layout.

    root/new_joints/<id>.npy       (T, 22, 3) joint positions recovered from the features
    root/new_joint_vecs/<id>.npy   (T, 263) features
    root/texts/<id>.txt            one caption per line: "caption#tokens#start#end"
    root/Mean.npy, root/Std.npy    feature statistics
    root/train.txt, val.txt, test.txt, all.txt   clip ids
    root/sources.csv               (ours, optional) id, source, origin: where each clip came from

The same reader opens a real HumanML3D folder (which has no sources.csv).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLITS: tuple[str, ...] = ("train", "val", "test")
SOURCES_FILE = "sources.csv"


def default_dataset_dir() -> Path:
    """Where `python -m pipeline build-dataset` writes by default (override with MOTION_DATASET_DIR)."""
    env = os.environ.get("MOTION_DATASET_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "cache" / "motion-dataset"


@dataclass
class MotionClip:
    clip_id: str
    joints: np.ndarray                  # (T, 22, 3) metres, Y up
    features: np.ndarray | None         # (T, 263) or None when only joints exist
    captions: list[str]
    source: str = "humanml3d"           # "cmu", "synthetic", or "humanml3d" for a real HumanML3D folder
    origin: str = ""                    # e.g. "reallusion/005_02.bvh 0.0-9.6s" or "wave_right"


@dataclass
class CaptionLine:
    caption: str
    tokens: list[str] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0


def parse_text_file(path: Path) -> list[CaptionLine]:
    """Caption lines of a HumanML3D texts/<id>.txt; a malformed line is reported with its number."""
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split("#")
        if len(parts) != 4:
            raise ValueError(f"{path} line {number}: expected 'caption#tokens#start#end', got {raw!r}")
        caption, tokens, start, end = parts
        try:
            start_f, end_f = float(start or 0.0), float(end or 0.0)
        except ValueError:
            raise ValueError(f"{path} line {number}: start/end must be numbers, got {start!r}, {end!r}") from None
        start_f = 0.0 if np.isnan(start_f) else start_f
        end_f = 0.0 if np.isnan(end_f) else end_f
        lines.append(CaptionLine(caption.strip(), tokens.split(), start_f, end_f))
    return lines


def simple_tokens(caption: str) -> list[str]:
    """Word tokens in HumanML3D's 'word/POS' form; we have no tagger offline, so POS is 'X'."""
    words = "".join(c if c.isalnum() or c in " '-" else " " for c in caption.lower()).split()
    return [f"{w}/X" for w in words]


class MotionDataset:
    """A HumanML3D-layout folder: clip ids by split, clips with joints, features and captions."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        if not (self.root / "new_joint_vecs").is_dir() and not (self.root / "new_joints").is_dir():
            raise FileNotFoundError(
                f"{self.root} is not a motion dataset (no new_joint_vecs/ or new_joints/ folder); "
                "build one with `python -m pipeline build-dataset` or point to a HumanML3D folder")
        self._sources = self._read_sources()

    def _read_sources(self) -> dict[str, tuple[str, str]]:
        path = self.root / SOURCES_FILE
        if not path.exists():
            return {}
        with path.open(newline="", encoding="utf-8") as f:
            return {row["id"]: (row["source"], row.get("origin", "")) for row in csv.DictReader(f)}

    def clip_ids(self, split: str | None = None) -> list[str]:
        """Ids in a split (train/val/test), or every clip when split is None."""
        if split is None:
            listing = self.root / "all.txt"
            if listing.exists():
                return _read_ids(listing)
            folder = self.root / "new_joint_vecs"
            if not folder.is_dir():
                folder = self.root / "new_joints"
            return sorted(p.stem for p in folder.glob("*.npy"))
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        return _read_ids(self.root / f"{split}.txt")

    def source_of(self, clip_id: str) -> str:
        return self._sources.get(clip_id, ("humanml3d", ""))[0]

    def captions(self, clip_id: str) -> list[str]:
        path = self.root / "texts" / f"{clip_id}.txt"
        return [line.caption for line in parse_text_file(path)] if path.exists() else []

    def load(self, clip_id: str) -> MotionClip:
        vec_path = self.root / "new_joint_vecs" / f"{clip_id}.npy"
        joint_path = self.root / "new_joints" / f"{clip_id}.npy"
        features = np.load(vec_path, allow_pickle=False) if vec_path.exists() else None
        if joint_path.exists():
            joints = np.load(joint_path, allow_pickle=False)
        elif features is not None:
            from pipeline.motion.features import features_to_joints
            joints = features_to_joints(features)
        else:
            raise FileNotFoundError(f"clip {clip_id!r} not found in {self.root}")
        source, origin = self._sources.get(clip_id, ("humanml3d", ""))
        return MotionClip(clip_id, joints.reshape(len(joints), -1, 3), features, self.captions(clip_id),
                          source, origin)

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """The dataset's feature Mean and Std (normalisation for models trained on it)."""
        return np.load(self.root / "Mean.npy"), np.load(self.root / "Std.npy")

    def __len__(self) -> int:
        return len(self.clip_ids())


def _read_ids(path: Path) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"split list {path} is missing")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_clip(root: Path, clip_id: str, joints: np.ndarray, features: np.ndarray, captions: list[str]) -> None:
    """Write one clip's joints, features and captions into the layout."""
    for sub in ("new_joints", "new_joint_vecs", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    np.save(root / "new_joints" / f"{clip_id}.npy", joints.astype(np.float32))
    np.save(root / "new_joint_vecs" / f"{clip_id}.npy", features.astype(np.float32))
    text = "".join(f"{c}#{' '.join(simple_tokens(c))}#0.0#0.0\n" for c in captions)
    (root / "texts" / f"{clip_id}.txt").write_text(text, encoding="utf-8")


def write_index(root: Path, splits: dict[str, list[str]], sources: dict[str, tuple[str, str]]) -> None:
    """Write the split lists, all.txt and our sources.csv."""
    every = sorted(i for ids in splits.values() for i in ids)
    for name, ids in {**splits, "all": every}.items():
        (root / f"{name}.txt").write_text("".join(f"{i}\n" for i in sorted(ids)), encoding="utf-8")
    with (root / SOURCES_FILE).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "source", "origin"])
        for clip_id in every:
            writer.writerow([clip_id, *sources[clip_id]])
