"""The Director's speech text: transcript, language and articulation strength -> the mouth track.

The track (pipeline.speech.mouth_track) is computed once per recording, transcript, language,
strength and frame rate, and kept on the session; the poses, the timeline's words and the render
all read the same one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from studio.handler_types import FieldValue

if TYPE_CHECKING:   # hints only: the session module loads gradio, the speech room loads on use
    from pipeline.speech.visemes import MouthTrack
    from studio.director_session import DirectorSession

LANGUAGES = [("English (phonemes)", "en"), ("Other language (from the sound)", "other")]
ARTICULATION_RANGE = (0.0, 2.0)
MAX_TRANSCRIPT_CHARS = 20000


def clean_settings(transcript: str | None, articulation: FieldValue, language: str | None) -> tuple[str, float, str]:
    """Typed values made safe: text trimmed and bounded, strength in range, a known language."""
    text = str(transcript or "").strip()
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise ValueError(f"the transcript is longer than {MAX_TRANSCRIPT_CHARS} characters; shorten it")
    from pipeline.validation import check_number

    strength = check_number(1.0 if articulation in (None, "") else articulation, "the articulation strength",
                            *ARTICULATION_RANGE)   # out of range: refused, not silently clipped
    lang = language if language in {v for _, v in LANGUAGES} else "en"
    return text, strength, lang


def mouth_for(session: DirectorSession, fps: float, num_frames: int | None = None) -> MouthTrack | None:
    """The session's MouthTrack at ``fps`` (cached), or None without speech."""
    from pipeline.speech import mouth_track

    clip = session.clip
    if clip is None:
        return None
    p = session.project
    n = int(num_frames if num_frames is not None else int(np.ceil(clip.duration_s * fps)))
    key = (str(p.audio_file), p.transcript, round(float(p.articulation), 3), p.language, float(fps), n)
    cache = session.mouths
    if key not in cache:
        cache.clear()  # one recording's settings at a time: tracks are small but tied to the clip
        cache[key] = mouth_track(clip, fps, n, transcript=p.transcript or None, strength=float(p.articulation),
                                 language=p.language)
    return cache[key]


def face_key(session: DirectorSession) -> str:
    """What the talking face of the poses depends on (for the stage's pose cache keys)."""
    p = session.project
    blink = p.settings.get("blink_rate", 15.0)
    seed = p.settings.get("render_seed", 0)
    return f"{p.audio_file}|{p.transcript}|{float(p.articulation):.3f}|{p.language}|{blink}|{seed}"


def face_args(session: DirectorSession, fps: float) -> dict:
    """translate()'s talking-face arguments for this session."""
    p = session.project
    return {"mouth": mouth_for(session, fps), "blink_rate_per_min": float(p.settings.get("blink_rate", 15.0)),
            "seed": int(p.settings.get("render_seed", 0))}


def speech_status(track: MouthTrack | None) -> str:
    """One line for the status: where the mouth shapes come from, and any fallback and why."""
    if track is None:
        return ""
    what = {"aligned": "the transcript, aligned to the speech", "recognised": "phones recognised in the speech",
            "spectral": "the sound's spectrum (no phonemes)", "silent": "nothing (the audio is silent)"}
    line = f"Mouth shapes from {what.get(track.source, track.source)}"
    if track.words:
        line += f" · {len(track.words)} words"
    if track.phones:
        line += f" · {len(track.phones)} phonemes"
    if track.message and track.source != "aligned":
        line += f". {track.message[0].upper()}{track.message[1:]}."
    elif track.message and "guessed" in track.message:
        line += f" ({track.message})."
    return line + ("" if line.endswith(".") else ".")


def speech_payload(track: MouthTrack | None) -> dict | None:
    """The timeline's words and phonemes (seconds, rounded to 10 ms) and the source."""
    if track is None:
        return None

    def rows(items):
        return [[str(name), round(float(a), 2), round(float(b), 2)] for name, a, b in items]
    return {"source": track.source, "words": rows(track.words), "phones": rows(track.phones)}


def render_kwargs(render_fn: Callable[..., Any], session: DirectorSession, fps: float, backend: str = "warp") -> dict:
    """The speech settings as the installed renderer takes them (see
    ``pipeline.speech.options.render_speech_options``); the mouth track is the poses' own."""
    from pipeline.speech.options import accepted_kwargs, render_speech_options

    p = session.project
    mouth = mouth_for(session, fps) if "mouth" in accepted_kwargs(render_fn, mouth=None) else None
    return render_speech_options(render_fn, backend, mouth=mouth, transcript=p.transcript or None,
                                 articulation=float(p.articulation), language=p.language)
