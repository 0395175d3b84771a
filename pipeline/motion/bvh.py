"""BVH motion files: a strict parser with precise errors, vectorised forward kinematics, and a
writer that exports 22-joint SMPL motion as a BVH that Blender's importer reads.

BVH conventions followed here:
- A joint's rotation turns the offsets of its children; Euler channels are applied in the order
  they are listed, so ``Zrotation Xrotation Yrotation`` means ``R = Rz @ Rx @ Ry`` acting on
  column vectors.
- Position channels, when a joint has them, are added to that joint's OFFSET. Reallusion exports
  need this (their root OFFSET holds the rest hip height, the channels the displacement from it);
  with the usual zero root OFFSET, which write_bvh also writes, it reads the same as Blender's
  importer.
- ``End Site`` blocks are kept as channel-less joints named ``<parent>_End`` and flagged in
  ``BvhData.is_end_site``; they are how some rigs mark the toes and the top of the head.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from pipeline.constants import MOTION_FPS, NUM_JOINTS
from pipeline.motion import skeleton
from pipeline.motion.rotations import rotation_between
from pipeline.validation import MAX_BVH_BYTES, MAX_BVH_DEPTH, MAX_MOTION_SECONDS

BVH_UNITS_PER_METRE: float = 100.0
"""write_bvh writes centimetres: Blender's importer then needs a scale of 0.01 for metres."""

END_SITE_SUFFIX = "_End"
_ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
_AXIS_INDEX = {"X": 0, "Y": 1, "Z": 2}


class BvhFormatError(ValueError):
    """A BVH file that cannot be read; the message names the file, the line and what was expected.
    """


@dataclass
class BvhData:
    """A parsed BVH file: hierarchy (depth-first order, parents precede children) and motion.

    frames holds one row per frame; channel_index[j] gives the columns of joint j, in the order of
    channels[j]. Units and axes are those of the file.
    """

    path: Path
    names: list[str]
    parents: np.ndarray          # (J,) int, -1 for roots
    offsets: np.ndarray          # (J, 3)
    channels: list[tuple[str, ...]]
    is_end_site: np.ndarray      # (J,) bool
    frame_time: float
    frames: np.ndarray           # (F, C) float64
    channel_index: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.channel_index:
            start, index = 0, []
            for chans in self.channels:
                index.append(np.arange(start, start + len(chans)))
                start += len(chans)
            self.channel_index = index

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def joint_names(self) -> list[str]:
        """Names of the real joints (End Sites left out)."""
        return [n for n, end in zip(self.names, self.is_end_site) if not end]

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"{self.path.name}: no joint named {name!r}") from None

    def local_rotations(self, joints: list[int] | None = None) -> np.ndarray:
        """Local rotation matrices (F, len(joints), 3, 3) from the Euler channels, vectorised."""
        return np.moveaxis(self._local_rotations_by_joint(joints), 0, 1)

    def _local_rotations_by_joint(self, joints: list[int] | None = None) -> np.ndarray:
        """(len(joints), F, 3, 3): joint-major, so each joint's block is contiguous for FK."""
        joints = list(range(len(self.names))) if joints is None else joints
        out = np.zeros((len(joints), self.n_frames, 3, 3))
        out[..., 0, 0] = out[..., 1, 1] = out[..., 2, 2] = 1.0
        by_order: dict[str, list[tuple[int, list[int]]]] = {}
        for k, j in enumerate(joints):
            rot = [(c[0], int(col)) for c, col in zip(self.channels[j], self.channel_index[j])
                   if c in _ROTATION_CHANNELS]
            if rot:
                order = "".join(axis for axis, _ in rot)
                by_order.setdefault(order, []).append((k, [col for _, col in rot]))
        for order, items in by_order.items():
            ks = [k for k, _ in items]
            cols = np.array([c for _, c in items])                      # (G, n_axes)
            angles = np.radians(self.frames.T[cols])                    # (G, n_axes, F)
            out[ks] = euler_to_matrix(np.moveaxis(angles, 1, -1), order)
        return out

    def _ancestors_closure(self, wanted: list[int]) -> list[int]:
        keep: set[int] = set()
        for j in wanted:
            while j >= 0 and j not in keep:
                keep.add(j)
                j = int(self.parents[j])
        return sorted(keep)  # depth-first file order: parents precede children

    def global_positions(self, names: list[str] | None = None) -> np.ndarray:
        """World positions (F, J, 3) by forward kinematics, in the file's units and axes.

        names: only these joints (End Sites included, as ``<parent>_End``), in that order; only
        their ancestors are computed, which keeps rigs with many finger and face bones fast.
        """
        wanted = list(range(len(self.names))) if names is None else [self.index(n) for n in names]
        needed = self._ancestors_closure(wanted)
        slot = {j: k for k, j in enumerate(needed)}
        has_children = {int(self.parents[j]) for j in needed}
        local = self._local_rotations_by_joint(needed)
        n = self.n_frames
        glob_rot = np.empty((len(needed), n, 3, 3))
        pos = np.empty((len(needed), n, 3))
        for k, j in enumerate(needed):
            translation = np.broadcast_to(self.offsets[j], (n, 3)).copy()
            for c, col in zip(self.channels[j], self.channel_index[j]):
                if c in _POSITION_CHANNELS:
                    translation[:, _AXIS_INDEX[c[0]]] += self.frames[:, col]
            p = int(self.parents[j])
            if p < 0:
                pos[k] = translation
                glob_rot[k] = local[k]
            else:
                q = slot[p]
                pos[k] = pos[q] + np.einsum("fij,fj->fi", glob_rot[q], translation)
                if j in has_children:  # a leaf's orientation moves nothing: skip it
                    glob_rot[k] = glob_rot[q] @ local[k]
        return np.moveaxis(pos[[slot[j] for j in wanted]], 0, 1)


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from Euler angles in radians (..., len(order)), applied in the
    listed order: "ZXY" gives Rz @ Rx @ Ry. Each elementary rotation only mixes two columns of the
    running product, which is several times faster than batched matmuls or scipy on millions."""
    angles = np.moveaxis(np.asarray(angles, dtype=np.float64), -1, 0)  # work axis-first: contiguous
    out = np.zeros((3, 3) + angles.shape[1:])
    out[0, 0] = out[1, 1] = out[2, 2] = 1.0
    for k, axis in enumerate(order.upper()):
        c, s = np.cos(angles[k]), np.sin(angles[k])
        i = _AXIS_INDEX[axis]
        j, k2 = (i + 1) % 3, (i + 2) % 3
        col_j = out[:, j].copy()
        out[:, j] = col_j * c + out[:, k2] * s
        out[:, k2] = out[:, k2] * c - col_j * s
    return np.moveaxis(out, (0, 1), (-2, -1))


# --------------------------------------------------------------------------------------- parsing

class _Tokens:
    """Whitespace tokens of the HIERARCHY section with their 1-based line numbers."""

    def __init__(self, lines: list[str], start: int, filename: str) -> None:
        self.items: list[tuple[str, int]] = []
        self.filename = filename
        self.pos = 0
        self.motion_line = -1
        for i in range(start, len(lines)):
            words = lines[i].split()
            if words and words[0].upper() == "MOTION":
                self.motion_line = i
                break
            self.items.extend((w, i + 1) for w in words)
        self.last_line = (self.motion_line if self.motion_line >= 0 else len(lines))

    def error(self, message: str, line: int | None = None) -> BvhFormatError:
        if line is None:
            line = self.line() or self.last_line
        return BvhFormatError(f"{self.filename} line {line}: {message}")

    def line(self) -> int | None:
        """Line of the next token (None at the end)."""
        return self.items[self.pos][1] if self.pos < len(self.items) else None

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def take(self, what: str) -> str:
        if self.pos >= len(self.items):
            where = "before MOTION" if self.motion_line >= 0 else "at the end of the file"
            raise self.error(f"expected {what}, found nothing {where}")
        token = self.items[self.pos][0]
        self.pos += 1
        return token

    def expect(self, literal: str) -> None:
        line = self.line()
        token = self.take(f"'{literal}'")
        if token != literal:
            raise self.error(f"expected '{literal}', found '{token}'", line)

    def number(self, what: str) -> float:
        line = self.line()
        token = self.take(what)
        try:
            return float(token)
        except ValueError:
            raise self.error(f"expected {what}, found '{token}'", line) from None


@dataclass
class _Hierarchy:
    names: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    offsets: list[tuple[float, float, float]] = field(default_factory=list)
    channels: list[tuple[str, ...]] = field(default_factory=list)
    end_site: list[bool] = field(default_factory=list)


def _parse_offset(tok: _Tokens) -> tuple[float, float, float]:
    tok.expect("OFFSET")
    return (tok.number("an OFFSET x value"), tok.number("an OFFSET y value"),
            tok.number("an OFFSET z value"))


def _parse_joint(tok: _Tokens, h: _Hierarchy, name: str, parent: int, depth: int = 0) -> None:
    if depth > MAX_BVH_DEPTH:
        raise tok.error(f"the joint hierarchy is nested more than {MAX_BVH_DEPTH} joints deep "
                        "(real rigs have under 30); this is not a body's skeleton")
    index = len(h.names)
    h.names.append(name)
    h.parents.append(parent)
    h.end_site.append(False)
    h.offsets.append((0.0, 0.0, 0.0))
    h.channels.append(())
    tok.expect("{")
    h.offsets[index] = _parse_offset(tok)
    if tok.peek() == "CHANNELS":
        tok.take("CHANNELS")
        line = tok.line()
        count = tok.take("a channel count")
        if not count.isdigit():
            raise tok.error(f"expected a channel count, found '{count}'", line)
        chans = []
        for _ in range(int(count)):
            line = tok.line()
            c = tok.take(f"{count} channel names")
            if c not in _ROTATION_CHANNELS + _POSITION_CHANNELS:
                raise tok.error(f"expected a channel name (Xposition ... Zrotation), found '{c}'",
                                line)
            chans.append(c)
        h.channels[index] = tuple(chans)
    while True:
        token = tok.peek()
        if token == "}":
            tok.take("'}'")
            return
        if token == "JOINT":
            tok.take("JOINT")
            _parse_joint(tok, h, tok.take("a joint name"), index, depth + 1)
        elif token == "End":
            tok.take("End")
            tok.expect("Site")
            tok.expect("{")
            offset = _parse_offset(tok)
            tok.expect("}")
            h.names.append(name + END_SITE_SUFFIX)
            h.parents.append(index)
            h.end_site.append(True)
            h.offsets.append(offset)
            h.channels.append(())
        elif token is None:
            raise tok.error(f"missing '}}' closing joint '{name}'")
        else:
            raise tok.error(f"expected JOINT, End Site or '}}' in joint '{name}', found '{token}'")


def _header_value(lines: list[str], i: int, key: str, filename: str) -> tuple[str, int]:
    """The value after ``key`` (e.g. 'Frames:') on the next non-blank line from i, and the index of
    the line after it."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        raise BvhFormatError(f"{filename} line {i}: expected '{key}', found the end of the file")
    text = lines[i].strip()
    if not text.lower().startswith(key.lower()):
        raise BvhFormatError(f"{filename} line {i + 1}: expected '{key}', found '{text[:40]}'")
    return text[len(key):].strip(), i + 1


def parse_bvh(path: str | Path) -> BvhData:
    """Read a BVH file (any channel order, 3 or 6 channels a joint, CRLF or LF, tabs or spaces).

    Raises BvhFormatError naming the file and line for anything malformed or truncated.
    """
    path = Path(path)
    filename = path.name
    try:
        size = path.stat().st_size
        if size > MAX_BVH_BYTES:
            raise BvhFormatError(f"{filename} is {size / 1e6:.0f} MB; a BVH is read up to "
                                 f"{MAX_BVH_BYTES / 1e6:.0f} MB. Cut the take into shorter clips")
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BvhFormatError(f"{filename}: cannot read the file ({exc.strerror})") from exc
    lines = text.splitlines()

    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first >= len(lines) or lines[first].split()[0].upper() != "HIERARCHY":
        found = lines[first].strip()[:40] if first < len(lines) else "an empty file"
        raise BvhFormatError(f"{filename} line {first + 1}: expected 'HIERARCHY', found '{found}'")

    tok = _Tokens(lines, first + 1, filename)
    h = _Hierarchy()
    while tok.peek() is not None:
        line = tok.line()
        kind = tok.take("ROOT")
        if kind != "ROOT":
            raise tok.error(f"expected ROOT, found '{kind}'", line)
        _parse_joint(tok, h, tok.take("a root joint name"), -1)
    if not h.names:
        raise tok.error("expected a ROOT joint in the HIERARCHY section")
    if tok.motion_line < 0:
        raise BvhFormatError(f"{filename} line {len(lines)}: expected 'MOTION' after the "
                             "hierarchy, found the end of the file")

    value, i = _header_value(lines, tok.motion_line + 1, "Frames:", filename)
    if not value.isdigit():
        raise BvhFormatError(f"{filename} line {i}: expected a frame count after 'Frames:', "
                             f"found '{value}'")
    n_frames = int(value)
    value, i = _header_value(lines, i, "Frame Time:", filename)
    try:
        frame_time = float(value)
    except ValueError:
        raise BvhFormatError(f"{filename} line {i}: expected seconds after 'Frame Time:', "
                             f"found '{value}'") from None
    if not frame_time > 0:
        raise BvhFormatError(f"{filename} line {i}: expected a positive Frame Time, found {value}")
    check_motion_length(n_frames, frame_time, f"{filename} line {i}")

    n_channels = sum(len(c) for c in h.channels)
    frames = _parse_frames(lines, i, n_frames, n_channels, filename)
    return BvhData(path=path, names=h.names, parents=np.array(h.parents, dtype=np.int64),
                   offsets=np.array(h.offsets, dtype=np.float64), channels=h.channels,
                   is_end_site=np.array(h.end_site, dtype=bool), frame_time=frame_time,
                   frames=frames)


def check_motion_length(n_frames: int, frame_time: float, where: str) -> None:
    """Refuse a motion longer than MAX_MOTION_SECONDS before anything is allocated for it: a
    'Frame Time: 1000000' would otherwise be resampled to billions of frames."""
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise BvhFormatError(f"{where}: expected a positive Frame Time, found {frame_time}")
    seconds = max(n_frames - 1, 0) * frame_time
    if seconds > MAX_MOTION_SECONDS:
        raise BvhFormatError(f"{where}: {n_frames} frames of {frame_time:g} s make {seconds:,.0f} s of motion; "
                             f"the studio reads up to {MAX_MOTION_SECONDS:.0f} s. 'Frame Time' is seconds "
                             "per frame (0.0083333 for 120 fps, 0.033333 for 30 fps): check it")


def _parse_frames(lines: list[str], start: int, n_frames: int, n_channels: int,
                  filename: str) -> np.ndarray:
    """The motion rows, checked line by line so that an error points at the right line."""
    rows: list[str] = []
    row_lines: list[int] = []
    for k in range(start, len(lines)):
        words = lines[k].split()
        if not words:
            continue
        if len(words) != n_channels:
            raise BvhFormatError(f"{filename} line {k + 1}: expected {n_channels} numbers per "
                                 f"frame, found {len(words)}")
        rows.append(lines[k])
        row_lines.append(k + 1)
    if len(rows) != n_frames:
        raise BvhFormatError(f"{filename} line {len(lines)}: Frames: says {n_frames} but the file "
                             f"has {len(rows)}")
    if n_frames == 0:
        return np.zeros((0, n_channels))
    joined = " ".join(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (rather than fails) on unreadable text
        try:
            flat = np.fromstring(joined, dtype=np.float64, sep=" ")  # the fast C path
        except (ValueError, DeprecationWarning):
            flat = None
    if flat is None or flat.size != n_frames * n_channels:
        try:
            flat = np.array(joined.split(), dtype=np.float64)
        except ValueError:
            flat = None
    if flat is None or not np.isfinite(flat).all():
        for row, line in zip(rows, row_lines):  # slow path: find the first bad value
            for word in row.split():
                try:
                    ok = bool(np.isfinite(float(word)))
                except ValueError:
                    ok = False
                if not ok:
                    raise BvhFormatError(f"{filename} line {line}: expected a number, "
                                         f"found '{word}'")
        raise BvhFormatError(f"{filename} line {row_lines[0]}: the motion values could not be read")
    return flat.reshape(n_frames, n_channels)


# --------------------------------------------------------------------------------------- writing

# End Site offsets (metres) for the SMPL leaves, so that Blender draws a head, hands and toes.
_END_SITES: dict[int, tuple[float, float, float]] = {
    skeleton.JOINT_INDEX["head"]: (0.0, 0.10, 0.0),
    skeleton.JOINT_INDEX["left_wrist"]: (0.0, -0.08, 0.0),
    skeleton.JOINT_INDEX["right_wrist"]: (0.0, -0.08, 0.0),
    skeleton.JOINT_INDEX["left_foot"]: (0.0, 0.0, 0.05),
    skeleton.JOINT_INDEX["right_foot"]: (0.0, 0.0, 0.05),
}
_ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
_JOINT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")


def _children(parents: tuple[int, ...]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parents]
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    return kids


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _best_rotation(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-frame rotation (T, 3, 3) best aligning rest vectors (K, 3) to target vectors (T, K, 3)
    (Kabsch). Used where a joint has several children, which pins its twist."""
    cov = np.einsum("tki,kj->tij", target, rest)
    u, _, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones((len(d), 3))
    fix[:, 2] = d
    return (u * fix[:, None, :]) @ vt


def inverse_kinematics(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Local rotations (T, 22, 3, 3) that aim every bone of ``offsets`` at the target ``joints``.

    Joints with several children (pelvis, spine3) take the Kabsch rotation of all their child
    bones, which fixes the pelvis and chest orientation from the hips and shoulders. A joint with
    one child takes the shortest-arc swing from its parent's frame, so no twist is invented and the
    result is the same every frame (no drift). Leaves keep their parent's orientation. Bones are
    aimed from where forward kinematics has put the joint so far, not from its target, so a bone
    length that differs from the offsets leaves an error at that joint instead of passing it down
    the chain.
    """
    parents = skeleton.PARENTS
    kids = _children(parents)
    n = joints.shape[0]
    glob = np.empty((n, len(parents), 3, 3))
    local = np.empty_like(glob)
    placed = np.empty_like(joints)  # joint positions that the rotations so far produce
    for j, p in enumerate(parents):  # parents precede children in SMPL order
        if p < 0:
            parent_rot = np.broadcast_to(np.eye(3), (n, 3, 3))
            placed[:, j] = joints[:, j]
        else:
            parent_rot = glob[:, p]
            placed[:, j] = placed[:, p] + np.einsum("tij,j->ti", parent_rot, offsets[j])
        children = kids[j]
        if len(children) >= 2:
            target = joints[:, children] - placed[:, j:j + 1]
            # Weight directions equally so one long bone does not dominate the fit.
            rot = _best_rotation(_normalise(offsets[children]), _normalise(target))
        elif len(children) == 1:
            c = children[0]
            current = np.einsum("tij,j->ti", parent_rot, offsets[c])
            rot = rotation_between(current, joints[:, c] - placed[:, j]) @ parent_rot
        else:
            rot = np.array(parent_rot)
        glob[:, j] = rot
        local[:, j] = np.swapaxes(parent_rot, -1, -2) @ rot
    return local


def bvh_offsets_for(joints: np.ndarray) -> np.ndarray:
    """Rest offsets (22, 3) in metres for exporting ``joints``: REST_POSE's bone directions with the
    motion's median bone lengths, except that the children of a branching joint (pelvis: hips and
    spine; spine3: neck and collars) keep the motion's own layout relative to each other, found by
    Procrustes averaging and turned to sit as close as possible to REST_POSE's. A layout that the
    motion does not share could not be matched by any rotation of the branching joint."""
    lengths = np.median(skeleton.bone_lengths(joints), axis=0)
    offsets = _normalise(skeleton.rest_offsets()) * lengths[:, None]
    offsets[0] = 0.0
    for j, children in enumerate(_children(skeleton.PARENTS)):
        if len(children) < 2:
            continue
        target = joints[:, children] - joints[:, j:j + 1]                    # (T, K, 3)
        template = offsets[children]
        for _ in range(3):
            rot = _best_rotation(_normalise(template), _normalise(target))  # (T, 3, 3)
            template = np.median(np.einsum("tji,tkj->tki", rot, target), axis=0)
        toward_rest = _best_rotation(_normalise(template), _normalise(offsets[children])[None])[0]
        offsets[children] = template @ toward_rest.T
    return offsets


def _euler_degrees(mats: np.ndarray, order: tuple[str, ...]) -> np.ndarray:
    seq = "".join(c[0] for c in order)
    shape = mats.shape[:-2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # gimbal lock: still a valid decomposition
        angles = Rotation.from_matrix(mats.reshape(-1, 3, 3)).as_euler(seq, degrees=True)
    angles = angles.reshape(*shape, 3)
    # Unwrap along time so curves in an editor do not jump by 360 degrees.
    return np.unwrap(angles, period=360.0, axis=0)


def write_bvh(path: str | Path, joints: np.ndarray, fps: float = MOTION_FPS) -> Path:
    """Export a 22-joint motion (T, 22, 3), metres, Y up, as BVH in CENTIMETRES (metres x 100).

    Joints are named skeleton.JOINT_NAMES, offsets come from bvh_offsets_for. The root (OFFSET zero,
    so every reading of root position channels agrees) has 6 channels, position then Z X Y
    rotation; other joints have Z X Y rotations; the head, wrists and feet end in End Sites.
    Rotations come from inverse_kinematics. In Blender: File > Import > Motion Capture (.bvh), Scale
    0.01 to get metres, Forward -Z and Up Y (the importer's defaults). A motion with constant bone
    lengths (forward kinematics of any fixed skeleton) reads back within float precision; retargeted
    mocap, whose blended joints are not quite rigid, within about a millimetre on average. Returns
    the path written.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or joints.shape[0] < 1:
        raise ValueError(f"write_bvh expects joints of shape (T, {NUM_JOINTS}, 3), "
                         f"got {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("write_bvh: joints contain NaN or infinite values")
    if not fps > 0:
        raise ValueError(f"write_bvh: fps must be positive, got {fps}")
    path = Path(path)
    offsets = bvh_offsets_for(joints)
    local = inverse_kinematics(joints, offsets)

    # Channel columns follow the depth-first order in which the joints are written (root first).
    columns = [joints[:, 0] * BVH_UNITS_PER_METRE]
    for j in _depth_first():
        order = _ROOT_CHANNELS[3:] if j == 0 else _JOINT_CHANNELS
        columns.append(_euler_degrees(local[:, j], order))
    motion = np.concatenate(columns, axis=1)

    kids = _children(skeleton.PARENTS)
    out = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        keyword = "ROOT" if skeleton.PARENTS[j] < 0 else "JOINT"
        off = offsets[j] * BVH_UNITS_PER_METRE
        chans = _ROOT_CHANNELS if skeleton.PARENTS[j] < 0 else _JOINT_CHANNELS
        out.append(f"{pad}{keyword} {skeleton.JOINT_NAMES[j]}")
        out.append(f"{pad}{{")
        out.append(f"{pad}\tOFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}")
        out.append(f"{pad}\tCHANNELS {len(chans)} {' '.join(chans)}")
        for c in kids[j]:
            emit(c, depth + 1)
        if not kids[j]:
            end = np.array(_END_SITES.get(j, (0.0, 0.05, 0.0))) * BVH_UNITS_PER_METRE
            out.append(f"{pad}\tEnd Site")
            out.append(f"{pad}\t{{")
            out.append(f"{pad}\t\tOFFSET {end[0]:.6f} {end[1]:.6f} {end[2]:.6f}")
            out.append(f"{pad}\t}}")
        out.append(f"{pad}}}")

    emit(0, 0)
    out.append("MOTION")
    out.append(f"Frames: {joints.shape[0]}")
    out.append(f"Frame Time: {1.0 / fps:.8f}")
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in motion)
    path.write_text("\n".join(out) + "\n" + body + "\n", encoding="utf-8")
    return path


def _depth_first() -> list[int]:
    """SMPL joint indices in the order write_bvh writes them."""
    kids = _children(skeleton.PARENTS)
    order: list[int] = []

    def visit(j: int) -> None:
        order.append(j)
        for c in kids[j]:
            visit(c)

    visit(0)
    return order


def bvh_to_smpl_joints(data: BvhData) -> np.ndarray:
    """Positions (F, 22, 3) in metres of a BVH written by write_bvh, in SMPL joint order."""
    return data.global_positions(list(skeleton.JOINT_NAMES)) / BVH_UNITS_PER_METRE
