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


def _parse_segment(text: str) -> tuple[float, float, str | None]:
    start, _, rest = text.partition(":")
    end, _, prompt = rest.partition(":")
    try:
        return float(start), float(end), (prompt.strip() or None)
    except ValueError:
        raise ValueError(f"--segment {text!r}: use START:END:PROMPT in seconds, e.g. 0:2.5:a person waves") from None


def _generate(args: argparse.Namespace) -> int:
    import numpy as np

    from pipeline.audio import load_audio, suggest_segments
    from pipeline.motion.generate import generate

    clip = load_audio(args.audio)
    if args.segment:
        segments = [_parse_segment(s) for s in args.segment]
        covered = sorted(segments)
        filled, cursor = [], 0.0
        for start, end, prompt in covered:          # the gaps between prompted segments are audio-driven
            if start > cursor + 1e-6:
                filled.append((cursor, start, None))
            filled.append((start, end, prompt))
            cursor = end
        if cursor < clip.duration_s - 1e-6:
            filled.append((cursor, clip.duration_s, None))
        segments = filled
    else:
        segments = [(a, b, None) for a, b in suggest_segments(clip)]
    result = generate(clip, segments, seed=args.seed)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    np.savez(args.out, joints=result.joints, features=result.features, tokens=result.tokens,
             fps=result.fps, segments=np.array([f"{a:.2f}-{b:.2f}: {p or ''}" for a, b, p in result.segments]))
    print(f"wrote {args.out}: {result.num_tokens} tokens, {len(result.joints)} frames, {len(result.segments)} segments")
    if args.bvh:
        from pipeline.motion.bvh import write_bvh

        write_bvh(args.bvh, result.joints)
        print(f"wrote {args.bvh}")
    return 0


TRAINERS: dict[str, str] = {
    "tokenizer": "pipeline.train.tokenizer",
    "generator-text": "pipeline.train.generator_text",
    "generator-audio": "pipeline.train.generator_audio",
    "action-classifier": "pipeline.train.action_classifier",
    "cospeech-pairs": "pipeline.cospeech.pairs",
}


def _train(args: argparse.Namespace) -> int:
    import importlib

    importlib.import_module(TRAINERS[args.model]).main(args.rest)
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

    gen = commands.add_parser("generate", help="motion from speech (and prompts per segment) -> .npz / .bvh")
    gen.add_argument("audio", help="speech recording (wav/flac/mp3/ogg/m4a)")
    gen.add_argument("--segment", action="append", default=[],
                     help="START:END:PROMPT in seconds (repeatable); the rest of the audio is audio-driven")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--out", default="motion.npz", help="output .npz with joints, features, tokens")
    gen.add_argument("--bvh", help="also write the motion as BVH")
    gen.set_defaults(run=_generate)

    train = commands.add_parser("train", help="train a shipped model (or build its training data); "
                                              "arguments after the name go to that trainer (--help for its own)")
    train.add_argument("model", choices=sorted(TRAINERS))
    train.add_argument("rest", nargs=argparse.REMAINDER)
    train.set_defaults(run=_train)

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
