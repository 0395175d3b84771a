"""Build a relation bank from a HumanML3D-layout motion dataset (the shipped default bank).

The project has no real talking-human footage, so the default bank is made from the motion
dataset itself: each clip's 3D joints are filmed by a fixed frontal camera (weak perspective,
the clip's first frame faces the camera), giving 2D body poses; hands are a canonical relaxed
shape following each forearm and the face a canonical neutral face following the head. The
tokens come from the clip's own 263-d features through the shipped tokenizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from pipeline.token2pose.bank import RelationBank, RelationBankConfig
from pipeline.token2pose.camera import WeakPerspectiveCamera
from pipeline.token2pose.project import whole_body_from_motion
from pipeline.token2pose.windows import ClipWindows, assemble_bank, clip_windows

FRONTAL_CAMERA = WeakPerspectiveCamera(scale=300.0, translation=(256.0, 256.0))
"""The fixed camera the dataset's clips are filmed with (pixels are normalised away afterwards)."""


def tokens_of_features(tokenizer, features: np.ndarray) -> np.ndarray:
    """(ceil(T/4),) tokens of one clip's raw features (T, 263)."""
    with torch.inference_mode():
        return tokenizer.encode(torch.from_numpy(np.asarray(features, dtype=np.float32))[None])[0].cpu().numpy()


def build_bank_from_motion_dataset(directory: str | Path | Sequence[str | Path], tokenizer, *,
                                   splits: Iterable[str] = ("train", "val"),
                                   max_per_code: int = 4, progress: Callable | None = None,
                                   built_with: str = "") -> RelationBank:
    """Relation bank from motion dataset folders (new_joints/, new_joint_vecs/, <split>.txt).

    directory: one folder or several (the action dataset and the co-speech pairs: generated
    tokens mix both kinds of motion, so the bank should hold both).

    splits: which clip lists to read (the test split is left out so it can measure the bank);
    max_per_code: windows kept per code, spread over the code's pose variety (0 keeps all).
    progress: optional wrapper over an iterable (e.g. tqdm) for a progress bar.
    """
    directories = [Path(directory)] if isinstance(directory, (str, Path)) else [Path(d) for d in directory]
    splits = tuple(splits)
    entries: list[tuple[Path, str]] = []
    for folder in directories:
        ids: list[str] = []
        for split in splits:
            path = folder / f"{split}.txt"
            if not path.exists():
                raise FileNotFoundError(f"{path} missing: is {folder} a motion dataset (python -m pipeline build-dataset)?")
            ids += path.read_text(encoding="utf-8").split()
        entries += [(folder, clip_id) for clip_id in dict.fromkeys(ids)]
    ids = [f"{folder.name}/{clip_id}" for folder, clip_id in entries]
    clips: list[ClipWindows] = []
    iterator = progress(entries) if progress else entries
    for number, (folder, clip_id) in enumerate(iterator):
        joints = np.load(folder / "new_joints" / f"{clip_id}.npy")
        features = np.load(folder / "new_joint_vecs" / f"{clip_id}.npy")
        tokens = tokens_of_features(tokenizer, features)
        keypoints, scores = whole_body_from_motion(joints, FRONTAL_CAMERA)
        windows = clip_windows(tokens, keypoints, scores, number)
        if windows is not None:
            clips.append(windows)
    config = RelationBankConfig(
        hands_source="canonical", face_source="canonical", max_per_code=max_per_code, sources=ids,
        built_with=built_with, tokenizer=str(getattr(tokenizer, "name_or_path", "") or "assets/checkpoints/motion_tokenizer"),
        notes=("2D poses rendered from motion datasets' 3D joints (" + ", ".join(d.name for d in directories) + ") by a fixed "
               "frontal weak-perspective camera; hands: canonical relaxed hand following the forearm; face: "
               "canonical neutral face following the head. No real video."))
    return assemble_bank(clips, config)


__all__ = ["FRONTAL_CAMERA", "build_bank_from_motion_dataset", "tokens_of_features"]
