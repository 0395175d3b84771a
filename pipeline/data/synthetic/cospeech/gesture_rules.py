"""A rule-based co-speech motion model: speech prosody -> a gesture plan -> 22 joint positions.

    m = cospeech_motion(samples, AUDIO_SAMPLE_RATE, np.random.default_rng(0), style="animated")
    m.joints        # (ceil(duration * MOTION_FPS), 22, 3), frame i at time i / MOTION_FPS
    m.beat_times    # seconds of the stressed syllables the strokes land on

Stages:
1. Prosody (`analyse_prosody`, 100 Hz): RMS energy in dB, a band-limited (300-2500 Hz) syllable
   envelope whose peaks are syllable nuclei, onset strength (librosa.onset), a cheap pitch track
   (librosa.yin) for pitch accents, and speech activity; phrases are speech runs separated by
   pauses of at least PAUSE_MIN_SECONDS.
2. Plan (`plan_gestures`): beats are the most prominent syllables (energy prominence + onset +
   pitch accent) at a style-dependent minimum spacing; each beat is a stroke of one or both hands
   whose apex (the lowest point of the down-up stroke) is the motion frame nearest the syllable;
   amplitude follows loudness (absolute dBFS, so louder speech gives bigger gestures); hands rise
   into the gesture space before each phrase (preparation) and go back to rest (arms down or
   hands together) after it (retraction); the strongest beats get head nods; long phrases may get
   an open-palm or deictic gesture on one hand; the torso leans in and sways while talking.
3. Motion: the plan keys anatomical angles on the procedural toolkit's Pose (limits, easing,
   secondary motion, idle breathing/sway, leg IK with planted feet) over a "talking" base of slow
   weight shifts, and forward kinematics gives joint positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import binary_closing, binary_opening, gaussian_filter1d
from scipy.signal import find_peaks

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS
from pipeline.data.synthetic.procedural.easing import envelope, smooth_noise
from pipeline.data.synthetic.procedural.motion import REST_ANKLES, REST_ROOT, Motion, to_joints
from pipeline.data.synthetic.procedural.pose import ARM_JOINTS, NECK, PELVIS, SPINE, SPINE_WEIGHTS, Pose, toward
from pipeline.data.synthetic.procedural.secondary import apply_layers

ANALYSIS_RATE = 100
"""Prosody analysis frames per second (10 ms hop): beats are located to 10 ms, well inside a
motion frame (50 ms)."""

SNAP_BEFORE = int(0.2 * ANALYSIS_RATE)
SNAP_AFTER = int(0.03 * ANALYSIS_RATE)
"""Window (analysis frames) around a syllable nucleus in which its onset is looked for."""

PAUSE_MIN_SECONDS = 0.5
"""Silences at least this long are pauses: the phrase ends and the hands go back to rest."""

STYLES = ("calm", "animated")

STYLE_PARAMS = {
    #            gain  beat spacing  beat fraction  both hands  deictic prob  nod deg  lean deg
    "calm":     (0.75, 0.45, 0.60, 0.25, 0.35, 5.0, 2.0),
    "animated": (1.15, 0.30, 0.85, 0.50, 0.65, 8.0, 4.0),
}

REFERENCE_DB = -22.0
"""Speech RMS level (dBFS) that gives a gesture gain of 1; every 20 dB doubles/halves it."""


# ---------------------------------------------------------------------------------------------
# prosody

@dataclass
class Prosody:
    rate: int                    # analysis frames per second
    rms_db: np.ndarray           # (N,) RMS energy, dBFS
    envelope_db: np.ndarray      # (N,) smoothed 300-2500 Hz band energy, dB
    onset: np.ndarray            # (N,) onset strength, normalised to [0, 1]
    f0: np.ndarray               # (N,) Hz, NaN where unvoiced / silent
    active: np.ndarray           # (N,) bool speech activity
    peak_times: np.ndarray       # (P,) stressed-syllable beat times (the syllable's onset), s
    peak_strength: np.ndarray    # (P,) prominence score in [0, 1]
    peak_db: np.ndarray          # (P,) RMS dBFS at the peak
    phrases: list[tuple[float, float]]   # speech runs separated by pauses, s
    duration: float

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.rms_db)) / self.rate


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def analyse_prosody(samples: np.ndarray, sample_rate: int = AUDIO_SAMPLE_RATE) -> Prosody:
    """Prosodic analysis of mono speech (see the module docstring)."""
    import librosa

    y = np.asarray(samples, dtype=np.float32).reshape(-1)
    if sample_rate != AUDIO_SAMPLE_RATE:
        y = librosa.resample(y, orig_sr=sample_rate, target_sr=AUDIO_SAMPLE_RATE)
    sr = AUDIO_SAMPLE_RATE
    duration = len(y) / sr
    hop = sr // ANALYSIS_RATE
    n = int(math.ceil(len(y) / hop))
    if len(y) < 2 * hop:
        raise ValueError("audio too short for prosody analysis")

    rms = librosa.feature.rms(y=y, frame_length=4 * hop, hop_length=hop, center=True)[0][:n]
    rms_db = 20.0 * np.log10(rms + 1e-6)
    spec = np.abs(librosa.stft(y, n_fft=4 * hop, hop_length=hop, center=True))[:, :n] ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=4 * hop)
    band = spec[(freqs >= 300) & (freqs <= 2500)].sum(0)
    env_db = gaussian_filter1d(10.0 * np.log10(band + 1e-10), 2.0)
    onset_raw = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    onset_frames = librosa.onset.onset_detect(onset_envelope=onset_raw, sr=sr, hop_length=hop, backtrack=False)
    onset = onset_raw[:n] / max(float(onset_raw.max()), 1e-9)

    # speech activity: relative to the clip's loud level, with an absolute floor
    ref = float(np.percentile(rms_db, 95))
    active = rms_db > max(ref - 28.0, -60.0)
    active = binary_closing(active, np.ones(int(0.2 * ANALYSIS_RATE), bool))
    active = binary_opening(active, np.ones(int(0.06 * ANALYSIS_RATE), bool))

    f0 = np.full(n, np.nan)
    try:
        track = librosa.yin(y, fmin=65, fmax=420, sr=sr, frame_length=1024, hop_length=hop)
        track = track[:n]
        voiced = active[: len(track)] & (rms_db[: len(track)] > ref - 20.0)
        f0[: len(track)] = np.where(voiced, track, np.nan)
    except Exception:  # noqa: BLE001 - pitch is an optional cue
        pass

    # phrases: speech runs, merged across gaps shorter than a pause
    runs = [(s / ANALYSIS_RATE, e / ANALYSIS_RATE) for s, e in _runs(active)]
    phrases: list[tuple[float, float]] = []
    for s, e in runs:
        if phrases and s - phrases[-1][1] < PAUSE_MIN_SECONDS:
            phrases[-1] = (phrases[-1][0], e)
        else:
            phrases.append((s, e))
    phrases = [(s, e) for s, e in phrases if e - s >= 0.15]

    # syllable nuclei and their prominence
    idx, props = find_peaks(env_db, distance=int(0.12 * ANALYSIS_RATE), prominence=2.0)
    keep = active[idx] & (rms_db[idx] > ref - 20.0)
    idx, prom = idx[keep], props["prominences"][keep]
    if idx.size:
        on = np.array([onset[max(i - 8, 0): i + 1].max() for i in idx])
        pitch_acc = np.zeros(idx.size)
        if np.isfinite(f0).any():
            med = np.nanmedian(f0)
            local = np.array([np.nanmax(f0[max(i - 5, 0): i + 6])
                              if np.isfinite(f0[max(i - 5, 0): i + 6]).any() else np.nan
                              for i in idx])
            semis = 12.0 * np.log2(np.where(np.isfinite(local), local, med) / med)
            pitch_acc = np.clip(semis / 4.0, 0.0, 1.0)
        loud = np.clip((rms_db[idx] - (ref - 20.0)) / 20.0, 0.0, 1.0)
        score = (0.45 * np.clip(prom / 15.0, 0, 1) + 0.25 * on + 0.15 * pitch_acc + 0.15 * loud)
        strength = score / max(float(score.max()), 1e-9)
    else:
        strength = np.zeros(0)
    return Prosody(rate=ANALYSIS_RATE, rms_db=rms_db, envelope_db=env_db, onset=onset, f0=f0,
                   active=active, peak_times=_syllable_onsets(idx, onset_frames) / ANALYSIS_RATE,
                   peak_strength=strength,
                   peak_db=rms_db[idx] if idx.size else np.zeros(0), phrases=phrases,
                   duration=duration)


# ---------------------------------------------------------------------------------------------
# the plan

@dataclass
class Stroke:
    time: float            # the stressed syllable, s
    frame: int             # apex frame = round(time * fps)
    hands: tuple[str, ...]
    amplitude: float       # gain (1 = a normal beat)
    nod: float             # head nod degrees (0 = none)


@dataclass
class PhrasePlan:
    start: float
    end: float
    hands: tuple[str, ...]          # the hands raised into the gesture space
    ready: dict                     # side -> (abduction, flexion, twist, elbow)
    extra: dict | None = None       # an open-palm / deictic gesture: side, kind, start, end, pose


@dataclass
class GesturePlan:
    style: str
    dominant: str
    rest: str                       # "down" or "together"
    gain: float                     # loudness x style gain of the clip
    strokes: list[Stroke]
    phrases: list[PhrasePlan]


def _syllable_onsets(nuclei: np.ndarray, onset_frames: np.ndarray) -> np.ndarray:
    """Each nucleus moved to its syllable's acoustic onset (the latest onset up to 0.2 s before it,
    or just after it), where listeners place the beat (the p-centre) and a gesture stroke's apex
    lands; a nucleus with no onset nearby keeps its own time."""
    out = nuclei.astype(np.float64).copy()
    for k, i in enumerate(nuclei):
        near = onset_frames[(onset_frames >= i - SNAP_BEFORE) & (onset_frames <= i + SNAP_AFTER)]
        if near.size:
            out[k] = float(near.max())
    return out


def _loudness_gain(db: np.ndarray | float) -> np.ndarray:
    return np.clip(2.0 ** ((np.asarray(db, dtype=np.float64) - REFERENCE_DB) / 20.0), 0.25, 1.8)


def _select_beats(pro: Prosody, spacing: float, fraction: float) -> np.ndarray:
    """Indices of peaks that become beats: strongest first, at least `spacing` s apart, the top
    `fraction` of syllables (at least one per phrase that has any)."""
    order = np.argsort(-pro.peak_strength, kind="stable")
    n_keep = int(math.ceil(fraction * len(order)))
    chosen: list[int] = []
    for rank, i in enumerate(order):
        t = pro.peak_times[i]
        if any(abs(t - pro.peak_times[j]) < spacing for j in chosen):
            continue
        in_new_phrase = not any(_phrase_of(pro, pro.peak_times[j]) == _phrase_of(pro, t)
                                for j in chosen)
        if rank < n_keep or in_new_phrase:
            chosen.append(int(i))
    return np.array(sorted(chosen, key=lambda j: pro.peak_times[j]), dtype=int)


def _phrase_of(pro: Prosody, t: float) -> int:
    for k, (s, e) in enumerate(pro.phrases):
        if s - 0.05 <= t <= e + 0.05:
            return k
    return -1


def plan_gestures(pro: Prosody, rng: np.random.Generator, style: str | None = None,
                  fps: int = MOTION_FPS) -> GesturePlan:
    style = style if style is not None else str(rng.choice(STYLES))
    if style not in STYLE_PARAMS:
        raise ValueError(f"style must be one of {STYLES} or None, not {style!r}")
    style_gain, spacing, fraction, p_both, p_extra, nod_deg, _ = STYLE_PARAMS[style]
    dominant = "right" if rng.random() < 0.75 else "left"
    rest = "together" if rng.random() < 0.35 else "down"
    speech_db = pro.rms_db[pro.active] if pro.active.any() else pro.rms_db
    clip_db = float(np.percentile(speech_db, 75))
    gain = float(style_gain * _loudness_gain(clip_db))

    phrases: list[PhrasePlan] = []
    for s, e in pro.phrases:
        r = rng.random()
        if r < p_both:
            hands = ("left", "right")
        elif r < p_both + 0.15:
            hands = (("left", "right")[dominant == "left"],)   # the other hand, sometimes
        else:
            hands = (dominant,)
        lift = min(gain, 1.4)
        ready = {}
        for h in hands:
            ready[h] = (10.0 + 8.0 * rng.random() + 6.0 * lift,       # abduction
                        22.0 + 10.0 * rng.random() + 14.0 * lift,     # flexion: higher when loud
                        20.0 + 20.0 * rng.random(),                   # twist (palm inward)
                        70.0 + 15.0 * rng.random())                   # elbow
        extra = None
        if e - s > 2.5 and rng.random() < p_extra:
            side = hands[0] if len(hands) == 1 else str(rng.choice(hands))
            kind = "open_palm" if rng.random() < 0.65 else "deictic"
            length = rng.uniform(1.0, 1.6)
            t0 = rng.uniform(s + 0.3, max(s + 0.3, e - length - 0.2))
            if kind == "open_palm":
                pose = (0.0, 0.0, 60.0, 45.0 + 15.0 * rng.random())
                elev, azim = 38.0 + 14.0 * lift, 45.0 + 15.0 * rng.random()
            else:
                pose = (0.0, 0.0, 5.0, 10.0 + 10.0 * rng.random())
                elev, azim = 62.0 + 10.0 * lift, 70.0 + 15.0 * rng.random()
            ab, fl = elev * math.cos(math.radians(azim)), elev * math.sin(math.radians(azim))
            extra = {"side": side, "kind": kind, "start": float(t0), "end": float(t0 + length),
                     "pose": (ab, fl, pose[2], pose[3])}
        phrases.append(PhrasePlan(float(s), float(e), hands, ready, extra))

    beats = _select_beats(pro, spacing, fraction)
    strokes: list[Stroke] = []
    if beats.size:
        strength = pro.peak_strength[beats]
        nod_cut = np.quantile(strength, 0.7)
        for i, st in zip(beats, strength):
            t = float(pro.peak_times[i])
            k = _phrase_of(pro, t)
            if k < 0:
                continue
            plan = phrases[k]
            hands = plan.hands
            if plan.extra and plan.extra["start"] - 0.3 <= t <= plan.extra["end"] + 0.3:
                others = tuple(h for h in ("left", "right") if h != plan.extra["side"])
                hands = others
                if others[0] not in plan.ready:  # that hand was resting: it joins the phrase
                    plan.ready[others[0]] = next(iter(plan.ready.values()))
                    plan.hands = tuple(sorted(set(plan.hands) | set(others)))
            amp = float(style_gain * _loudness_gain(pro.peak_db[np.flatnonzero(beats == i)[0]])
                        * (0.6 + 0.4 * st))
            nod = float(nod_deg * (0.6 + 0.4 * st) * min(amp / style_gain, 1.5)) \
                if st >= nod_cut else 0.0
            strokes.append(Stroke(t, int(round(t * fps)), hands, amp, nod))
    return GesturePlan(style, dominant, rest, gain, strokes, phrases)


# ---------------------------------------------------------------------------------------------
# plan -> motion

STROKE_ATTACK = 0.07    # s, Gaussian width of the down-stroke before the apex
STROKE_RELEASE = 0.13   # s, width of the recovery after it
PREP_LIFT = 0.3         # the little lift (preparation) before each stroke, relative to the stroke
PREP_LEAD = 0.17        # s before the apex
STROKE_HOLD = 0.12      # s, the hand stops at the apex (centred on the beat) before recovering


def stroke_kernel(tau: np.ndarray) -> np.ndarray:
    """Down-stroke displacement (1 at the apex tau = 0, its maximum) with a small preparatory
    lift before it (negative values).

    The hand comes to a short stop centred on the beat: a beat gesture's emphasis is where the
    hand halts, and that halt is what velocity-based beat detection (and a viewer) sees. A bare
    Gaussian apex is a one-frame dip between the fast attack and release, lost to any smoothing.
    """
    tau = np.asarray(tau, dtype=np.float64)
    half_hold = STROKE_HOLD / 2
    shifted = np.sign(tau) * np.maximum(np.abs(tau) - half_hold, 0.0)
    width = np.where(tau < 0, STROKE_ATTACK, STROKE_RELEASE)
    down = np.exp(-0.5 * (shifted / width) ** 2)
    lift = PREP_LIFT * np.exp(-0.5 * ((tau + PREP_LEAD + half_hold) / 0.05) ** 2)
    return down - lift


def _stroke_track(t: np.ndarray, strokes: list[Stroke], side: str | None) -> np.ndarray:
    """Merged stroke signal of one hand (side) or of the head nods (side None): each stroke's
    down part merges by maximum so every apex stays exactly on its beat frame."""
    down = np.zeros_like(t)
    lift = np.zeros_like(t)
    for s in strokes:
        if side is None:
            if s.nod <= 0:
                continue
            a = s.nod
        else:
            if side not in s.hands:
                continue
            a = s.amplitude
        apex = s.frame / MOTION_FPS      # the apex sits exactly on a motion frame
        k = stroke_kernel(t - apex)
        down = np.maximum(down, a * np.clip(k, 0, None))
        lift = np.minimum(lift, a * np.clip(k, None, 0))
    return down + lift


def _engagement(t: np.ndarray, plan: GesturePlan, side: str, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, how far `side`'s hand is raised into the gesture space (0..1), and the ready
    pose channels (T, 4) it is raised to."""
    w = np.zeros_like(t)
    ready = np.zeros((len(t), 4))
    default = None
    for k, p in enumerate(plan.phrases):
        if side not in p.ready:
            continue
        # rest in every pause: preparation and retraction shrink to fit short pauses
        gap_before = p.start - plan.phrases[k - 1].end if k > 0 else np.inf
        gap_after = plan.phrases[k + 1].start - p.end if k + 1 < len(plan.phrases) else np.inf
        prep = min(rng.uniform(0.3, 0.45), 0.4 * gap_before)
        retract = min(rng.uniform(0.45, 0.7), 0.45 * gap_after)
        e = envelope(t, p.start - prep - 0.03, prep, p.end + 0.05 + retract, retract)
        take = e > w
        ready[take] = p.ready[side]
        w = np.maximum(w, e)
        default = p.ready[side] if default is None else default
    if default is not None:
        ready[w == 0] = default
    return w, ready


REST_TOGETHER = (-5.0, 15.0, -50.0, 58.0)
"""Arm channels for hands loosely together in front of the belly (abduction, flexion, twist,
elbow)."""


def motion_from_plan(plan: GesturePlan, n_frames: int, rng: np.random.Generator,
                     fps: int = MOTION_FPS) -> Motion:
    t = np.arange(n_frames) / fps
    motion = Motion(
        angles=np.broadcast_to(Pose().angles, (n_frames, 22, 3)).copy(),
        root=np.broadcast_to(REST_ROOT, (n_frames, 3)).copy(),
        ankles=np.broadcast_to(REST_ANKLES, (n_frames, 2, 3)).copy(),
        foot_yaw=np.zeros((n_frames, 2)), foot_pitch=np.zeros((n_frames, 2)), fps=fps)
    # a slightly open stance, toes a little out: the feet never move after this
    stance = rng.uniform(0.0, 0.04)
    motion.ankles[:, 0, 0] += stance
    motion.ankles[:, 1, 0] -= stance
    motion.foot_yaw[:, 0] += rng.uniform(3, 10)
    motion.foot_yaw[:, 1] -= rng.uniform(3, 10)
    a = motion.angles
    _, _, _, _, _, _, lean_deg = STYLE_PARAMS[plan.style]

    talking = np.zeros(n_frames)
    for side in ("left", "right"):
        arm = ARM_JOINTS[side]
        w, ready = _engagement(t, plan, side, rng)
        talking = np.maximum(talking, w)
        rest = np.array([4.0, 5.0, 0.0, 10.0]) if plan.rest == "down" else np.array(REST_TOGETHER)
        chan = rest[None] + w[:, None] * (ready - rest[None])
        beat = _stroke_track(t, plan.strokes, side)
        chan[:, 3] -= 24.0 * beat * w          # the forearm chops down on the beat
        chan[:, 1] -= 7.0 * beat * w           # with a little of the upper arm
        chan[:, 0] += 2.0 * beat * w
        for p in plan.phrases:                 # open-palm / deictic: blended over the arm
            x = p.extra
            if x is None or x["side"] != side:
                continue
            g = envelope(t, x["start"], 0.35, x["end"], 0.45)
            chan = chan + g[:, None] * (np.asarray(x["pose"])[None] - chan)
            a[:, NECK, 2] += toward(side) * 8.0 * g     # glance toward the gesture
        a[:, arm["shoulder"], 0] = chan[:, 0]
        a[:, arm["shoulder"], 1] = chan[:, 1]
        a[:, arm["shoulder"], 2] = chan[:, 2]
        a[:, arm["elbow"], 0] = chan[:, 3]

    # head: nods on the strongest beats, light bob with every beat, idle drift while talking
    nod = _stroke_track(t, plan.strokes, None)
    a[:, NECK, 0] += nod
    allbeats = np.zeros(n_frames)
    for s in plan.strokes:
        allbeats = np.maximum(allbeats, s.amplitude * np.clip(stroke_kernel(t - s.frame / fps), 0, None))
    a[:, NECK, 0] += 1.5 * allbeats
    a[:, NECK, 2] += 6.0 * talking * smooth_noise(t, rng, 0.25)
    a[:, NECK, 1] += 3.0 * talking * smooth_noise(t, rng, 0.2)

    # torso: lean in while talking, sway, turn toward the dominant hand; a slow weight shift
    spine = np.zeros((n_frames, 3))
    spine[:, 0] = lean_deg * talking + 1.0 * allbeats
    spine[:, 1] = 2.5 * talking * smooth_noise(t, rng, 0.2)
    spine[:, 2] = (3.0 * toward(plan.dominant) + 3.0 * smooth_noise(t, rng, 0.15)) * talking
    a[:, SPINE, :] += spine[:, None, :] * SPINE_WEIGHTS[None, :, None]
    period = rng.uniform(4.0, 8.0)
    shift = np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    shift_amp = rng.uniform(0.01, 0.03) * (1.0 + 0.5 * (plan.style == "animated"))
    motion.root[:, 0] += shift_amp * shift
    a[:, PELVIS, 1] -= 60.0 * shift_amp * shift     # the unloaded hip drops
    a[:, SPINE, 1] += (80.0 * shift_amp * shift)[:, None] * SPINE_WEIGHTS[None]

    return apply_layers(motion, rng, follow=0.6, idle=1.0)


# ---------------------------------------------------------------------------------------------
# entry point

@dataclass
class CoSpeechMotion:
    joints: np.ndarray           # (T, 22, 3) float32, frame i at time i / MOTION_FPS
    beat_times: np.ndarray       # (B,) s, stressed syllables with a stroke
    pause_mask: np.ndarray       # (T,) bool, frames inside pauses >= PAUSE_MIN_SECONDS
    params: dict = field(default_factory=dict)


def n_motion_frames(duration: float, fps: int = MOTION_FPS) -> int:
    """Frames covering `duration` seconds of audio: ceil(duration * fps)."""
    return max(int(math.ceil(duration * fps - 1e-9)), 1)


def pause_mask_from(pro: Prosody, n_frames: int, fps: int = MOTION_FPS) -> np.ndarray:
    t = np.arange(n_frames) / fps
    speaking = np.zeros(n_frames, bool)
    for s, e in pro.phrases:
        speaking |= (t >= s) & (t <= e)
    return ~speaking


def cospeech_motion(samples: np.ndarray, sample_rate: int, rng: np.random.Generator,
                    style: str | None = None, extra_frames: int = 0) -> CoSpeechMotion:
    """Rule-based co-speech motion for mono speech.

    Returns joints of ceil(duration * MOTION_FPS) + extra_frames frames (pairs.py asks for one
    extra so that the T-1 frame 263-d features still cover the audio), the beat times, the pause
    mask and the plan's parameters. style: "calm", "animated" or None (drawn from rng).
    """
    pro = analyse_prosody(samples, sample_rate)
    plan = plan_gestures(pro, rng, style)
    n = n_motion_frames(pro.duration) + int(extra_frames)
    motion = motion_from_plan(plan, n, rng)
    joints = to_joints(motion).astype(np.float32)
    params = {
        "style": plan.style, "dominant": plan.dominant, "rest": plan.rest,
        "gain": round(plan.gain, 4),
        "strokes": [{"time": s.time, "frame": s.frame, "hands": list(s.hands),
                     "amplitude": round(s.amplitude, 4), "nod": round(s.nod, 3)}
                    for s in plan.strokes],
        "phrases": [{"start": p.start, "end": p.end, "hands": list(p.hands),
                     "extra": None if p.extra is None else
                     {k: v for k, v in p.extra.items() if k != "pose"}} for p in plan.phrases],
    }
    return CoSpeechMotion(joints=joints, beat_times=np.array([s.time for s in plan.strokes]),
                          pause_mask=pause_mask_from(pro, n), params=params)
