"""An action classifier over 22-joint motion, used to score text-to-action accuracy of generated motion.

It reads joint positions (T, 22, 3) only, so it works on any motion source: dataset clips, fresh
procedural clips, or generator tokens decoded by the VQ-VAE and turned into joints. The input is
made pose- and person-invariant before the network sees it:

  1. canonicalise: the first frames' root is moved to the origin and the body turned to face +Z
     (facing from the hips and shoulders, averaged over the first few frames), so turning and
     stepping stay visible as root trajectory and as rotation of the body over time;
  2. body scale: positions are divided by the median sum of bone lengths relative to the rest
     skeleton's, so a tall and a short person give the same input;
  3. per frame: root-relative positions of joints 1..21 (63), root displacement since the first
     frame (3), and the time derivatives of both (66), in body-scale units per second -> 132 dims,
     then standardised by the training mean and std that ship with the checkpoint.

The network is a stack of residual dilated temporal convolutions with masked mean+max pooling,
so clips of any length (about 0.5 s to 10 s) are accepted. Labels are the procedural action names
plus "other" (non-gesture mocap: walking, running, sports, ...), so motion that is none of the
actions is not forced into one.

    clf = ActionClassifier.from_pretrained("assets/checkpoints/action_classifier")
    clf.predict([joints_a, joints_b])  # -> [("wave_right", 0.97), ("other", 0.88)]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pipeline.constants import MOTION_FPS, NUM_JOINTS
from pipeline.motion import skeleton as sk
from pipeline.motion.retarget import resample
from pipeline.paths import REPO_ROOT
from pipeline.pretrained import CONFIG_NAME, PretrainedConfig, PretrainedModel

OTHER_LABEL = "other"
"""The label for motion that is none of the procedural actions (trained on CMU mocap)."""

LABELS_FILE = "labels.json"

INPUT_DIM = 2 * ((NUM_JOINTS - 1) * 3 + 3)  # 132
MIN_FRAMES = 8
FACING_FRAMES = 5

_REST_BONE_SUM = float(sum(np.linalg.norm(sk.REST_POSE[c] - sk.REST_POSE[p])
                           for c, p in enumerate(sk.PARENTS) if p >= 0))


# --------------------------------------------------------------------------------------------
# Input representation
# --------------------------------------------------------------------------------------------

def body_scale(joints: np.ndarray) -> float:
    """Median (over frames) sum of bone lengths relative to the rest skeleton's (1.0 = rest person)."""
    parents = np.array(sk.PARENTS)
    child = np.arange(len(parents))[parents >= 0]
    lengths = np.linalg.norm(joints[:, child] - joints[:, parents[child]], axis=-1).sum(axis=1)
    scale = float(np.median(lengths)) / _REST_BONE_SUM
    return scale if scale > 1e-6 else 1.0


def canonicalise(joints: np.ndarray) -> np.ndarray:
    """The motion moved so the first frames' root is at the origin (XZ) and faces +Z."""
    joints = np.asarray(joints, dtype=np.float64).copy()
    origin = joints[0, 0].copy()
    origin[1] = 0.0
    return (joints - origin) @ sk.facing_rotation(joints[:FACING_FRAMES]).T


def motion_input(joints: np.ndarray, fps: float = MOTION_FPS) -> np.ndarray:
    """(T, 132) float32 network input for joints (T, 22, 3) at fps (resampled to MOTION_FPS)."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim == 2:
        joints = joints.reshape(len(joints), -1, 3)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected joints of shape (T, {NUM_JOINTS}, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("joints contain NaN or inf")
    if abs(fps - MOTION_FPS) > 1e-6:
        joints = resample(joints, fps, MOTION_FPS)
    if len(joints) < MIN_FRAMES:  # hold the last pose so the convolutions have something to read
        joints = np.concatenate([joints, np.repeat(joints[-1:], MIN_FRAMES - len(joints), axis=0)])
    joints = canonicalise(joints) / body_scale(joints)
    root = joints[:, 0] - joints[:1, 0]
    rel = (joints[:, 1:] - joints[:, :1]).reshape(len(joints), -1)
    pos = np.concatenate([rel, root], axis=1)
    vel = np.gradient(pos, axis=0) * MOTION_FPS
    return np.concatenate([pos, vel], axis=1).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

@dataclass
class ActionClassifierConfig(PretrainedConfig):
    model_type = "action_classifier"

    labels: list[str] = field(default_factory=list)
    input_dim: int = INPUT_DIM
    hidden: int = 64
    stride: int = 2
    kernel_size: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    dropout: float = 0.1
    fps: int = MOTION_FPS


class _ResBlock(nn.Module):
    def __init__(self, ch: int, k: int, dilation: int, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv1d(ch, ch, k, padding=dilation * (k - 1) // 2, dilation=dilation)
        self.conv2 = nn.Conv1d(ch, ch, 1)
        self.norm = nn.LayerNorm(ch)  # per frame, so padding never leaks into valid frames
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x * mask)
        h = self.norm(h.transpose(1, 2)).transpose(1, 2)
        h = self.conv2(self.drop(F.gelu(h)))
        return (x + h) * mask


def masked_pool(h: torch.Tensor, mask: torch.Tensor, fill: float) -> torch.Tensor:
    """Mean and max over the valid frames of h (B, C, T), mask (B, 1, T) of 0/1 -> (B, 2C); ``fill``
    stands in for masked frames in the max. Shared by the classifier and the retrieval evaluator."""
    mean = (h * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)
    peak = h.masked_fill(mask == 0, fill).amax(-1)
    return torch.cat([mean, peak], dim=-1)


class ActionClassifier(PretrainedModel, nn.Module):
    """Temporal-conv action classifier over joints; see the module docstring for the input."""

    card_metadata = {
        "license": "mit",
        "library_name": "pytorch",
        "tags": ["motion", "action-recognition", "evaluation", "versaanimator", "safetensors"],
        "datasets": ["cmu-mocap", "versastudio-procedural-actions"],
    }

    config_class = ActionClassifierConfig
    missing_hint = "train one with `python -m pipeline.train.action_classifier --out {path}`"

    def __init__(self, config: ActionClassifierConfig):
        super().__init__()
        if not config.labels:
            raise ValueError("ActionClassifierConfig.labels must list the classes")
        self.config = config
        self.register_buffer("input_mean", torch.zeros(config.input_dim))
        self.register_buffer("input_std", torch.ones(config.input_dim))
        # a strided first layer halves the frame rate (20 -> 10 fps): cheap on CPU, enough for gestures
        self.proj = nn.Conv1d(config.input_dim, config.hidden, 2 * config.stride - 1, stride=config.stride,
                              padding=config.stride - 1)
        self.blocks = nn.ModuleList(_ResBlock(config.hidden, config.kernel_size, d, config.dropout)
                                    for d in config.dilations)
        self.head = nn.Sequential(nn.Linear(2 * config.hidden, config.hidden), nn.GELU(),
                                  nn.Dropout(config.dropout), nn.Linear(config.hidden, len(config.labels)))

    @property
    def labels(self) -> list[str]:
        return list(self.config.labels)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, n_labels) for inputs x (B, T, input_dim) of valid lengths (B,)."""
        b, t, _ = x.shape
        if lengths is None:
            lengths = torch.full((b,), t, dtype=torch.long, device=x.device)
        mask = (torch.arange(t, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)[:, None, :]
        x = ((x - self.input_mean) / self.input_std).transpose(1, 2) * mask
        h = self.proj(x)
        s = self.config.stride
        lengths = (lengths + s - 1) // s
        mask = (torch.arange(h.shape[-1], device=x.device)[None, :] < lengths[:, None]).to(x.dtype)[:, None, :]
        h = h * mask
        for block in self.blocks:
            h = block(h, mask)
        return self.head(masked_pool(h, mask, float("-inf")))

    # ---- inference on joints -------------------------------------------------------------

    @torch.no_grad()
    def predict_proba(self, joints_list: list[np.ndarray], fps: float = MOTION_FPS,
                      batch_size: int = 64) -> np.ndarray:
        """(N, n_labels) class probabilities for a list of joint arrays (T_i, 22, 3) at fps."""
        was_training = self.training
        self.eval()
        inputs = [motion_input(j, fps) for j in joints_list]
        out = []
        device = self.input_mean.device
        for start in range(0, len(inputs), batch_size):
            x, lengths = collate(inputs[start:start + batch_size])
            out.append(F.softmax(self(x.to(device), lengths.to(device)), dim=-1).cpu().numpy())
        self.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), dtype=np.float32)

    def predict(self, joints_list: list[np.ndarray], fps: float = MOTION_FPS) -> list[tuple[str, float]]:
        """The most likely label and its probability for each clip."""
        probs = self.predict_proba(joints_list, fps)
        labels = self.labels
        return [(labels[int(p.argmax())], float(p.max())) for p in probs]

    def predict_topk(self, joints_list: list[np.ndarray], k: int = 3,
                     fps: float = MOTION_FPS) -> list[list[tuple[str, float]]]:
        """The k most likely labels with probabilities for each clip, best first."""
        probs = self.predict_proba(joints_list, fps)
        labels = self.labels
        return [[(labels[i], float(p[i])) for i in np.argsort(-p)[:k]] for p in probs]

    # ---- persistence: config.json + model.safetensors (PretrainedModel) and labels.json --------

    def _save_files(self, directory: Path) -> None:
        (directory / LABELS_FILE).write_text(json.dumps(self.labels, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def _load_config(cls, directory: Path) -> ActionClassifierConfig:
        """config.json, with the labels of labels.json when it is there (it wins over config.json's)."""
        path = directory / CONFIG_NAME
        data = json.loads(path.read_text(encoding="utf-8"))
        if (directory / LABELS_FILE).exists():
            data["labels"] = json.loads((directory / LABELS_FILE).read_text(encoding="utf-8"))
        return ActionClassifierConfig.from_dict(data, source=path)


def collate(inputs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (T_i, D) inputs into (B, T_max, D) with their lengths."""
    lengths = torch.tensor([len(x) for x in inputs], dtype=torch.long)
    x = torch.zeros(len(inputs), int(lengths.max()), inputs[0].shape[1])
    for i, item in enumerate(inputs):
        x[i, :len(item)] = torch.from_numpy(item)
    return x, lengths


def default_checkpoint_dir() -> Path:
    """Where the shipped classifier lives (assets/checkpoints/action_classifier)."""
    return REPO_ROOT / "assets" / "checkpoints" / "action_classifier"


def action_accuracy(model: ActionClassifier, joints_list: list[np.ndarray], targets: list[str],
                    fps: float = MOTION_FPS) -> dict:
    """Share of clips classified as their target action (top-1 and top-3), for text_action_acc.

    Returns {"n", "top1", "top3", "predicted": [label per clip]}; targets must be known labels."""
    if len(joints_list) != len(targets):
        raise ValueError(f"{len(joints_list)} clips but {len(targets)} targets")
    labels = model.labels
    unknown = sorted(set(targets) - set(labels))
    if unknown:
        raise ValueError(f"targets not among the classifier's labels: {', '.join(unknown)}")
    if not targets:
        return {"n": 0, "top1": float("nan"), "top3": float("nan"), "predicted": []}
    probs = model.predict_proba(joints_list, fps)
    order = np.argsort(-probs, axis=1)
    truth = np.array([labels.index(t) for t in targets])
    return {"n": len(targets), "top1": float((order[:, 0] == truth).mean()),
            "top3": float((order[:, :3] == truth[:, None]).any(axis=1).mean()),
            "predicted": [labels[i] for i in order[:, 0]]}
