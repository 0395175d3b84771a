"""A soak of the studio: `python -m benchmarks.soak`.

Four scripts (gradio_client, one session each) against one server on loopback, at once: each
analyses the portrait, loads its own speech (a different length per client), generates with its
own seed and renders at 256 px, twice. Every call must succeed within --timeout, and each client
must get back its own work: a video as long as its speech, motion with its own token count (a
mix-up between sessions would show as a wrong length). Prints a table, then one line:
soak_clients=<int> soak_rounds=<int> soak_ok=<int> soak_failed=<int> soak_wall_s=<float>
soak_generate_p50_s=<float> soak_render_p50_s=<float> soak_render_max_s=<float>
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.studio import PORTRAIT, speech_of

VIDEO_FPS = 25


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_run(url: str, index: int, speech: Path, seconds: float, rounds: int, work: Path,
                results: dict, deadline: float) -> None:
    """One client's session: portrait, speech, then (generate, render) ``rounds`` times."""
    from gradio_client import Client, handle_file

    from pipeline.video import probe_video

    record = results[index] = {"ok": 0, "failed": [], "generate": [], "render": []}

    def call(*args, api_name: str, expect: str):
        if time.monotonic() > deadline:
            raise TimeoutError("the soak ran past --timeout")
        t0 = time.perf_counter()
        out = client.predict(*args, api_name=api_name)
        status = out[-1] if isinstance(out, (list, tuple)) else out
        if expect not in str(status):
            raise RuntimeError(f"{api_name}: {str(status)[:200]}")
        return time.perf_counter() - t0, out

    try:
        client = Client(url, verbose=False, download_files=str(work / f"client-{index}"))
        call(handle_file(str(PORTRAIT)), api_name="/analyze_portrait", expect="✓")
        call(handle_file(str(speech)), api_name="/load_speech", expect="✓")
        want_tokens = -(-round(seconds * 20) // 4)
        for r in range(rounds):
            t, out = call(100 * index + r, api_name="/generate", expect="Motion generated")
            if f"{want_tokens} tokens" not in out[-1]:
                raise RuntimeError(f"generate: expected {want_tokens} tokens (this client's speech), got {out[-1][:120]}")
            record["generate"].append(t)
            t, out = call("warp", 256, VIDEO_FPS, 15, r, api_name="/render", expect="Rendered")
            video = out[0].get("video", out[0]) if isinstance(out[0], dict) else out[0]
            frames = probe_video(video)["frames"]
            if abs(frames - round(seconds * VIDEO_FPS)) > 1:
                raise RuntimeError(f"render: {frames} frames, but this client's speech needs {round(seconds * VIDEO_FPS)}")
            record["render"].append(t)
            record["ok"] += 1
    except Exception as err:  # noqa: BLE001 - a soak reports every failure, it does not stop at one
        record["failed"].append(f"{type(err).__name__}: {err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4, choices=range(1, 9), metavar="1..8")
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 6), metavar="1..5")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole soak")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    from studio.layout import build_app, launch_style

    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    lengths = [2.0 + 0.4 * i for i in range(args.clients)]
    speeches = [speech_of(s, work / f"speech-{i}.wav") for i, s in enumerate(lengths)]
    root = work / "sessions"
    demo = build_app(dataset_dir=work / "no-dataset", sessions_root=root)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_style(root))
    results: dict[int, dict] = {}
    t0 = time.perf_counter()
    deadline = time.monotonic() + args.timeout
    try:
        threads = [threading.Thread(target=_client_run, args=(f"http://127.0.0.1:{port}/", i, speeches[i], lengths[i],
                                                              args.rounds, work, results, deadline), daemon=True)
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, deadline - time.monotonic()))
    finally:
        demo.close()
    wall = time.perf_counter() - t0

    print(f"| {'client':<8} | {'speech s':>8} | {'ok':>3} | {'generate s (each)':<22} | {'render s (each)':<22} | failures")
    print(f"|{'-' * 10}|{'-' * 10}|{'-' * 5}|{'-' * 24}|{'-' * 24}|---------")
    gens, rends, ok, failed = [], [], 0, 0
    for i in range(args.clients):
        r = results.get(i, {"ok": 0, "failed": ["did not finish"], "generate": [], "render": []})
        gens += r["generate"]
        rends += r["render"]
        ok += r["ok"]
        failed += args.rounds - r["ok"]
        print(f"| {i:<8} | {lengths[i]:>8.1f} | {r['ok']:>3} | {' '.join(f'{x:.2f}' for x in r['generate']):<22} | "
              f"{' '.join(f'{x:.2f}' for x in r['render']):<22} | {'; '.join(r['failed'])[:200]}")
    p50 = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
    print(f"soak_clients={args.clients} soak_rounds={args.rounds} soak_ok={ok} soak_failed={failed} "
          f"soak_wall_s={wall:.1f} soak_generate_p50_s={p50(gens):.2f} soak_render_p50_s={p50(rends):.2f} "
          f"soak_render_max_s={max(rends) if rends else float('nan'):.2f}")


if __name__ == "__main__":
    main()
