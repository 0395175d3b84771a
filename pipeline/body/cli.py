"""`python -m pipeline body-video` and `body-glb`: the take's body as a shaded mp4 or an animated,
skinned .glb for Blender (the studio's Downloads call the same functions)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def load_joints(path: str | Path) -> np.ndarray:
    """(T, 22, 3) joints from a .npy or an .npz with 'joints' (as `generate` writes); never unpickles."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist")
    if source.suffix == ".npy":
        joints = np.load(source, allow_pickle=False)
    elif source.suffix == ".npz":
        with np.load(source, allow_pickle=False) as data:
            if "joints" not in data.files:
                raise ValueError(f"{source} has no 'joints' array (it has {', '.join(data.files)})")
            joints = data["joints"]
    else:
        raise ValueError(f"{source} should be a .npy (T, 22, 3) or an .npz with a 'joints' array")
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) < 2:
        raise ValueError(f"{source}: joints have shape {joints.shape}, expected (T >= 2, 22, 3) at 20 fps")
    return joints


def _body(args: argparse.Namespace):
    from pipeline.body.choice import session_body

    return session_body(args.smpl_dir)


def run_body_video(args: argparse.Namespace) -> int:
    from pipeline.body.video import BodyVideoError, write_body_video

    joints = load_joints(args.motion)
    total = [0]

    def report(done: int, n: int) -> None:
        if done == n or done % 50 == 0:
            print(f"\rframe {done}/{n}", end="" if done < n else "\n", file=sys.stderr, flush=True)
        total[0] = n

    try:
        out = write_body_video(_body(args), joints, args.out, audio=args.audio, fps=args.fps, size=args.size,
                               progress=report)
    except BodyVideoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({total[0]} frames)")
    return 0


def run_body_glb(args: argparse.Namespace) -> int:
    from pipeline.body.gltf import write_glb

    summary = write_glb(_body(args), load_joints(args.motion), args.out)
    print(f"wrote {summary['path']} ({summary['frames']} frames, {summary['duration_s']:.2f} s, "
          f"joint error {summary['joint_err_mm']:.2f} mm)")
    return 0


def add_commands(commands) -> None:
    """Registers both commands on the pipeline CLI's subparsers."""
    for name, run, help_text, default in (
            ("body-video", run_body_video, "the take's body as a shaded video (pyrender, CPU) -> .mp4", "body.mp4"),
            ("body-glb", run_body_glb, "the take as an animated, skinned glTF binary for Blender -> .glb", "take.glb")):
        cmd = commands.add_parser(name, help=help_text)
        cmd.add_argument("motion", help="joints as .npy (T, 22, 3) or an .npz with 'joints' (from `generate`)")
        cmd.add_argument("--out", default=default)
        cmd.add_argument("--smpl-dir", default=None, help="a folder with your SMPLX_NEUTRAL.npz / SMPL_NEUTRAL.npz "
                         "(default: $VERSASTUDIO_SMPL_DIR, else the shipped Anny body)")
        if name == "body-video":
            cmd.add_argument("--audio", default=None, help="speech to put under the video (default: silence)")
            cmd.add_argument("--fps", type=float, default=20.0)
            cmd.add_argument("--size", type=int, default=512, help="square frame side in pixels")
        cmd.set_defaults(run=run)
