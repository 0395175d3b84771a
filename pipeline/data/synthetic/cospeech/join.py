"""Join several synthetic pair folders (built with different seeds) into one, for stage-2 training.

    for s in $(seq 101 116); do
        python -m pipeline.data.synthetic.cospeech.pairs --out cache/cospeech-big-parts/s$s --clips 250 --seed $s --jobs 2
    done
    python -m pipeline.data.synthetic.cospeech.join --out cache/cospeech-big --held-out cache/cospeech cache/cospeech-big-parts/s*

Every part numbers its clips from cs000000, so ids are prefixed with the part's folder name
(s101_cs000000). The out folder holds symbolic links (wav, new_joints, new_joint_vecs, texts,
transcripts, motion_params) and the parts' split lists concatenated. Train clips whose transcript
is also spoken in a --held-out folder's val or test split (the sentence pool is shared between
seeds) are dropped from train, so the benchmark's held-out speech stays unheard in words too
(voices and gestures differ anyway).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.data.merge import link_clip, start_folder, write_splits

LINKED = {"wav": ".wav", "new_joints": ".npy", "new_joint_vecs": ".npy", "texts": ".txt",
          "transcripts": ".txt", "motion_params": ".json"}
SPLITS = ("train", "val", "test", "all")


def _ids(root: Path, split: str) -> list[str]:
    path = root / f"{split}.txt"
    return path.read_text().split() if path.exists() else []


def _transcript(root: Path, cid: str) -> str | None:
    path = root / "transcripts" / f"{cid}.txt"
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def join_pairs(out: str | Path, parts: list[str | Path], held_out: list[str | Path] = ()) -> dict:
    out = Path(out)
    parts = [Path(p) for p in parts]
    for p in parts:
        if not (p / "all.txt").exists():
            raise FileNotFoundError(f"{p} is not a pair folder (no all.txt); build it with pipeline.data.synthetic.cospeech.pairs")
    start_folder(out, LINKED)
    held = {t for h in held_out for split in ("val", "test") for c in _ids(Path(h), split)
            if (t := _transcript(Path(h), c)) is not None}
    splits: dict[str, list[str]] = {k: [] for k in SPLITS}
    dropped = 0
    for p in parts:
        prefix = f"{p.name}_"
        for cid in _ids(p, "all"):
            link_clip(out, p, cid, LINKED, new_id=prefix + cid)
        for split in SPLITS:
            for cid in _ids(p, split):
                if split == "train" and held and _transcript(p, cid) in held:
                    dropped += 1
                    continue
                splits[split].append(prefix + cid)
    write_splits(out, splits)
    return {"out": str(out), "parts": len(parts), **{k: len(v) for k, v in splits.items()},
            "train_dropped_for_held_out_transcripts": dropped}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("parts", nargs="+", help="pair folders written by pipeline.data.synthetic.cospeech.pairs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--held-out", action="append", default=[], help="a pair folder whose val/test "
                    "transcripts must not appear in the joined train split (repeatable)")
    args = ap.parse_args(argv)
    print(join_pairs(args.out, args.parts, args.held_out))


if __name__ == "__main__":
    main()
