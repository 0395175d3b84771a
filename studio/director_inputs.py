"""The Director page's inputs: the portrait, the speech recording and its transcript settings.

Split out of studio/director_page.py (issue 16), which re-exports every name for the layout and tests.
"""

from __future__ import annotations

from pipeline.constants import VIDEO_FPS
from pipeline.project import timeline as tl
from studio import speech_text as speech
from studio.director_motion import _update_previews, _use_clip
from studio.director_session import (
    EXAMPLE_PORTRAIT,
    EXAMPLE_SPEECH,
    VIEW_FIELDS,
    DirectorSession,
    _autosave,
    _copy_in,
    _gr,
    new_session,
)
from studio.director_view import _file_names_only, _guard, _view, ok
from studio.handler_types import FieldValue, Outputs
from studio.motion_page import md_escape

# ----------------------------------------------------------------------------- portrait and speech

@_guard("Could not use this portrait")
def analyze_portrait(image_path: str | None, session: DirectorSession | None) -> tuple:
    """Analyse the photo; show it with the detected skeleton and face box."""
    from pipeline.portrait.analysis import analyze_portrait as analyze

    session = session or new_session()
    if not image_path:
        return _view(session, "", timeline=False)
    analysis = analyze(str(image_path))
    stored = _copy_in(session, image_path, "portrait")
    session.portrait = analysis
    session.project.portrait_file = stored
    session.poses = None
    if session.result is not None:
        _update_previews(session)
    _autosave(session)
    return _view(session, ok(f"Portrait analysed: {analysis.framing.replace('_', ' ')} framing."),
                 portrait=True, timeline=False, motion=session.result is not None)


@_guard("Could not use this recording")
def load_speech(audio_path: str | None, session: DirectorSession | None) -> tuple:
    """Load the speech and cut it into segments at its pauses. A new recording starts a new
    timeline (the previous one can be brought back with Undo)."""
    from pipeline.audio import load_audio, suggest_segments

    session = session or new_session()
    if not audio_path:
        return _view(session, "", timeline=False)
    clip = load_audio(str(audio_path))
    segments = tl.from_pauses(suggest_segments(clip), clip.duration_s)
    stored = _copy_in(session, audio_path, "audio")
    p = session.project
    if p.audio_file or p.segments or p.tokens is not None:
        p.checkpoint()          # recording, segments and motion: one undo step together
    p.audio_file, p.duration_s, p.segments = stored, float(clip.duration_s), segments
    p.tokens = p.locked = None
    _use_clip(session, clip, stored)
    words = ""
    if p.transcript:
        words = " " + speech.speech_status(speech.mouth_for(session, VIDEO_FPS))
    _autosave(session)
    n = len(segments)
    return _view(session, ok(f"Speech loaded: {clip.duration_s:.2f} s, cut at pauses into {n} "
                             f"segment{'s' if n != 1 else ''}. Type prompts in the table, then Generate."
                             + md_escape(words))
                 + "".join(f"\n- ⚠ {md_escape(_file_names_only(w))}" for w in getattr(clip, "warnings", [])),
                 motion=True)


def load_examples(session: DirectorSession | None) -> tuple:
    """The bundled example portrait and speech."""
    first = analyze_portrait(str(EXAMPLE_PORTRAIT), session)
    session = first[0]
    second = load_speech(str(EXAMPLE_SPEECH), session)
    merged = list(second)
    merged[1], merged[2] = first[1], first[2]
    return tuple(merged)


@_guard("Could not use the transcript")
def set_speech_text(transcript: str | None, articulation: FieldValue, language: str | None,
                    session: DirectorSession | None) -> Outputs:
    """The transcript (optional; blank = recognise the speech), the language and the articulation
    strength: the mouth track is remade, the words go on the timeline, the poses talk. A transcript
    that does not fit the speech falls back to recognition, and the status says so."""
    session = session or new_session()
    text, strength, lang = speech.clean_settings(transcript, articulation, language)
    p = session.project
    unchanged = (p.transcript, float(p.articulation), p.language) == (text, strength, lang)
    if unchanged and (session.clip is None or session.mouths):
        return (session,) + (_gr().skip(),) * (len(VIEW_FIELDS) - 1)
    p.transcript, p.articulation, p.language = text, strength, lang
    _autosave(session)
    if session.clip is None:
        return _view(session, ok("Speech settings kept; they apply when a recording is loaded."), timeline=False)
    track = speech.mouth_for(session, VIDEO_FPS)
    if session.result is not None:
        _update_previews(session)
    status = speech.speech_status(track)
    fell_back = bool(text) and track.source != "aligned" and lang == "en"
    if fell_back:
        _gr().Warning("The transcript could not be aligned to the speech; recognising it instead.")
    return _view(session, ("⚠ " if fell_back else "✓ ") + md_escape(status), motion=session.result is not None)


def apply_speech_text(transcript: str | None, articulation: FieldValue, language: str | None,
                      session: DirectorSession | None) -> None:
    """Take the speech text boxes as they are now (Generate and Render read them, so a transcript
    typed without leaving the box is not lost); bad values are left for set_speech_text to report."""
    if session is None:
        return
    try:
        text, strength, lang = speech.clean_settings(transcript, articulation, language)
    except ValueError:
        return
    p = session.project
    if (p.transcript, float(p.articulation), p.language) != (text, strength, lang):
        p.transcript, p.articulation, p.language = text, strength, lang


def speech_fields(session: DirectorSession | None) -> tuple:
    """The transcript box, the language and the articulation slider as the project has them."""
    if session is None:
        return "", "en", 1.0
    p = session.project
    return p.transcript, p.language, float(p.articulation)
