"""The studio's edits on the command line: `edit-span`, `export`, and `render PROJECT.zip`'s opening.

Why: a director's project (or a motion .npz) can be edited and rendered in batch with the same
functions the studio calls (pipeline/project/edits.py, archive.py, motion_file.py). Errors are
ValueErrors with a message; pipeline/__main__.py prints them as `error: ...` and returns 2.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline import validation as check
from pipeline.constants import VIDEO_FPS
from pipeline.project import edits
from pipeline.project import timeline as tl
from pipeline.validation import check_tokens, load_npz_array

MADE_BY = "`python -m pipeline generate`"


def read_motion(path: str | Path, clip) -> tuple[np.ndarray, np.ndarray | None, list[tl.Segment]]:
    """(tokens, locked mask or None, timeline) of a motion .npz, checked against ``clip`` (never unpickled)."""
    from pipeline.motion.generate import num_tokens_for
    from pipeline.project.motion_file import parse_segment_labels

    name = Path(path).name
    tokens = check_tokens(load_npz_array(path, "tokens", made_by=MADE_BY),
                          num_tokens_for(clip.duration_s, clip.num_motion_frames), name)
    with np.load(path, allow_pickle=False) as data:
        locked = np.asarray(data["locked"]) if "locked" in data.files else None
        labels = data["segments"] if "segments" in data.files else None
    if locked is not None and (locked.shape != tokens.shape or locked.dtype != np.bool_):
        raise ValueError(f"{name}: 'locked' must be one boolean per token ({len(tokens)})")
    try:
        triples = parse_segment_labels(labels, clip.duration_s) if labels is not None and len(labels) else []
        segments = [tl.Segment(a, b, p or "") for a, b, p in triples] or tl.whole(clip.duration_s)
        tl.validate(segments, clip.duration_s)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{name}: its 'segments' do not cover this audio ({err})") from None
    return tokens, locked, segments


def locked_from(tokens: np.ndarray, spans: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """generate()'s ``locked_tokens`` keeping ``tokens`` on each 'FIRST-LAST' span (-1 elsewhere),
    and the boolean mask of the kept tokens."""
    mask = np.zeros(len(tokens), dtype=bool)
    for text in spans:
        a, b = edits.parse_token_span(text, len(tokens))
        mask[a:b] = True
    return np.where(mask, tokens, -1).astype(np.int64), mask


def run_edit_span(args: argparse.Namespace) -> int:
    """Regenerate tokens FIRST..LAST of a motion .npz (its locked tokens stay) with a seed and prompt."""
    from pipeline.audio import load_audio
    from pipeline.motion.bvh import write_bvh
    from pipeline.project.motion_file import motion_path, write_motion_npz

    clip = load_audio(args.audio)
    tokens, locked, segments = read_motion(args.motion, clip)
    n = len(tokens)
    a, b = edits.parse_token_span(args.span, n)
    free = edits.span_mask(n, a, b) & edits.free_mask(tokens, locked, segments, n)
    if not free.any():
        raise ValueError(f"tokens {a}..{b - 1} are all locked in {Path(args.motion).name}; nothing to regenerate")
    current = edits.decode(clip, segments, tokens)
    result = edits.resample(clip, current, segments, free, args.seed, args.prompt)
    for warning in result.warnings:
        print(f"warning: {warning}")
    out = motion_path(args.out or Path(args.motion).with_name(Path(args.motion).stem + "-edited.npz"))
    write_motion_npz(out, result, tl.as_pipeline_segments(segments), locked)
    changed = int((result.tokens != tokens).sum())
    print(f"wrote {out}: tokens {a}..{b - 1} regenerated (seed {args.seed}), {changed} of {n} tokens changed")
    if args.bvh:
        write_bvh(args.bvh, result.joints)
        print(f"wrote {args.bvh}")
    return 0


def open_for_cli(path: str | Path, dest: str | Path, *, need_motion: bool = False):
    """A studio project zip opened into ``dest``; ValueError when it has no audio (or no motion)."""
    from pipeline.project.archive import open_project

    project = open_project(path, dest)
    for note in project.repairs:
        print(f"warning: {Path(path).name}: {note}")
    if not project.audio_file:
        raise ValueError(f"{Path(path).name} has no speech recording; add one in the studio first")
    if need_motion and project.tokens is None:
        raise ValueError(f"{Path(path).name} has no motion yet; press Generate in the studio, or use "
                         "`python -m pipeline generate`")
    return project


SETTING_OF_OPTION = {"backend": "backend", "resolution": "resolution", "fps": "fps", "blink_rate": "blink_rate",
                     "seed": "render_seed"}
"""render option -> the project setting the studio saves it as."""


def saved_render_settings(project) -> dict:
    """The render settings the studio saved in ``project`` (checked; a value out of range is left
    out, so the command's default stands in for it)."""
    checks = {"backend": lambda v: v if v in ("warp", "diffusion") else None,
              "resolution": check.check_resolution, "fps": check.check_fps,
              "blink_rate": check.check_blink_rate, "seed": check.check_seed}
    out = {}
    for option, key in SETTING_OF_OPTION.items():
        value = project.settings.get(key)
        if value is None:
            continue
        try:
            value = checks[option](value)
        except ValueError:
            continue
        if value is not None:
            out[option] = value
    return out


def render_project(args: argparse.Namespace, render: Callable[[argparse.Namespace], int]) -> int:
    """`render PROJECT.zip`: the project's portrait, speech, motion and speech text, rendered with its
    saved render settings (backend, size, fps, blinks, seed) unless the command gives them. Motion
    is generated when it has none."""
    if Path(args.portrait).suffix.lower() != ".zip":
        raise ValueError("render needs PORTRAIT AUDIO, or one PROJECT.zip saved by the studio")
    if args.audio is not None:
        raise ValueError("give either PORTRAIT AUDIO or one PROJECT.zip, not a project and an audio file")
    tmp = Path(tempfile.mkdtemp(prefix="versastudio-project-"))
    try:
        project = open_for_cli(args.portrait, tmp)
        if not project.portrait_file:
            raise ValueError(f"{Path(args.portrait).name} has no portrait; add one in the studio first")
        args.portrait, args.audio = project.portrait_file, project.audio_file
        if project.tokens is not None and not args.motion:
            np.savez(tmp / "tokens.npz", tokens=np.asarray(project.tokens, dtype=np.int64))
            args.motion = str(tmp / "tokens.npz")
        if args.transcript is None and project.transcript:
            args.transcript = project.transcript
        args.articulation = project.articulation if args.articulation is None else args.articulation
        args.language = project.language if args.language is None else args.language
        for name, value in saved_render_settings(project).items():     # the command's options win
            if getattr(args, name, None) is None:
                setattr(args, name, value)
        return render(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_export(args: argparse.Namespace) -> int:
    """A saved project's motion as motion.npz + motion.bvh, and (with a portrait) the poses as
    JSON and a pose video, as the studio's Export writes them."""
    from pipeline.audio import load_audio
    from pipeline.motion.bvh import write_bvh
    from pipeline.project.motion_file import write_motion_npz

    out_dir = Path(args.out_dir)
    tmp = Path(tempfile.mkdtemp(prefix="versastudio-project-"))
    try:
        project = open_for_cli(args.project, tmp, need_motion=True)
        clip = load_audio(project.audio_file)
        from pipeline.motion.generate import num_tokens_for

        if len(project.tokens) != num_tokens_for(clip.duration_s, clip.num_motion_frames):
            raise ValueError(f"{Path(args.project).name}: its motion tokens do not match its audio; generate again")
        result = edits.decode(clip, project.segments, project.tokens, int(project.settings.get("seed", 0)))
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [write_motion_npz(out_dir / "motion.npz", result, tl.as_pipeline_segments(project.segments),
                                    project.locked),
                   write_bvh(out_dir / "motion.bvh", result.joints)]
        if project.portrait_file and not args.no_poses:
            from pipeline.portrait.analysis import analyze_portrait
            from pipeline.portrait.wholebody import write_pose_json
            from pipeline.render.pose_video import write_pose_video
            from pipeline.speech import mouth_track
            from pipeline.token2pose import translate

            mouth = mouth_track(clip, VIDEO_FPS, int(np.ceil(clip.duration_s * VIDEO_FPS)),
                                transcript=project.transcript or None, strength=project.articulation,
                                language=project.language)
            poses = translate(result, analyze_portrait(project.portrait_file), fps=VIDEO_FPS, mouth=mouth,
                              blink_rate_per_min=float(project.settings.get("blink_rate", 15.0)),
                              seed=int(project.settings.get("render_seed", 0))).pose
            written += [write_pose_json(poses, out_dir / "poses.json"),
                        write_pose_video(poses, clip, out_dir / "pose.mp4")]
        for path in written:
            print(f"wrote {path}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def add_commands(commands, seed_type) -> None:
    """`edit-span` and `export` on the CLI's subparsers."""
    edit = commands.add_parser("edit-span", help="regenerate a token span of a motion .npz (from `generate`) "
                                                 "with a seed and prompt; every other token is kept")
    edit.add_argument("motion", help="an .npz written by `generate` (or `edit-span`, or `export`)")
    edit.add_argument("audio", help="the speech recording the motion was made for")
    edit.add_argument("--span", required=True, help="FIRST-LAST token numbers, inclusive (5 tokens per second)")
    edit.add_argument("--seed", type=seed_type, default=1, help="the span's seed (default: %(default)s)")
    edit.add_argument("--prompt", help="a new prompt for the span (default: the segments' own)")
    edit.add_argument("--out", help="output .npz (default: MOTION-edited.npz)")
    edit.add_argument("--bvh", help="also write the motion as BVH")
    edit.set_defaults(run=run_edit_span)

    export = commands.add_parser("export", help="a saved studio project (.zip) -> motion.npz, motion.bvh, "
                                                "poses.json and pose.mp4 (as the studio's Export)")
    export.add_argument("project", help="a project .zip saved by the studio (Save project, or its autosave)")
    export.add_argument("--out-dir", required=True, help="folder for the files (created)")
    export.add_argument("--no-poses", action="store_true", help="only the motion (no portrait poses)")
    export.set_defaults(run=run_export)
