"""Issue 17 in a real browser (Playwright + Debian's chromium), with the sessions folder outside
both the working directory and the temp dir (as the default ~/.cache/versastudio/sessions is):

- a seed of 1e30 typed in a segment's seed cell is refused, and the page still reloads;
- an autosave holding such a seed restores (the seed reset and said so, the prompt kept);
- a render plays and downloads (Gradio is allowed to serve the sessions folder, nothing wider).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # a real browser: run with the suite, not the quick loop

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

from tests.test_studio_browser import CHROMIUM, PROMPT, SPEECH, _free_port, _load_examples_with_prompt, _open  # noqa: E402

expect = sync_api.expect


@pytest.fixture()
def outside(tmp_path, monkeypatch):
    """A sessions root outside cwd and outside the (moved) temp dir, and the app serving it."""
    from studio.layout import build_app, launch_style

    systemp = tmp_path / "systemp"
    systemp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systemp))
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    root = tmp_path / "sessions"
    assert not str(root).startswith(tempfile.gettempdir()) and not str(root).startswith(str(Path.cwd()))
    demo = build_app(dataset_dir=tmp_path / "no-dataset", sessions_root=root)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_style(root))
    yield f"http://127.0.0.1:{port}/", root
    demo.close()


def _seed_autosave(root: Path, seed) -> None:
    """Write ``seed`` into segment 1 of the one autosave under ``root`` (as an old studio could)."""
    (path,) = list(root.glob("*/autosave.zip"))
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    project = json.loads(members["project.json"])
    project["segments"][0]["seed"] = seed
    members["project.json"] = json.dumps(project).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_bad_seed_never_locks_the_page_and_renders_download(outside, tmp_path):
    from pipeline.audio import load_audio
    from pipeline.video import probe_video

    url, root = outside
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        try:
            page = _open(context, url)
            status = page.locator("#director-status")
            _load_examples_with_prompt(page, status)

            cell = page.locator("#director-segments [data-testid='cell-0-3']")
            cell.dblclick()
            editor = cell.locator("textarea, input").first
            editor.fill("1e30")
            editor.press("Enter")
            expect(status).to_contain_text("2147483647", timeout=30_000)

            page.reload(wait_until="domcontentloaded")
            expect(page.locator("#director-root")).not_to_have_class("studio-loading", timeout=60_000)
            expect(status).to_contain_text("Restored your last session", timeout=45_000)

            _seed_autosave(root, 1e30)      # what a studio without the check saved
            page.reload(wait_until="domcontentloaded")
            expect(page.locator("#director-root")).not_to_have_class("studio-loading", timeout=60_000)
            expect(status).to_contain_text("Restored your last session", timeout=45_000)
            expect(status).to_contain_text("reset to 0")
            expect(page.locator("#director-segments [data-testid='cell-0-2']")).to_contain_text(PROMPT)

            page.get_by_role("button", name="Generate", exact=True).click()
            expect(status).to_contain_text("Motion generated", timeout=90_000)
            page.get_by_label("Resolution").click()
            page.get_by_role("option", name="256", exact=True).click()
            page.get_by_role("button", name="Render", exact=True).click()
            expect(status).to_contain_text("Rendered", timeout=120_000)
            expect(page.locator("#director-video video")).to_have_count(1, timeout=30_000)
            link = page.locator("#director-downloads tr", has_text="render-").locator("a").first
            expect(link).to_be_visible()
            with page.expect_download() as info:
                link.click()
            mp4 = tmp_path / "render.mp4"
            info.value.save_as(mp4)
            meta = probe_video(mp4)
            assert meta["video"] and meta["audio"] and max(meta["size"]) == 256, meta
            assert abs(meta["frames"] - round(load_audio(str(SPEECH)).duration_s * meta["fps"])) <= 1
            assert list(root.glob("*/files/render-*.mp4")), "the render is not in the sessions folder"
        finally:
            context.close()
            browser.close()
