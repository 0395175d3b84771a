"""Diffusion weights from the Hugging Face Hub: which files, where they are cached, how they come.

A Hugging Face Space has a GPU and the Hub but no local weights folder, so the renderer can take
its weights from ``huggingface_hub``'s own cache instead: the diffusers folder of
``stabilityai/stable-video-diffusion-img2vid-xt-1-1`` (fp16 files only, about 4.5 GB) and
``MimicMotion_1-1.pth`` from ``tencent/MimicMotion`` (about 3 GB). Downloads happen only when the
user allows them (``$VERSA_DIFFUSION_HUB=1``, on by default on a Space) and never while
``HF_HUB_OFFLINE=1``; files already in the cache are used without asking the network. Every
failure names the file and says what to do (a gated repository needs its licence accepted and a
token).

Run ``python -m pipeline.render.diffusion.hub`` to fetch the files ahead of the first render.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

SVD_REPO = "stabilityai/stable-video-diffusion-img2vid-xt-1-1"
MIMICMOTION_REPO = "tencent/MimicMotion"
MIMICMOTION_FILE = "MimicMotion_1-1.pth"
SVD_FILES = (
    "model_index.json",
    "scheduler/scheduler_config.json",
    "feature_extractor/preprocessor_config.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.fp16.safetensors",
    "image_encoder/config.json",
    "image_encoder/model.fp16.safetensors",
)
"""What VersaAnimatorPipeline loads from the SVD repository: configs and the fp16 weights (the
UNet runs in fp16; the VAE is upcast to float32 on load)."""
APPROX_DOWNLOAD_GB = 7.6
"""SVD-xt-1-1 fp16 (UNet 3.0, CLIP 1.3, VAE 0.2 GB) + MimicMotion_1-1.pth (3.1 GB), rounded."""

HUB_ENV = "VERSA_DIFFUSION_HUB"
"""'1' allows downloads from the Hub, '0' forbids them; unset: allowed on a Space only."""
HUB_REVISION_ENV = "VERSA_DIFFUSION_HUB_REVISION"
"""Optional pinned revisions, 'svd_rev,mimicmotion_rev' (default: main for both)."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class HubWeightsError(RuntimeError):
    """A Hub file could not be had; the message names the file and what to do."""


@dataclass(frozen=True)
class HubWeights:
    """Where the cached Hub files are: the SVD snapshot folder and MimicMotion's checkpoint."""

    svd_dir: Path
    mimicmotion: Path


def on_space() -> bool:
    """Whether this process runs on a Hugging Face Space (the platform sets ``SPACE_ID``)."""
    return bool(os.environ.get("SPACE_ID", "").strip())


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` read now (huggingface_hub reads it once at import; a later change counts here)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_allowed() -> bool:
    """Whether the user allows downloading the weights: ``$VERSA_DIFFUSION_HUB``, else on a Space only."""
    value = os.environ.get(HUB_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return on_space()


def _revisions() -> tuple[str | None, str | None]:
    raw = os.environ.get(HUB_REVISION_ENV, "").strip()
    if not raw:
        return None, None
    parts = [p.strip() or None for p in raw.split(",")]
    return parts[0], parts[1] if len(parts) > 1 else None


def _wanted(cache_dir: str | Path | None) -> list[tuple[str, str, str | None]]:
    svd_rev, mm_rev = _revisions()
    return [(SVD_REPO, f, svd_rev) for f in SVD_FILES] + [(MIMICMOTION_REPO, MIMICMOTION_FILE, mm_rev)]


def _cached(repo: str, filename: str, revision: str | None, cache_dir: str | Path | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename, cache_dir=cache_dir, revision=revision)
    return Path(found) if isinstance(found, str) and Path(found).is_file() else None


def _assemble(paths: dict[tuple[str, str], Path]) -> HubWeights:
    index = paths[(SVD_REPO, "model_index.json")]
    return HubWeights(svd_dir=index.parent, mimicmotion=paths[(MIMICMOTION_REPO, MIMICMOTION_FILE)])


def cached_weights(cache_dir: str | Path | None = None) -> tuple[HubWeights | None, list[str]]:
    """(weights, missing): the Hub files already in the cache, without touching the network.

    ``missing`` lists ``repo/file`` for every file not cached (empty when ``weights`` is set).
    """
    paths, missing = {}, []
    for repo, filename, rev in _wanted(cache_dir):
        found = _cached(repo, filename, rev, cache_dir)
        if found is None:
            missing.append(f"{repo}/{filename}")
        else:
            paths[(repo, filename)] = found
    return (None, missing) if missing else (_assemble(paths), [])


def explain_error(exc: BaseException, repo: str, filename: str) -> str:
    """What went wrong fetching ``repo/filename`` and what to do, in one message."""
    from huggingface_hub import errors

    name = f"{repo}/{filename}"
    page = f"https://huggingface.co/{repo}"
    if isinstance(exc, errors.GatedRepoError):
        return (f"{name} is in a gated repository: log in at {page}, accept its licence, then give this "
                "program a token (set HF_TOKEN, or run `hf auth login`; on a Space add a secret named HF_TOKEN)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"{name}: the revision asked for does not exist on the Hub (check ${HUB_REVISION_ENV})"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return (f"{name}: the repository {repo} was not found or is private; check the name and that HF_TOKEN "
                "can read it")
    if isinstance(exc, errors.LocalEntryNotFoundError):
        why = "HF_HUB_OFFLINE=1 is set" if hub_offline() else "the Hub cannot be reached"
        return (f"{name} is not in the Hugging Face cache and {why}: download it once with network access "
                "(`python -m pipeline.render.diffusion.hub`) or put the weights in a local folder "
                "($VERSA_DIFFUSION_WEIGHTS)")
    if isinstance(exc, errors.EntryNotFoundError):
        return (f"{name} does not exist in {repo} (the repository's layout changed?); download the weights by "
                "hand into a local folder ($VERSA_DIFFUSION_WEIGHTS, see pipeline/render/diffusion/README.md)")
    if isinstance(exc, OSError) and "No space left" in str(exc):
        return f"{name}: the disk is full (about {APPROX_DOWNLOAD_GB:g} GB are needed in the Hugging Face cache)"
    return f"{name} could not be downloaded ({type(exc).__name__}: {exc}); try again, or use a local weights folder"


# ------------------------------------------------------------------------------------ progress

@dataclass
class DownloadProgress:
    """Shared state of the one download that may run at a time (read by the studio's status)."""

    active: bool = False
    file: str = ""
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    started: float = 0.0
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fraction(self) -> float:
        """Done so far, 0..1: bytes of the current file within the file count."""
        if not self.files_total:
            return 0.0
        part = self.bytes_done / self.bytes_total if self.bytes_total else 0.0
        return min(1.0, (self.files_done + part) / self.files_total)

    def describe(self) -> str:
        if not self.active:
            return self.error or "not downloading"
        mb = self.bytes_done / 1e6
        return (f"downloading the diffusion weights: {100 * self.fraction():.0f} % (file {self.files_done + 1} of "
                f"{self.files_total}, {self.file}, {mb:.0f} MB)")


PROGRESS = DownloadProgress()
_DOWNLOAD_LOCK = threading.Lock()


def _tqdm_reporting(state: DownloadProgress, report: Callable[[DownloadProgress], None] | None):
    """A tqdm class that mirrors one file's byte count into ``state`` (huggingface_hub drives it)."""
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("disable", False)
            super().__init__(*args, **kwargs)
            with state.lock:
                state.bytes_total = int(self.total or 0)
                state.bytes_done = int(self.n or 0)

        def update(self, n=1):
            out = super().update(n)
            with state.lock:
                state.bytes_done = int(self.n)
                state.bytes_total = int(self.total or state.bytes_total)
            if report is not None:
                report(state)
            return out

    return Reporting


def fetch_weights(cache_dir: str | Path | None = None, *, token: str | bool | None = None,
                  report: Callable[[DownloadProgress], None] | None = None,
                  state: DownloadProgress | None = None) -> HubWeights:
    """The Hub files, downloading those not cached yet (into HF's cache) when allowed.

    Cached files are used as they are (no network). Raises :class:`HubWeightsError` naming the
    first file that cannot be had: downloads not allowed, ``HF_HUB_OFFLINE=1``, a gated or
    missing file. ``report(progress)`` is called as bytes arrive.
    """
    from huggingface_hub import hf_hub_download

    state = PROGRESS if state is None else state
    have, missing = cached_weights(cache_dir)
    if have is not None:
        return have
    if hub_offline():
        raise HubWeightsError(f"{missing[0]} (and {len(missing) - 1} more files) is not in the Hugging Face cache "
                              "and HF_HUB_OFFLINE=1 forbids downloading it: unset HF_HUB_OFFLINE once to fetch "
                              f"the weights (about {APPROX_DOWNLOAD_GB:g} GB), or set $VERSA_DIFFUSION_WEIGHTS to a "
                              "local folder")
    if not hub_allowed():
        raise HubWeightsError(f"the diffusion weights are not here and downloading them is off: set {HUB_ENV}=1 to "
                              f"let the studio fetch {SVD_REPO} and {MIMICMOTION_REPO}/{MIMICMOTION_FILE} (about "
                              f"{APPROX_DOWNLOAD_GB:g} GB) into the Hugging Face cache, or set "
                              "$VERSA_DIFFUSION_WEIGHTS to a local folder")
    if not _DOWNLOAD_LOCK.acquire(blocking=False):
        raise HubWeightsError("the diffusion weights are already being downloaded; wait for that download to end")
    wanted = _wanted(cache_dir)
    try:
        with state.lock:
            state.active, state.files_done, state.files_total = True, 0, len(wanted)
            state.error, state.started = "", time.time()
        paths = {}
        tqdm_class = _tqdm_reporting(state, report)
        for repo, filename, rev in wanted:
            with state.lock:
                state.file, state.bytes_done, state.bytes_total = f"{repo}/{filename}", 0, 0
            if report is not None:
                report(state)
            cached = _cached(repo, filename, rev, cache_dir)
            try:   # a cached file is used as it is (asking the Hub would cost a request per file)
                paths[(repo, filename)] = cached or Path(hf_hub_download(repo, filename, revision=rev, cache_dir=cache_dir,
                                                               token=token, tqdm_class=tqdm_class))
            except Exception as exc:  # every Hub failure becomes a message that names the file
                message = explain_error(exc, repo, filename)
                with state.lock:
                    state.error = message
                raise HubWeightsError(message) from exc
            with state.lock:
                state.files_done += 1
                state.bytes_done = state.bytes_total = 0
            if report is not None:
                report(state)
        return _assemble(paths)
    finally:
        with state.lock:
            state.active = False
        _DOWNLOAD_LOCK.release()


def main(argv: list[str] | None = None) -> int:
    """Fetch the weights now (``python -m pipeline.render.diffusion.hub``), with a progress bar per file."""
    import argparse

    parser = argparse.ArgumentParser(description=f"download {SVD_REPO} (fp16) and {MIMICMOTION_REPO}/"
                                                 f"{MIMICMOTION_FILE} into the Hugging Face cache")
    parser.add_argument("--cache-dir", help="the Hugging Face cache (default: HF_HUB_CACHE)")
    args = parser.parse_args(argv)
    os.environ.setdefault(HUB_ENV, "1")  # running this command is the permission
    try:
        weights = fetch_weights(args.cache_dir)
    except HubWeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"SVD folder: {weights.svd_dir}\nMimicMotion: {weights.mimicmotion}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
