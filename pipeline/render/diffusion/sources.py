"""Where the diffusion weights come from: a local folder, or the Hugging Face cache / Hub.

One question for the studio, the CLI and the loader, answered the same way: the local folder
(``$VERSA_DIFFUSION_WEIGHTS`` or ``assets/checkpoints/diffusion``) when it is complete, else the
Hub files when they are already in HF's cache, else (when downloads are allowed) "can be
downloaded". No network is touched to answer it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import hub
from .weights import CONDITIONS_FILE, mimicmotion_checkpoint, validate_weights_dir


@dataclass(frozen=True)
class WeightPaths:
    """Everything the pipeline loads: the SVD-xt diffusers folder, MimicMotion's checkpoint (None
    when the pose weights travel in the condition file) and the optional condition layers."""

    svd_dir: Path
    mimicmotion: Path | None
    conditions: Path | None
    origin: str
    """"folder" or "hub" (the Hugging Face cache)."""

    def key(self) -> str:
        """A cache key for the loaded pipeline."""
        return "|".join(str(p.resolve()) if p is not None else "-" for p in (self.svd_dir, self.mimicmotion,
                                                                             self.conditions))


@dataclass(frozen=True)
class WeightsLookup:
    """The answer: ``paths`` when usable now, ``downloadable`` when the Hub can supply them, and
    ``reason`` (what was found, or everything that is missing and what to do)."""

    paths: WeightPaths | None
    downloadable: bool
    reason: str


def local_paths(folder: Path) -> WeightPaths:
    """The layout of one complete local folder (see README.md)."""
    cond = folder / CONDITIONS_FILE
    return WeightPaths(folder, mimicmotion_checkpoint(folder), cond if cond.is_file() else None, "folder")


def lookup_weights(folder: str | Path | None, cache_dir: str | Path | None = None) -> WeightsLookup:
    """Find usable weights without the network: the local folder first, then HF's cache."""
    ok, reason = validate_weights_dir(folder)
    if ok:
        return WeightsLookup(local_paths(Path(folder).expanduser()), False, reason)
    cached, missing = hub.cached_weights(cache_dir)
    if cached is not None:
        cond = Path(folder).expanduser() / CONDITIONS_FILE if folder else None
        cond = cond if cond is not None and cond.is_file() else None
        return WeightsLookup(WeightPaths(cached.svd_dir, cached.mimicmotion, cond, "hub"), False,
                             f"weights in the Hugging Face cache ({hub.SVD_REPO} + {hub.MIMICMOTION_REPO}/"
                             f"{hub.MIMICMOTION_FILE}); no trained condition layers: lips and blinks follow the "
                             "pose maps")
    if hub.hub_offline():
        hub_part = (f"the Hugging Face cache lacks {missing[0]} ({len(missing)} files missing) and HF_HUB_OFFLINE=1 "
                    "forbids downloading")
        return WeightsLookup(None, False, f"{reason}; {hub_part}")
    if hub.hub_allowed():
        return WeightsLookup(None, True, f"no local weights ({reason}); {len(missing)} files (about "
                                         f"{hub.APPROX_DOWNLOAD_GB:g} GB) will be downloaded from the Hub first")
    return WeightsLookup(None, False, f"{reason}; or set {hub.HUB_ENV}=1 to download {hub.SVD_REPO} and "
                                      f"{hub.MIMICMOTION_REPO}/{hub.MIMICMOTION_FILE} from the Hugging Face Hub")


def obtain_weights(folder: str | Path | None, cache_dir: str | Path | None = None, **fetch_kwargs) -> WeightPaths:
    """Usable weights, downloading from the Hub when that is the way (raises with the reason otherwise)."""
    found = lookup_weights(folder, cache_dir)
    if found.paths is not None:
        return found.paths
    if not found.downloadable:
        raise hub.HubWeightsError(found.reason)
    got = hub.fetch_weights(cache_dir, **fetch_kwargs)
    cond = Path(folder).expanduser() / CONDITIONS_FILE if folder else None
    return WeightPaths(got.svd_dir, got.mimicmotion, cond if cond is not None and cond.is_file() else None, "hub")
