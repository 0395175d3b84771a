"""Canonical hand and face shapes, for templates that have no detected hands or face.

The default relation bank comes from mocap (no hands, no face) and a portrait may hide a hand;
both then need a plausible shape to follow the forearm or the head. The shapes are procedural
(a relaxed, slightly curled hand; a frontal neutral face in the 68-point iBUG layout), so they
depend on no data file.
"""

from __future__ import annotations

import numpy as np


def relaxed_hand(side: str = "left") -> np.ndarray:
    """(21, 2) relaxed hand in MediaPipe order, wrist at the origin, pointing along +x, unit = hand length.

    The hand length (wrist to middle fingertip) is 1. Fingers fan out slightly and curl toward
    the palm; the thumb sits on the side of +y for the left hand as seen from the front with the
    hand hanging (mirrored for the right hand).
    """
    # (base angle deg, segment lengths) for thumb, index, middle, ring, pinky; base = MCP offset.
    fingers = (
        ((0.18, 0.16), 38.0, (0.17, 0.13, 0.11, 0.10), 18.0),
        ((0.44, 0.10), 10.0, (0.20, 0.12, 0.09), 14.0),
        ((0.46, 0.02), 2.0, (0.22, 0.14, 0.10), 15.0),
        ((0.43, -0.06), -6.0, (0.20, 0.12, 0.09), 16.0),
        ((0.38, -0.13), -14.0, (0.15, 0.10, 0.08), 17.0),
    )
    points = [np.zeros(2)]
    for base, angle, segments, curl in fingers:
        lengths = segments
        if len(segments) == 4:           # the thumb: CMC, MCP, IP, tip, from the wrist
            pos = np.zeros(2)
        else:                            # MCP sits on the palm, then three phalanges
            pos = np.array(base, dtype=np.float64)
            points.append(pos.copy())
        direction = np.deg2rad(angle)
        for k, length in enumerate(lengths):
            pos = pos + length * np.array([np.cos(direction), np.sin(direction)])
            points.append(pos.copy())
            direction -= np.deg2rad(curl)
    hand = np.asarray(points, dtype=np.float64)
    hand /= np.linalg.norm(hand[12])      # wrist to middle fingertip = 1
    if side == "right":
        hand[:, 1] *= -1.0
    return hand


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float, n: int) -> np.ndarray:
    t = np.deg2rad(np.linspace(start_deg, end_deg, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _eye(cx: float, cy: float, w: float, h: float) -> np.ndarray:
    """Six eye points in iBUG order: outer/inner corner depends on side; we go left to right in image."""
    return np.array([[cx - w, cy], [cx - w / 3, cy - h], [cx + w / 3, cy - h], [cx + w, cy],
                     [cx + w / 3, cy + h * 0.8], [cx - w / 3, cy + h * 0.8]])


def neutral_face() -> np.ndarray:
    """(68, 2) frontal neutral face in iBUG order, image axes (x right, y down), unit = eye distance.

    Origin at the nose tip (point 30); the eye centres are 1 apart, so a caller scales by the
    person's eye distance and rotates with the head.
    """
    jaw = _arc(0.0, -0.35, 0.95, 1.25, 180.0, 0.0, 17)   # y down: image left, down to the chin, right
    brow_r = _arc(-0.5, -0.55, 0.33, 0.10, 200.0, 340.0, 5)
    brow_l = _arc(0.5, -0.55, 0.33, 0.10, 200.0, 340.0, 5)
    bridge = np.stack([np.zeros(4), np.linspace(-0.35, -0.05, 4)], axis=1)
    nostrils = np.stack([np.linspace(-0.2, 0.2, 5), 0.08 + np.array([0.0, 0.03, 0.05, 0.03, 0.0])], axis=1)
    eye_r = _eye(-0.5, -0.3, 0.2, 0.07)
    eye_l = _eye(0.5, -0.3, 0.2, 0.07)
    outer = _arc(0.0, 0.45, 0.42, 0.17, 180.0, 540.0, 13)[:12]
    outer[:, 1] = np.where(outer[:, 1] < 0.45, 0.45 - (0.45 - outer[:, 1]) * 0.8, outer[:, 1])
    inner = np.array([[-0.32, 0.45], [-0.12, 0.42], [0.0, 0.42], [0.12, 0.42], [0.32, 0.45],
                      [0.12, 0.47], [0.0, 0.47], [-0.12, 0.47]])
    face = np.concatenate([jaw, brow_r, brow_l, bridge, nostrils, eye_r, eye_l, outer, inner])
    assert face.shape == (68, 2)
    return face - face[30]


__all__ = ["neutral_face", "relaxed_hand"]
