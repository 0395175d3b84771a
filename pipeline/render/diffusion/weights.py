"""The diffusion weights folder: its expected layout and a check that does not load diffusers.

The studio asks :func:`validate_weights_dir` whether the renderer can be offered, so the check
only looks at file names and, in the condition file, at the few tensors that tell trained from
zero-initialised layers; it says exactly what is missing instead of failing later inside
``from_pretrained``.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_INDEX = "model_index.json"
MIMICMOTION_FILES = ("MimicMotion_1-1.pth", "MimicMotion_1-1.safetensors", "MimicMotion.pth",
                     "MimicMotion.safetensors")
"""MimicMotion's released checkpoint (keys ``pose_net.*`` and ``unet.*``), first match wins."""
CONDITIONS_FILE = "versa_conditions.safetensors"
"""The condition module (audio / expression / blink / identity layers); may also hold ``pose_net.*``."""

_DIFFUSERS_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                      "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin")
_TRANSFORMERS_WEIGHTS = ("model.safetensors", "model.fp16.safetensors", "pytorch_model.bin",
                         "pytorch_model.fp16.bin")
SUBFOLDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (config file, weight files (any one))
    "unet": ("config.json", _DIFFUSERS_WEIGHTS),
    "vae": ("config.json", _DIFFUSERS_WEIGHTS),
    "image_encoder": ("config.json", _TRANSFORMERS_WEIGHTS),
    "scheduler": ("scheduler_config.json", ()),
    "feature_extractor": ("preprocessor_config.json", ()),
}
"""The stable-video-diffusion-img2vid-xt folder layout (diffusers format)."""


def find_weight_file(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` present in ``folder`` (None when none is)."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    return None


def weight_variant(folder: Path) -> str | None:
    """"fp16" when a diffusers/transformers folder only has the fp16 variant of its weights."""
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    plain = any(n in names for n in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin",
                                     "model.safetensors", "pytorch_model.bin"))
    fp16 = any(".fp16." in n for n in names)
    return "fp16" if fp16 and not plain else None


def mimicmotion_checkpoint(folder: Path) -> Path | None:
    """MimicMotion's checkpoint in ``folder`` when present."""
    return find_weight_file(Path(folder), MIMICMOTION_FILES)


def conditions_file_keys(path: Path) -> list[str]:
    """Tensor names in a safetensors file, read from its header only."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return list(f.keys())


def _any_nonzero(path: Path, keys: list[str]) -> bool:
    """Whether any of these tensors has a non-zero entry (zero-initialised outputs mean untrained)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return any(bool(f.get_tensor(k).abs().sum() > 0) for k in keys)


def svd_problems(folder: Path) -> list[str]:
    """What the SVD-xt diffusers folder ``folder`` lacks (empty when complete), from file names only."""
    folder = Path(folder)
    problems: list[str] = []
    if not (folder / MODEL_INDEX).is_file():
        problems.append(f"{MODEL_INDEX} is missing")
    else:
        try:
            json.loads((folder / MODEL_INDEX).read_text())
        except (OSError, ValueError) as exc:
            problems.append(f"{MODEL_INDEX} is not valid JSON ({exc})")
    for name, (config, weights) in SUBFOLDERS.items():
        sub = folder / name
        if not sub.is_dir():
            problems.append(f"{name}/ is missing")
            continue
        if not (sub / config).is_file():
            problems.append(f"{name}/{config} is missing")
        if weights and find_weight_file(sub, weights) is None:
            problems.append(f"{name}/ has no weights ({weights[0]})")
    return problems


def validate_weights_dir(path: str | Path | None) -> tuple[bool, str]:
    """(usable, reason): whether ``path`` holds what :class:`VersaAnimatorPipeline` loads.

    Required: the SVD-xt image-to-video folder (``model_index.json``, ``unet/``, ``vae/``,
    ``image_encoder/``, ``scheduler/``, ``feature_extractor/``) and trained pose weights, either
    MimicMotion's checkpoint or ``pose_net.*`` tensors in ``versa_conditions.safetensors``
    (an untrained pose encoder is zero-initialised and would ignore the poses). Optional: the
    condition layers; without them lips follow the pose maps only and the reason says so.
    """
    if path is None or not str(path).strip():
        return False, "no diffusion weights folder is set"
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return False, f"the weights folder {folder} does not exist"
    if not any(folder.iterdir()):
        return False, (f"the weights folder {folder} is empty: put the stable-video-diffusion-img2vid-xt files "
                       f"({MODEL_INDEX}, unet/, vae/, image_encoder/, scheduler/, feature_extractor/) and "
                       f"{MIMICMOTION_FILES[0]} there")
    problems = svd_problems(folder)
    conditions = folder / CONDITIONS_FILE
    condition_keys: list[str] = []
    if conditions.is_file():
        try:
            condition_keys = conditions_file_keys(conditions)
        except Exception as exc:  # noqa: BLE001 - a corrupt header: say so rather than crash the studio
            problems.append(f"{CONDITIONS_FILE} cannot be read ({exc})")
    pose_keys = [k for k in condition_keys if k == "pose_net.final_proj.weight"]
    has_pose = mimicmotion_checkpoint(folder) is not None or (bool(pose_keys) and _any_nonzero(conditions, pose_keys))
    if not has_pose:
        problems.append(f"no trained pose weights: put MimicMotion's {MIMICMOTION_FILES[0]} (or trained pose_net.* "
                        f"in {CONDITIONS_FILE}) there")
    if problems:
        return False, f"the weights folder {folder} is incomplete: " + "; ".join(problems)
    out_keys = [k for k in condition_keys if k.startswith("conditions.layers.") and k.endswith(".to_out.weight")]
    if not out_keys or not _any_nonzero(conditions, out_keys):
        return True, (f"weights in {folder}; no trained {CONDITIONS_FILE}: the audio / expression / blink layers "
                      "are untrained (zero), so lips and blinks follow the pose maps only")
    return True, f"weights in {folder}"
