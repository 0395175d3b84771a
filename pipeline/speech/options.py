"""Speech options from the command line and the studio: a transcript given as text or a file,
and passing the mouth track on to whichever renderer accepts it."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

MAX_TRANSCRIPT_BYTES = 200_000


def read_transcript(value: str | None) -> str:
    """``value`` itself, or the text of the .txt file it names (UTF-8); '' for None."""
    if not value:
        return ""
    path = Path(value)
    if path.suffix.lower() == ".txt" or (len(value) < 4096 and "\n" not in value and path.is_file()):
        if not path.is_file():
            raise ValueError(f"transcript file {value} does not exist")
        if path.stat().st_size > MAX_TRANSCRIPT_BYTES:
            raise ValueError(f"transcript file {value} is larger than {MAX_TRANSCRIPT_BYTES} bytes")
        return path.read_text(encoding="utf-8", errors="replace").strip()
    return value.strip()


def accepted_kwargs(fn: Callable, **offer: Any) -> dict:
    """The subset of ``offer`` that ``fn`` names as parameters (renderers gain the speech inputs
    one by one; an older one simply does not get them)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in offer.items() if k in params}


def render_speech_options(render_fn: Callable, backend: str, *, mouth=None, transcript: str | None = None,
                          articulation: float = 1.0, language: str | None = None) -> dict:
    """Keyword arguments that carry the speech settings into ``pipeline.render.backends.render``:
    the ones it names (``mouth``, ``transcript``, ...), and for the warp backend the WarpConfig
    fields it forwards its extra options to (``mouth_strength``, ``mouth_language``, and
    ``mouth_transcript`` where that exists)."""
    out = accepted_kwargs(render_fn, mouth=mouth, transcript=transcript, articulation=articulation,
                          language=language)
    if backend == "warp":
        from pipeline.render.warp import WarpConfig

        names = {f.name for f in fields(WarpConfig)}
        for name, value in (("mouth_strength", float(articulation)), ("mouth_language", language),
                            ("mouth_transcript", transcript)):
            if name in names and name not in out:
                out[name] = value
    return out
