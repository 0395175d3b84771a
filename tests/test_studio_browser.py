"""The Director page end to end in a real browser: Playwright driving Debian's chromium.

Load examples -> a prompt typed into the segments table -> Generate -> scrub the stage (3D body and
2D pose on one clock) -> paint a token span on the strip and regenerate it -> drag a segment border
on the waveform -> compare with the first take -> render with warp at 256 px -> download the mp4
from the page and check it; then autosave: the app is stopped, a new one starts on the same port and sessions root, and
the same browser context (same localStorage) gets its project back. Writes docs/studio.png.

Needs /usr/bin/chromium and the playwright package (no browser download); skips with the reason
when either is missing.
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # a real browser: run with the suite, not the quick loop

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SPEECH = REPO / "assets" / "examples" / "speech.wav"
SCREENSHOT = REPO / "docs" / "studio.png"
SCREENSHOT_MAX_BYTES = 500_000
PROMPT = "waves with the right hand"
STORAGE_KEY = "versastudio-session"  # studio.director_page.BROWSER_STORAGE_KEY

if not CHROMIUM.exists():
    pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

expect = sync_api.expect


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Studio:
    """The app served on loopback in a background thread (Gradio's own server thread)."""

    def __init__(self, root: Path, port: int | None = None):
        self.root, self.port, self.demo = root, port or _free_port(), None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> "Studio":
        from studio.layout import build_app, launch_style

        self.demo = build_app(dataset_dir=self.root / "no-dataset", sessions_root=self.root / "sessions")
        self.demo.launch(server_name="127.0.0.1", server_port=self.port, prevent_thread_lock=True,
                         quiet=True, **launch_style())
        return self

    def stop(self) -> None:
        if self.demo is not None:
            self.demo.close()
            self.demo = None


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    app = Studio(tmp_path_factory.mktemp("browser")).start()
    yield app
    app.stop()
    mp.undo()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def _open(context, url: str, *, fresh: bool = True):
    """The page, once its load event has run. Until then the Director takes no clicks (it is
    greyed out), so a click cannot race the restore of the session."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url, wait_until="domcontentloaded")
    expect(page.get_by_role("button", name="Load examples")).to_be_visible(timeout=60_000)   # a loaded machine takes seconds to build the page
    expect(page.locator("#director-root")).not_to_have_class("studio-loading", timeout=60_000)
    if fresh:
        page.wait_for_function(f"() => localStorage.getItem({STORAGE_KEY!r}) !== null", timeout=10_000)
    return page


def _type_prompt(page, row: int, text: str) -> None:
    """Edit the prompt cell of ``row`` in the segments table the way a user does."""
    cell = page.locator(f"#director-segments [data-testid='cell-{row}-2']")
    cell.dblclick()
    editor = cell.locator("textarea, input").first
    expect(editor).to_be_visible()
    editor.fill(text)
    editor.press("Enter")


def _load_examples_with_prompt(page, status) -> None:
    page.get_by_role("button", name="Load examples").click()
    expect(status).to_contain_text("Speech loaded", timeout=90_000)
    _type_prompt(page, 0, PROMPT)
    expect(status).to_contain_text("Segments updated")
    expect(page.locator("#director-segments [data-testid='cell-0-2']")).to_contain_text(PROMPT)


def _table(page) -> list[list[str]]:
    """The segments table as shown: its cells' text, row by row."""
    cells = page.locator("#director-segments [role='gridcell'][data-row] span[data-editable]")
    rows: dict[int, list[str]] = {}
    for i in range(cells.count()):
        cell = cells.nth(i)
        row = int(cell.locator("xpath=ancestor::*[@data-row][1]").get_attribute("data-row"))
        rows.setdefault(row, []).append((cell.text_content() or "").strip())
    return [rows[k] for k in sorted(rows)]


STAGE = "#director-stage .vs-stage"
PAD = 10  # components/stage.js: the timeline's side padding in CSS pixels
WAVE_MID, TOKEN_MID = 22 + 78 / 2, 131 + 26 / 2  # rows of the waveform and the token strip


def _stage(page, name: str) -> str:
    return page.locator(STAGE).get_attribute(f"data-{name}") or ""


def _lane_x(box: dict, duration: float, t: float) -> float:
    return box["x"] + PAD + t / duration * (box["width"] - 2 * PAD)


def _scrub(page) -> None:
    """Drag the stage's one scrubber to about two thirds: the 3D body and the 2D pose both move
    to that time (their drawn frames follow their own rates: 20 fps motion, 12.5 fps poses)."""
    scrubber = page.locator(f"{STAGE} .vs-scrub")
    scrubber.scroll_into_view_if_needed()
    box = scrubber.bounding_box()
    assert box, "the stage has no scrubber"
    page.mouse.click(box["x"] + box["width"] * 0.66, box["y"] + box["height"] / 2)
    page.wait_for_function(f"() => parseFloat(document.querySelector('{STAGE}').dataset.time) > 1.0")
    t = float(_stage(page, "time"))
    assert abs(int(_stage(page, "frame3d")) - int(t * 20)) <= 1
    assert abs(int(_stage(page, "frame2d")) - int(t * 12.5)) <= 1


def _drag_on_lane(page, row: float, start_s: float, end_s: float) -> None:
    """Press at ``start_s`` on the timeline row ``row`` (pixels from its top), drag to ``end_s``."""
    lane = page.locator(f"{STAGE} .vs-timeline")
    lane.scroll_into_view_if_needed()
    box = lane.bounding_box()
    duration = float(_stage(page, "duration"))
    y = box["y"] + row
    page.mouse.move(_lane_x(box, duration, start_s), y)
    page.mouse.down()
    page.mouse.move(_lane_x(box, duration, end_s), y, steps=8)
    page.mouse.up()


def _paint_span(page, first: int, last: int) -> None:
    """Drag across the token strip from token ``first`` to ``last``: the span boxes follow."""
    _drag_on_lane(page, TOKEN_MID, (first + 0.5) / 5, (last + 0.5) / 5)
    expect(page.get_by_label("First token")).to_have_value(str(first))
    expect(page.get_by_label("Last token")).to_have_value(str(last))


def _drag_border(page, at: float, to: float) -> None:
    _drag_on_lane(page, WAVE_MID, at, to)


def _save_screenshot(page) -> None:
    from PIL import Image

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(full_page=False)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    data = png
    for colours in (None, 256, 128, 64):
        buf = io.BytesIO()
        (image if colours is None else image.quantize(colours)).save(buf, "PNG", optimize=True)
        data = buf.getvalue()
        if len(data) < SCREENSHOT_MAX_BYTES:
            break
    SCREENSHOT.write_bytes(data)
    assert SCREENSHOT.stat().st_size < SCREENSHOT_MAX_BYTES


def test_generate_edit_render_and_download_in_the_browser(studio, browser, tmp_path):
    from pipeline.audio import load_audio
    from pipeline.video import probe_video

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page = _open(context, studio.url)
        status = page.locator("#director-status")
        _load_examples_with_prompt(page, status)

        page.get_by_role("button", name="Generate", exact=True).click()
        expect(status).to_contain_text("Motion generated", timeout=90_000)
        expect(page.locator(STAGE)).to_have_attribute("data-views", "1")
        _scrub(page)

        version = int(_stage(page, "version"))
        _paint_span(page, 5, 9)
        page.get_by_label("Span seed").fill("3")
        page.get_by_role("button", name="Regenerate span").click()
        expect(status).to_contain_text("Tokens 5..9 regenerated", timeout=60_000)
        page.wait_for_function(f"() => +document.querySelector('{STAGE}').dataset.version > {version}")

        # keyboard: the stage steps one token per arrow and splits at the playhead with S
        page.locator(STAGE).focus()
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(page.locator(STAGE)).to_have_attribute("data-time", "0.40")
        page.keyboard.press("Shift+ArrowRight")
        expect(page.locator(STAGE)).to_have_attribute("data-time", "1.40")
        rows = len(_table(page))
        page.keyboard.press("s")
        expect(status).to_contain_text("Split at 1.40 s", timeout=30_000)
        assert len(_table(page)) == rows + 1
        page.get_by_role("button", name="↶ Undo").click()
        expect(status).to_contain_text("Undone", timeout=30_000)
        assert len(_table(page)) == rows

        border = float(_table(page)[0][1])
        _drag_border(page, border, border + 0.4)
        expect(status).to_contain_text("Border 1|2 moved", timeout=30_000)
        assert abs(float(_table(page)[0][1]) - (border + 0.4)) <= 0.1, _table(page)

        page.get_by_label("Compare with").click()
        page.get_by_role("option", name="Take 1", exact=False).click()
        expect(status).to_contain_text("Comparing with: Take 1", timeout=60_000)
        expect(page.locator(STAGE)).to_have_attribute("data-views", "2")
        _scrub(page)
        page.evaluate("() => document.querySelector('#director-stage').scrollIntoView({block: 'start'})")
        _save_screenshot(page)

        # a backend that cannot run here is shown greyed out with its reason, not offered
        off = page.locator(".director-backend-off")
        if off.count():
            expect(off.first).to_be_disabled()
            expect(off.first).to_contain_text("unavailable")
        page.get_by_label("Resolution").click()
        page.get_by_role("option", name="256", exact=True).click()
        expect(page.get_by_label("Resolution")).to_have_value("256")
        page.get_by_role("button", name="Render", exact=True).click()
        expect(status).to_contain_text("Rendered", timeout=120_000)
        expect(status).to_contain_text("256 px")
        expect(page.locator("#director-video video")).to_have_count(1, timeout=30_000)

        link = page.locator("#director-downloads tr", has_text="render-").locator("a").first
        expect(link).to_be_visible()
        with page.expect_download() as info:
            link.click()
        mp4 = tmp_path / "studio.mp4"
        info.value.save_as(mp4)

        meta = probe_video(mp4)
        assert meta["video"] and meta["audio"], meta
        assert max(meta["size"]) == 256, meta
        expected = round(load_audio(str(SPEECH)).duration_s * meta["fps"])
        assert abs(meta["frames"] - expected) <= 1, (meta, expected)

    finally:
        context.close()


def test_autosave_restores_the_project_after_a_restart(studio, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = _open(context, studio.url)
        status = page.locator("#director-status")
        _load_examples_with_prompt(page, status)
        table = _table(page)
        assert len(table) >= 2 and table[0][2] == PROMPT, table
        page.close()          # every edit autosaved before its reply: nothing to press

        studio.stop()          # the server goes away; the browser context (its localStorage) stays
        studio.start()         # a new app instance: same port (same origin), same sessions root

        page = _open(context, studio.url, fresh=False)
        status = page.locator("#director-status")
        expect(status).to_contain_text("Restored your last session", timeout=45_000)
        expect(page.locator("#director-segments [data-testid='cell-0-2']")).to_contain_text(PROMPT)
        assert _table(page) == table
        # the stage is back too: the speech (its waveform and clock) and the portrait
        expect(page.locator(STAGE)).to_have_attribute("data-views", "1")
        assert abs(float(_stage(page, "duration")) - float(table[-1][1])) < 0.01
    finally:
        context.close()
