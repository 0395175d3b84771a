"""Per-frame mouth parameters from speech: the one interface the renderers and the poses read.

Speech becomes timed phones (force-aligned to a transcript, or recognised), or, for speech the
English models cannot read, visemes estimated from the spectrum. Each phone maps to a viseme (a
target mouth shape); the targets are blended with dominance functions (Cohen & Massaro's
coarticulation model): every segment pulls each mouth parameter towards its target with a weight
that peaks over the segment and decays before it (anticipation) and after it (release), so
shapes flow into each other instead of switching, and the articulators that matter for a sound
(the lips for m/b/p, the lower lip for f/v, rounding for oo/w) dominate their neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from pipeline.render.audio_drive import band_energy_db, mouth_openness

if TYPE_CHECKING:
    from pipeline.audio.io import AudioClip

PARAMS = ("jaw", "width", "rounding", "upper_lip", "lower_lip", "lip_closure")
RATE = 100.0
"""Internal rate of the blended curves (10 ms, the phone timing resolution)."""


@dataclass
class MouthTrack:
    """Per-video-frame mouth parameters; all arrays (N,) float32."""

    fps: float
    jaw: np.ndarray
    """jaw opening 0 (closed) .. 1 (widest speech opening)"""
    width: np.ndarray
    """lip corner spread: -1 narrow/rounded .. 0 neutral .. +1 wide (ee)"""
    rounding: np.ndarray
    """lip rounding/protrusion 0 .. 1 (oo, o, w)"""
    upper_lip: np.ndarray
    """upper lip raise 0 .. 1 (shows upper teeth: f/v, ee)"""
    lower_lip: np.ndarray
    """lower lip tuck 0 .. 1 (lower lip to upper teeth: f/v)"""
    lip_closure: np.ndarray
    """0 .. 1, 1 = lips pressed shut (m/b/p), even if jaw > 0"""
    source: str
    """"aligned" | "recognised" | "spectral" | "silent\""""
    words: list[tuple[str, float, float]] = field(default_factory=list)
    """(word, start_s, end_s), empty when unknown"""
    phones: list[tuple[str, float, float]] = field(default_factory=list)
    """(ARPAbet phone, start_s, end_s), empty when unknown"""
    visemes: list[tuple[str, float, float]] = field(default_factory=list)
    """(viseme name, start_s, end_s)"""
    message: str = ""
    """Why this source was used (e.g. the transcript could not be aligned), for the user."""

    @property
    def num_frames(self) -> int:
        return int(len(self.jaw))

    def resampled(self, fps: float, num_frames: int) -> "MouthTrack":
        """The same track at another frame rate / length (linear; closure keeps its peaks by
        taking the max of the two neighbouring source frames)."""
        if abs(fps - self.fps) < 1e-6 and num_frames == self.num_frames:
            return self
        t = np.arange(num_frames) / fps * self.fps
        src = np.arange(self.num_frames)

        def interp(a: np.ndarray) -> np.ndarray:
            return np.interp(t, src, a, right=0.0).astype(np.float32) if len(a) else np.zeros(num_frames, np.float32)

        lo = np.clip(np.floor(t).astype(int), 0, max(self.num_frames - 1, 0))
        hi = np.clip(lo + 1, 0, max(self.num_frames - 1, 0))
        closure = (np.maximum(self.lip_closure[lo], self.lip_closure[hi]) * (t <= self.num_frames)
                   if self.num_frames else np.zeros(num_frames))
        return MouthTrack(float(fps), interp(self.jaw), interp(self.width), interp(self.rounding),
                          interp(self.upper_lip), interp(self.lower_lip), closure.astype(np.float32), self.source,
                          list(self.words), list(self.phones), list(self.visemes), self.message)

    def params(self) -> np.ndarray:
        """(N, 6) array of the parameters in :data:`PARAMS` order."""
        return np.stack([getattr(self, p) for p in PARAMS], axis=1)


@dataclass(frozen=True)
class Viseme:
    """A target mouth shape and how strongly it holds each parameter against its neighbours."""

    target: tuple[float, float, float, float, float, float]
    """jaw, width, rounding, upper_lip, lower_lip, lip_closure"""
    dominance: tuple[float, float, float, float, float, float]
    anticipation_s: float = 0.08
    release_s: float = 0.06


# Dominance: 1 = an ordinary say; >1 = this sound needs that articulator (the lips must close on
# m/b/p whatever the vowel around it); <1 = the sound does not care, neighbours show through.
VISEMES: dict[str, Viseme] = {
    "rest": Viseme((0.0, 0.0, 0.0, 0.0, 0.0, 0.0), (0.6, 0.6, 0.6, 0.6, 0.6, 0.6), 0.10, 0.12),
    "MBP": Viseme((0.12, 0.0, 0.1, 0.0, 0.0, 1.0), (2.0, 0.6, 1.0, 3.0, 3.0, 3.0), 0.06, 0.04),
    "FV": Viseme((0.15, 0.15, 0.0, 0.45, 1.0, 0.0), (1.5, 0.5, 2.0, 3.0, 6.0, 3.0), 0.06, 0.04),
    "TH": Viseme((0.22, 0.15, 0.0, 0.3, 0.25, 0.0), (1.2, 0.5, 1.0, 1.5, 2.0, 1.0), 0.05, 0.04),
    "S": Viseme((0.10, 0.35, 0.0, 0.35, 0.1, 0.0), (1.5, 0.8, 0.6, 1.0, 1.0, 1.0), 0.05, 0.04),
    "SH": Viseme((0.18, -0.45, 0.6, 0.35, 0.1, 0.0), (1.2, 1.5, 2.0, 1.0, 1.0, 1.0), 0.10, 0.06),
    "TDN": Viseme((0.28, 0.15, 0.0, 0.1, 0.0, 0.0), (0.6, 0.3, 0.3, 0.3, 0.3, 1.0), 0.05, 0.04),
    "KG": Viseme((0.38, 0.05, 0.0, 0.05, 0.0, 0.0), (0.6, 0.3, 0.3, 0.3, 0.3, 1.0), 0.05, 0.04),
    "R": Viseme((0.3, -0.35, 0.5, 0.15, 0.0, 0.0), (0.8, 1.0, 1.2, 0.5, 0.5, 0.5), 0.08, 0.06),
    "AA": Viseme((1.0, 0.2, 0.0, 0.25, 0.0, 0.0), (1.0, 0.8, 1.0, 0.8, 0.8, 0.5), 0.08, 0.06),
    "EH": Viseme((0.6, 0.45, 0.0, 0.3, 0.0, 0.0), (1.0, 0.8, 1.0, 0.8, 0.8, 0.5), 0.08, 0.06),
    "IY": Viseme((0.3, 1.0, 0.0, 0.45, 0.0, 0.0), (1.0, 2.0, 1.5, 1.0, 0.8, 0.5), 0.08, 0.06),
    "OW": Viseme((0.6, -0.6, 0.75, 0.15, 0.0, 0.0), (1.0, 1.5, 1.5, 0.8, 0.8, 0.5), 0.12, 0.08),
    "UW": Viseme((0.25, -1.0, 1.0, 0.1, 0.0, 0.0), (1.0, 2.0, 2.0, 0.8, 0.8, 0.5), 0.15, 0.08),
}

PHONE_VISEMES: dict[str, tuple[str, ...]] = {
    # bilabials and labiodentals
    "M": ("MBP",), "B": ("MBP",), "P": ("MBP",), "F": ("FV",), "V": ("FV",),
    # dentals, alveolars, postalveolars
    "TH": ("TH",), "DH": ("TH",), "S": ("S",), "Z": ("S",), "T": ("TDN",), "D": ("TDN",), "N": ("TDN",),
    "L": ("TDN",), "SH": ("SH",), "ZH": ("SH",), "CH": ("SH",), "JH": ("SH",),
    # velars, glottal, approximants
    "K": ("KG",), "G": ("KG",), "NG": ("KG",), "HH": ("KG",), "R": ("R",), "ER": ("R",), "W": ("UW",),
    "Y": ("IY",),
    # vowels (diphthongs glide between two shapes)
    "AA": ("AA",), "AE": ("AA",), "AH": ("EH",), "AO": ("OW",), "EH": ("EH",), "IH": ("IY",), "IY": ("IY",),
    "OW": ("OW", "UW"), "UH": ("UW",), "UW": ("UW",), "AY": ("AA", "IY"), "AW": ("AA", "UW"),
    "EY": ("EH", "IY"), "OY": ("OW", "IY"),
}


def phones_to_visemes(phones: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Viseme segments for timed phones; a diphthong's time is split 60/40 between its shapes."""
    out: list[tuple[str, float, float]] = []
    for phone, a, b in phones:
        shapes = PHONE_VISEMES.get(phone.upper().rstrip("012"), ("TDN",))
        if len(shapes) == 1:
            out.append((shapes[0], a, b))
        else:
            mid = a + 0.6 * (b - a)
            out.extend([(shapes[0], a, mid), (shapes[1], mid, b)])
    return out


def with_rests(segments: list[tuple[str, float, float]], duration_s: float,
               min_gap_s: float = 0.03) -> list[tuple[str, float, float]]:
    """The segments with 'rest' filling every gap (silences pull the mouth back to neutral)."""
    out: list[tuple[str, float, float]] = []
    t = 0.0
    for name, a, b in sorted(segments, key=lambda s: s[1]):
        if a - t >= min_gap_s:
            out.append(("rest", t, a))
        out.append((name, a, b))
        t = max(t, b)
    if duration_s - t >= min_gap_s:
        out.append(("rest", t, duration_s))
    return out


SPREAD = (1.0, 1.0, 1.0, 1.0, 0.5, 0.2)
"""Each parameter's anticipation and release, as a share of its viseme's: the jaw and the lip
spread and rounding are slow and coarticulate widely, but the lip contacts (the lower lip on the
teeth for f/v, the lips pressed for m/b/p) are quick gestures that start and end close to their
sound; a closure that spreads as far as the jaw does shuts the lips over the next vowel."""
MIN_PLATEAU_S = 0.03
"""A segment shorter than this still holds its shape over this long (centred), so short vowels
and stops reach their targets instead of being blended away by their neighbours."""


def blend(segments: list[tuple[str, float, float]], duration_s: float, rate: float = RATE,
          jaw_gains: list[float] | None = None) -> np.ndarray:
    """(T, 6) parameter curves at ``rate`` from viseme segments, by dominance-weighted blending.

    Each segment's dominance for parameter k is its ``dominance[k]`` over the segment and decays
    exponentially with the distance to it (``anticipation_s`` before, ``release_s`` after, times
    :data:`SPREAD`); the value at t is the dominance-weighted mean of the targets. ``jaw_gains``
    (one per segment) scale each segment's jaw target (its loudness: quiet syllables open less).
    """
    n = max(1, int(np.ceil(duration_s * rate)))
    t = (np.arange(n) + 0.5) / rate
    num = np.zeros((n, len(PARAMS)))
    den = np.full((n, len(PARAMS)), 1e-6)
    spread = np.asarray(SPREAD)[None, :]
    for k, (name, a, b) in enumerate(segments):
        v = VISEMES[name]
        if b - a < MIN_PLATEAU_S:
            c = 0.5 * (a + b)
            a, b = c - 0.5 * MIN_PLATEAU_S, c + 0.5 * MIN_PLATEAU_S
        lo, hi = int(max(0, (a - 0.5) * rate)), int(min(n, (b + 0.5) * rate + 1))
        tt = t[lo:hi, None]
        before = np.clip(a - tt, 0, None) / (v.anticipation_s * spread)
        after = np.clip(tt - b, 0, None) / (v.release_s * spread)
        w = np.exp(-(before + after) ** 1.5) * np.asarray(v.dominance)[None, :]
        target = np.asarray(v.target, dtype=np.float64)
        if jaw_gains is not None:
            target = target.copy()
            target[0] *= float(jaw_gains[k])
        num[lo:hi] += w * target[None, :]
        den[lo:hi] += w
    return (num / den).astype(np.float32)


CONTACTS = {"MBP": 5, "FV": 4}
"""Visemes whose lip contact (the parameter's index) must show on at least one video frame."""


def _to_frames(curves: np.ndarray, fps: float, num_frames: int, rate: float = RATE,
               segments: list[tuple[str, float, float]] | None = None) -> np.ndarray:
    """Sample curves at video frames: the mean over each frame's span; and for every m/b/p (f/v)
    segment the frame nearest its middle holds the segment's peak closure (lip tuck), so that a
    40 ms m/b/p between two frames still closes the lips on one of them without the closure
    spilling onto the frames of the vowels around it."""
    out = np.zeros((num_frames, curves.shape[1]), dtype=np.float32)
    n = len(curves)
    for i in range(num_frames):
        a = int(np.floor((i - 0.5) / fps * rate))
        b = int(np.ceil((i + 0.5) / fps * rate))
        a, b = min(max(a, 0), n - 1), min(max(b, a + 1), n)
        out[i] = curves[a:b].mean(axis=0)
    for name, a, b in segments or []:
        k = CONTACTS.get(name)
        if k is None or num_frames == 0:
            continue
        i = int(np.clip(round(0.5 * (a + b) * fps), 0, num_frames - 1))
        lo, hi = int(max(0, np.floor(a * rate))), int(min(n, max(np.ceil(b * rate), np.floor(a * rate) + 1)))
        if hi > lo:
            out[i, k] = max(out[i, k], float(curves[lo:hi, k].max()))
    return out


def speech_level(samples: np.ndarray, sample_rate: int, rate: float = RATE, num: int | None = None,
                 range_db: float = 30.0) -> np.ndarray:
    """Loudness per 1/rate s in [0, 1]: speech-band dB over the ``range_db`` below the loud level
    (95th percentile), 0 at and under the silence floor (-55 dBFS)."""
    n = num if num is not None else int(np.ceil(len(samples) * rate / sample_rate))
    db = band_energy_db(samples, sample_rate, rate, n)
    loud = db[db > -55.0]
    if loud.size == 0:
        return np.zeros(n, np.float32)
    ref = float(np.percentile(loud, 95))
    floor = max(ref - range_db, -55.0)
    return np.clip((db - floor) / max(ref - floor, 1e-3), 0, 1).astype(np.float32)


LOUDNESS_FLOOR = 0.3
"""A segment's jaw target is scaled by LOUDNESS_FLOOR + (1 - LOUDNESS_FLOOR) * its loudness (the
75th percentile of :func:`speech_level` over it): stressed, loud syllables open fully, quiet and
unstressed ones less, as speakers do (jaw opening and vocal effort go together)."""


def segment_gains(segments: list[tuple[str, float, float]], level: np.ndarray, rate: float = RATE) -> list[float]:
    """One jaw gain per segment from its loudness (``level`` at ``rate``), see :data:`LOUDNESS_FLOOR`."""
    out = []
    for _, a, b in segments:
        lo = int(np.clip(np.floor(a * rate), 0, max(len(level) - 1, 0)))
        hi = int(np.clip(np.ceil(b * rate), lo + 1, len(level)))
        g = float(np.percentile(level[lo:hi], 75)) if len(level) and hi > lo else 0.0
        out.append(LOUDNESS_FLOOR + (1.0 - LOUDNESS_FLOOR) * g)
    return out


ENERGY_SHARE = {"aligned": 0.55, "recognised": 0.65, "spectral": 0.7}
"""How much of the jaw opening follows the loudness directly (the rest is the viseme's target,
scaled by its segment's loudness): the less sure the phones, the more the loudness leads. Even
aligned phones give the loudness more than half: how far a speaker opens the jaw on a vowel goes
with vocal effort more than with the vowel's identity (which the lip width and rounding carry), so
a jaw led by the viseme targets alone opens "a" in a murmur as wide as "a" in a shout. Measured on
the lip-sync benchmark's 21 renders: r(opening, energy) 0.781 with shares 0.35/0.45, 0.809 with
these, the opening's r with the viseme track unchanged (0.891 / 0.895)."""
CLOSURE_JAW = 0.5
"""Share of the jaw taken back where the lips press (the renderers lift the jaw further)."""


def _track_from_curves(frames: np.ndarray, opening: np.ndarray, fps: float, strength: float,
                       source: str, words, phones, visemes, message: str) -> MouthTrack:
    s = float(max(strength, 0.0))
    share = ENERGY_SHARE.get(source, 0.5)
    jaw = (1.0 - share) * frames[:, 0] + share * opening
    jaw = jaw * (1.0 - CLOSURE_JAW * frames[:, 5])  # pressed lips hold the jaw nearly shut
    closure = np.clip(frames[:, 5] * min(1.0, 2.0 * s), 0, 1)
    return MouthTrack(
        fps=float(fps),
        jaw=np.clip(jaw * s, 0, 1).astype(np.float32),
        width=np.clip(frames[:, 1] * s, -1, 1).astype(np.float32),
        rounding=np.clip(frames[:, 2] * s, 0, 1).astype(np.float32),
        upper_lip=np.clip(frames[:, 3] * s, 0, 1).astype(np.float32),
        lower_lip=np.clip(frames[:, 4] * s, 0, 1).astype(np.float32),
        lip_closure=closure.astype(np.float32),
        source=source, words=list(words), phones=list(phones), visemes=list(visemes), message=message)


def silent_track(fps: float, num_frames: int, message: str = "") -> MouthTrack:
    """A closed, neutral mouth (no audio, or silent audio)."""
    z = np.zeros(max(num_frames, 0), dtype=np.float32)
    return MouthTrack(fps, z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), "silent", message=message)


CLOSURE_DIP = 0.65
"""A lip closure blocks the mouth: over a bilabial the loudness falls below this share of its
loudest in the 0.1 s around it (stops go silent; a nasal m murmurs some 15 dB down)."""


def closures_heard(visemes: list[tuple[str, float, float]], level: np.ndarray,
                   rate: float = RATE) -> list[tuple[str, float, float]]:
    """The segments with every m/b/p the loudness does not dip for made a plain consonant (TDN).

    Recognised phones are often wrong (the phone loop's error rate is about 0.7, more on other
    languages); a closure put on a loud vowel shuts the lips mid-syllable, so recognised
    closures must also be heard. Aligned phones are trusted as they are.
    """
    out = []
    for name, a, b in visemes:
        if name == "MBP" and len(level):
            lo = int(np.clip(np.floor(a * rate), 0, len(level) - 1))
            hi = int(np.clip(np.ceil(b * rate), lo + 1, len(level)))
            context = level[max(0, lo - 10):hi + 10]
            if float(level[lo:hi].min()) > CLOSURE_DIP * max(float(context.max()), 1e-3):
                name = "TDN"
        out.append((name, a, b))
    return out


def is_english(language: str | None) -> bool:
    """None / '' / 'auto' / 'en', 'en-US', 'english' -> True: the phone models are English."""
    if not language:
        return True
    lang = language.strip().lower()
    return lang in ("auto", "english") or lang == "en" or lang.startswith(("en-", "en_"))


def _is_cjk(text: str) -> bool:
    """Whether most of the letters of ``text`` are CJK ideographs or kana."""
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if "\u3040" <= c <= "\u30ff" or "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff")
    return bool(letters) and cjk >= 0.5 * len(letters)


def timed_units(audio: "AudioClip", transcript: str | None, language: str | None):
    """(source, words, phones, visemes, message): aligned if the transcript fits, else recognised,
    else spectral; the message says what fell back and why."""
    from pipeline.speech.phonemes import AlignmentError, align, recognise
    from pipeline.speech.spectral import spectral_visemes

    notes: list[str] = []
    if is_english(language) and transcript and _is_cjk(transcript):
        # a Chinese or Japanese transcript says the speech is not English (the English dictionary
        # cannot align it, and English phones recognised in it would shut the lips at random)
        language = "zh"
        notes.append("the transcript is Chinese or Japanese, so the speech is not taken as English")
    if is_english(language):
        if transcript and transcript.strip():
            try:
                res = align(audio.samples, audio.sample_rate, transcript)
            except AlignmentError as exc:
                notes.append(f"transcript not used: {exc}; recognising the speech instead")
            else:
                if res.reliable:
                    note = f"transcript aligned ({res.message})" if res.message else "transcript aligned"
                    return "aligned", res.words, res.phones, phones_to_visemes(res.phones), note
                notes.append(f"transcript not used: {res.message}; recognising the speech instead")
        res = recognise(audio.samples, audio.sample_rate)
        if res.reliable:
            notes.append("phones recognised (no transcript)" if not notes else "phones recognised")
            return "recognised", [], res.phones, phones_to_visemes(res.phones), "; ".join(notes)
        notes.append(f"phone recognition unusable ({res.message}); mouth shapes estimated from the spectrum")
    else:
        notes.append(f"language {language!r}: the phone models are English, mouth shapes estimated from the spectrum")
        if transcript and transcript.strip():
            notes.append("the transcript is shown but not aligned")
    segments, _ = spectral_visemes(audio.samples, audio.sample_rate)
    return "spectral", [], [], segments, "; ".join(notes)


def mouth_track(audio: "AudioClip | None", fps: float, num_frames: int, transcript: str | None = None,
                strength: float = 1.0, language: str | None = None) -> MouthTrack:
    """Mouth parameters per video frame for ``audio``.

    ``transcript`` (optional) is force-aligned when it fits the audio; ``language`` other than
    English skips the English phone models; ``strength`` scales the articulation (1 = natural).
    ``source`` and ``message`` on the result say which estimate was used and why.
    """
    if audio is None or audio.num_samples == 0 or num_frames <= 0:
        return silent_track(fps, num_frames, "no audio")
    energy = mouth_openness(audio.samples, audio.sample_rate, fps, num_frames)  # the loudness follower
    if not np.any(energy > 0):
        return silent_track(fps, num_frames, "the audio is silent")
    source, words, phones, visemes, message = timed_units(audio, transcript, language)
    visemes = [v for v in visemes if v[2] > v[1]]
    duration = max(audio.duration_s, num_frames / fps)
    level = speech_level(audio.samples, audio.sample_rate, RATE, int(np.ceil(duration * RATE)))
    if source == "recognised":
        visemes = closures_heard(visemes, level)
    segments = with_rests(visemes, audio.duration_s)
    gains = segment_gains(segments, level)
    curves = blend(segments, duration, jaw_gains=gains)
    frames = _to_frames(curves, fps, num_frames, segments=segments)
    return _track_from_curves(frames, energy, fps, strength, source, words, phones, visemes, message)
