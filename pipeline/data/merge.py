"""Join HumanML3D-layout folders into one (symbolic links, concatenated split lists).

    python -m pipeline.data.merge --out cache/motion-and-speech cache/motion-dataset cache/cospeech

Why: the generator's text branch must know every code the audio branch will ask it to decode.
Trained on the action dataset alone it never sees the codes of co-speech gestures (the frozen
branch then gives them ~0 probability and the audio branch cannot recover), so stage 1 trains on
the actions and the co-speech motion (captioned "A person is giving a speech.") together.
The first folder's Mean/Std and sources.csv are kept (normalisation stays that of the first).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from .humanml3d import SPLITS, MotionDataset

LINKED_FOLDERS = {"new_joints": ".npy", "new_joint_vecs": ".npy", "texts": ".txt"}


def start_folder(out: Path, folders: dict[str, str]) -> None:
    """An empty ``out`` (replaced if it exists) with one sub-folder per linked folder."""
    if out.exists():
        shutil.rmtree(out)
    for sub in folders:
        (out / sub).mkdir(parents=True)


def link_clip(out: Path, root: Path, clip_id: str, folders: dict[str, str], new_id: str | None = None) -> None:
    """Symbolic links in ``out`` to the files of one clip of ``root`` (those that exist)."""
    for sub, ext in folders.items():
        target = (root / sub / f"{clip_id}{ext}").resolve()
        if target.exists():
            os.symlink(target, out / sub / f"{new_id or clip_id}{ext}")


def write_splits(out: Path, splits: dict[str, list[str]]) -> None:
    for split, ids in splits.items():
        (out / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")


def merge_datasets(out: str | Path, sources: list[str | Path]) -> Path:
    """Write ``out`` joining ``sources``; clip ids must be unique across them."""
    out = Path(out)
    datasets = [MotionDataset(s) for s in sources]
    start_folder(out, LINKED_FOLDERS)
    seen: dict[str, Path] = {}
    for ds in datasets:
        for clip_id in ds.clip_ids():
            if clip_id in seen:
                raise ValueError(f"clip id {clip_id!r} is in both {seen[clip_id]} and {ds.root}; ids must be unique")
            seen[clip_id] = ds.root
            link_clip(out, ds.root, clip_id, LINKED_FOLDERS)
    write_splits(out, {split: [i for ds in datasets for i in (ds.clip_ids(split) if split != "all" else ds.clip_ids())]
                       for split in (*SPLITS, "all")})
    first = datasets[0].root
    for name in ("Mean.npy", "Std.npy", "sources.csv"):
        if (first / name).exists():
            shutil.copy(first / name, out / name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help="HumanML3D-layout folders, the first gives Mean/Std")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    out = merge_datasets(args.out, args.sources)
    print(f"wrote {out}: {len(MotionDataset(out))} clips")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
