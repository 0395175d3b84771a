"""pipeline.speech: alignment, recognition, the spectral fallback and the viseme track."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio.io import AudioClip, load_audio
from pipeline.speech import mouth_track
from pipeline.speech.brows import brow_raise
from pipeline.speech.phonemes import align, phone_agreement, phone_error_rate, recognise, transcript_words
from pipeline.speech.visemes import PHONE_VISEMES, VISEMES, closures_heard, phones_to_visemes

FPS = 25.0
JFK_TEXT = ("And so, my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng to synthesise speech")


def _speak(text: str, path: Path) -> AudioClip:
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    return load_audio(path)


def _speech_span(clip: AudioClip) -> tuple[float, float]:
    """Start and end (s) of the audible part: frames within 35 dB of the loudest."""
    x = clip.samples
    hop = 160
    n = len(x) // hop
    db = 10 * np.log10(np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    on = np.flatnonzero(db > db.max() - 35)
    return on[0] * hop / clip.sample_rate, (on[-1] + 1) * hop / clip.sample_rate


@pytest.fixture(scope="module")
def spoken_words(tmp_path_factory):
    """Words synthesised one by one and joined with 0.3 s pauses: their true times are known."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs Debian's espeak-ng to synthesise speech")
    words = ["please", "move", "the", "blue", "machine", "over", "there"]
    folder = tmp_path_factory.mktemp("words")
    pieces, truth, t = [], [], 0.0
    gap = np.zeros(int(0.3 * 16000), dtype=np.float32)
    for i, w in enumerate(words):
        clip = _speak(w, folder / f"{i}.wav")
        a, b = _speech_span(clip)
        piece = clip.samples[int(a * 16000):int(b * 16000)]
        pieces += [gap, piece]
        t += len(gap) / 16000
        truth.append((w, t, t + len(piece) / 16000))
        t += len(piece) / 16000
    pieces.append(gap)
    return AudioClip(np.concatenate(pieces)), words, truth


def test_transcript_words_normalise_punctuation_and_numbers():
    assert transcript_words("Hello, world! It's 42.") == ["hello", "world", "it's", "forty", "two"]
    assert transcript_words("  ...  ") == []


def test_alignment_puts_the_words_in_order_at_their_times(spoken_words):
    clip, words, truth = spoken_words
    res = align(clip.samples, clip.sample_rate, " ".join(words))
    assert res.reliable, res.message
    assert [w for w, _, _ in res.words] == words
    starts = [a for _, a, _ in res.words]
    assert starts == sorted(starts)
    assert all(0.0 <= a < b <= clip.duration_s + 1e-6 for _, a, b in res.words)
    errors = [abs(a - ta) for (_, a, _), (_, ta, _) in zip(res.words, truth)]
    assert np.mean(errors) < 0.06, errors   # word onsets within a few 10 ms frames
    assert max(errors) < 0.15, errors
    # phones lie inside their words, and "move" has its M
    move = next(w for w in res.words if w[0] == "move")
    inside = [p for p, a, b in res.phones if a >= move[1] - 1e-6 and b <= move[2] + 1e-6]
    assert inside[:1] == ["M"]


@needs_espeak
def test_a_wrong_transcript_falls_back_to_recognition_and_says_so(tmp_path):
    clip = _speak("the weather is lovely in the mountains this morning", tmp_path / "s.wav")
    track = mouth_track(clip, FPS, int(np.ceil(clip.duration_s * FPS)), transcript="banana")
    assert track.source == "recognised"
    assert "transcript" in track.message
    assert track.phones and not track.words


def _speak_as(text: str, voice: str, rate: str, path: Path) -> AudioClip:
    subprocess.run(["espeak-ng", "-v", voice, "-s", rate, "-w", str(path), text], check=True, capture_output=True)
    return load_audio(path)


@needs_espeak
def test_a_correct_transcript_in_a_poorly_matched_voice_is_accepted(tmp_path):
    """A synthetic female voice scores as badly on the right words as some wrong transcripts do
    (about -34 per frame); the free phone loop agreeing with the aligned phones takes it."""
    text = "she sells sea shells by the sea shore"
    clip = _speak_as(text, "en+f3", "170", tmp_path / "f.wav")
    res = align(clip.samples, clip.sample_rate, text)
    assert res.reliable, (res.message, res.score_per_frame, res.agreement)
    assert [w for w, _, _ in res.words] == transcript_words(text)


@needs_espeak
def test_a_wrong_transcript_without_a_phone_score_is_rejected(tmp_path):
    """When the phone pass gives no score the words used to pass on coverage alone; a different
    sentence of the same length must still be refused."""
    clip = _speak_as("thank you very much for coming", "en-us+m3", "120", tmp_path / "m.wav")
    res = align(clip.samples, clip.sample_rate, "we keep moving through the deep blue pool")
    assert not res.reliable
    assert "does not sound like" in res.message or "could not be placed" in res.message


def test_phone_agreement_counts_frames_labelled_alike():
    a = [("AA", 0.0, 0.2), ("B", 0.2, 0.4)]
    assert phone_agreement(a, [("AA", 0.0, 0.2), ("M", 0.2, 0.4)], 50) == pytest.approx(0.5)
    assert phone_agreement(a, a, 50) == pytest.approx(1.0)
    assert np.isnan(phone_agreement([("AA", 0.0, 0.1)], [("AA", 0.0, 0.1)], 50))   # too few frames


@needs_espeak
def test_viseme_track_closes_on_m_and_rounds_on_oo(tmp_path):
    text = "we see my moon, my moon, and the bees"
    clip = _speak(text, tmp_path / "m.wav")
    n = int(np.ceil(clip.duration_s * FPS))
    track = mouth_track(clip, FPS, n, transcript=text)
    assert track.source == "aligned" and track.num_frames == n
    def frames(a: float, b: float) -> slice:
        return slice(int(np.floor(a * FPS)), max(int(np.ceil(b * FPS)), int(np.floor(a * FPS)) + 1))

    ms = [(a, b) for p, a, b in track.phones if p == "M"]
    assert len(ms) >= 4
    for a, b in ms:
        assert track.lip_closure[frames(a, b)].max() > 0.8, (a, b)
    oo = [(a, b) for p, a, b in track.phones if p == "UW"]
    ee = [(a, b) for p, a, b in track.phones if p == "IY"]
    assert len(oo) >= 2 and len(ee) >= 2
    round_oo = np.mean([track.rounding[frames(a, b)].max() for a, b in oo])
    round_ee = np.mean([track.rounding[frames(a, b)].max() for a, b in ee])
    width_oo = np.mean([track.width[frames(a, b)].min() for a, b in oo])
    width_ee = np.mean([track.width[frames(a, b)].max() for a, b in ee])
    assert round_oo > 0.6 and round_ee < 0.3, (round_oo, round_ee)
    assert width_oo < -0.3 and width_ee > 0.3, (width_oo, width_ee)
    # blended, not switched: no frame-to-frame jump of the jaw bigger than half its range
    assert np.abs(np.diff(track.jaw)).max() < 0.5
    # the lips are apart on the vowels
    assert np.mean([track.lip_closure[frames(a, b)].min() for a, b in oo]) < 0.3
    # arrays are in range
    assert track.jaw.min() >= 0 and track.jaw.max() <= 1 and track.width.min() >= -1


@needs_espeak
def test_articulation_strength_scales_the_mouth(tmp_path):
    clip = _speak("a long open vowel, ah", tmp_path / "a.wav")
    n = int(np.ceil(clip.duration_s * FPS))
    full = mouth_track(clip, FPS, n, strength=1.0)
    half = mouth_track(clip, FPS, n, strength=0.5)
    none = mouth_track(clip, FPS, n, strength=0.0)
    assert full.jaw.max() > 0.3
    assert np.allclose(half.jaw, 0.5 * full.jaw, atol=1e-5)
    assert none.jaw.max() == 0 and none.lip_closure.max() == 0


def test_silence_gives_a_closed_silent_track():
    track = mouth_track(AudioClip(np.zeros(16000, dtype=np.float32)), FPS, 25)
    assert track.source == "silent" and track.num_frames == 25
    assert not track.jaw.any() and not track.rounding.any()
    none = mouth_track(None, FPS, 10)
    assert none.source == "silent" and none.num_frames == 10


def test_every_phone_maps_to_known_visemes():
    for phone, shapes in PHONE_VISEMES.items():
        assert all(s in VISEMES for s in shapes), phone
    segs = phones_to_visemes([("AY", 0.0, 1.0), ("M", 1.0, 1.1)])
    assert [s[0] for s in segs] == ["AA", "IY", "MBP"]
    assert segs[0][2] == pytest.approx(0.6)


@pytest.mark.slow
def test_recognition_on_jfk_is_close_to_the_aligned_phones(shared_data):
    clip = load_audio(shared_data / "speech" / "jfk.flac")
    rec = recognise(clip.samples, clip.sample_rate)
    ali = align(clip.samples, clip.sample_rate, JFK_TEXT)
    assert rec.reliable and ali.reliable
    assert [w for w, _, _ in ali.words][:4] == ["and", "so", "my", "fellow"]
    assert 40 <= len(rec.phones) <= 120
    assert all(0 <= a < b <= clip.duration_s + 0.02 for _, a, b in rec.phones)
    per = phone_error_rate([p for p, _, _ in ali.phones], [p for p, _, _ in rec.phones])
    assert per < 0.75, per   # measured 0.68 with pocketsphinx 5.1.1's phone loop
    # a plain phone sequence of the same length scores much worse
    assert phone_error_rate([p for p, _, _ in ali.phones], ["AH"] * len(rec.phones)) > per + 0.15


def test_spectral_fallback_on_mandarin(shared_data):
    from pipeline.render.audio_drive import mouth_openness

    path = sorted((shared_data / "speech").glob("zh_*.wav"))[0]
    clip = load_audio(path)
    n = int(np.ceil(clip.duration_s * FPS))
    track = mouth_track(clip, FPS, n, language="zh")
    assert track.source == "spectral" and "spectrum" in track.message
    assert not track.phones and track.visemes
    names = {v for v, _, _ in track.visemes}
    assert names & {"AA", "EH"} and names & {"IY"} and names & {"UW", "OW"}, names
    energy = mouth_openness(clip.samples, clip.sample_rate, FPS, n)
    r = np.corrcoef(track.jaw, energy)[0, 1]
    assert r > 0.7, r
    assert track.width.min() < -0.2 and track.width.max() > 0.2


def test_brow_raise_marks_a_few_accents(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs Debian's espeak-ng to synthesise speech")
    clip = _speak("I never said she stole my money. I said nothing at all, today.", tmp_path / "b.wav")
    n = int(np.ceil(clip.duration_s * FPS))
    track = mouth_track(clip, FPS, n)
    brows = brow_raise(track, FPS, n)
    assert brows.shape == (n,) and brows.min() >= 0 and brows.max() <= 1
    assert 0.2 < brows.max() <= 0.8
    # raises, not a constant lift: most frames are near rest
    assert np.mean(brows < 0.05) > 0.4
    silent = mouth_track(AudioClip(np.zeros(16000, np.float32)), FPS, 25)
    assert not brow_raise(silent, FPS, 25).any()


@needs_espeak
def test_closure_stays_on_its_consonant_and_the_vowels_open(tmp_path):
    """m/b/p close the lips on their own frames, not over the vowels around them; each vowel of
    "bob bib" opens the jaw well past its closures."""
    text = "bob bib bob"
    clip = _speak(text, tmp_path / "b.wav")
    n = int(np.ceil(clip.duration_s * FPS))
    track = mouth_track(clip, FPS, n, transcript=text)
    assert track.source == "aligned"
    vowels = [(a, b) for p, a, b in track.phones if p in ("AA", "IH")]
    assert len(vowels) == 3
    for a, b in vowels:
        mid = int(round(0.5 * (a + b) * FPS))
        assert track.lip_closure[mid] < 0.3, (a, b, track.lip_closure[mid])
        assert track.jaw[mid] > 0.25, (a, b, track.jaw[mid])
    bs = [(a, b) for p, a, b in track.phones if p == "B"]
    assert len(bs) == 6
    for a, b in bs:
        lo, hi = int(np.floor(a * FPS)), int(np.ceil(b * FPS)) + 1
        assert track.lip_closure[lo:hi].max() > 0.8, (a, b)


def test_quiet_syllables_open_less_than_loud_ones():
    """Same phones, one syllable 20 dB quieter: its jaw target is scaled down by its loudness."""
    from pipeline.speech.visemes import blend, segment_gains, speech_level

    rate = 16000
    t = np.arange(int(0.3 * rate)) / rate
    vowel = (np.sin(2 * np.pi * 700 * t) + 0.5 * np.sin(2 * np.pi * 1200 * t)).astype(np.float32) * 0.3
    gap = np.zeros(int(0.2 * rate), np.float32)
    samples = np.concatenate([gap, vowel, gap, 0.1 * vowel, gap])
    level = speech_level(samples, rate)
    segs = [("rest", 0.0, 0.2), ("AA", 0.2, 0.5), ("rest", 0.5, 0.7), ("AA", 0.7, 1.0), ("rest", 1.0, 1.2)]
    gains = segment_gains(segs, level)
    assert gains[1] > 0.9 and gains[3] < 0.6 and gains[0] < 0.35, gains
    jaw = blend(segs, 1.2, jaw_gains=gains)[:, 0]
    assert jaw[35] > 0.7 and 0.2 < jaw[85] < 0.65 * jaw[35], (jaw[35], jaw[85])


def test_recognised_closures_must_be_heard():
    """A recognised m/b/p on loud, steady sound is no closure; one over a loudness dip stays."""
    level = np.ones(100, np.float32)
    level[60:66] = 0.1                       # a 60 ms dip: a stop's closure
    segs = [("AA", 0.1, 0.3), ("MBP", 0.3, 0.36), ("AA", 0.36, 0.6), ("MBP", 0.6, 0.66), ("AA", 0.66, 0.9)]
    out = closures_heard(segs, level)
    assert [n for n, _, _ in out] == ["AA", "TDN", "AA", "MBP", "AA"]
    assert [(a, b) for _, a, b in out] == [(a, b) for _, a, b in segs]


def test_chinese_transcript_picks_the_spectral_path(shared_data):
    path = sorted((shared_data / "speech").glob("zh_*.wav"))[0]
    clip = load_audio(path).slice(0.0, 2.0)
    n = int(np.ceil(clip.duration_s * FPS))
    for language in (None, "en"):   # the studio's and the CLI's default is "en"
        track = mouth_track(clip, FPS, n, transcript="大家好，我今天很高兴", language=language)
        assert track.source == "spectral" and "'zh'" in track.message
    english = mouth_track(clip, FPS, n, transcript="hello everyone", language="auto")
    assert english.source != "spectral" or "'zh'" not in english.message
