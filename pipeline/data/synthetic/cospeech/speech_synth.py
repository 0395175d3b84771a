"""Speech for synthetic co-speech pairs: espeak-ng and festival, many voices, rates and pitches.

    path = synthesize("Hello there.", "en-us+m3", 160, 50, engine="espeak", out_path="a.wav")
    clip = synthesize_clip(rng, "festival", "clip.wav")   # 4-12 s of sentences with pauses

Both engines are Debian packages (`apt-get install espeak-ng festival festvox-us-slt-hts`);
a missing engine raises SpeechSynthError saying what to install. Clips are written as 16 kHz
mono PCM wav (AUDIO_SAMPLE_RATE).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.constants import AUDIO_SAMPLE_RATE

ENGINES = ("espeak", "festival")
FESTIVAL_VOICE = "voice_cmu_us_slt_arctic_hts"
BASE_WPM = 165.0
"""Speaking rate (words per minute) that festival's Duration_Stretch 1.0 roughly corresponds to."""

CLIP_SECONDS = (4.0, 12.0)
PAUSE_SECONDS = (0.2, 1.0)
LEAD_SECONDS = (0.1, 0.5)
"""Silence before the first and after the last sentence of a clip."""


class SpeechSynthError(RuntimeError):
    """A speech engine is missing or failed."""


# ---------------------------------------------------------------------------------------------
# sentences

PRESENTATION = [
    "Good morning everyone, and thank you for coming.",
    "Today I want to talk about something that matters to all of us.",
    "Let me start with a simple question.",
    "There are three things I would like you to remember.",
    "First, the problem is much bigger than it looks.",
    "Second, we already have most of the tools we need.",
    "And third, the time to act is right now.",
    "If you look at this chart, you can see the trend very clearly.",
    "Our sales grew by forty percent in just two years.",
    "This is not a small change, it is a complete shift in how we work.",
    "I want to be absolutely clear about this point.",
    "We tried it, we measured it, and it worked.",
    "The numbers speak for themselves.",
    "So what does this mean for our customers?",
    "It means faster service, lower prices, and fewer mistakes.",
    "Let me show you how it works in practice.",
    "Imagine a world where every child can read by the age of six.",
    "That is the future we are building together.",
    "None of this would be possible without our amazing team.",
    "Thank you very much for your attention.",
    "I would be happy to take a few questions now.",
    "This project began as a small experiment in a tiny office.",
    "Within a year, it had grown into something none of us expected.",
    "We learned that listening to people is more important than talking to them.",
    "The key idea is surprisingly simple.",
    "You take a large problem and break it into small pieces.",
    "Each piece can be solved by a single person in a single day.",
    "Energy costs have doubled since last winter.",
    "We need a plan that works for families, for workers, and for businesses.",
    "Let me give you one concrete example.",
    "Last spring, a school in our town switched to solar power.",
    "They now save enough money to hire two new teachers.",
    "That is what progress looks like.",
    "I believe we can do the same in every town across the country.",
    "Research shows that people remember stories far better than facts.",
    "So today, I am going to tell you a story.",
    "In conclusion, the evidence is strong and the path is clear.",
    "Please join us, and let us make this happen.",
    "The results were better than anything we had hoped for.",
    "Our goal for next year is to reach one million users.",
]

STORYTELLING = [
    "When I was a kid, my grandmother lived in a house by the sea.",
    "Every summer, we would take the long train ride to visit her.",
    "She had a garden full of tomatoes, roses and very angry bees.",
    "One evening, a terrible storm rolled in from the ocean.",
    "The lights went out, and the wind howled around the house.",
    "We sat by the fire while she told us stories about her childhood.",
    "Then, suddenly, someone knocked on the door.",
    "It was an old fisherman, soaking wet and shaking with cold.",
    "His boat had been pushed onto the rocks by the waves.",
    "My grandmother did not hesitate for a second.",
    "She gave him dry clothes, hot soup, and a bed for the night.",
    "The next morning, the sky was perfectly blue.",
    "He thanked us and walked back down to the harbour.",
    "A week later, a basket of fresh fish appeared on our doorstep.",
    "I never forgot that lesson about kindness.",
    "Years later, I moved to a big city far away from the coast.",
    "At first, everything felt loud, fast and unfamiliar.",
    "I got lost on my very first day and ended up on the wrong side of town.",
    "A stranger saw my map and offered to walk me home.",
    "We talked the whole way, and she became my closest friend.",
    "Sometimes the best things happen completely by accident.",
    "The mountain path was steep, narrow and covered in snow.",
    "We climbed for hours without saying a single word.",
    "When we finally reached the top, the view took our breath away.",
    "Below us, the whole valley was glowing in the evening light.",
    "My father once drove three hundred miles to fix a broken bicycle.",
    "He said a promise is a promise, no matter how small.",
    "The old library had a secret room behind one of the shelves.",
    "Nobody knew about it except the librarian and me.",
    "Inside, there were letters that nobody had read for a hundred years.",
    "I opened the first one very carefully.",
    "It began with the words, my dearest friend.",
    "That summer changed the way I saw the world.",
    "The dog ran straight into the lake and came back with a shoe.",
    "We never found out whose shoe it was.",
]

CONVERSATIONAL = [
    "Oh, hi, I did not expect to see you here.",
    "Honestly, I think that is a great idea.",
    "Well, it depends on what you mean by that.",
    "Wait, are you serious?",
    "No way, that is amazing!",
    "I know, right? I could not believe it either.",
    "Let me think about it for a second.",
    "Okay, so here is the thing.",
    "You know what, let us just try it and see what happens.",
    "I am not sure that is going to work.",
    "Could you say that again, please?",
    "That is exactly what I was trying to say.",
    "To be fair, we did warn them about this.",
    "Anyway, the point is that it worked out in the end.",
    "I mean, who does that?",
    "Yeah, I totally get what you are saying.",
    "But here is the problem.",
    "It was fine, really, just a bit too long.",
    "Have you ever been to Lisbon? You would love it.",
    "The food was incredible and the people were so friendly.",
    "So, what do you think we should do next?",
    "I would go with the second option, if I were you.",
    "Absolutely not, that is way too expensive.",
    "Come on, it will be fun!",
    "Look, I am not saying it is easy.",
    "I am just saying it is worth a try.",
    "Right, so, where were we?",
    "Hmm, that is a really good question.",
    "Listen, I have been thinking about what you said yesterday.",
    "You were right, and I was wrong.",
    "Thanks so much, I really appreciate it.",
    "Do not worry about it, these things happen.",
    "It is going to be okay, I promise.",
    "Seriously, you have to see this.",
    "No, no, no, that is not what I meant at all.",
]

_SUBJECTS = ["our team", "the new design", "this approach", "my friend", "the whole city",
             "every student", "the research group", "our community", "the company", "my family"]
_VERBS = ["changed", "improved", "surprised", "challenged", "transformed", "helped", "inspired"]
_OBJECTS = ["the way we think about energy", "everyone in the room", "the final results",
            "how people learn", "the entire industry", "our daily routine", "the next generation"]
_TIMES = ["last year", "in just a few weeks", "over the past decade", "this morning",
          "during the summer", "almost overnight", "step by step"]
_OPENERS = ["Believe it or not,", "In fact,", "To be honest,", "As you can see,", "Remarkably,",
            "Of course,", "Surprisingly,", "Most importantly,", "Ultimately,", "Clearly,"]
_ADJECTIVES = ["simple", "powerful", "fragile", "beautiful", "difficult", "important", "strange"]
_NOUNS = ["idea", "question", "journey", "decision", "experiment", "story", "mistake"]


def template_sentences() -> list[str]:
    """Sentences composed from templates (deterministic, several hundred)."""
    out = []
    for i, (subj, verb, obj, when) in enumerate(itertools.product(_SUBJECTS, _VERBS, _OBJECTS,
                                                                  _TIMES)):
        if i % 37:  # a thin, deterministic slice of the product
            continue
        opener = _OPENERS[(i // 37) % len(_OPENERS)]
        out.append(f"{opener} {subj} {verb} {obj} {when}.")
    for adj, noun in itertools.product(_ADJECTIVES, _NOUNS):
        out.append(f"It was a {adj} {noun}, and we learned a lot from it.")
    return out


def sentences() -> list[str]:
    """All sentences: hand-written presentation, storytelling and conversational lines, plus
    template sentences."""
    return PRESENTATION + STORYTELLING + CONVERSATIONAL + template_sentences()


# ---------------------------------------------------------------------------------------------
# voices

ESPEAK_LANGUAGES = ("en", "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                    "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
ESPEAK_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
ESPEAK_RATES = (120, 210)    # words per minute
ESPEAK_PITCHES = (25, 75)    # espeak-ng 0..99, 50 is the default
FESTIVAL_RATES = (130, 200)


@dataclass
class VoiceSpec:
    engine: str
    voice: str
    rate_wpm: int
    pitch: int


def sample_voice(rng: np.random.Generator, engine: str) -> VoiceSpec:
    """A random speaker for one clip: language/accent, variant (male/female timbres), rate, pitch."""
    if engine == "espeak":
        lang = str(rng.choice(ESPEAK_LANGUAGES))
        variant = str(rng.choice(ESPEAK_VARIANTS))
        voice = f"{lang}+{variant}" if variant else lang
        return VoiceSpec("espeak", voice, int(rng.integers(*ESPEAK_RATES)),
                         int(rng.integers(*ESPEAK_PITCHES)))
    if engine == "festival":
        return VoiceSpec("festival", FESTIVAL_VOICE, int(rng.integers(*FESTIVAL_RATES)), 50)
    raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")


# ---------------------------------------------------------------------------------------------
# synthesis

def _require(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise SpeechSynthError(f"{program} is not installed; install it with "
                               f"`apt-get install {package}`")
    return path


def engine_available(engine: str) -> bool:
    try:
        _check_engine(engine)
        return True
    except SpeechSynthError:
        return False


def _check_engine(engine: str) -> None:
    if engine == "espeak":
        _require("espeak-ng", "espeak-ng")
    elif engine == "festival":
        _require("text2wave", "festival festvox-us-slt-hts")
        if not Path("/usr/share/festival/voices/us/cmu_us_slt_arctic_hts").exists():
            # non-Debian layouts may keep voices elsewhere; synthesis will tell us if it is absent
            pass
    else:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")


def synthesize(text: str, voice: str, rate_wpm: float, pitch: float, engine: str = "espeak",
               out_path: str | Path = "speech.wav") -> Path:
    """Speak `text` into `out_path` (the engine's own wav: espeak 22.05 kHz, festival 32 kHz).

    espeak: `espeak-ng -v <voice> -s <rate> -p <pitch> -w <file>`. festival: text2wave with
    voice_cmu_us_slt_arctic_hts, the rate through Duration_Stretch (pitch is not adjustable).
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    _check_engine(engine)
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", voice, "-s", str(int(rate_wpm)), "-p", str(int(pitch)),
               "-w", str(out_path), text]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    else:
        stretch = BASE_WPM / max(float(rate_wpm), 1.0)
        voice_fn = voice if voice.startswith("voice_") else FESTIVAL_VOICE
        cmd = ["text2wave", "-eval", f"({voice_fn})",
               "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.3f})", "-o", str(out_path)]
        proc = subprocess.run(cmd, input=text, capture_output=True, text=True)
    if proc.returncode != 0 or not out_path.exists() or out_path.stat().st_size <= 44:
        raise SpeechSynthError(f"{engine} failed for voice {voice!r}: "
                               f"{(proc.stderr or proc.stdout).strip()[:300]}")
    return out_path


def synthesize_batch(texts: list[str], voice: str, rate_wpm: float, pitch: float,
                     engine: str, out_dir: str | Path) -> list[Path]:
    """Speak each text into out_dir/s<k>.wav. festival runs once for the whole batch (its start-up
    and voice loading dominate a single sentence); espeak-ng runs once per text."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"s{k}.wav" for k in range(len(texts))]
    if engine != "festival":
        return [synthesize(x, voice, rate_wpm, pitch, engine, p) for x, p in zip(texts, paths)]
    _check_engine(engine)
    _require("festival", "festival festvox-us-slt-hts")
    voice_fn = voice if voice.startswith("voice_") else FESTIVAL_VOICE
    stretch = BASE_WPM / max(float(rate_wpm), 1.0)
    lines = [f"({voice_fn})", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
    for x, p in zip(texts, paths):
        clean = x.replace("\\", " ").replace('"', "'")
        lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{clean}")) "{p}" \'riff)')
    script = out_dir / "batch.scm"
    script.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(["festival", "--batch", str(script)], capture_output=True, text=True)
    missing = [p for p in paths if not p.exists() or p.stat().st_size <= 44]
    if proc.returncode != 0 or missing:
        raise SpeechSynthError(f"festival failed for voice {voice_fn!r}: "
                               f"{(proc.stderr or proc.stdout).strip()[:300]}")
    return paths


def read_wav_16k(path: str | Path) -> np.ndarray:
    """Mono float32 samples at AUDIO_SAMPLE_RATE, through the project's audio loader."""
    from pipeline.audio import load_audio

    return np.asarray(load_audio(path).samples, dtype=np.float32)


def write_wav_16k(path: str | Path, samples: np.ndarray) -> Path:
    """16-bit WAV at AUDIO_SAMPLE_RATE through the project's writer, creating the folder."""
    from pipeline.audio import AudioClip, save_wav

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_wav(AudioClip(samples=samples), path)   # AudioClip derives its duration


def _trim(samples: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Drop the engine's leading/trailing near-silence so that our pauses are the pauses."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples[:0]
    pad = int(0.02 * AUDIO_SAMPLE_RATE)
    return samples[max(loud[0] - pad, 0): loud[-1] + pad]


@dataclass
class SpeechClip:
    """A clip of several sentences joined by pauses, written as a 16 kHz wav."""

    path: Path
    samples: np.ndarray
    text: str
    sentences: list[str]
    segments: list[tuple[float, float]]   # (start, end) seconds of each sentence
    voice: VoiceSpec
    extras: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return len(self.samples) / AUDIO_SAMPLE_RATE


def synthesize_clip(rng: np.random.Generator, engine: str, out_path: str | Path,
                    seconds: tuple[float, float] = CLIP_SECONDS,
                    pool: list[str] | None = None, voice: VoiceSpec | None = None) -> SpeechClip:
    """One speaker saying random sentences, joined with natural pauses (0.2-1.0 s), into a clip
    of `seconds` (4-12 s by default); the wav is written at 16 kHz to `out_path`."""
    pool = sentences() if pool is None else pool
    voice = sample_voice(rng, engine) if voice is None else voice
    lo, hi = seconds
    target = rng.uniform(lo, hi)
    sr = AUDIO_SAMPLE_RATE
    pieces: list[np.ndarray] = [np.zeros(int(rng.uniform(*LEAD_SECONDS) * sr), np.float32)]
    used, segments = [], []
    now = len(pieces[0]) / sr
    tail = rng.uniform(*LEAD_SECONDS)
    order = rng.permutation(len(pool))
    # pick candidates by an estimated duration (words / rate), synthesise them in one batch, then
    # assemble with the real durations
    candidates, guess_total = [], 0.0
    for idx in order:
        text = pool[int(idx)]
        guess = 60.0 * len(text.split()) / voice.rate_wpm
        if now + guess_total + 0.6 * guess + tail > hi:
            continue
        candidates.append(text)
        guess_total += guess + 0.6
        if now + guess_total + tail >= target + 3.0 or len(candidates) >= 6:
            break
    with tempfile.TemporaryDirectory() as tmp:
        wavs = synthesize_batch(candidates, voice.voice, voice.rate_wpm, voice.pitch, engine, tmp)
        for text, wav in zip(candidates, wavs):
            speech = _trim(read_wav_16k(wav))
            length = len(speech) / sr
            if speech.size == 0:
                continue
            pause = rng.uniform(*PAUSE_SECONDS) if used else 0.0
            if now + pause + length + tail > hi:
                continue  # too long for what is left: try the next one
            if pause:
                pieces.append(np.zeros(int(pause * sr), np.float32))
                now += len(pieces[-1]) / sr
            pieces.append(speech.astype(np.float32))
            segments.append((now, now + length))
            now += length
            used.append(text)
            if now + tail >= target:
                break
    if not used:
        raise SpeechSynthError(f"no sentence fitted in {hi} s with voice {voice}")
    pieces.append(np.zeros(int(tail * sr), np.float32))
    samples = np.concatenate(pieces)
    peak = float(np.abs(samples).max())
    if peak > 0.99:
        samples = samples * (0.99 / peak)
    path = write_wav_16k(out_path, samples)
    return SpeechClip(path=path, samples=samples, text=" ".join(used), sentences=used,
                      segments=segments, voice=voice)
