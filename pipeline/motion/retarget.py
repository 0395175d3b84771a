"""Retarget any supported BVH rig to the 22-joint SMPL skeleton, at MOTION_FPS, in metres, Y up.

Every rig is one declarative RigMapping in RIG_MAPPINGS: each SMPL joint is a rig joint or a
weighted blend of rig joint positions (spine joints spread along the rig's spine, the head between
the head joint and the eyes, collars part way to the shoulders). Adding a rig is a few lines.

What load_bvh_motion does, in order: forward kinematics of the needed rig joints -> blend to 22
joints -> rig units to metres (checked against a plausible body height) -> Y up -> drop a leading
T-pose if there is one -> resample to MOTION_FPS by linear interpolation in time -> turn about Y so
the first frame faces +Z -> first-frame root at x = z = 0 -> floor at y = 0 under the feet.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.constants import MOTION_FPS, NUM_JOINTS
from pipeline.motion import skeleton
from pipeline.motion.bvh import BvhData, BvhFormatError, parse_bvh
from pipeline.validation import MAX_MOTION_SECONDS

Blend = dict[str, float]

PLAUSIBLE_HEIGHT: tuple[float, float] = (1.4, 2.1)
"""Body heights (m) accepted as proof that the units were read right."""

KNOWN_UNITS: dict[str, float] = {
    "m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu-asf": 0.0254 / 0.45,
}
"""Metres per unit of the units seen in BVH files; tried when a rig's own unit gives an odd
body height."""

FLOOR_PERCENTILE: float = 5.0
"""The floor is set from this low percentile of the lower foot joint over the clip, not the
minimum, so one glitched frame cannot sink the whole clip."""

TPOSE_MAX_ARM_SLOPE: float = 0.3
"""Frame 0 counts as an exporter's T-pose when both shoulder-to-wrist lines are this level..."""
TPOSE_MIN_SPEED: float = 12.0
"""...and some joint leaves it faster than this (m/s), which no person does."""
TPOSE_MAX_SECONDS: float = 0.1
"""Frames that follow the T-pose within this time and still move that fast are the exporter's
blend from the T-pose into the take (cgspeed's files have about 3 at 120 fps): dropped too."""


@dataclass(frozen=True)
class RigMapping:
    """How one rig's joints give the 22 SMPL joints.

    joints: SMPL joint name -> rig joint name, or {rig joint: weight} (weights sum to 1). A key
    with ``{side}`` stands for both sides ("left"/"right"); in its values ``{S}`` becomes the rig's
    own side tokens (sides, e.g. ("L", "R")). End Sites are named ``<joint>_End``.
    metres_per_unit: the rig's length unit; up_axis: "y" or "z", the world up axis after the
    file's own forward kinematics.
    """

    name: str
    description: str
    metres_per_unit: float
    joints: dict[str, str | Blend]
    sides: tuple[str, str] = ("l", "r")
    up_axis: str = "y"

    def expanded(self) -> dict[str, Blend]:
        """The table with sides written out and single joints as blends, in SMPL joint order."""
        out: dict[str, Blend] = {}
        for key, value in self.joints.items():
            blend = {value: 1.0} if isinstance(value, str) else dict(value)
            if "{side}" in key:
                for side, token in zip(("left", "right"), self.sides):
                    out[key.format(side=side)] = {k.format(S=token): w for k, w in blend.items()}
            else:
                out[key] = blend
        return {name: out[name] for name in skeleton.JOINT_NAMES if name in out}

    def rig_joints(self) -> list[str]:
        """Every rig joint the table uses, in first-use order."""
        names: list[str] = []
        for blend in self.expanded().values():
            names.extend(n for n in blend if n not in names)
        return names

    def weights(self) -> tuple[list[str], np.ndarray]:
        """(rig joint names, (22, K) matrix) so that smpl = W @ rig positions."""
        names = self.rig_joints()
        w = np.zeros((NUM_JOINTS, len(names)))
        for j, blend in enumerate(self.expanded().values()):
            for rig_name, weight in blend.items():
                w[j, names.index(rig_name)] = weight
        return names, w


# ------------------------------------------------------------------------------ the rig tables
# Blend weights were set by comparing each rig's standing pose with REST_POSE's joint heights
# (pelvis ~7 cm above the hip joints, spine1/2/3 at ~20/60/70 % of pelvis-to-neck, head joint
# between the skull base and the eyes, collars ~40 % of the way from the sternum to the shoulder).
# The rigs' thigh joints are 17-19 cm apart, as SMPL's hips (18 cm), so hips map to them directly.

# Measured on the 61 files: centimetres (one CC character, about 1.93 m, in every take); the rig's
# bones are Z-up inside, but its root rotation already puts the world Y up. Both layouts occur: a
# ROOT RL_BoneRoot above CC_Base_Hip (4 files) and CC_Base_Hip as ROOT whose OFFSET holds the hip
# height (57 files). Only takes 007_03-007_12 start with a T-pose frame; it is detected, not
# assumed.

REALLUSION_CC = RigMapping(
    name="reallusion-cc",
    description="Reallusion Character Creator rig (CC_Base_*), CMU takes re-exported; centimetres",
    metres_per_unit=KNOWN_UNITS["cm"],
    sides=("L", "R"),
    joints={
        "pelvis": {"CC_Base_Hip": 0.5, "CC_Base_Waist": 0.5},
        "{side}_hip": "CC_Base_{S}_Thigh",
        "spine1": {"CC_Base_Spine01": 0.7, "CC_Base_Spine02": 0.3},
        "{side}_knee": "CC_Base_{S}_Calf",
        "spine2": {"CC_Base_Spine02": 0.85, "CC_Base_NeckTwist01": 0.15},
        "{side}_ankle": "CC_Base_{S}_Foot",
        "spine3": {"CC_Base_Spine02": 0.6, "CC_Base_NeckTwist01": 0.4},
        "{side}_foot": "CC_Base_{S}_ToeBase",
        "neck": "CC_Base_NeckTwist01",
        "{side}_collar": {"CC_Base_{S}_Clavicle": 0.6, "CC_Base_{S}_Upperarm": 0.4},
        "head": {"CC_Base_Head": 0.5, "CC_Base_L_Eye": 0.25, "CC_Base_R_Eye": 0.25},
        "{side}_shoulder": "CC_Base_{S}_Upperarm",
        "{side}_elbow": "CC_Base_{S}_Forearm",
        "{side}_wrist": "CC_Base_{S}_Hand",
    },
)

# Measured on 56 files: centimetres, Y up, 120 fps, about 1.69 m. Every take starts with a T-pose
# frame and about 3 frames blending out of it, all dropped. The rig's shoulder joints (lShldr) sit
# only 11.5 cm from the midline (SMPL: 18.5 cm); they are kept as they are, since moving them would
# make the upper-arm length depend on the pose. Takes 07_12 and 09_10 are damaged at the source.
CGSPEED_DAZ = RigMapping(
    name="cgspeed-daz",
    description="cgspeed's Daz-friendly CMU conversion (hip, abdomen, chest, lThigh, ...); "
                "centimetres",
    metres_per_unit=KNOWN_UNITS["cm"],
    sides=("l", "r"),
    joints={
        "pelvis": {"lThigh": 0.32, "rThigh": 0.32, "abdomen": 0.36},
        "{side}_hip": "{S}Thigh",
        "spine1": "abdomen",
        "{side}_knee": "{S}Shin",
        "spine2": "chest",
        "{side}_ankle": "{S}Foot",
        "spine3": {"chest": 0.75, "neck": 0.25},
        "{side}_foot": "{S}Foot_End",
        "neck": {"neck": 0.7, "head": 0.3},
        "{side}_collar": {"{S}Collar": 0.5, "{S}Shldr": 0.5},
        "head": {"head": 0.5, "leftEye": 0.25, "rightEye": 0.25},
        "{side}_shoulder": "{S}Shldr",
        "{side}_elbow": "{S}ForeArm",
        "{side}_wrist": "{S}Hand",
    },
)

# 16_01 and 16_02 in cgspeed-daz/ use CMU's own skeleton: 30 fps, Y up, about 1.58 m.
CMU_ASF = RigMapping(
    name="cmu-asf",
    description="CMU's own ASF skeleton as BVH (lfemur, ltibia, lowerback, thorax, ...); "
                "ASF length units of 1/0.45 inch",
    metres_per_unit=KNOWN_UNITS["cmu-asf"],
    sides=("l", "r"),
    joints={
        "pelvis": {"hip": 0.7, "lfemur": 0.15, "rfemur": 0.15},
        "{side}_hip": "{S}femur",
        "spine1": {"hip": 0.45, "upperback": 0.55},
        "{side}_knee": "{S}tibia",
        "spine2": {"upperback": 0.4, "thorax": 0.6},
        "{side}_ankle": "{S}foot",
        "spine3": "thorax",
        "{side}_foot": "{S}toes",
        "neck": {"upperneck": 0.5, "head": 0.5},
        "{side}_collar": {"{S}clavicle": 0.6, "{S}humerus": 0.4},
        "head": {"head": 0.8, "head_End": 0.2},
        "{side}_shoulder": "{S}humerus",
        "{side}_elbow": "{S}radius",
        "{side}_wrist": "{S}wrist",
    },
)

SMPL22 = RigMapping(
    name="smpl22",
    description="this project's own export (bvh.write_bvh): SMPL joint names, centimetres",
    metres_per_unit=KNOWN_UNITS["cm"],
    joints={name: name for name in skeleton.JOINT_NAMES},
)

RIG_MAPPINGS: tuple[RigMapping, ...] = (REALLUSION_CC, CGSPEED_DAZ, CMU_ASF, SMPL22)
"""Tried in order; the first whose joints are all in the file is used."""


class UnknownRigError(ValueError):
    """No RigMapping matches a file's joint names."""


@dataclass
class RetargetedMotion:
    """A clip on the SMPL skeleton: joints (T, 22, 3) float32, metres, Y up, MOTION_FPS, facing +Z
    at the start, first-frame root at x = z = 0, floor at y = 0."""

    joints: np.ndarray
    source_fps: float
    rig: str
    source_path: Path
    fps: float = MOTION_FPS
    dropped_frames: int = 0
    """Leading T-pose frames of the source that were dropped."""
    body_height: float = 0.0
    """Estimated standing height (m) of the source skeleton, from its bone lengths."""


# ------------------------------------------------------------------------------------ detection

def detect_rig(data: BvhData, rigs: tuple[RigMapping, ...] = RIG_MAPPINGS) -> RigMapping:
    """The first rig whose every mapped joint exists in the file; UnknownRigError otherwise."""
    present = set(data.names)
    for rig in rigs:
        if all(name in present for name in rig.rig_joints()):
            return rig
    found = data.joint_names
    closest = min(rigs, key=lambda r: sum(n not in present for n in r.rig_joints()))
    missing = [n for n in closest.rig_joints() if n not in present]
    raise UnknownRigError(
        f"{data.path.name}: no rig mapping matches this file's joints. "
        f"Joints found ({len(found)}): "
        f"{', '.join(found)}. Closest known rig: {closest.name} (missing {', '.join(missing[:8])}"
        f"{' ...' if len(missing) > 8 else ''}). To support this rig, add a RigMapping that maps "
        f"the 22 SMPL joints to these joint names to RIG_MAPPINGS in pipeline/motion/retarget.py."
    )


# ------------------------------------------------------------------------------------ geometry

def _chain_length(joints: np.ndarray) -> np.ndarray:
    """Per-frame length of leg + trunk (pelvis to head), a pose-independent size measure."""
    idx = skeleton.JOINT_INDEX
    leg = (("left_hip", "left_knee"), ("left_knee", "left_ankle"),
           ("right_hip", "right_knee"), ("right_knee", "right_ankle"))
    trunk = (("pelvis", "spine1"), ("spine1", "spine2"), ("spine2", "spine3"),
             ("spine3", "neck"), ("neck", "head"))
    total = sum(np.linalg.norm(joints[..., idx[a], :] - joints[..., idx[b], :], axis=-1)
                for a, b in leg) / 2
    total = total + sum(np.linalg.norm(joints[..., idx[a], :] - joints[..., idx[b], :], axis=-1)
                        for a, b in trunk)
    return total


def estimate_body_height(joints: np.ndarray) -> float:
    """Standing height in the joints' units, from median leg and trunk lengths against
    REST_POSE's."""
    rest = float(_chain_length(skeleton.REST_POSE))
    return float(np.median(_chain_length(joints))) / rest * skeleton.REST_BODY_HEIGHT


def _to_y_up(joints: np.ndarray, up_axis: str) -> np.ndarray:
    if up_axis == "y":
        return joints
    if up_axis == "z":  # -90 degrees about X: (x, y, z) -> (x, z, -y); keeps handedness
        return np.stack([joints[..., 0], joints[..., 2], -joints[..., 1]], axis=-1)
    raise ValueError(f"unsupported up axis {up_axis!r}")


def leading_tpose_frames(joints: np.ndarray, fps: float) -> int:
    """How many leading frames are an exporter's T-pose and its blend into the take; 0 if none.

    Frame 0 must have both arms level and be left at an impossible speed; then every frame up to
    the last impossible jump within TPOSE_MAX_SECONDS goes too.
    """
    n = joints.shape[0]
    if n < 3:
        return 0
    idx = skeleton.JOINT_INDEX
    for side in ("left", "right"):
        arm = joints[0, idx[f"{side}_wrist"]] - joints[0, idx[f"{side}_shoulder"]]
        if abs(arm[1]) > TPOSE_MAX_ARM_SLOPE * np.linalg.norm(arm):
            return 0
    window = min(n - 2, max(1, int(round(TPOSE_MAX_SECONDS * fps))))
    speed = np.linalg.norm(np.diff(joints[:window + 1], axis=0), axis=-1).max(axis=-1) * fps
    if speed[0] <= TPOSE_MIN_SPEED:
        return 0
    return int(np.nonzero(speed > TPOSE_MIN_SPEED)[0].max()) + 1


def resample(joints: np.ndarray, source_fps: float, target_fps: float = MOTION_FPS) -> np.ndarray:
    """Linear interpolation in time from source_fps to target_fps; keeps the clip's duration."""
    n = joints.shape[0]
    if n < 2:
        return joints.copy()
    duration = (n - 1) / source_fps
    if not (np.isfinite(duration) and duration <= MAX_MOTION_SECONDS):
        raise ValueError(f"a motion of {n} frames at {source_fps:g} fps lasts {duration:,.0f} s; at most "
                         f"{MAX_MOTION_SECONDS:.0f} s is resampled")
    n_out = int(np.floor(duration * target_fps + 1e-6)) + 1
    src = np.arange(n_out) / target_fps * source_fps
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 2)
    w = (src - i0)[:, None, None]
    return joints[i0] * (1 - w) + joints[i0 + 1] * w


def face_forward(joints: np.ndarray) -> np.ndarray:
    """Turn about Y so the first frame faces +Z (HumanML3D's rule: forward = up x (right - left),
    from hips and shoulders), and move its root to x = z = 0."""
    out = joints @ skeleton.facing_rotation(joints[:1]).T
    out[..., [0, 2]] -= out[0, 0, [0, 2]]
    return out


def put_on_floor(joints: np.ndarray) -> np.ndarray:
    """Shift in Y so the feet (SMPL foot joints) stand at FOOT_JOINT_HEIGHT above y = 0, using a low
    percentile of the lower foot over the clip."""
    feet = joints[:, [skeleton.JOINT_INDEX["left_foot"], skeleton.JOINT_INDEX["right_foot"]], 1]
    floor = np.percentile(feet.min(axis=1), FLOOR_PERCENTILE) - skeleton.FOOT_JOINT_HEIGHT
    out = joints.copy()
    out[..., 1] -= floor
    return out


def _metres_per_unit(raw: np.ndarray, rig: RigMapping, filename: str) -> float:
    """The rig's unit, unless it gives an implausible body height and another known unit does
    not."""
    lo, hi = PLAUSIBLE_HEIGHT
    height = estimate_body_height(raw) * rig.metres_per_unit
    if lo <= height <= hi:
        return rig.metres_per_unit
    candidates = {u: estimate_body_height(raw) * m for u, m in KNOWN_UNITS.items()}
    plausible = {u: h for u, h in candidates.items() if lo <= h <= hi}
    if not plausible:
        raise ValueError(f"{filename}: body height comes out at {height:.2f} m with {rig.name}'s "
                         f"unit and implausible in every known unit ({', '.join(KNOWN_UNITS)})")
    unit = min(plausible, key=lambda u: abs(plausible[u] - skeleton.REST_BODY_HEIGHT))
    warnings.warn(f"{filename}: {rig.name}'s unit gives a body height of {height:.2f} m; "
                  f"reading the file as {unit} instead ({plausible[unit]:.2f} m)", stacklevel=3)
    return KNOWN_UNITS[unit]


# --------------------------------------------------------------------------------- the loader

def retarget(data: BvhData, rig: RigMapping | None = None) -> RetargetedMotion:
    """A parsed BVH on the SMPL skeleton (see the module docstring for the steps)."""
    if data.n_frames == 0:
        raise BvhFormatError(f"{data.path.name}: the file has a skeleton but no motion (Frames: 0)")
    rig = detect_rig(data) if rig is None else rig
    names, weights = rig.weights()
    raw = np.einsum("jk,fkc->fjc", weights, data.global_positions(names))
    scale = _metres_per_unit(raw, rig, data.path.name)
    joints = _to_y_up(raw * scale, rig.up_axis)

    source_fps = data.fps
    if abs(source_fps - round(source_fps)) < 1e-3 * source_fps:
        source_fps = float(round(source_fps))  # "0.00833333" means 120 fps
    dropped = leading_tpose_frames(joints, source_fps)
    joints = joints[dropped:]

    joints = resample(joints, source_fps, MOTION_FPS)
    joints = put_on_floor(face_forward(joints))
    return RetargetedMotion(joints=joints.astype(np.float32), source_fps=source_fps, rig=rig.name,
                            source_path=data.path, dropped_frames=dropped,
                            body_height=estimate_body_height(joints))


def load_bvh_motion(path: str | Path) -> RetargetedMotion:
    """Read a BVH of any supported rig and return it on the 22-joint SMPL skeleton at MOTION_FPS.

    Raises BvhFormatError for a malformed file and UnknownRigError for joints no RigMapping knows.
    """
    return retarget(parse_bvh(path))
