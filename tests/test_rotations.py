"""pipeline/motion/rotations.py: the one copy of the rotation helpers (rig, BVH, procedural)."""

from __future__ import annotations

import numpy as np

from pipeline.motion.rotations import angle_between, axis_angle, rotation_between


def test_rotation_between_turns_a_onto_b_by_the_smallest_angle():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    b[:10] = -3.0 * a[:10]                                     # opposite directions
    b[10:20] = 2.0 * a[10:20]                                  # the same direction
    r = rotation_between(a, b)
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(np.einsum("nij,nj->ni", r, unit(a)), unit(b), atol=1e-12)
    # the smallest rotation: its angle is the angle between the vectors
    angle = np.degrees(np.arccos(np.clip((np.trace(r, axis1=1, axis2=2) - 1) / 2, -1, 1)))
    np.testing.assert_allclose(angle, angle_between(a, b), atol=1e-5)
    np.testing.assert_allclose(angle[:10], 180.0, atol=1e-5)
    np.testing.assert_allclose(r[10:20], np.broadcast_to(np.eye(3), (10, 3, 3)), atol=1e-12)


def test_axis_angle_broadcasts_one_axis_over_many_angles():
    angles = np.linspace(-np.pi, np.pi, 7)
    r = axis_angle(np.array([0.0, 0.0, 1.0]), angles)
    assert r.shape == (7, 3, 3)
    np.testing.assert_allclose(r[:, :2, 0], np.stack([np.cos(angles), np.sin(angles)], -1), atol=1e-12)
    np.testing.assert_allclose(r[3], np.eye(3), atol=1e-12)
