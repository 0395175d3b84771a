"""Time curves for procedural motion: easing, eased keyframes, oscillations, smooth noise.

Every function is vectorised over frames: it takes an array of times in seconds and returns one
value per time, so a whole clip is computed in a few numpy calls instead of a Python loop.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

Easing = Callable[[np.ndarray], np.ndarray]


def linear(u: np.ndarray) -> np.ndarray:
    return np.clip(u, 0.0, 1.0)


def smoothstep(u: np.ndarray) -> np.ndarray:
    """Cubic ease-in-out: zero velocity at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def smootherstep(u: np.ndarray) -> np.ndarray:
    """Quintic ease-in-out: zero velocity and acceleration at both ends (the default for poses)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def ease_in_out_sine(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def ease_out(u: np.ndarray) -> np.ndarray:
    """Fast start, soft landing (a strike that decelerates into place)."""
    u = np.clip(u, 0.0, 1.0)
    return 1.0 - (1.0 - u) ** 3


def ease_in(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u ** 3


def ease_out_back(u: np.ndarray, overshoot: float = 0.9) -> np.ndarray:
    """Ease out with a slight overshoot past the target before settling (a limb's follow-through)."""
    u = np.clip(u, 0.0, 1.0)
    s = overshoot
    v = u - 1.0
    return 1.0 + (s + 1.0) * v ** 3 + s * v ** 2


def ease_in_out_back(u: np.ndarray, overshoot: float = 0.6) -> np.ndarray:
    """Anticipation (a small pull back) at the start and overshoot at the end."""
    u = np.clip(u, 0.0, 1.0)
    s = overshoot * 1.525
    lo = (2 * u) ** 2 * ((s + 1) * 2 * u - s) / 2
    hi = ((2 * u - 2) ** 2 * ((s + 1) * (2 * u - 2) + s) + 2) / 2
    return np.where(u < 0.5, lo, hi)


EASINGS: dict[str, Easing] = {
    "linear": linear, "smoothstep": smoothstep, "smootherstep": smootherstep,
    "sine": ease_in_out_sine, "out": ease_out, "in": ease_in, "back": ease_out_back,
    "in_out_back": ease_in_out_back,
}


def ramp(t: np.ndarray, start: float, duration: float, easing: str = "smootherstep") -> np.ndarray:
    """0 before `start`, eased to 1 over `duration` seconds, 1 afterwards."""
    return EASINGS[easing]((np.asarray(t) - start) / max(duration, 1e-6))


def envelope(t: np.ndarray, start: float, rise: float, end: float, fall: float,
             easing: str = "smootherstep") -> np.ndarray:
    """Eased 0 -> 1 from `start` over `rise` s, held, then 1 -> 0 ending at `end` (over `fall` s)."""
    return ramp(t, start, rise, easing) * (1.0 - ramp(t, end - fall, fall, easing))


def keyframes(t: np.ndarray, times: Sequence[float], values: np.ndarray,
              easings: Sequence[str] | str = "smootherstep") -> np.ndarray:
    """Piecewise eased interpolation of keyed values.

    t: (T,) or (T, J) times (a per-joint time lets a joint lag behind its parent: follow-through).
    times: (K,) increasing key times; values: (K, J, ...) or (K, ...) keyed values.
    easings: one name per segment (K-1) or one for all. Returns (T, *values.shape[1:]).
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    n_keys = len(times)
    if n_keys == 1:
        return np.broadcast_to(values[0], np.shape(t)[:1] + values.shape[1:]).copy()
    if isinstance(easings, str):
        easings = [easings] * (n_keys - 1)
    t = np.asarray(t, dtype=np.float64)
    seg = np.clip(np.searchsorted(times, t, side="right") - 1, 0, n_keys - 2)
    span = np.maximum(times[seg + 1] - times[seg], 1e-6)
    u = np.clip((t - times[seg]) / span, 0.0, 1.0)
    eased = np.empty_like(u)
    for name in set(easings):
        mask = np.isin(seg, [i for i, e in enumerate(easings) if e == name])
        eased[mask] = EASINGS[name](u[mask])
    if t.ndim == 1:
        a, b = values[seg], values[seg + 1]
    else:  # per-joint times: values (K, J, ...), seg (T, J)
        joints = np.arange(t.shape[1])[None, :]
        a, b = values[seg, joints], values[seg + 1, joints]
    eased = eased.reshape(eased.shape + (1,) * (a.ndim - eased.ndim))
    return a + eased * (b - a)


def oscillation(t: np.ndarray, start: float, end: float, cycles: float, phase: float = 0.0,
                fade: float = 0.15) -> np.ndarray:
    """`cycles` full sine periods between `start` and `end`, faded in and out over `fade` s."""
    t = np.asarray(t, dtype=np.float64)
    u = np.clip((t - start) / max(end - start, 1e-6), 0.0, 1.0)
    wave = np.sin(2.0 * np.pi * cycles * u + phase)
    window = envelope(t, start, fade, end, fade, "smoothstep")
    return wave * window


def pulses(t: np.ndarray, onsets: Sequence[float], attack: float, release: float,
           easing_attack: str = "out", easing_release: str = "smoothstep",
           hold: float = 0.0) -> np.ndarray:
    """Bumps 0 -> 1 (held `hold` s) -> 0 at each onset: a quick attack and a slower release
    (beats, claps, taps); overlapping bumps merge by maximum."""
    t = np.asarray(t, dtype=np.float64)
    out = np.zeros_like(t)
    for onset in onsets:
        rise = ramp(t, onset, attack, easing_attack)
        fall = ramp(t, onset + attack + hold, release, easing_release)
        out = np.maximum(out, rise * (1.0 - fall))
    return out


def smooth_noise(t: np.ndarray, rng: np.random.Generator, frequency: float,
                 components: int = 3) -> np.ndarray:
    """Band-limited noise in about [-1, 1]: a few sines near `frequency` with random phases.

    Cheap and smooth, used for idle micro-motion that should never look like a fixed loop.
    """
    t = np.asarray(t, dtype=np.float64)
    freqs = frequency * rng.uniform(0.6, 1.5, components)
    phases = rng.uniform(0.0, 2.0 * np.pi, components)
    weights = rng.uniform(0.5, 1.0, components)
    out = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(0)
    return out / weights.sum()


def delayed(values: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """The signal shifted later by `seconds` (first value held), along axis 0."""
    shift = seconds * fps
    if abs(shift) < 1e-6:
        return values.copy()
    n = values.shape[0]
    src = np.clip(np.arange(n) - shift, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo).reshape((n,) + (1,) * (values.ndim - 1))
    return values[lo] * (1 - w) + values[hi] * w
