"""What the face does in one frame, and the per-frame tracks it is read from.

The face animator only sees these few numbers, so the drivers (a viseme track from the speech's
phonemes, or plain loudness when there is no track) can change without touching the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceFrame:
    """One frame's articulation; every field 0 is the portrait as photographed.

    jaw: 0 closed .. 1 widest speech opening; width: -1 narrow .. +1 wide (ee); rounding,
    upper_lip (raise), lower_lip (tuck under the upper teeth), lip_closure (lips pressed shut,
    even with the jaw open), blink (eyelid closure), tongue (the tip between the teeth, th): 0 .. 1.
    """

    jaw: float = 0.0
    width: float = 0.0
    rounding: float = 0.0
    upper_lip: float = 0.0
    lower_lip: float = 0.0
    lip_closure: float = 0.0
    blink: float = 0.0
    tongue: float = 0.0


_FIELDS = ("jaw", "width", "rounding", "upper_lip", "lower_lip", "lip_closure", "tongue")
_TONGUE_VISEMES = ("TH",)
_TONGUE_RAMP_S = 0.05
"""The tongue tip comes forward this long before a th and goes back as long after it."""


def tongue_track(visemes, fps: float, n: int) -> np.ndarray:
    """(n,) tongue-tip protrusion: 1 over each th segment, ramped in and out, 0 elsewhere."""
    out = np.zeros(n)
    if n == 0 or not visemes:
        return out
    t = (np.arange(n) + 0.5) / float(fps)
    for name, a, b in visemes:
        if name not in _TONGUE_VISEMES:
            continue
        mid_a, mid_b = a + 0.25 * (b - a), b - 0.25 * (b - a)
        up = np.clip((t - (mid_a - _TONGUE_RAMP_S)) / _TONGUE_RAMP_S, 0, 1)
        down = np.clip(((mid_b + _TONGUE_RAMP_S) - t) / _TONGUE_RAMP_S, 0, 1)
        out = np.maximum(out, np.minimum(up, down))
    return out


@dataclass
class FaceMotion:
    """Per-frame face tracks (N,) each; ``source`` says where the mouth shapes came from."""

    jaw: np.ndarray
    width: np.ndarray
    rounding: np.ndarray
    upper_lip: np.ndarray
    lower_lip: np.ndarray
    lip_closure: np.ndarray
    blink: np.ndarray
    source: str = "silent"
    tongue: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.blink)

    def frame(self, i: int) -> FaceFrame:
        """Frame ``i``; past the end of a mouth track the mouth rests (blinks go on)."""
        vals = {}
        for name in _FIELDS:
            arr = getattr(self, name)
            vals[name] = float(arr[i]) if arr is not None and i < len(arr) else 0.0
        return FaceFrame(blink=float(self.blink[i]) if i < len(self.blink) else 0.0, **vals)

    @classmethod
    def from_mouth_track(cls, track, blink: np.ndarray) -> "FaceMotion":
        """From a ``pipeline.speech.visemes.MouthTrack`` (same frame rate) and a blink track; the
        tongue tip comes from the track's timed th visemes."""
        n = len(blink)

        def fit(name: str, lo: float, hi: float) -> np.ndarray:
            arr = np.clip(np.asarray(getattr(track, name), np.float64).reshape(-1), lo, hi)
            out = np.zeros(n)
            out[:min(n, len(arr))] = arr[:n]
            return out

        fps = float(getattr(track, "fps", 0) or 0)
        tongue = tongue_track(getattr(track, "visemes", []), fps, n) if fps > 0 else np.zeros(n)
        return cls(fit("jaw", 0, 1), fit("width", -1, 1), fit("rounding", 0, 1), fit("upper_lip", 0, 1),
                   fit("lower_lip", 0, 1), fit("lip_closure", 0, 1), np.asarray(blink, np.float64),
                   str(getattr(track, "source", "viseme")), tongue)

    @classmethod
    def from_opening(cls, opening: np.ndarray, blink: np.ndarray) -> "FaceMotion":
        """Loudness only (no viseme track): the jaw follows the opening, the lips stay neutral."""
        opening = np.clip(np.asarray(opening, np.float64), 0, 1)
        z = np.zeros(len(opening))
        return cls(opening, z, z, z, z, z, np.asarray(blink, np.float64), "energy")
