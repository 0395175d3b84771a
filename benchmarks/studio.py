"""The studio as a user's script sees it: `python -m benchmarks.studio`.

Launches the app on loopback and drives the Director page through gradio_client (its api_names),
the way examples/drive_studio.py does. Prints a table, then one machine-readable line:
generate_60s_s=<float> edit_preview_ms=<float> render_10s_warp_s=<float>

- generate_60s_s: /generate on 60 s of speech (the example speech repeated, cut at its pauses by
  /load_speech), request to reply: motion tokens, decoding, poses fitted to the portrait, and the
  stage's payload (motion and poses as arrays the page draws; components/stage.py).
- edit_preview_ms: /reroll_segment of one segment (its tokens resampled, the rest kept) until the
  reply with the new stage payload is back (what the page needs to show the edit: it draws the
  3D body and the 2D pose itself, no video is encoded).
- render_10s_warp_s: /render of 10 s of speech with the warp (CPU) backend at 512 px, 25 fps.

With --browser (needs playwright and /usr/bin/chromium) the table also has the edit as a user sees
it: in chromium, the 60 s speech uploaded and generated, then Re-roll clicked until the stage has
drawn the new take (its payload decoded and a frame drawn).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PORTRAIT = REPO / "assets" / "examples" / "astronaut.jpg"
SPEECH = REPO / "assets" / "examples" / "speech.wav"


def _row(name: str, value: str) -> None:
    print(f"| {name:<58} | {value:>14} |")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def speech_of(seconds: float, out: Path) -> Path:
    """The example speech repeated (its pauses kept) and cut to ``seconds``."""
    from pipeline.audio import load_audio, save_wav

    clip = load_audio(str(SPEECH))
    n = int(round(seconds * clip.sample_rate))
    samples = np.tile(clip.samples, int(np.ceil(n / len(clip.samples))))[:n]
    return save_wav(load_audio((clip.sample_rate, samples)), out)


def _call(client, *args, api_name: str, expect: str) -> tuple[float, tuple]:
    t0 = time.perf_counter()
    out = client.predict(*args, api_name=api_name)
    elapsed = time.perf_counter() - t0
    status = out[-1] if isinstance(out, (list, tuple)) else out
    if expect not in str(status):
        raise SystemExit(f"{api_name} failed: {status}")
    return elapsed, out


STAGE = "#director-stage .vs-stage"


def browser_edit_ms(url: str, portrait: Path, speech: Path, segment: int, repeats: int) -> list[float]:
    """Re-roll -> new take drawn on the stage, in chromium, milliseconds per try."""
    from playwright.sync_api import expect, sync_playwright

    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            expect(page.locator("#director-root")).not_to_have_class("studio-loading")
            status = page.locator("#director-status")
            page.locator("#director-portrait-in input[type=file]").set_input_files(str(portrait))
            expect(status).to_contain_text("Portrait analysed")
            page.locator("#director-audio-in input[type=file]").set_input_files(str(speech))
            expect(status).to_contain_text("Speech loaded")
            page.get_by_role("button", name="Generate", exact=True).click()
            expect(status).to_contain_text("Motion generated")
            page.get_by_label("Segment #").fill(str(segment))
            for _ in range(repeats):
                version = int(page.locator(STAGE).get_attribute("data-version") or 0)
                t0 = time.perf_counter()
                page.get_by_role("button", name="Re-roll").click()
                page.wait_for_function(f"() => +document.querySelector('{STAGE}').dataset.version > {version}",
                                       polling=5)
                times.append(1000 * (time.perf_counter() - t0))
        finally:
            browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="re-rolls timed (median reported)")
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--browser", action="store_true", help="also time an edit in chromium (Playwright)")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    from gradio_client import Client, handle_file

    from studio.layout import build_app, launch_style

    work = Path(tempfile.mkdtemp(prefix="bench-studio-"))
    long_speech, short_speech = speech_of(60.0, work / "speech-60s.wav"), speech_of(10.0, work / "speech-10s.wav")
    demo = build_app(dataset_dir=work / "no-dataset", sessions_root=work / "sessions")
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_style())
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(work / "downloads"))
        t_portrait, _ = _call(client, handle_file(str(PORTRAIT)), api_name="/analyze_portrait", expect="✓")

        _, out = _call(client, handle_file(str(long_speech)), api_name="/load_speech", expect="✓")
        table = out[3]
        rows = table["data"] if isinstance(table, dict) else table
        _call(client, 0, api_name="/generate", expect="Motion generated")  # warm-up (models loaded)
        gen_s, _ = _call(client, 0, api_name="/generate", expect="Motion generated")
        segment = min(2, len(rows))
        edits = [_call(client, segment, api_name="/reroll_segment", expect="re-rolled")
                 for _ in range(args.repeats)]
        edit_ms = 1000 * statistics.median(e[0] for e in edits)
        edit_kb = len(json.dumps(edits[-1][1][2])) / 1024

        browser_ms = browser_edit_ms(f"http://127.0.0.1:{port}/", PORTRAIT, long_speech, segment,
                                     args.repeats) if args.browser else []

        _call(client, handle_file(str(short_speech)), api_name="/load_speech", expect="✓")
        _call(client, 0, api_name="/generate", expect="Motion generated")
        render_s, out = _call(client, "warp", args.resolution, 25, 15, 0, api_name="/render", expect="Rendered")
        video = out[0]
        video = video.get("video", video) if isinstance(video, dict) else video
    finally:
        demo.close()

    from pipeline.video import probe_video

    meta = probe_video(video)
    print(f"| {'measure':<58} | {'value':>14} |")
    print(f"|{'-' * 60}|{'-' * 16}|")
    _row("analyze the example portrait (s)", f"{t_portrait:.2f}")
    _row(f"generate 60 s of speech, {len(rows)} segments (s)", f"{gen_s:.2f}")
    _row(f"re-roll segment {segment}, preview back (ms, median of {args.repeats})", f"{edit_ms:.0f}")
    _row("  its stage payload (kB: the changed frames, no audio)", f"{edit_kb:.0f}")
    if browser_ms:
        _row(f"  in chromium: click -> new take drawn (ms, median of {len(browser_ms)})",
             f"{statistics.median(browser_ms):.0f}")
    _row(f"render 10 s, warp, {args.resolution} px, 25 fps (s)", f"{render_s:.2f}")
    _row("rendered frames / seconds of video per second of compute",
         f"{meta['frames']} / {10.0 / render_s:.2f}")
    print(f"generate_60s_s={gen_s:.3f} edit_preview_ms={edit_ms:.1f} render_10s_warp_s={render_s:.3f}")


if __name__ == "__main__":
    main()
