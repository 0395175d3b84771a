"""CMU ASF/AMC reader: forward kinematics on tiny files, precise errors, and the real takes against
their BVH conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.motion import skeleton as sk
from pipeline.motion.amc import AcclaimFormatError, load_amc_motion, parse_asf, read_amc

TINY_ASF = """# a two-bone chain
:version 1.10
:units
  mass 1.0
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name upper
     direction 0 -1 0
     length 2.0
     axis 0 0 90 XYZ
    dof rx ry rz
    limits (-160.0 20.0)
           (-70.0 70.0)
           (-60.0 70.0)
  end
  begin
     id 2
     name lower
     direction 0 -1 0
     length 1.0
     axis 0 0 0 XYZ
    dof rx
  end
:hierarchy
  begin
    root upper
    upper lower
  end
"""


def _amc(frames: list[dict[str, str]]) -> str:
    out = [":FULLY-SPECIFIED", ":DEGREES"]
    for i, frame in enumerate(frames, start=1):
        out.append(str(i))
        out += [f"{k} {v}" for k, v in frame.items()]
    return "\n".join(out) + "\n"


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    asf = tmp_path / "tiny.asf"
    asf.write_text(TINY_ASF)
    amc = tmp_path / "tiny_01.amc"
    amc.write_text(_amc([
        {"root": "1 2 3 0 0 0", "upper": "0 0 0", "lower": "0"},
        {"root": "1 2 3 0 0 0", "upper": "0 0 0", "lower": "90"},
        {"root": "0 0 0 0 90 0", "upper": "0 0 0", "lower": "90"},
    ]))
    return asf, amc


def test_forward_kinematics_follows_the_acclaim_convention(tiny) -> None:
    asf, amc = tiny
    m = read_amc(asf, amc)
    hip, knee, end = (m.global_positions(["hip", "lower", "lower_End"])[:, k] for k in range(3))
    assert np.allclose(hip[0], [1, 2, 3]) and np.allclose(knee[0], [1, 0, 3]) and np.allclose(end[0], [1, -1, 3])
    # 'lower' bends about its x axis (right-handed: rx +90 turns -y into -z)
    assert np.allclose(end[1], [1, 0, 2], atol=1e-9)
    # the root turns 90 degrees about y (+z goes to +x): the bent shin now points to -x
    assert np.allclose(knee[2], [0, -2, 0], atol=1e-9) and np.allclose(end[2], [-1, -2, 0], atol=1e-9)


def test_bone_axis_frame_changes_what_a_dof_turns(tmp_path: Path) -> None:
    """upper's frame is C = Rz(90), which maps local x to world y: its rx turns about world y."""
    asf = tmp_path / "tiny.asf"
    asf.write_text(TINY_ASF.replace("direction 0 -1 0\n     length 2.0", "direction 0 0 1\n     length 2.0"))
    amc = tmp_path / "t.amc"
    amc.write_text(_amc([{"root": "0 0 0 0 0 0", "upper": "90 0 0", "lower": "0"}]))
    knee = read_amc(asf, amc).global_positions(["lower"])[0, 0]
    assert np.allclose(knee, [2, 0, 0], atol=1e-9)    # +z rotated 90 degrees about +y is +x


def test_parsed_skeleton_keeps_order_and_dofs(tiny) -> None:
    skel = parse_asf(tiny[0])
    assert skel.order() == ["upper", "lower"]
    assert skel.bones["upper"].dofs == ("rx", "ry", "rz") and skel.bones["lower"].dofs == ("rx",)
    assert skel.length_unit == 0.45 and skel.bones["lower"].parent == "upper"


@pytest.mark.parametrize("edit, expected", [
    (lambda s: s.replace("upper 0 0 0", "elbow 0 0 0", 1), "bone 'elbow' is not in the skeleton"),
    (lambda s: s.replace("lower 0\n2", "2"), "frame 1 lacks bones lower"),
    (lambda s: s.replace("upper 0 0 0", "upper 0 zero 0", 1), "values of upper must be numbers"),
    (lambda s: s.replace("upper 0 0 0", "upper 0 0", 1), "values of upper needs 3 numbers"),
    (lambda s: ":FULLY-SPECIFIED\n", "no frames found"),
])
def test_amc_errors_name_the_line_and_problem(tiny, edit, expected) -> None:
    asf, amc = tiny
    amc.write_text(edit(amc.read_text()))
    with pytest.raises(AcclaimFormatError, match=expected):
        read_amc(asf, amc)


def test_asf_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.asf"
    bad.write_text(TINY_ASF.replace("     length 1.0\n", ""))
    with pytest.raises(AcclaimFormatError, match="bone 'lower' has no length"):
        parse_asf(bad)
    bad.write_text(TINY_ASF.replace("upper lower", "upper shin"))
    with pytest.raises(AcclaimFormatError, match="names bone 'shin'"):
        parse_asf(bad)
    bad.write_text("HIERARCHY\nROOT hip\n")
    with pytest.raises(AcclaimFormatError, match="no :bonedata"):
        parse_asf(bad)
    with pytest.raises(AcclaimFormatError, match="cannot read ASF"):
        parse_asf(tmp_path / "missing.asf")


# ------------------------------------------------------------------------------ the real takes

@pytest.fixture(scope="module")
def amc_dir(shared_data) -> Path:
    folder = shared_data / "cmu-amc"
    if not (folder / "amc").is_dir():
        pytest.skip(f"no CMU ASF/AMC folder at {folder}")
    return folder


def test_real_take_matches_its_bvh_conversion_below_the_thorax(amc_dir, shared_data) -> None:
    """cgspeed's 16_02.bvh is CMU's skeleton re-exported (at a wrong 30 fps, and with the thorax
    bone dropped): read at the same rate, legs and pelvis agree to the micrometre, the upper body
    is shifted by exactly the thorax bone."""
    from pipeline.motion.retarget import load_bvh_motion

    bvh = shared_data / "cmu-bvh" / "cgspeed-daz" / "16_02.bvh"
    if not bvh.exists():
        pytest.skip(f"needs {bvh}")
    a = load_amc_motion(amc_dir / "asf" / "16.asf", amc_dir / "amc" / "16_02.amc", fps=30).joints
    b = load_bvh_motion(bvh).joints
    assert a.shape == b.shape
    lower = [sk.JOINT_INDEX[n] for n in ("pelvis", "left_hip", "right_knee", "left_ankle", "right_foot")]
    assert np.abs(a[:, lower] - b[:, lower]).max() < 1e-4
    thorax = 2.17484 * 0.0254 / 0.45          # 16.asf's thorax length in metres
    gap = np.linalg.norm(a[:, sk.JOINT_INDEX["head"]] - b[:, sk.JOINT_INDEX["head"]], axis=-1)
    assert np.allclose(gap, thorax, atol=2e-3)


def test_real_walk_is_normalised_and_walks(amc_dir) -> None:
    m = load_amc_motion(amc_dir / "asf" / "02.asf", amc_dir / "amc" / "02_01.amc")
    j = m.joints
    assert m.rig == "cmu-asf" and 1.6 < m.body_height < 1.8 and m.source_fps == 120
    assert abs(len(j) / 20 - 2.9) < 0.1
    assert np.allclose(j[0, 0, [0, 2]], 0, atol=1e-6)
    assert abs(np.percentile(j[:, [10, 11], 1].min(1), 5) - sk.FOOT_JOINT_HEIGHT) < 1e-3
    speed = np.linalg.norm(j[-1, 0, [0, 2]] - j[0, 0, [0, 2]]) / (len(j) / 20)
    assert 0.9 < speed < 1.8                                  # a walk, at the right frame rate
    assert j[-1, 0, 2] > 1.0                                  # forward is +Z
    assert j[0, sk.JOINT_INDEX["left_shoulder"], 0] > 0       # the left side on +X
