"""Timed words and phonemes from English speech, offline, with pocketsphinx's bundled models.

Two ways in: when the transcript is known it is force-aligned to the audio (word and phone
timings, far more accurate than recognition); otherwise a phone loop recognises the phones.
Both report a reliability verdict, so the caller can fall back to the spectral estimate when the
transcript does not match the audio or the speech is not English.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.render.audio_drive import band_energy_db

FRAME_RATE = 100
"""pocketsphinx analyses 10 ms frames."""

SILENCES = frozenset({"SIL", "<sil>", "<s>", "</s>", "+NSN+", "+SPN+", "+BREATH+", "+COUGH+", "+NOISE+"})

ALIGN_SPEECH_IN_SILENCE_MAX = 0.35
"""An alignment that leaves more than this share of the loud frames in silence has skipped
speech (the transcript is missing words)."""
ALIGN_SCORE_SURE, ALIGN_SCORE_MIN = -30.0, -40.0
"""Mean acoustic score per word frame (pocketsphinx log units). It depends on the voice as much
as on the words: natural speech of a matching transcript scores about -15 .. -25, synthetic
voices -16 .. -35 with the right words and -34 .. -60 with wrong ones. At or above
ALIGN_SCORE_SURE the transcript is taken; below ALIGN_SCORE_MIN it is not; between them (and
when the phone pass gave no score) the free phone loop's agreement decides."""
ALIGN_AGREEMENT_MIN = 0.2
"""Share of the 10 ms speech frames on which the aligned phone equals the free phone loop's own
recognition of the same audio, at ALIGN_SCORE_SURE (or with no score); the share asked for rises
by ALIGN_AGREEMENT_SLOPE per score unit below it. The phone loop knows nothing of the
transcript: a matching one agrees on 0.2 .. 0.75 of the frames, a different sentence forced onto
the audio on 0.0 .. 0.2. Agreement alone cannot judge (a short clip of a synthetic voice can
agree on none of its frames with the right words), so it is only asked where the score is
unsure."""
ALIGN_AGREEMENT_SLOPE = 0.02
ALIGN_AGREEMENT_MIN_FRAMES = 30
"""Fewer frames labelled by both than this (0.3 s) and the agreement is not judged."""
ALIGN_ATTEMPTS = ((0.0, False), (0.5, False), (0.0, True), (0.5, True), (1.0, True))
"""(trailing silence in s, wide beams) tried in turn until every word is placed: the default
beams prune the only path on some recordings (loud speech between digital silences), and the
last word sometimes needs room after it (see ``align``)."""
RECOGNISED_RATE_RANGE = (2.0, 25.0)
"""Plausible phones per second of speech for the phone loop; outside it the result is noise."""


class AlignmentError(ValueError):
    """The transcript cannot be aligned to the audio; the message says why."""


@dataclass
class TimedPhones:
    """Words and phones with times in seconds, from one source."""

    source: str
    """"aligned" | "recognised"."""
    words: list[tuple[str, float, float]] = field(default_factory=list)
    phones: list[tuple[str, float, float]] = field(default_factory=list)
    """ARPAbet phones without stress digits; silences left out."""
    reliable: bool = True
    message: str = ""
    score_per_frame: float = float("nan")
    """Mean acoustic score per 10 ms frame of the words or phones (pocketsphinx log units; NaN
    when unknown)."""
    agreement: float = float("nan")
    """Aligned only: share of frames whose phone the free phone loop recognises too (NaN when
    not asked for, or too few frames to judge; see ``ALIGN_AGREEMENT_MIN``)."""


def model_dir() -> Path:
    """The en-us model folder inside the pocketsphinx wheel."""
    import pocketsphinx

    return Path(os.path.dirname(pocketsphinx.__file__)) / "model" / "en-us"


def _pcm16(samples: np.ndarray) -> bytes:
    """16-bit PCM with a seeded dither of a few LSB: digital silence (exact zeros) otherwise
    breaks the decoder's log-energy features and the alignment fails."""
    x = np.asarray(samples, dtype=np.float32) * 32767.0
    x = x + np.random.default_rng(0).normal(0.0, 3.0, x.shape).astype(np.float32)
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, str]:
    """The CMU dictionary's first pronunciation of each word (for letter-to-sound checks)."""
    out: dict[str, str] = {}
    with open(model_dir() / "cmudict-en-us.dict", encoding="utf-8") as fh:
        for line in fh:
            word, _, phones = line.strip().partition(" ")
            if "(" not in word:
                out.setdefault(word, phones)
    return out


# ----------------------------------------------------------------------------------------------
# transcript normalisation

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> list[str]:
    """English words for 0 <= n < 10**9 (enough for transcripts)."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    for size, name in ((10 ** 6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            return number_words(n // size) + [name] + (number_words(n % size) if n % size else [])
    return []


def transcript_words(text: str) -> list[str]:
    """Lower-case words of a transcript: punctuation dropped, digits spelled out, apostrophes kept."""
    words: list[str] = []
    for token in re.findall(r"[0-9]+|[a-zA-Z]+(?:'[a-zA-Z]+)*", text.replace("\u2019", "'")):
        if token.isdigit():
            words.extend(number_words(int(token)) if len(token) < 10 else [_ONES[int(c)] for c in token])
        else:
            words.append(token.lower())
    return words


_LETTER_RULES = [("tion", "SH AH N"), ("ough", "AO"), ("igh", "AY"), ("tch", "CH"), ("sch", "S K"),
                 ("ph", "F"), ("sh", "SH"), ("ch", "CH"), ("th", "TH"), ("wh", "W"), ("ck", "K"), ("ng", "NG"),
                 ("qu", "K W"), ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ow", "OW"),
                 ("ai", "EY"), ("ay", "EY"), ("oa", "OW"), ("oi", "OY"), ("oy", "OY"), ("au", "AO"), ("aw", "AO"),
                 ("a", "AE"), ("b", "B"), ("c", "K"), ("d", "D"), ("e", "EH"), ("f", "F"), ("g", "G"), ("h", "HH"),
                 ("i", "IH"), ("j", "JH"), ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("o", "AA"), ("p", "P"),
                 ("q", "K"), ("r", "R"), ("s", "S"), ("t", "T"), ("u", "AH"), ("v", "V"), ("w", "W"), ("x", "K S"),
                 ("y", "Y"), ("z", "Z")]


def guess_pronunciation(word: str) -> str:
    """A rough letter-to-sound guess for a word the dictionary lacks (names, coinages), so that it
    still aligns; mouth shapes need the consonant classes more than the exact vowels."""
    phones: list[str] = []
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) > 2 and w.endswith("e") and w[-2] not in "aeiou":
        w = w[:-1]  # silent final e
    i = 0
    while i < len(w):
        for letters, ph in _LETTER_RULES:
            if w.startswith(letters, i):
                if not (phones and phones[-1] == ph):  # doubled letters are one sound
                    phones.extend(ph.split())
                i += len(letters)
                break
        else:
            i += 1
    return " ".join(phones) or "AH"


def _base(name: str) -> str:
    """'for(2)' -> 'for'; 'AH1' -> 'AH'."""
    return re.sub(r"\(\d+\)$", "", name).rstrip("012")


# ----------------------------------------------------------------------------------------------
# decoding


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _speech_frames(samples: np.ndarray, sample_rate: int, n: int) -> np.ndarray:
    """Loud 10 ms frames (within 25 dB of the loud speech level)."""
    db = band_energy_db(samples, sample_rate, FRAME_RATE, n)
    loud = db[db > -55.0]
    if loud.size == 0:
        return np.zeros(n, dtype=bool)
    return db > max(float(np.percentile(loud, 95)) - 25.0, -55.0)


def align(samples: np.ndarray, sample_rate: int, transcript: str) -> TimedPhones:
    """Force-align ``transcript`` to 16 kHz ``samples``: word and phone timings in seconds.

    Raises :class:`AlignmentError` when there are no words or the decoder cannot fit them; an
    alignment that fits but looks wrong (speech left in silence, poor acoustic score) comes back
    with ``reliable=False`` and a message.
    """
    from pocketsphinx import Decoder

    if sample_rate != 16000:
        raise AlignmentError(f"alignment needs 16 kHz audio, got {sample_rate} Hz")
    words = transcript_words(transcript or "")
    if not words:
        raise AlignmentError("the transcript has no words to align")
    m = model_dir()
    known = _dictionary()
    guessed = [w for w in dict.fromkeys(words) if w not in known]
    decoders: dict[bool, object] = {}

    def decoder_for(wide: bool):
        if wide not in decoders:
            beams = {"beam": 1e-100, "wbeam": 1e-80, "pbeam": 1e-100} if wide else {}
            dec = Decoder(hmm=str(m / "en-us"), dict=str(m / "cmudict-en-us.dict"), loglevel="FATAL", **beams)
            for w in guessed:
                dec.add_word(w, guess_pronunciation(w), True)
            decoders[wide] = dec
        return decoders[wide]

    best, n, failure = None, 0, None
    for pad_s, wide in ALIGN_ATTEMPTS:
        decoder = decoder_for(wide)
        # pocketsphinx sometimes leaves the last word in the final silence, or gives up at the
        # last frame; more silence after the speech (times are unchanged: it goes at the end)
        # gives the aligner room to place it
        padded = np.concatenate([samples, np.zeros(int(pad_s * sample_rate), dtype=np.float32)])
        try:
            entries, frames = _align_once(decoder, _pcm16(padded), words)
        except AlignmentError as exc:
            failure = exc
            continue
        placed = sum(1 for e in entries if not _is_silence(e[0]))
        if best is None or placed > best[0]:
            best, n = (placed, entries), frames
        if placed >= len(words):
            break
    if best is None:
        raise failure or AlignmentError("the transcript could not be aligned to the audio")
    entries = best[1]
    out = TimedPhones("aligned")
    n_audio = int(np.ceil(len(samples) * FRAME_RATE / sample_rate))
    silent = np.zeros(max(n, n_audio), dtype=bool)
    score, word_frames = 0.0, 0
    for name, a, b, word_score, phones in entries:
        a, b = min(a, n_audio), min(b, n_audio)  # the padding is not audio
        phones = [(p, min(pa, n_audio), min(pb, n_audio)) for p, pa, pb in phones]
        if _is_silence(name):
            silent[a:b] = True
            continue
        if b <= a:
            continue
        out.words.append((_base(name), a / FRAME_RATE, b / FRAME_RATE))
        if np.isfinite(word_score):
            score += word_score
            word_frames += b - a
        out.phones.extend((_base(p), pa / FRAME_RATE, pb / FRAME_RATE) for p, pa, pb in phones
                         if p not in SILENCES and pb > pa)
    silent = silent[:n_audio]
    speech = _speech_frames(samples, sample_rate, n_audio)
    out.words, out.phones = _trim_to_sound(out.words, out.phones, _sound_frames(samples, sample_rate, n_audio))
    left_out = float((speech & silent).sum()) / max(int(speech.sum()), 1)
    per_frame = score / word_frames if word_frames else 0.0  # no scores: judged on coverage alone
    out.score_per_frame = per_frame if word_frames else float("nan")
    problems = []
    if len(out.words) < len(words):
        problems.append(f"{len(words) - len(out.words)} of the {len(words)} words could not be placed")
    if left_out > ALIGN_SPEECH_IN_SILENCE_MAX:
        problems.append(f"{left_out:.0%} of the speech is not covered by the transcript")
    if not _sounds_like_transcript(out, samples, sample_rate, n_audio, per_frame if word_frames else None):
        problems.append("the audio does not sound like the transcript")
    if problems:
        out.reliable = False
        out.message = "; ".join(problems)
    elif guessed:
        out.message = "pronunciation guessed for: " + ", ".join(guessed[:8]) + ("..." if len(guessed) > 8 else "")
    return out


def _sounds_like_transcript(aligned: "TimedPhones", samples: np.ndarray, sample_rate: int, n: int,
                            score: float | None) -> bool:
    """Whether the aligned phones are what the audio says: by the acoustic score where it is
    sure, else by the agreement with free phone recognition (see ``ALIGN_SCORE_SURE``)."""
    if score is not None and score >= ALIGN_SCORE_SURE:
        return True
    if score is not None and score < ALIGN_SCORE_MIN:
        return False
    aligned.agreement = phone_agreement(aligned.phones, recognise(samples, sample_rate).phones, n)
    if not np.isfinite(aligned.agreement):
        # too little speech to judge by: the score alone, at the unsure zone's middle
        return score is None or score >= 0.5 * (ALIGN_SCORE_SURE + ALIGN_SCORE_MIN)
    need = ALIGN_AGREEMENT_MIN + ALIGN_AGREEMENT_SLOPE * (ALIGN_SCORE_SURE - score if score is not None else 0.0)
    return aligned.agreement >= need


def phone_agreement(aligned: list, recognised: list, n: int) -> float:
    """Share of the 10 ms frames labelled by both phone lists on which they name the same phone
    (NaN when fewer than ``ALIGN_AGREEMENT_MIN_FRAMES`` are)."""
    a, r = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    names: dict[str, int] = {}
    for labels, phones in ((a, aligned), (r, recognised)):
        for p, t0, t1 in phones:
            labels[int(round(t0 * FRAME_RATE)):int(round(t1 * FRAME_RATE))] = names.setdefault(p, len(names))
    both = (a >= 0) & (r >= 0)
    if both.sum() < ALIGN_AGREEMENT_MIN_FRAMES:
        return float("nan")
    return float((a[both] == r[both]).mean())


def _sound_frames(samples: np.ndarray, sample_rate: int, n: int) -> np.ndarray:
    """10 ms frames with any sound (full band, within 45 dB of the loud level): lenient, so that
    quiet fricatives (s, f, th, h) count as sound."""
    hop = sample_rate // FRAME_RATE
    x = np.pad(np.asarray(samples, dtype=np.float32), (0, max(0, n * hop - len(samples))))[:n * hop]
    db = 10 * np.log10(np.mean(x.reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = db[db > -70]
    if loud.size == 0:
        return np.zeros(n, dtype=bool)
    return db > max(float(np.percentile(loud, 95)) - 45.0, -70.0)


def _trim_to_sound(words: list, phones: list, sound: np.ndarray, min_gap_s: float = 0.05) -> tuple[list, list]:
    """Word-level alignment lets a word swallow the pause before or after it (its first or last
    phone grows over the silence); move such word edges, and their phones, to where the sound
    starts and stops."""
    def frame(t: float) -> int:
        return int(round(t * FRAME_RATE))

    new_words, new_phones = [], list(phones)
    for w, a, b in words:
        fa, fb = frame(a), frame(b)
        quiet = ~sound[fa:fb]
        na, nb = a, b
        # silent runs: at an edge (>= min_gap_s), or inside (>= 2 min_gap_s, after a blip of the
        # neighbouring word's tail) in the first / second half of the word
        k = 0
        while k < len(quiet):
            if not quiet[k]:
                k += 1
                continue
            j = k
            while j < len(quiet) and quiet[j]:
                j += 1
            length = (j - k) / FRAME_RATE
            edge = k == 0 or j == len(quiet)
            if length >= (min_gap_s if edge else 2 * min_gap_s) and j < len(quiet) and (k + j) / 2 < len(quiet) / 2:
                na = a + j / FRAME_RATE
            elif length >= (min_gap_s if edge else 2 * min_gap_s) and k > 0 and (k + j) / 2 >= len(quiet) / 2:
                nb = min(nb, a + k / FRAME_RATE)
            k = j
        if nb - na < 0.03:
            na, nb = a, b
        for k, (p, pa, pb) in enumerate(new_phones):
            if pa >= a - 1e-6 and pb <= b + 1e-6:
                pa2, pb2 = max(pa, na), min(pb, nb)
                if pb2 - pa2 < 0.01:  # a phone wholly in the silence keeps 10 ms at the edge
                    pa2, pb2 = (na, na + 0.01) if pb <= na + 1e-6 else (nb - 0.01, nb)
                new_phones[k] = (p, round(pa2, 2), round(pb2, 2))
        new_words.append((w, round(na, 2), round(nb, 2)))
    return new_words, new_phones


def _is_silence(name: str) -> bool:
    return name.startswith("<") or name in SILENCES


def _align_once(decoder, pcm: bytes, words: list[str]) -> tuple[list, int]:
    """One word pass and one phone pass of alignment: [(name, start, end, score, [(phone, start,
    end)])] in frames, and the number of frames. Raises AlignmentError when the decoder gives up.

    When only the phone pass fails (its state alignment has no beam to widen), the words keep
    their times and each word's dictionary phones share its duration evenly; their score is NaN.
    """
    try:
        decoder.set_align_text(" ".join(words))
        _decode(decoder, pcm)
        if decoder.hyp() is None:
            raise AlignmentError("the transcript's words could not be fitted to the audio")
        segments = [(s.word, int(s.start_frame), int(s.end_frame) + 1) for s in decoder.seg()]
    except RuntimeError as exc:
        raise AlignmentError(f"the transcript could not be aligned to the audio ({exc})") from exc
    n = int(decoder.n_frames())
    try:
        decoder.set_alignment()
        _decode(decoder, pcm)
        alignment = decoder.get_alignment()
    except RuntimeError:
        alignment = None
    if alignment is None:
        return [_even_phones(decoder, name, a, b) for name, a, b in segments], n
    entries = []
    for w in alignment:
        a, b = int(w.start), int(w.start + w.duration)
        phones = [(p.name, int(p.start), int(p.start + p.duration)) for p in w]
        entries.append((w.name, a, b, float(w.score), phones))
    return entries, n


def _even_phones(decoder, name: str, a: int, b: int) -> tuple:
    if _is_silence(name):
        return (name, a, b, float("nan"), [])
    phones = (decoder.lookup_word(name) or "").split()
    edges = np.linspace(a, b, len(phones) + 1).round().astype(int) if phones else []
    return (name, a, b, float("nan"), [(p, int(edges[i]), int(edges[i + 1])) for i, p in enumerate(phones)])


def recognise(samples: np.ndarray, sample_rate: int) -> TimedPhones:
    """Recognise English phones (no words) with the phone loop; ``reliable`` is False when the
    result is implausible (nothing recognised, or a phone rate no speech has)."""
    from pocketsphinx import Decoder

    if sample_rate != 16000:
        raise ValueError(f"recognition needs 16 kHz audio, got {sample_rate} Hz")
    m = model_dir()
    decoder = Decoder(hmm=str(m / "en-us"), allphone=str(m / "en-us-phone.lm.bin"), lw=2.0, beam=1e-20,
                      pbeam=1e-20, loglevel="FATAL")
    out = TimedPhones("recognised")
    try:
        _decode(decoder, _pcm16(samples))
        segments = list(decoder.seg())
    except RuntimeError as exc:
        out.reliable, out.message = False, f"phone recognition failed ({exc})"
        return out
    score, frames = 0.0, 0
    for s in segments:
        if s.word not in SILENCES:
            score += float(s.ascore)
            frames += int(s.end_frame) + 1 - int(s.start_frame)
            out.phones.append((_base(s.word), s.start_frame / FRAME_RATE, (s.end_frame + 1) / FRAME_RATE))
    out.score_per_frame = score / frames if frames else float("nan")
    n = decoder.n_frames()
    speech_s = float(_speech_frames(samples, sample_rate, n).sum()) / FRAME_RATE
    rate = len(out.phones) / max(speech_s, 1e-3)
    if not out.phones:
        out.reliable, out.message = False, "no phones were recognised"
    elif not (RECOGNISED_RATE_RANGE[0] <= rate <= RECOGNISED_RATE_RANGE[1]):
        out.reliable, out.message = False, f"implausible phone rate ({rate:.1f} per second of speech)"
    return out


def phone_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Levenshtein distance between phone sequences over the reference length."""
    if not reference:
        return math.inf if hypothesis else 0.0
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / len(reference)
