"""Train the paper's sizes on your own data with one command (accelerate on your GPUs).

    python -m pipeline.train.full_scale --humanml3d /data/HumanML3D --beat2 /data/beat_english_v2.0.0 \\
        --out runs/paper

Stages, each an ordinary trainer of this project started with ``accelerate launch`` (configure it
first with ``accelerate config``; ``--launcher python`` runs them in one process, e.g. on a CPU):
  1. motion tokenizer, codebook 512 x 512 (pipeline.train.tokenizer) on the HumanML3D folder;
  2. text branch, 8 layers x 384 (pipeline.train.generator_text) on its captions and the new codes;
  3. with --beat2: BEAT2 converted to speech + motion pairs (pipeline.data.synthetic.cospeech.beat2), then the audio
     branch (pipeline.train.generator_audio) on them.
The three checkpoints land in --out and belong together (the generator records the tokenizer's
hash); the shipped CPU models in assets/ are not touched. ``--dry-run`` prints the commands.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import subprocess
import sys
from pathlib import Path

PAPER_TOKENIZER = {"--codebook-size": "512", "--code-dim": "512"}
PAPER_GENERATOR = {"--d-model": "384", "--layers": "8", "--heads": "6", "--ff": "1536"}


def _launch(launcher: str, module: str, args: list[str]) -> list[str]:
    if launcher == "accelerate":   # accelerate's own launcher, from this interpreter (no PATH needed)
        return [sys.executable, "-m", "accelerate.commands.launch", "-m", module, *args]
    return [sys.executable, "-m", module, *args]


def _flat(options: dict[str, str]) -> list[str]:
    return [x for kv in options.items() for x in kv]


def plan(a: argparse.Namespace) -> list[tuple[str, list[str] | None]]:
    """(what, command) for every stage; command None is an in-process step (BEAT2 conversion)."""
    out = Path(a.out)
    tok, gen, cache = out / "motion_tokenizer", out / "motion_generator", out / "cache"
    threads = ["--threads", str(a.threads)]
    steps = []
    steps.append(("tokenizer", _launch(a.launcher, "pipeline.train.tokenizer", [
        "--dataset", str(a.humanml3d), "--out", str(tok), "--steps", str(a.tokenizer_steps),
        *_flat(PAPER_TOKENIZER), *threads, "--no-progress"])))
    steps.append(("text branch", _launch(a.launcher, "pipeline.train.generator_text", [
        "--dataset", str(a.humanml3d), "--tokenizer", str(tok), "--out", str(gen), "--cache", str(cache),
        "--steps", str(a.generator_steps), *_flat(PAPER_GENERATOR), *threads])))
    if a.beat2:
        steps.append(("BEAT2 -> pairs", None))
        steps.append(("audio branch", _launch(a.launcher, "pipeline.train.generator_audio", [
            "--pairs", str(out / "beat2_pairs"), "--tokenizer", str(tok), "--init", str(gen), "--out", str(gen),
            "--cache", str(cache), "--steps", str(a.audio_steps), *threads])))
    return steps


def check_inputs(a: argparse.Namespace) -> None:
    h = Path(a.humanml3d)
    missing = [p for p in ("new_joint_vecs", "texts", "train.txt", "Mean.npy", "Std.npy") if not (h / p).exists()]
    if missing:
        raise SystemExit(f"--humanml3d {h} is not a HumanML3D folder: it lacks {', '.join(missing)} "
                         "(HumanML3D's new_joint_vecs/, texts/, train.txt, val.txt, Mean.npy, Std.npy)")
    if a.beat2 and not (Path(a.beat2) / "smplxflame_30").is_dir():
        raise SystemExit(f"--beat2 {a.beat2} lacks smplxflame_30/ (BEAT2's beat_english_v2.0.0 layout)")
    if a.launcher == "accelerate" and importlib.util.find_spec("accelerate") is None:
        raise SystemExit("accelerate is not installed: pip install accelerate, or pass --launcher python")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--humanml3d", required=True, help="a HumanML3D folder (or any folder in its layout)")
    p.add_argument("--beat2", help="BEAT2's beat_english_v2.0.0 folder (audio branch); optional")
    p.add_argument("--out", required=True, help="where the three checkpoints go")
    p.add_argument("--launcher", choices=("accelerate", "python"), default="accelerate")
    p.add_argument("--tokenizer-steps", type=int, default=300_000)
    p.add_argument("--generator-steps", type=int, default=150_000)
    p.add_argument("--audio-steps", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=8, help="CPU threads per process (data loading, CPU runs)")
    p.add_argument("--dry-run", action="store_true", help="print the commands and stop")
    a = p.parse_args(argv)
    check_inputs(a)
    for what, command in plan(a):
        if command is None:
            print(f"[{what}] pipeline.data.synthetic.cospeech.beat2.convert_beat2({a.beat2!r}, {str(Path(a.out) / 'beat2_pairs')!r})")
            if not a.dry_run:
                from pipeline.data.synthetic.cospeech.beat2 import convert_beat2

                convert_beat2(a.beat2, Path(a.out) / "beat2_pairs")
            continue
        print(f"[{what}] {shlex.join(command)}", flush=True)
        if not a.dry_run:
            done = subprocess.run(command)
            if done.returncode != 0:
                print(f"error: the {what} stage failed (exit {done.returncode}); fix it and rerun "
                      "(finished stages can be skipped by running the remaining commands printed above)",
                      file=sys.stderr)
                return done.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
