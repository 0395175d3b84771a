"""The body on the stage in a real browser (Playwright + Debian's chromium): it appears, moves with
the scrubber, toggles to the skeleton and back, shows both takes in Compare, and the page poses it
with the same bones as pipeline/body/rig.py."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow   # a real browser: run with the suite, not the quick loop

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

STAGE = "#body-stage .vs-stage"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def motions():
    from pipeline.data.synthetic.procedural.library import generate_action

    return {"wave": generate_action("wave_right", np.random.default_rng(0)).joints,
            "clap": generate_action("clap", np.random.default_rng(0)).joints}


@pytest.fixture(scope="module")
def app(motions):
    import gradio as gr

    from components.stage import director_stage
    from pipeline.body.choice import session_body
    from studio.body_stage import preview_payload
    from studio.stage_payload import StageCache

    body = session_body()
    with gr.Blocks() as demo:
        stage = director_stage(elem_id="body-stage")
        one, two = gr.Button("one take"), gr.Button("two takes")
        one.click(lambda: preview_payload(StageCache(), [("wave", motions["wave"])], body), None, stage,
                  api_name="one_take")
        two.click(lambda: preview_payload(StageCache(), [("wave", motions["wave"]), ("clap", motions["clap"])],
                                          body), None, stage, api_name="two_takes")
    port = _port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", body
    demo.close()


@pytest.fixture(scope="module")
def page(app):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1200, "height": 900})
        pg.set_default_timeout(60_000)
        pg.goto(app[0])
        yield pg
        browser.close()


def _data(page) -> dict:
    return page.evaluate(f"() => Object.assign({{}}, document.querySelector({STAGE!r}).dataset)")


def _pixels(page, t: float, index: int = 0) -> str:
    """The body canvas right after drawing time t (same task: the drawing buffer is not kept)."""
    return page.evaluate(f"([t, i]) => {{ const s = document.querySelector('{STAGE} .vs-scrub'); s.value = t; "
                         f"s.dispatchEvent(new Event('input')); "
                         f"return document.querySelectorAll('{STAGE} .vs-gl')[i].toDataURL(); }}", [t, index])


def test_the_body_appears_moves_with_the_scrubber_and_toggles(page, app, motions):
    page.get_by_role("button", name="one take").click()
    page.wait_for_function(f"() => +document.querySelector({STAGE!r}).dataset.bodyDraws > 0")
    d = _data(page)
    assert d["mode"] == "body" and d["body"] == "anny" and int(d["bodyVertices"]) == len(app[1].vertices)
    assert "bodyError" not in d
    still = _pixels(page, 0.0)
    raised = _pixels(page, 1.5)
    assert _data(page)["frame3d"] == "30"
    assert raised != still                                # the arm went up on the body
    assert _pixels(page, 0.0) == still                    # and scrubbing back shows the same frame
    gl = page.locator(f"{STAGE} .vs-gl").first
    assert gl.evaluate("c => getComputedStyle(c).visibility") == "visible"
    page.locator(f"{STAGE} .vs-mode").click()
    assert _data(page)["mode"] == "skeleton"
    assert gl.evaluate("c => getComputedStyle(c).visibility") == "hidden"
    page.locator(f"{STAGE}").press("b")
    assert _data(page)["mode"] == "body"
    assert gl.evaluate("c => getComputedStyle(c).visibility") == "visible"


def test_the_page_poses_the_body_like_the_python_rig(page, app, motions):
    from pipeline.body.rig import pose_rig
    from studio.body_stage import clip_take

    page.get_by_role("button", name="one take").click()
    page.wait_for_function(f"() => +document.querySelector({STAGE!r}).dataset.bodyDraws > 0")
    body = app[1]
    joints = clip_take(motions["wave"]).joints.astype(np.float64)
    pose = pose_rig(body.joints, joints)
    for frame in (0, 25, 50):
        bones = np.array(page.evaluate(f"() => document.querySelector({STAGE!r}).vsBodyBones(0, {frame / 20})"))
        m = bones.reshape(22, 4, 4).transpose(0, 2, 1)      # column-major -> rows
        for j in range(22):                                  # the vertices each bone moves
            sample = body.vertices[(body.skin_joints == j).any(axis=1)][::7].astype(np.float64)
            js_pts = sample @ m[j, :3, :3].T + m[j, :3, 3]
            py_pts = sample @ pose.linear[frame, j].T + pose.offset[frame, j]
            assert np.abs(js_pts - py_pts).max() < 0.006, (frame, j)   # int16 mm joints in the page


def test_compare_shows_both_takes_as_bodies(page):
    page.get_by_role("button", name="two takes").click()
    page.wait_for_function(f"() => document.querySelector({STAGE!r}).dataset.views === '2'")
    assert page.locator(f"{STAGE} .vs-gl").count() == 2
    a, b = _pixels(page, 1.0, 0), _pixels(page, 1.0, 1)
    assert a != b and len(a) > 5000 and len(b) > 5000
    for i in range(2):
        vis = page.locator(f"{STAGE} .vs-gl").nth(i).evaluate("c => getComputedStyle(c).visibility")
        assert vis == "visible"
