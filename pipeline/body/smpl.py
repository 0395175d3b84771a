"""The user's own SMPL / SMPL-X body through ``smplx`` (the files are registration-gated: they are
never shipped; the user points ``VERSASTUDIO_SMPL_DIR`` or the studio's field at a folder).

Accepted: ``.npz`` model files (SMPLX_NEUTRAL.npz as published; SMPL as an .npz conversion) whose
arrays load without pickle. A ``.pkl`` is refused with a message: user files are never unpickled.
The 22 body joints of SMPL and SMPL-X are the motion skeleton's (same order); finger, jaw and eye
joints are merged into the wrists and the head for the 22-joint skin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.body.model import BodyError, BodyModel

SMPL_ENV = "VERSASTUDIO_SMPL_DIR"
PREFERRED = ("SMPLX_NEUTRAL.npz", "SMPL_NEUTRAL.npz", "SMPLX_MALE.npz", "SMPLX_FEMALE.npz", "SMPL_MALE.npz",
             "SMPL_FEMALE.npz")
SMPL_KEYS = ("v_template", "f", "weights", "J_regressor", "shapedirs", "posedirs", "kintree_table")


def find_model_file(folder: str | Path) -> Path:
    """The model file to use in ``folder`` (or the file itself); BodyError says what is missing."""
    path = Path(folder).expanduser()
    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = [path / n for n in PREFERRED if (path / n).is_file()] or \
            sorted(p for p in path.rglob("*.npz") if p.name.upper().startswith(("SMPLX_", "SMPL_")))
        if not candidates:
            pkls = sorted(p.name for p in path.rglob("*.pkl"))
            hint = (f" It holds {', '.join(pkls[:3])}: .pkl files are never opened here (they could run code); "
                    "convert one to .npz (np.savez of its arrays) or use SMPL-X's SMPLX_NEUTRAL.npz.") if pkls else ""
            raise BodyError(f"no SMPL / SMPL-X model file (SMPLX_NEUTRAL.npz, SMPL_NEUTRAL.npz, ...) in {path}.{hint}")
    else:
        raise BodyError(f"{path} does not exist: set {SMPL_ENV} (or the studio's field) to the folder that holds "
                        "your SMPLX_NEUTRAL.npz or SMPL_NEUTRAL.npz")
    chosen = candidates[0]
    if chosen.suffix.lower() == ".pkl":
        raise BodyError(f"{chosen.name} is a pickle: user files are never unpickled here; convert it to .npz")
    return chosen


def _arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        raise BodyError(f"{path.name} holds pickled objects, which are never loaded here: re-save its arrays "
                        f"with np.savez ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise BodyError(f"{path.name} is not a readable .npz file ({exc})") from exc
    missing = [k for k in SMPL_KEYS if k not in arrays]
    if missing:
        raise BodyError(f"{path.name} is not an SMPL / SMPL-X model: it lacks {', '.join(missing)}")
    return arrays


def merge_to_22(weights: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """(V, J>=22) skinning weights -> (V, 22): each extra joint's weight goes to its nearest
    ancestor among the first 22 (fingers -> wrists, jaw and eyes -> head)."""
    out = np.array(weights[:, :22], dtype=np.float64)
    for j in range(22, weights.shape[1]):
        a = j
        while a >= 22:
            a = int(parents[a])
        out[:, a] += weights[:, j]
    return out


def load_smpl_body(folder: str | Path, influences: int = 4) -> BodyModel:
    """The user's SMPL / SMPL-X at zero shape and pose as a 22-joint body (via smplx)."""
    import smplx
    import torch
    from smplx.utils import Struct

    path = find_model_file(folder)
    arrays = _arrays(path)
    is_x = arrays["weights"].shape[1] >= 55 or path.name.upper().startswith("SMPLX")
    try:
        if is_x:  # smplx opens the file itself; we checked above that it holds no pickle
            model = smplx.SMPLX(str(path.parent), ext="npz", gender=path.stem.split("_")[-1].lower()
                                if path.stem.upper().startswith("SMPLX_") else "neutral",
                                use_pca=False, flat_hand_mean=True)
        else:
            model = smplx.SMPL(str(path.parent), data_struct=Struct(**arrays))
        with torch.no_grad():
            out = model(return_verts=True)
    except Exception as exc:  # noqa: BLE001 - a foreign or damaged file: say which
        raise BodyError(f"smplx could not build a body from {path.name}: {type(exc).__name__}: {exc}") from exc
    verts = out.vertices[0].double().numpy()
    joints = out.joints[0, :22].double().numpy()
    parents = np.asarray(arrays["kintree_table"][0]).astype(np.int64)
    dense = merge_to_22(np.asarray(model.lbs_weights.numpy(), dtype=np.float64), parents)
    order = np.argsort(-dense, axis=1)[:, :influences]
    w = np.take_along_axis(dense, order, axis=1)
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    kind = "smplx" if is_x else "smpl"
    return BodyModel(name=kind, vertices=verts.astype(np.float32), faces=np.asarray(model.faces, dtype=np.int32),
                     skin_joints=order.astype(np.uint8), skin_weights=w.astype(np.float32),
                     joints=joints.astype(np.float32),
                     info={"source": f"{path} (the user's own model file; never shipped)",
                           "licence": "the user's SMPL / SMPL-X licence"}).check()
