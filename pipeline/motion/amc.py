"""CMU's own mocap format: ASF skeletons and AMC takes, read strictly and retargeted like BVH.

An ASF file gives each bone a world-space rest ``direction`` and ``length``, a local frame
(``axis a b c XYZ``) and its degrees of freedom; an AMC file gives, per frame, one line per bone
with its dof values (degrees; the root adds its translation). Forward kinematics (the Acclaim
convention, as CMU's viewer):

    R_bone = R_parent @ C @ M @ C^-1,   end_bone = end_parent + length * R_bone @ direction

with C the axis rotation and M the dof rotation, both applied first-listed-axis first (``XYZ`` is
Rz @ Ry @ Rx on column vectors). The root's translation is its position; its orientation works the
same way from ``:root orientation``/``axis``.

The result is a :class:`AcclaimMotion` that answers what :func:`pipeline.motion.retarget.retarget`
asks of a parsed BVH (joint names, fps, ``global_positions``), with the joint names of the CMU BVH
conversions: a joint sits at the START of its bone (``lfemur`` is the hip, ``ltibia`` the knee),
the root is called ``hip`` and the end of a leaf bone is ``<bone>_End``. So the existing ``cmu-asf``
rig table maps it to the 22 SMPL joints, and every later step (units checked by body height,
resampling to MOTION_FPS, facing +Z, floor) is the BVH loader's.

    motion = load_amc_motion("../shared/data/cmu-amc/asf/02.asf", "../shared/data/cmu-amc/amc/02_01.amc")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.motion.bvh import euler_to_matrix

AMC_DEFAULT_FPS: float = 120.0
"""CMU's AMC files carry no frame rate; the database records them at 120 fps (cmu_index.csv says
which takes differ)."""
ROOT_NAME = "hip"
"""The root's name in the CMU BVH conversions (the ASF calls it ``root``)."""
_DOF_AXES = {"rx": "X", "ry": "Y", "rz": "Z"}
_ROOT_CHANNELS = ("TX", "TY", "TZ", "RX", "RY", "RZ")


class AcclaimFormatError(ValueError):
    """An ASF or AMC file that cannot be read; the message names the file, the line and the fix."""


@dataclass
class AsfBone:
    name: str
    direction: np.ndarray        # (3,) unit, world frame of the rest pose
    length: float                # in ASF units (scaled by :units length)
    axis: np.ndarray             # (3,) degrees
    axis_order: str              # "XYZ"
    dofs: tuple[str, ...]        # subset of rx ry rz (translations tx ty tz are not supported)
    parent: str = ""


@dataclass
class AsfSkeleton:
    path: Path
    bones: dict[str, AsfBone]               # root excluded, in file order
    children: dict[str, list[str]]           # "root" -> [...]
    root_order: tuple[str, ...]
    root_axis: str
    root_position: np.ndarray
    root_orientation: np.ndarray
    length_unit: float = 1.0                 # :units length (CMU: 0.45; the rig table holds the metre scale)
    angles_in_degrees: bool = True

    def order(self) -> list[str]:
        """Bones parents-first (depth first from the root)."""
        out: list[str] = []
        stack = list(reversed(self.children.get("root", [])))
        while stack:
            name = stack.pop()
            out.append(name)
            stack.extend(reversed(self.children.get(name, [])))
        return out


def _floats(values: list[str], path: Path, line_no: int, what: str, count: int | None = None) -> np.ndarray:
    try:
        out = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        raise AcclaimFormatError(f"{path.name} line {line_no}: {what} must be numbers, got {' '.join(values)!r}") from None
    if count is not None and len(out) != count:
        raise AcclaimFormatError(f"{path.name} line {line_no}: {what} needs {count} numbers, got {len(out)}")
    return out


def parse_asf(path: str | Path) -> AsfSkeleton:
    """Read an ASF skeleton; AcclaimFormatError (with the line) for anything it cannot use."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise AcclaimFormatError(f"cannot read ASF file {path}: {exc}") from None
    section = ""
    bones: dict[str, AsfBone] = {}
    children: dict[str, list[str]] = {}
    root = {"order": _ROOT_CHANNELS, "axis": "XYZ", "position": np.zeros(3), "orientation": np.zeros(3)}
    length_unit, degrees = 1.0, True
    current: dict | None = None
    in_limits = False
    for no, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            key, *rest = line.split()
            section = key[1:].lower()
            if section in ("version", "name", "documentation") or not rest:
                continue
            continue
        words = line.split()
        head = words[0].lower()
        if section == "units":
            if head == "length":
                length_unit = float(_floats(words[1:2], path, no, "units length", 1)[0])
            elif head == "angle":
                degrees = words[1].lower().startswith("deg")
        elif section == "root":
            if head == "order":
                root["order"] = tuple(w.upper() for w in words[1:])
            elif head == "axis":
                root["axis"] = words[1].upper()
            elif head in ("position", "orientation"):
                root[head] = _floats(words[1:4], path, no, f"root {head}", 3)
        elif section == "bonedata":
            if head == "begin":
                current, in_limits = {"dofs": (), "axis": np.zeros(3), "order": "XYZ"}, False
            elif head == "end":
                if current is None or "name" not in current:
                    raise AcclaimFormatError(f"{path.name} line {no}: a bone block ends without a name")
                for key in ("direction", "length"):
                    if key not in current:
                        raise AcclaimFormatError(f"{path.name} line {no}: bone {current['name']!r} has no {key}")
                d = current["direction"]
                norm = float(np.linalg.norm(d))
                bones[current["name"]] = AsfBone(current["name"], d / norm if norm > 0 else d,
                                                 float(current["length"]), current["axis"], current["order"],
                                                 current["dofs"])
                current = None
            elif current is None:
                raise AcclaimFormatError(f"{path.name} line {no}: {words[0]!r} outside a begin/end bone block")
            elif head == "name":
                current["name"] = words[1]
            elif head == "direction":
                current["direction"] = _floats(words[1:4], path, no, "bone direction", 3)
            elif head == "length":
                current["length"] = _floats(words[1:2], path, no, "bone length", 1)[0]
            elif head == "axis":
                current["axis"] = _floats(words[1:4], path, no, "bone axis", 3)
                current["order"] = words[4].upper() if len(words) > 4 else "XYZ"
            elif head == "dof":
                dofs = tuple(w.lower() for w in words[1:])
                bad = [d for d in dofs if d not in _DOF_AXES]
                if bad:
                    raise AcclaimFormatError(f"{path.name} line {no}: dof {' '.join(bad)} is not supported "
                                             "(only rx ry rz on bones; translations are the root's)")
                current["dofs"] = dofs
                in_limits = False
            elif head == "limits" or in_limits:
                in_limits = True  # joint limits are not needed to play a take back
        elif section == "hierarchy":
            if head in ("begin", "end"):
                continue
            children.setdefault(words[0], []).extend(words[1:])
    if not bones:
        raise AcclaimFormatError(f"{path.name}: no :bonedata found; is this an ASF skeleton file?")
    if "root" not in children:
        raise AcclaimFormatError(f"{path.name}: the :hierarchy section does not start from 'root'")
    for parent, kids in children.items():
        for kid in kids:
            if kid not in bones:
                raise AcclaimFormatError(f"{path.name}: the hierarchy names bone {kid!r}, which :bonedata lacks")
            bones[kid].parent = parent
    return AsfSkeleton(path, bones, children, tuple(root["order"]), root["axis"], root["position"],
                       root["orientation"], length_unit, degrees)


def parse_amc(path: str | Path, skeleton: AsfSkeleton) -> tuple[dict[str, np.ndarray], int]:
    """{bone or 'root': (F, n_dofs) values} and the frame count, checked against the skeleton."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise AcclaimFormatError(f"cannot read AMC file {path}: {exc}") from None
    widths = {name: len(b.dofs) for name, b in skeleton.bones.items()}
    widths["root"] = len(skeleton.root_order)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in widths}
    n_frames = 0
    for no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ":")):
            continue
        words = line.split()
        if len(words) == 1 and words[0].isdigit():
            if n_frames and any(len(r) != n_frames for name, r in rows.items() if widths[name]):
                missing = [name for name, r in rows.items() if widths[name] and len(r) != n_frames]
                raise AcclaimFormatError(f"{path.name} line {no}: frame {n_frames} lacks bones {', '.join(missing[:5])}")
            n_frames += 1
            continue
        if n_frames == 0:
            raise AcclaimFormatError(f"{path.name} line {no}: bone values before the first frame number")
        name = words[0]
        if name not in widths:
            raise AcclaimFormatError(f"{path.name} line {no}: bone {name!r} is not in the skeleton "
                                     f"{skeleton.path.name}; is this take from another subject?")
        rows[name].append(_floats(words[1:], path, no, f"values of {name}", widths[name]))
    if n_frames == 0:
        raise AcclaimFormatError(f"{path.name}: no frames found; is this an AMC motion file?")
    out = {}
    for name, r in rows.items():
        if widths[name] == 0:
            continue
        if len(r) != n_frames:
            raise AcclaimFormatError(f"{path.name}: bone {name!r} has values in {len(r)} of {n_frames} frames "
                                     "(the file is truncated or damaged)")
        out[name] = np.stack(r)
    return out, n_frames


def _rotation(angles_deg: np.ndarray, axes: str) -> np.ndarray:
    """First listed axis applied first: 'XYZ' with (x, y, z) -> Rz @ Ry @ Rx."""
    return euler_to_matrix(np.radians(angles_deg[..., ::-1]), axes[::-1])


@dataclass
class AcclaimMotion:
    """World positions of a take's joints (CMU BVH naming, see the module docstring), in ASF units,
    with the interface :func:`pipeline.motion.retarget.retarget` needs from a parsed BVH."""

    path: Path
    positions: dict[str, np.ndarray]          # name -> (F, 3)
    frame_time: float = 1.0 / AMC_DEFAULT_FPS
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.names:
            self.names = list(self.positions)

    @property
    def joint_names(self) -> list[str]:
        return [n for n in self.names if not n.endswith("_End")]

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def n_frames(self) -> int:
        return int(next(iter(self.positions.values())).shape[0])

    def global_positions(self, names: list[str] | None = None) -> np.ndarray:
        names = self.names if names is None else names
        missing = [n for n in names if n not in self.positions]
        if missing:
            raise KeyError(f"{self.path.name}: no joint named {missing[0]!r}")
        return np.stack([self.positions[n] for n in names], axis=1)


def acclaim_forward_kinematics(skeleton: AsfSkeleton, values: dict[str, np.ndarray], n_frames: int,
                               path: Path, fps: float = AMC_DEFAULT_FPS) -> AcclaimMotion:
    """Joint positions of every frame (vectorised over frames)."""
    root_vals = values.get("root", np.zeros((n_frames, len(skeleton.root_order))))
    chan = {c: root_vals[:, i] for i, c in enumerate(skeleton.root_order)}
    zeros = np.zeros(n_frames)
    position = np.stack([chan.get(f"T{a}", zeros) for a in "XYZ"], -1) + skeleton.root_position
    axes = skeleton.root_axis
    rot = np.stack([chan.get(f"R{a}", zeros) for a in axes], -1)
    c = _rotation(skeleton.root_orientation[["XYZ".index(a) for a in axes]], axes)
    world = {"root": c @ _rotation(rot, axes) @ c.T}
    end = {"root": position}
    positions = {ROOT_NAME: position}
    for name in skeleton.order():
        bone = skeleton.bones[name]
        c = _rotation(bone.axis[["XYZ".index(a) for a in bone.axis_order]], bone.axis_order)
        if bone.dofs:
            m = _rotation(values[name], "".join(_DOF_AXES[d] for d in bone.dofs))
            local = c @ m @ c.T
        else:
            local = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        world[name] = world[bone.parent] @ local
        positions[name] = end[bone.parent]
        end[name] = end[bone.parent] + bone.length * np.einsum("fij,j->fi", world[name], bone.direction)
        if not skeleton.children.get(name):
            positions[f"{name}_End"] = end[name]
    return AcclaimMotion(path=path, positions=positions, frame_time=1.0 / fps)


def read_amc(asf_path: str | Path, amc_path: str | Path, fps: float = AMC_DEFAULT_FPS) -> AcclaimMotion:
    """Parse an ASF + AMC pair into joint positions (ASF units, Y up as CMU records)."""
    skeleton = parse_asf(asf_path)
    values, n_frames = parse_amc(amc_path, skeleton)
    return acclaim_forward_kinematics(skeleton, values, n_frames, Path(amc_path), fps)


def load_amc_motion(asf_path: str | Path, amc_path: str | Path, fps: float = AMC_DEFAULT_FPS):
    """A CMU ASF/AMC take on the 22-joint SMPL skeleton at MOTION_FPS (same steps as a BVH take).

    Raises AcclaimFormatError (a ValueError) for a malformed file; the units are checked by the
    retargeter's body-height test.
    """
    from pipeline.motion.retarget import CMU_ASF, retarget

    return retarget(read_amc(asf_path, amc_path, fps), CMU_ASF)


__all__ = ["AMC_DEFAULT_FPS", "AcclaimFormatError", "AcclaimMotion", "AsfSkeleton", "acclaim_forward_kinematics",
           "load_amc_motion", "parse_amc", "parse_asf", "read_amc"]
