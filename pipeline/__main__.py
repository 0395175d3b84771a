"""Command line for batch work without the UI: `python -m pipeline <command> --help`."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from pipeline.data.humanml3d import default_dataset_dir
from pipeline.paths import shared_data_dir

DEFAULT_CMU_DIR = shared_data_dir() / "cmu-bvh"  # $VERSASTUDIO_DATA or ../shared/data
DEFAULT_AMC_DIR = DEFAULT_CMU_DIR.parent / "cmu-amc"


def _build_dataset(args: argparse.Namespace) -> int:
    from pipeline.data.build import build_dataset

    cmu_dir = None if args.synthetic_only else Path(args.cmu_dir)
    if cmu_dir is not None and not cmu_dir.is_dir():
        print(f"error: CMU BVH folder {cmu_dir} not found; pass --cmu-dir or --synthetic-only", file=sys.stderr)
        return 2
    amc_dir = None if args.synthetic_only or args.no_amc else Path(args.amc_dir)
    if amc_dir is not None and not (amc_dir / "amc").is_dir():
        print(f"error: CMU ASF/AMC folder {amc_dir} (with asf/ and amc/) not found; pass --amc-dir or --no-amc",
              file=sys.stderr)
        return 2
    report = build_dataset(args.out, cmu_dir, args.variations, args.seed, mirror=not args.no_mirror,
                           amc_dir=amc_dir)
    summary = report.as_dict()
    print(f"dataset written to {args.out}")
    for source in summary["clips"]:
        print(f"  {source}: {summary['clips'][source]} clips, {summary['minutes'][source]:.1f} min")
    print(f"  total: {summary['total_clips']} clips, {summary['total_minutes']:.1f} min")
    for take, reason in summary["skipped_takes"].items():
        print(f"  skipped {take}: {reason}")
    return 0


def _export_bvh(args: argparse.Namespace) -> int:
    from pipeline.motion.bvh import write_bvh
    from pipeline.validation import check_joints, load_npy_array, load_npz_array

    source = Path(args.motion)
    made_by = "`python -m pipeline generate`"
    if source.suffix.lower() == ".npy":
        joints = load_npy_array(source, made_by=made_by)
    elif source.suffix.lower() == ".npz":
        joints = load_npz_array(source, "joints", made_by=made_by)
    else:
        print(f"error: {source.name} should be a .npy (T, 22, 3) or an .npz with a 'joints' array", file=sys.stderr)
        return 2
    write_bvh(args.out, check_joints(joints, source.name, max_frames=36000))
    print(f"wrote {args.out}")
    return 0


def _parse_segment(text: str) -> tuple[float, float, str | None]:
    start, _, rest = text.partition(":")
    end, _, prompt = rest.partition(":")
    from pipeline.validation import InputError, check_time

    try:
        return check_time(start, "START"), check_time(end, "END"), (prompt.strip() or None)
    except InputError as err:
        raise ValueError(f"--segment {text!r}: {err}; use START:END:PROMPT in seconds, "
                         "e.g. 0:2.5:a person waves") from None


def _generate(args: argparse.Namespace) -> int:
    from pipeline.audio import load_audio, suggest_segments
    from pipeline.motion.generate import generate

    clip = load_audio(args.audio)
    for warning in clip.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.segment:
        from pipeline.constants import TOKENS_PER_SECOND
        from pipeline.validation import check_user_segments

        segments = [_parse_segment(s) for s in args.segment]
        check_user_segments(segments, [f"--segment {s!r}" for s in args.segment], clip.duration_s,
                            1.0 / TOKENS_PER_SECOND)
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
    locks = kept = None
    if args.lock or args.motion:          # keep spans of an earlier motion (pipeline/project/cli.py)
        from pipeline.project.cli import locked_from, read_motion

        if not (args.lock and args.motion):
            raise ValueError("--lock FIRST-LAST keeps tokens of an earlier motion: give both --lock and "
                             "--motion EARLIER.npz")
        locks, kept = locked_from(read_motion(args.motion, clip)[0], args.lock)
    result = generate(clip, segments, locked_tokens=locks, seed=args.seed)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for it in result.interpretations.values():
        if it.known:
            print(f"understood: {it.summary()}")
    from pipeline.project.motion_file import write_motion_npz

    args.out = str(write_motion_npz(args.out, result, locked=kept))   # np.savez's real name (adds .npz)
    print(f"wrote {args.out}: {result.num_tokens} tokens, {len(result.joints)} frames, {len(result.segments)} segments")
    if args.bvh:
        from pipeline.motion.bvh import write_bvh

        write_bvh(args.bvh, result.joints)
        print(f"wrote {args.bvh}")
    return 0


def _build_bank(args: argparse.Namespace) -> int:
    import shlex

    from tqdm import tqdm

    from pipeline.motion.tokenizer import MotionTokenizer
    from pipeline.token2pose import build_bank_from_motion_dataset, build_bank_from_videos

    if bool(args.videos) == bool(args.from_dataset):
        print("error: give template videos or --from-dataset DIR (one of the two)", file=sys.stderr)
        return 2
    tokenizer = MotionTokenizer.from_pretrained(args.tokenizer)
    command = "python -m pipeline build-bank " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    if args.from_dataset:
        bank = build_bank_from_motion_dataset(args.from_dataset, tokenizer, max_per_code=args.max_per_code,
                                              progress=lambda it: tqdm(it, desc="clips", unit="clip"),
                                              built_with=command)
    else:
        bank = build_bank_from_videos(args.videos, tokenizer, max_per_code=args.max_per_code, built_with=command,
                                      progress=lambda it, total=None, desc=None: tqdm(it, total=total, desc=desc,
                                                                                      unit="frame"))
    if len(bank) == 0:
        print("error: no token windows found (no person detected, or videos shorter than 0.5 s)", file=sys.stderr)
        return 2
    bank.save_pretrained(args.out)
    print(f"wrote {args.out}: {len(bank)} windows covering {len(bank.covered_codes)} of "
          f"{bank.config.codebook_size} codes")
    return 0


RENDER_DEFAULTS = {"backend": "warp", "resolution": 512, "fps": 25.0, "blink_rate": 15.0, "seed": 0}
"""The render options' defaults (the studio's); a project's saved render settings come first."""


def _render(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.audio import load_audio, suggest_segments
    from pipeline.portrait.analysis import analyze_portrait
    from pipeline.render.backends import render
    from pipeline.token2pose import translate

    if args.audio is None or Path(args.portrait).suffix.lower() == ".zip":   # a saved studio project
        from pipeline.project.cli import render_project

        return render_project(args, _render)
    args.articulation = 1.0 if args.articulation is None else args.articulation
    args.language = args.language or "en"
    for name, value in RENDER_DEFAULTS.items():          # options neither given nor taken from a project
        if getattr(args, name) is None:
            setattr(args, name, value)
    clip = load_audio(args.audio)
    for warning in clip.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.motion:          # checked against the audio before any work
        from pipeline.motion.generate import num_tokens_for
        from pipeline.validation import check_tokens, load_npz_array

        name = Path(args.motion).name
        motion = check_tokens(load_npz_array(args.motion, "tokens", made_by="`python -m pipeline generate`"),
                              num_tokens_for(clip.duration_s, clip.num_motion_frames), name)
    portrait = analyze_portrait(args.portrait)
    for warning in portrait.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.motion:
        from pipeline.motion.generate import generate

        motion = generate(clip, [(a, b, None) for a, b in suggest_segments(clip)], seed=args.seed)
        for warning in motion.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    from pipeline.speech import mouth_track
    from pipeline.speech.options import read_transcript, render_speech_options

    transcript = read_transcript(args.transcript)
    mouth = mouth_track(clip, args.fps, round(clip.duration_s * args.fps), transcript=transcript or None,
                        strength=args.articulation, language=args.language)
    print(f"mouth shapes: {mouth.source} ({mouth.message or 'ok'}); {len(mouth.words)} words, "
          f"{len(mouth.phones)} phonemes")
    if transcript and mouth.source != "aligned" and mouth.source != "silent" and args.language in (None, "en"):
        print("warning: the transcript could not be aligned to the speech; recognised it instead", file=sys.stderr)
    t2p = translate(motion, portrait, fps=args.fps, method=args.method, mouth=mouth,
                    blink_rate_per_min=args.blink_rate, seed=args.seed)
    print(f"{len(t2p.pose)} poses at {args.fps} fps ({args.method}; bank coverage {t2p.coverage:.2f})")
    with tqdm(total=round(clip.duration_s * args.fps), desc="render", unit="frame") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        from pipeline.render.warp.depth import bone_depth
        from pipeline.token2pose import decode_tokens

        joints = motion.joints if hasattr(motion, "joints") else decode_tokens(motion)
        depth = bone_depth(joints, t2p.camera.yaw, len(t2p.pose), args.fps)   # who is in front
        # the diffusion render writes the pose maps exactly as the model got them
        model_maps = {"pose_video": args.pose_video} if args.backend == "diffusion" and args.pose_video else {}
        out = render(args.backend, portrait, t2p.pose, clip, args.out, resolution=args.resolution, fps=args.fps,
                     blink_rate_per_min=args.blink_rate, seed=args.seed, depth=depth, progress=progress, **model_maps,
                     **render_speech_options(render, args.backend, mouth=mouth, transcript=transcript or None,
                                             articulation=args.articulation, language=args.language))
    print(f"wrote {out}")
    if args.poses_json:
        from pipeline.portrait.wholebody import write_pose_json

        print(f"wrote {write_pose_json(t2p.pose, args.poses_json)}")
    if args.pose_video and args.backend == "diffusion":
        print(f"wrote {args.pose_video} (the pose maps the model was given)")
    elif args.pose_video:
        from pipeline.render.pose_video import write_pose_video

        print(f"wrote {write_pose_video(t2p.pose, clip, args.pose_video)}")
    return 0


TRAINERS: dict[str, str] = {
    "tokenizer": "pipeline.train.tokenizer",
    "generator-text": "pipeline.train.generator_text",
    "generator-audio": "pipeline.train.generator_audio",
    "action-classifier": "pipeline.train.action_classifier",
    "cospeech-pairs": "pipeline.data.synthetic.cospeech.pairs",
    "retrieval-evaluator": "pipeline.train.retrieval",
    "full-scale": "pipeline.train.full_scale",
}


def _train(args: argparse.Namespace) -> int:
    importlib.import_module(TRAINERS[args.model]).main(args.rest)
    return 0


def main(argv: list[str] | None = None) -> int:
    from pipeline.validation import (
        ARTICULATION_RANGE,
        BLINK_RATE_RANGE,
        FPS_RANGE,
        MAX_SEED,
        RESOLUTION_RANGE,
        arg_range,
    )

    SEED = arg_range("int", 0, MAX_SEED)
    prog = "versastudio" if Path(sys.argv[0]).name == "versastudio" else "python -m pipeline"  # console script
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-dataset", help="build the motion dataset (HumanML3D layout)")
    build.add_argument("--out", default=str(default_dataset_dir()), help="output folder (default: %(default)s)")
    build.add_argument("--cmu-dir", default=str(DEFAULT_CMU_DIR), help="CMU BVH folder (default: %(default)s)")
    build.add_argument("--amc-dir", default=str(DEFAULT_AMC_DIR),
                       help="CMU ASF/AMC folder, asf/ + amc/ (default: %(default)s)")
    build.add_argument("--no-amc", action="store_true", help="leave out the ASF/AMC takes")
    build.add_argument("--synthetic-only", action="store_true", help="only the procedural action library")
    build.add_argument("--variations", type=arg_range("int", 0, 1000), default=10,
                       help="variations per procedural action")
    build.add_argument("--seed", type=SEED, default=0)
    build.add_argument("--no-mirror", action="store_true", help="do not add left-right mirrored copies (CMU takes and procedural clips)")
    build.set_defaults(run=_build_dataset)

    export = commands.add_parser("export-bvh", help="write a 22-joint motion (.npy/.npz) as BVH")
    export.add_argument("motion", help="joints as .npy (T, 22, 3) or .npz with 'joints'")
    export.add_argument("out", help="output .bvh path")
    export.set_defaults(run=_export_bvh)

    gen = commands.add_parser("generate", help="motion from speech (and prompts per segment) -> .npz / .bvh")
    gen.add_argument("audio", help="speech recording (wav/flac/mp3/ogg/m4a)")
    gen.add_argument("--segment", action="append", default=[],
                     help="START:END:PROMPT in seconds (repeatable); the rest of the audio is audio-driven")
    gen.add_argument("--seed", type=SEED, default=0, help=f"0..{MAX_SEED}")
    gen.add_argument("--out", default="motion.npz", help="output .npz with joints, features, tokens")
    gen.add_argument("--bvh", help="also write the motion as BVH")
    gen.add_argument("--motion", help="an earlier .npz from `generate`; --lock keeps its tokens")
    gen.add_argument("--lock", action="append", default=[],
                     help="FIRST-LAST token numbers (inclusive, 5 per second) kept from --motion (repeatable)")
    gen.set_defaults(run=_generate)

    bank = commands.add_parser("build-bank", help="build a token2pose relation bank from template videos "
                                                  "(mp4/mov/webm, or folders of them) or from a motion dataset")
    bank.add_argument("videos", nargs="*", help="template videos or folders of videos")
    bank.add_argument("--out", required=True, help="output folder (config.json + bank.safetensors)")
    bank.add_argument("--from-dataset", action="append", default=[],
                      help="build from a motion dataset folder instead (repeatable; the shipped default bank)")
    bank.add_argument("--max-per-code", type=arg_range("int", 0, 1_000_000), default=0, help="windows kept per code (0: all)")
    bank.add_argument("--tokenizer", default=str(Path(__file__).resolve().parents[1] / "assets" / "checkpoints"
                                                 / "motion_tokenizer"), help="tokenizer folder (default: %(default)s)")
    bank.set_defaults(run=_build_bank)

    rend = commands.add_parser("render", help="portrait + speech (+ motion from `generate`) -> talking video (.mp4)")
    rend.add_argument("portrait", help="portrait photo (jpg/png/webp...), or a project .zip saved by the "
                                       "studio (its portrait, speech, motion and transcript; no AUDIO then)")
    rend.add_argument("audio", nargs="?", help="speech recording (wav/flac/mp3/ogg/m4a)")
    rend.add_argument("--motion", help="an .npz written by `python -m pipeline generate` (default: generate "
                                       "audio-driven motion now)")
    rend.add_argument("--out", default="video.mp4", help="output .mp4 (default: %(default)s)")
    rend.add_argument("--backend", default=None, choices=("warp", "diffusion"),
                      help="default: warp, or the project's")
    rend.add_argument("--method", default="bank", choices=("bank", "projection"), help="token2pose method")
    rend.add_argument("--resolution", type=arg_range("int", *RESOLUTION_RANGE), default=None,
                      help="output size in pixels (%d..%d; default 512, or the project's)" % RESOLUTION_RANGE)
    rend.add_argument("--fps", type=arg_range("float", *FPS_RANGE), default=None,
                      help="video frame rate (%g..%g; default 25, or the project's)" % FPS_RANGE)
    rend.add_argument("--blink-rate", type=arg_range("float", *BLINK_RATE_RANGE), default=None,
                      help="blinks per minute (%g..%g; default 15, or the project's)" % BLINK_RATE_RANGE)
    rend.add_argument("--seed", type=SEED, default=None, help=f"0..{MAX_SEED} (default 0, or the project's)")
    rend.add_argument("--transcript", help="what is said: text, or a .txt file; aligned to the speech for exact "
                                           "mouth shapes (default: phones recognised from the speech)")
    rend.add_argument("--articulation", type=arg_range("float", *ARTICULATION_RANGE), default=None,
                      help="mouth motion strength: 0 still, 1 natural (default), 2 exaggerated")
    rend.add_argument("--language", default=None, help="'en' (English phone models, default) or another "
                                                        "language code: mouth shapes from the sound's spectrum")
    rend.add_argument("--pose-video", help="also write the pose maps as a video (.mp4)")
    rend.add_argument("--poses-json", help="also write the 133-keypoint poses as JSON (coco-wholebody-133)")
    rend.set_defaults(run=_render)

    train = commands.add_parser("train", help="train a shipped model (or build its training data); "
                                              "arguments after the name go to that trainer (--help for its own)")
    train.add_argument("model", choices=sorted(TRAINERS))
    train.add_argument("rest", nargs=argparse.REMAINDER)
    train.set_defaults(run=_train)

    from pipeline.body.cli import add_commands as add_body_commands  # body-video, body-glb (issue 13)
    from pipeline.project.cli import add_commands as add_project_commands  # edit-span, export (issue 16)

    add_project_commands(commands, SEED)

    add_body_commands(commands)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:           # backend unavailable, ffmpeg failure, cancelled render
        from pipeline.jobs import RenderCancelled
        from pipeline.render.backends import BackendUnavailable
        from pipeline.video import VideoError

        if isinstance(err, (BackendUnavailable, RenderCancelled, VideoError)):
            print(f"error: {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
