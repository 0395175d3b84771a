"""Reader for BEAT2 (beat_english_v2.0.0), for users who have the dataset (it is not freely
licensed and never ships with the project).

Layout (as used by PantoMatrix/EMAGE):
  <root>/smplxflame_30/<name>.npz   poses (T, 165) SMPL-X axis-angle [global_orient 3, body 21x3,
                                     jaw 3, eyes 2x3, hands 2x15x3], trans (T, 3), betas (300,),
                                     expressions (T, 100), mocap_frame_rate (30), gender
  <root>/wave16k/<name>.wav         16 kHz speech
  <root>/textgrid/<name>.TextGrid   Montreal-Forced-Aligner word/phone alignment
  <root>/train_test_split.csv       id,type with type in train / val / test / additional
Names look like "2_scott_0_1_1" (speaker id, speaker, ...).

Joints: with a local SMPL-X model folder (`model_path`, the smplx package) the 22 body joints
are exact; otherwise forward kinematics on an approximate SMPL T-pose skeleton built from our
REST_POSE bone lengths with SMPL's rest directions (arms straight out along +-X). SMPL-X in BEAT2
is Y-up and faces +Z like our skeleton. Rotations are resampled 30 -> MOTION_FPS by slerp (so
bone lengths stay exact), the clip is put on the floor (its lowest joint at FOOT_JOINT_HEIGHT).

    for name, joints, wav, transcript in read_beat2(root, "train"): ...
    convert_beat2(root, "cache/beat2")      # the pairs.py layout
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS, NUM_JOINTS
from pipeline.motion.skeleton import FOOT_JOINT_HEIGHT, JOINT_INDEX, REST_POSE, forward_kinematics, rest_offsets

from .speech_synth import read_wav_16k, write_wav_16k

BEAT2_FPS = 30
SPLITS = ("train", "val", "test", "additional")
POSE_DIM = 165
SMPLX_PELVIS_REST = np.array([0.0031, -0.3514, 0.0120])
"""Approximate rest position of SMPL-X's (neutral) pelvis joint: global_orient rotates about it."""


def tpose_offsets() -> np.ndarray:
    """(22, 3) parent->child offsets of an SMPL-like T-pose: our bone lengths, SMPL's rest
    directions (legs and spine as in REST_POSE, arms straight out sideways from the shoulder)."""
    offsets = rest_offsets(REST_POSE).copy()
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for joint in ("elbow", "wrist"):
            j = JOINT_INDEX[f"{side}_{joint}"]
            offsets[j] = np.array([sign * np.linalg.norm(offsets[j]), 0.0, 0.0])
    return offsets


TPOSE_OFFSETS = tpose_offsets()


# ---------------------------------------------------------------------------------------------
# files

def read_split(root: str | Path) -> dict[str, str]:
    """name -> split type from train_test_split.csv."""
    path = Path(root) / "train_test_split.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: is {root} BEAT2's beat_english_v2.0.0?")
    with open(path, newline="", encoding="utf-8") as f:
        return {row["id"].strip(): row["type"].strip() for row in csv.DictReader(f)}


def read_textgrid_words(path: str | Path, tier: str = "words") -> list[tuple[float, float, str]]:
    """(start, end, word) intervals of a Praat TextGrid tier (long format, as MFA writes it);
    empty intervals (silences) are dropped."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    items = re.split(r"item\s*\[\d+\]\s*:", text)[1:]
    chosen = None
    for item in items:
        m = re.search(r'name\s*=\s*"([^"]*)"', item)
        if m and m.group(1) == tier:
            chosen = item
            break
    if chosen is None:
        chosen = items[0] if items else ""
    words = []
    for m in re.finditer(r'xmin\s*=\s*([\d.eE+-]+)\s*xmax\s*=\s*([\d.eE+-]+)\s*text\s*=\s*"([^"]*)"',
                         chosen):
        w = m.group(3).strip()
        if w:
            words.append((float(m.group(1)), float(m.group(2)), w))
    return words


def load_npz(path: str | Path) -> dict:
    """One BEAT2 motion file. Never unpickles: its arrays (strings included) load as plain numpy."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except ValueError as err:
        raise ValueError(f"{path}: holds pickled Python objects, which are not loaded for safety; "
                         f"re-save it with plain numpy arrays (poses, trans, betas, mocap_frame_rate, gender)") from err
    poses = np.asarray(arrays["poses"], dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] < 66:
        raise ValueError(f"{path}: poses must be (T, 165) SMPL-X axis-angle, got {poses.shape}")
    fps = float(arrays["mocap_frame_rate"]) if "mocap_frame_rate" in arrays else BEAT2_FPS
    return {"poses": poses, "trans": np.asarray(arrays["trans"], dtype=np.float64),
            "betas": np.asarray(arrays["betas"], dtype=np.float64).reshape(-1)
            if "betas" in arrays else np.zeros(300),
            "fps": fps, "gender": str(arrays["gender"]) if "gender" in arrays else "neutral"}


# ---------------------------------------------------------------------------------------------
# poses -> joints

def resample_poses(poses: np.ndarray, trans: np.ndarray, fps: float,
                   target_fps: int = MOTION_FPS) -> tuple[np.ndarray, np.ndarray]:
    """Body axis-angles (T, 22, 3) and translations resampled to target_fps: slerp per joint,
    linear for translation; frames at i / target_fps up to the last source frame's time."""
    n = poses.shape[0]
    rotvec = poses[:, :66].reshape(n, NUM_JOINTS, 3)
    if n == 1 or abs(fps - target_fps) < 1e-9:
        return rotvec.copy(), trans.copy()
    src_t = np.arange(n) / fps
    n_out = int(np.floor((n - 1) * target_fps / fps + 1e-9)) + 1
    dst_t = np.arange(n_out) / target_fps
    out = np.empty((n_out, NUM_JOINTS, 3))
    for j in range(NUM_JOINTS):
        out[:, j] = Slerp(src_t, Rotation.from_rotvec(rotvec[:, j]))(dst_t).as_rotvec()
    tr = np.stack([np.interp(dst_t, src_t, trans[:, k]) for k in range(3)], axis=1)
    return out, tr


def approximate_joints(rotvec: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """(T, 22, 3) joints by FK on the built-in T-pose skeleton (rotations about the pelvis)."""
    n = rotvec.shape[0]
    mats = Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(n, NUM_JOINTS, 3, 3)
    return forward_kinematics(mats, trans + SMPLX_PELVIS_REST, TPOSE_OFFSETS)


def smplx_joints(rotvec: np.ndarray, trans: np.ndarray, betas: np.ndarray, model_path: str | Path,
                 gender: str = "neutral", batch: int = 256) -> np.ndarray:
    """(T, 22, 3) exact body joints from a local SMPL-X model folder (smplx package)."""
    import smplx
    import torch

    model = smplx.create(str(model_path), model_type="smplx", gender=gender, use_pca=False,
                         num_betas=min(len(betas), 300), num_expression_coeffs=100, ext="npz")
    nb = model.num_betas
    b = torch.zeros(1, nb, dtype=torch.float32)
    b[0, : min(nb, len(betas))] = torch.as_tensor(betas[:nb], dtype=torch.float32)
    out = []
    with torch.no_grad():
        for s in range(0, rotvec.shape[0], batch):
            r = torch.as_tensor(rotvec[s:s + batch], dtype=torch.float32)
            k = r.shape[0]
            res = model(global_orient=r[:, 0], body_pose=r[:, 1:].reshape(k, -1),
                        transl=torch.as_tensor(trans[s:s + batch], dtype=torch.float32),
                        betas=b.expand(k, -1), return_verts=False)
            out.append(res.joints[:, :NUM_JOINTS].numpy())
    return np.concatenate(out).astype(np.float64)


def put_on_floor(joints: np.ndarray) -> np.ndarray:
    out = joints.copy()
    out[..., 1] += FOOT_JOINT_HEIGHT - out[..., 1].min()
    return out


def beat2_joints(npz_path: str | Path, model_path: str | Path | None = None) -> np.ndarray:
    """(T', 22, 3) float32 joints at MOTION_FPS from one smplxflame_30 npz."""
    d = load_npz(npz_path)
    rotvec, trans = resample_poses(d["poses"], d["trans"], d["fps"])
    if model_path is not None:
        joints = smplx_joints(rotvec, trans, d["betas"], model_path, d["gender"])
    else:
        joints = approximate_joints(rotvec, trans)
    return put_on_floor(joints).astype(np.float32)


def read_beat2(root: str | Path, split: str | None = "train", model_path: str | Path | None = None
               ) -> Iterator[tuple[str, np.ndarray, Path, str]]:
    """(name, joints (T, 22, 3) at MOTION_FPS, wav path, transcript) for every clip of `split`
    (train / val / test / additional; None for all) that has its npz; missing wav or TextGrid
    give a path that does not exist / an empty transcript."""
    root = Path(root)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, not {split!r}")
    for name, kind in sorted(read_split(root).items()):
        if split is not None and kind != split:
            continue
        npz = root / "smplxflame_30" / f"{name}.npz"
        if not npz.exists():
            continue
        grid = root / "textgrid" / f"{name}.TextGrid"
        transcript = " ".join(w for _, _, w in read_textgrid_words(grid)) if grid.exists() else ""
        yield name, beat2_joints(npz, model_path), root / "wave16k" / f"{name}.wav", transcript


def convert_beat2(root: str | Path, out_dir: str | Path, splits: tuple[str, ...] = ("train", "val", "test"),
                  model_path: str | Path | None = None) -> dict:
    """Write BEAT2 into the pairs.py layout (wav/, new_joints/, new_joint_vecs/, texts/,
    transcripts/, meta.csv, <split>.txt). Joints and features both keep T-1 rows: row i at audio
    time i / MOTION_FPS. Returns {split: count}."""
    from pipeline.motion.features import joints_to_features

    from .pairs import META_FIELDS, _write_text

    out = Path(out_dir)
    for sub in ("wav", "new_joints", "new_joint_vecs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rows, lists = [], {s: [] for s in splits}
    for split in splits:
        for name, joints, wav, transcript in read_beat2(root, split, model_path):
            if joints.shape[0] < 3:
                continue
            features = joints_to_features(joints)
            n = features.shape[0]
            np.save(out / "new_joints" / f"{name}.npy", joints[:n].astype(np.float32))
            np.save(out / "new_joint_vecs" / f"{name}.npy", features)
            duration = n / MOTION_FPS
            if wav.exists():
                samples = read_wav_16k(wav)
                duration = len(samples) / AUDIO_SAMPLE_RATE
                if wav.suffix == ".wav" and _is_16k(wav):
                    shutil.copyfile(wav, out / "wav" / f"{name}.wav")
                else:
                    write_wav_16k(out / "wav" / f"{name}.wav", samples)
            _write_text(out, name, transcript)
            rows.append({"id": name, "engine": "beat2", "voice": name.split("_")[1]
                         if "_" in name else "", "rate": "", "pitch": "",
                         "duration": round(duration, 4), "style": "mocap", "frames": n,
                         "beats": "", "text": transcript})
            lists[split].append(name)
    with open(out / "meta.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=META_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    for split, names in {**lists, "all": [r["id"] for r in rows]}.items():
        (out / f"{split}.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    return {s: len(v) for s, v in lists.items()}


def _is_16k(path: Path) -> bool:
    import soundfile as sf
    info = sf.info(str(path))
    return info.samplerate == AUDIO_SAMPLE_RATE and info.channels == 1


# ---------------------------------------------------------------------------------------------
# a tiny dataset in BEAT2's format, for tests

def _write_textgrid(path: Path, words: list[tuple[float, float, str]], duration: float) -> None:
    intervals, t = [], 0.0
    for s, e, w in words:
        if s > t:
            intervals.append((t, s, ""))
        intervals.append((s, e, w))
        t = e
    if t < duration:
        intervals.append((t, duration, ""))
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
             "xmin = 0", f"xmax = {duration}", "tiers? <exists>", "size = 1", "item []:",
             "    item [1]:", '        class = "IntervalTier"', '        name = "words"',
             "        xmin = 0", f"        xmax = {duration}",
             f"        intervals: size = {len(intervals)}"]
    for k, (s, e, w) in enumerate(intervals, start=1):
        lines += [f"        intervals [{k}]:", f"            xmin = {s}", f"            xmax = {e}",
                  f'            text = "{w}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_beat2_fixture(directory: str | Path, n: int = 2, seconds: float = 2.0,
                       seed: int = 0) -> Path:
    """Write a tiny dataset in BEAT2's layout (random plausible small poses, a generated wav, a
    TextGrid, the split csv) into `directory`; returns it."""
    import soundfile as sf

    root = Path(directory)
    for sub in ("smplxflame_30", "wave16k", "textgrid"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = ["train", "test", "val", "additional"]
    rows = []
    for i in range(n):
        name = f"{i + 2}_speaker{i}_0_{i + 1}_{i + 1}"
        t_frames = int(round(seconds * BEAT2_FPS))
        t = np.arange(t_frames) / BEAT2_FPS
        poses = np.zeros((t_frames, POSE_DIM))
        phase = rng.uniform(0, 2 * np.pi, (NUM_JOINTS, 3))
        freq = rng.uniform(0.3, 1.2, (NUM_JOINTS, 3))
        body = 0.15 * np.sin(2 * np.pi * freq[None] * t[:, None, None] + phase[None])
        body[:, 0] = 0.0                                   # global_orient: facing +Z
        poses[:, :66] = body.reshape(t_frames, -1)
        poses[:, 75:] = 0.1 * rng.standard_normal((1, 90))  # hands (ignored for the body)
        trans = np.zeros((t_frames, 3))
        trans[:, 0] = 0.02 * np.sin(2 * np.pi * 0.3 * t)
        np.savez(root / "smplxflame_30" / f"{name}.npz", poses=poses.astype(np.float32),
                 trans=trans.astype(np.float32), betas=np.zeros(300, np.float32),
                 expressions=np.zeros((t_frames, 100), np.float32),
                 mocap_frame_rate=np.array(BEAT2_FPS), gender=np.array("neutral"),
                 model=np.array("smplx2020"))
        ts = np.arange(int(seconds * AUDIO_SAMPLE_RATE)) / AUDIO_SAMPLE_RATE
        voice = 0.3 * np.sin(2 * np.pi * 140 * ts) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * ts)) ** 2
        sf.write(str(root / "wave16k" / f"{name}.wav"), voice.astype(np.float32),
                 AUDIO_SAMPLE_RATE, subtype="PCM_16")
        words = [(0.1, 0.5, "hello"), (0.5, 0.9, "there"), (1.1, 1.6, "everyone")]
        _write_textgrid(root / "textgrid" / f"{name}.TextGrid",
                        [w for w in words if w[1] <= seconds], seconds)
        rows.append((name, kinds[i % len(kinds)]))
    with open(root / "train_test_split.csv", "w", newline="", encoding="utf-8") as f:
        f.write("id,type\n")
        for name, kind in rows:
            f.write(f"{name},{kind}\n")
    return root
