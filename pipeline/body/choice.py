"""Which body a session shows: the user's SMPL / SMPL-X when a folder is given (the studio's field,
else ``VERSASTUDIO_SMPL_DIR``), otherwise the shipped Anny body; fitted to the motion skeleton."""

from __future__ import annotations

import os
import threading

from pipeline.body.model import BodyModel, default_body
from pipeline.body.rig import fit_body
from pipeline.body.smpl import SMPL_ENV, find_model_file, load_smpl_body

_FITTED: dict[str, BodyModel] = {}
_LOCK = threading.Lock()


def smpl_folder(field: str | None = None) -> str:
    """The SMPL folder in force: the field's value, else the environment variable, else ''."""
    return (field or "").strip() or os.environ.get(SMPL_ENV, "").strip()


def session_body(smpl_dir: str | None = None) -> BodyModel:
    """The fitted body for a folder ('' = the default body); cached per folder and file time.
    Raises BodyError (with what to do) for a folder that holds no usable model."""
    folder = smpl_folder(smpl_dir)
    key = "anny"
    if folder:
        f = find_model_file(folder)
        key = f"{f}:{f.stat().st_mtime_ns}"
    with _LOCK:
        if key not in _FITTED:
            raw = default_body() if not folder else load_smpl_body(folder)
            _FITTED[key] = fit_body(raw)
        return _FITTED[key]
