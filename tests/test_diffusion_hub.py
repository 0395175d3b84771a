"""Diffusion weights from the Hugging Face Hub, tested on a local HF cache of tiny random weights.

The cache is laid out as huggingface_hub lays it out (``models--org--name/blobs/<sha>``,
``snapshots/<rev>/<path>`` links into the blobs, ``refs/main``), so the project's code reads it
through huggingface_hub's own cache functions. Nothing here touches the network: where a
download is exercised, ``hf_hub_download`` is replaced by a stand-in that writes into the cache
and drives the progress bar class it is given, as the real one does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")

from pipeline.render.diffusion import hub  # noqa: E402
from pipeline.render.diffusion.runtime import RuntimeOptions  # noqa: E402
from pipeline.render.diffusion.sources import lookup_weights, obtain_weights  # noqa: E402
from pipeline.render.diffusion.state import State, diffusion_state  # noqa: E402

REV = "0123456789abcdef0123456789abcdef01234567"


def _place(cache: Path, repo: str, rel: str, data: bytes, rev: str = REV) -> Path:
    """Put one file into the cache the way huggingface_hub does (blob + snapshot link + ref)."""
    root = cache / ("models--" + repo.replace("/", "--"))
    sha = hashlib.sha256(data).hexdigest()
    blob = root / "blobs" / sha
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = root / "snapshots" / rev / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(os.path.relpath(blob, link.parent))
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(rev)
    return link


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory) -> dict[tuple[str, str], bytes]:
    """The bytes of every Hub file, from the tiny random pipeline saved with fp16 file names."""
    from tests.test_diffusion import tiny_pipeline

    pipe = tiny_pipeline(conditions=False)
    out = tmp_path_factory.mktemp("tiny_svd")
    pipe.unet.save_pretrained(out / "unet", variant="fp16")
    pipe.vae.save_pretrained(out / "vae", variant="fp16")
    pipe.image_encoder.save_pretrained(out / "image_encoder", variant="fp16")
    pipe.feature_extractor.save_pretrained(out / "feature_extractor")
    pipe.scheduler.save_pretrained(out / "scheduler")
    (out / "model_index.json").write_text('{"_class_name": "StableVideoDiffusionPipeline"}')
    files = {(hub.SVD_REPO, rel): (out / rel).read_bytes() for rel in hub.SVD_FILES}
    torch.nn.init.normal_(pipe.pose_net.final_proj.weight, std=0.1)   # "trained" pose encoder
    sd = {f"pose_net.{k}": v for k, v in pipe.pose_net.state_dict().items()}
    torch.save(sd, out / hub.MIMICMOTION_FILE)
    files[(hub.MIMICMOTION_REPO, hub.MIMICMOTION_FILE)] = (out / hub.MIMICMOTION_FILE).read_bytes()
    return files


def full_cache(tmp_path: Path, files: dict, skip: tuple[str, str] | None = None) -> Path:
    cache = tmp_path / "hf_cache"
    for (repo, rel), data in files.items():
        if (repo, rel) != skip:
            _place(cache, repo, rel, data)
    return cache


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to download fails the test."""
    import huggingface_hub

    def refuse(*a, **k):
        raise AssertionError(f"tried to download {a} {k}")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    for name in ("VERSA_DIFFUSION_HUB", "SPACE_ID", "HF_HUB_OFFLINE", "SPACES_ZERO_GPU"):
        monkeypatch.delenv(name, raising=False)


def test_weights_come_from_the_hub_cache_and_load(tmp_path, tiny_files, no_network) -> None:
    from pipeline.render.diffusion.render import load_pipeline

    cache = full_cache(tmp_path, tiny_files)
    found = lookup_weights(tmp_path / "no_local_folder", cache)
    assert found.paths is not None and found.paths.origin == "hub", found.reason
    assert found.paths.svd_dir.name == REV and found.paths.mimicmotion.name == hub.MIMICMOTION_FILE
    assert "Hugging Face cache" in found.reason
    # loads through diffusers/transformers from the snapshot (fp16 file names, links into blobs)
    pipe = load_pipeline(found.paths, device="cpu", opts=RuntimeOptions(dtype="float32", offload="none"))
    assert pipe.pose_net.is_trained()   # the pose weights came from MimicMotion's file in the other repo
    assert torch.allclose(pipe.pose_net.final_proj.weight.float(),
                          torch.load(found.paths.mimicmotion, weights_only=True)["pose_net.final_proj.weight"])
    from tests.test_diffusion import inputs

    image, poses, _ = inputs(2)
    out = pipe(image, poses, None, num_inference_steps=1, generator=torch.Generator().manual_seed(0),
               window=2, overlap=0).frames
    assert out.shape == (2, *image.shape) and np.isfinite(out).all()


def test_offline_and_missing_files_name_the_file(tmp_path, tiny_files, no_network, monkeypatch) -> None:
    skip = (hub.SVD_REPO, "unet/diffusion_pytorch_model.fp16.safetensors")
    cache = full_cache(tmp_path, tiny_files, skip=skip)
    have, missing = hub.cached_weights(cache)
    assert have is None and missing == [f"{hub.SVD_REPO}/unet/diffusion_pytorch_model.fp16.safetensors"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VERSA_DIFFUSION_HUB", "1")
    with pytest.raises(hub.HubWeightsError) as err:
        hub.fetch_weights(cache)          # no_network: a download attempt would fail the test instead
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in str(err.value) and "HF_HUB_OFFLINE" in str(err.value)
    found = lookup_weights(None, cache)
    assert found.paths is None and not found.downloadable and "HF_HUB_OFFLINE" in found.reason
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("VERSA_DIFFUSION_HUB", "0")
    with pytest.raises(hub.HubWeightsError) as err:
        obtain_weights(None, cache)
    assert "VERSA_DIFFUSION_HUB=1" in str(err.value)


def test_downloads_are_allowed_by_env_or_on_a_space(monkeypatch) -> None:
    for name in ("VERSA_DIFFUSION_HUB", "SPACE_ID"):
        monkeypatch.delenv(name, raising=False)
    assert not hub.hub_allowed()
    monkeypatch.setenv("SPACE_ID", "someone/versastudio")
    assert hub.hub_allowed() and hub.on_space()
    monkeypatch.setenv("VERSA_DIFFUSION_HUB", "0")
    assert not hub.hub_allowed()
    monkeypatch.delenv("SPACE_ID")
    monkeypatch.setenv("VERSA_DIFFUSION_HUB", "1")
    assert hub.hub_allowed()


def test_download_fills_the_cache_with_progress(tmp_path, tiny_files, monkeypatch) -> None:
    import huggingface_hub

    cache = tmp_path / "hf_cache"
    # one file is already cached: it must not be asked for again
    _place(cache, hub.SVD_REPO, "model_index.json", tiny_files[(hub.SVD_REPO, "model_index.json")])
    asked, seen = [], []
    state = hub.DownloadProgress()

    def fake_download(repo_id, filename, *, revision=None, cache_dir=None, token=None, tqdm_class=None, **_):
        asked.append((repo_id, filename))
        assert state.active
        data = tiny_files[(repo_id, filename)]
        bar = tqdm_class(total=len(data), unit="B", disable=True)
        for i in range(0, len(data), max(1, len(data) // 3)):
            bar.update(min(len(data) - i, max(1, len(data) // 3)))
        bar.close()
        return str(_place(Path(cache_dir), repo_id, filename, data))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setenv("VERSA_DIFFUSION_HUB", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    got = hub.fetch_weights(cache, state=state, report=lambda s: seen.append(s.fraction()))
    assert len(asked) == len(hub.SVD_FILES) and (hub.SVD_REPO, "model_index.json") not in asked
    assert not state.active
    assert got.mimicmotion.is_file() and (got.svd_dir / "unet" / "config.json").is_file()
    assert seen[-1] == pytest.approx(1.0) and any(0.2 < f < 0.8 for f in seen)
    assert all(b >= a - 1e-9 for a, b in zip(seen, seen[1:])), "progress went backwards"
    assert hub.cached_weights(cache)[0] == got           # now everything is in the cache


def test_gated_and_missing_remote_files_say_what_to_do(tmp_path, monkeypatch) -> None:
    import httpx2
    import huggingface_hub
    from huggingface_hub import errors

    def response(code: int):
        return httpx2.Response(code, request=httpx2.Request("GET", "https://huggingface.co/x"))

    raised = {"gated": errors.GatedRepoError("403 gated", response=response(403)),
              "missing": errors.RemoteEntryNotFoundError("404", response=response(404))}
    which = {}

    def fake_download(repo_id, filename, **_):
        raise raised[which["kind"]]

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setenv("VERSA_DIFFUSION_HUB", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    which["kind"] = "gated"
    state = hub.DownloadProgress()
    with pytest.raises(hub.HubWeightsError) as err:
        hub.fetch_weights(tmp_path / "c1", state=state)
    msg = str(err.value)
    assert hub.SVD_REPO in msg and "model_index.json" in msg and "licence" in msg and "HF_TOKEN" in msg
    assert not state.active and state.error == msg
    which["kind"] = "missing"
    with pytest.raises(hub.HubWeightsError) as err:
        hub.fetch_weights(tmp_path / "c2", state=hub.DownloadProgress())
    assert "does not exist" in str(err.value) and "model_index.json" in str(err.value)


def test_backend_state_is_truthful(tmp_path, tiny_files, no_network, monkeypatch) -> None:
    from pipeline.render.diffusion import state as state_mod

    cache = full_cache(tmp_path, tiny_files)
    monkeypatch.setattr(state_mod, "gpu_info", lambda: (None, None))
    s = diffusion_state(None, cache)
    assert s.state is State.NO_GPU and not s.usable and "CUDA" in s.message and "weights are ready" in s.message
    monkeypatch.setattr(state_mod, "gpu_info", lambda: ("Test GPU", 16.0))
    s = diffusion_state(None, cache)
    assert s.state is State.READY and s.usable and s.weights.origin == "hub" and "Test GPU" in s.message
    empty = tmp_path / "empty_cache"
    s = diffusion_state(None, empty)
    assert s.state is State.NO_WEIGHTS and not s.usable and "VERSA_DIFFUSION_HUB=1" in s.message
    monkeypatch.setenv("VERSA_DIFFUSION_HUB", "1")
    s = diffusion_state(None, empty)
    assert s.state is State.DOWNLOADABLE and s.usable and "downloaded" in s.message
    monkeypatch.setattr(hub, "PROGRESS", hub.DownloadProgress(active=True, file="x", files_total=10, files_done=4))
    s = diffusion_state(None, empty)
    assert s.state is State.DOWNLOADING and not s.usable and s.download_fraction == pytest.approx(0.4)
    assert "40 %" in s.message


def test_local_folder_still_wins(tmp_path, no_network) -> None:
    from tests.test_diffusion import tiny_pipeline

    pipe = tiny_pipeline()
    torch.nn.init.normal_(pipe.pose_net.final_proj.weight, std=0.1)
    folder = pipe.save_pretrained(tmp_path / "local")
    found = lookup_weights(folder, tmp_path / "empty_cache")
    assert found.paths is not None and found.paths.origin == "folder" and found.paths.conditions is not None
    shutil.rmtree(folder / "unet")
    found = lookup_weights(folder, tmp_path / "empty_cache")
    assert found.paths is None and "unet/ is missing" in found.reason


def test_render_panel_shows_state_and_estimate(tmp_path, tiny_files, no_network, monkeypatch) -> None:
    from pipeline.render.diffusion import state as state_mod
    from pipeline.render.diffusion.panel import render_panel
    from studio.render_status import diffusion_status

    cache = full_cache(tmp_path, tiny_files)
    monkeypatch.setattr(state_mod, "gpu_info", lambda: (None, None))
    text = render_panel(None, (400, 600), 8.0, 512, 25, cache_dir=cache)
    assert "no GPU" in text and "Estimated" not in text          # nothing is promised without a GPU
    monkeypatch.setattr(state_mod, "gpu_info", lambda: ("Test GPU", 80.0))
    short = render_panel(None, (400, 600), 2.0, 512, 25, cache_dir=cache)
    long = render_panel(None, (400, 600), 20.0, 512, 25, cache_dir=cache)
    assert "ready" in short and "Estimated render time" in short and "50 frames" in short and "500 frames" in long
    assert "384x512" in short                                      # the model frame of a 2:3 portrait at 512
    # the studio's hook: a session without portrait or speech gets the 10 s default
    text = diffusion_status(None, 512, 25)
    assert "Photoreal (diffusion)" in text
