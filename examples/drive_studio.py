"""Drive a running studio from a script: portrait + speech -> motion -> rendered mp4.

    python app.py &                                   # the studio, on http://127.0.0.1:7860/
    python examples/drive_studio.py http://127.0.0.1:7860/ --out talking.mp4 \
        --prompt 1="waves with the right hand"

Uses the Director page's api_names through gradio_client (each Client is its own session):
/analyze_portrait, /load_speech, /edit_segments, /generate, /render.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from gradio_client import Client, handle_file

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"


def _check(out, what: str) -> tuple:
    status = str(out[-1])
    print(f"{what}: {status.splitlines()[0] if status else '(no status)'}")
    if not status.startswith("✓"):
        raise SystemExit(f"{what} failed:\n{status}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:7860/", help="the running studio")
    parser.add_argument("--portrait", type=Path, default=EXAMPLES / "astronaut.jpg")
    parser.add_argument("--speech", type=Path, default=EXAMPLES / "speech.wav")
    parser.add_argument("--prompt", action="append", default=[], metavar="N=TEXT",
                        help="a prompt for segment N (from 1); repeatable. Blank segments follow the speech.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="warp", help="warp (CPU) or diffusion (GPU, weights present)")
    parser.add_argument("--resolution", type=int, default=512, choices=[256, 384, 512, 768])
    parser.add_argument("--fps", type=float, default=25)
    parser.add_argument("--out", type=Path, default=Path("talking.mp4"))
    args = parser.parse_args()

    client = Client(args.url, verbose=False)
    _check(client.predict(handle_file(str(args.portrait)), api_name="/analyze_portrait"), "portrait")
    out = _check(client.predict(handle_file(str(args.speech)), api_name="/load_speech"), "speech")
    if args.prompt:
        table = out[3]
        headers = table.get("headers") if isinstance(table, dict) else None
        rows = [list(r) for r in (table["data"] if isinstance(table, dict) else table)]
        for item in args.prompt:
            number, _, text = item.partition("=")
            if not number.strip().isdigit() or not 1 <= int(number) <= len(rows):
                raise SystemExit(f"--prompt {item!r}: give N=TEXT with N from 1 to {len(rows)}")
            rows[int(number) - 1][2] = text
        _check(client.predict({"headers": headers, "data": rows}, api_name="/edit_segments"), "prompts")
    _check(client.predict(args.seed, api_name="/generate"), "motion")
    out = _check(client.predict(args.backend, args.resolution, args.fps, 15, args.seed, api_name="/render"), "render")
    video = out[0]
    video = video.get("video", video) if isinstance(video, dict) else video
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
