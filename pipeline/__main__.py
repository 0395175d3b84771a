"""Command line for batch work without the UI: `python -m pipeline <command> --help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.data.humanml3d import default_dataset_dir

DEFAULT_CMU_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cmu-bvh"


def _build_dataset(args: argparse.Namespace) -> int:
    from pipeline.data.build import build_dataset

    cmu_dir = None if args.synthetic_only else Path(args.cmu_dir)
    if cmu_dir is not None and not cmu_dir.is_dir():
        print(f"error: CMU BVH folder {cmu_dir} not found; pass --cmu-dir or --synthetic-only", file=sys.stderr)
        return 2
    report = build_dataset(args.out, cmu_dir, args.variations, args.seed, mirror=not args.no_mirror)
    summary = report.as_dict()
    print(f"dataset written to {args.out}")
    for source in summary["clips"]:
        print(f"  {source}: {summary['clips'][source]} clips, {summary['minutes'][source]:.1f} min")
    print(f"  total: {summary['total_clips']} clips, {summary['total_minutes']:.1f} min")
    for take, reason in summary["skipped_takes"].items():
        print(f"  skipped {take}: {reason}")
    return 0


def _export_bvh(args: argparse.Namespace) -> int:
    import numpy as np

    from pipeline.motion.bvh import write_bvh

    source = Path(args.motion)
    if source.suffix == ".npy":
        joints = np.load(source, allow_pickle=False)
    elif source.suffix == ".npz":
        with np.load(source, allow_pickle=False) as data:
            joints = data["joints"]
    else:
        print(f"error: {source} should be a .npy (T, 22, 3) or an .npz with a 'joints' array", file=sys.stderr)
        return 2
    write_bvh(args.out, joints.reshape(len(joints), 22, 3))
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-dataset", help="build the motion dataset (HumanML3D layout)")
    build.add_argument("--out", default=str(default_dataset_dir()), help="output folder (default: %(default)s)")
    build.add_argument("--cmu-dir", default=str(DEFAULT_CMU_DIR), help="CMU BVH folder (default: %(default)s)")
    build.add_argument("--synthetic-only", action="store_true", help="only the procedural action library")
    build.add_argument("--variations", type=int, default=10, help="variations per procedural action")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--no-mirror", action="store_true", help="do not add left-right mirrored CMU clips")
    build.set_defaults(run=_build_dataset)

    export = commands.add_parser("export-bvh", help="write a 22-joint motion (.npy/.npz) as BVH")
    export.add_argument("motion", help="joints as .npy (T, 22, 3) or .npz with 'joints'")
    export.add_argument("out", help="output .bvh path")
    export.set_defaults(run=_export_bvh)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
