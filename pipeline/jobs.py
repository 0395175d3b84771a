"""Long jobs: progress reporting and cancellation, shared by the renderers, the video writer, the
pose videos and the studio's cancellable render (one place for the types; imports nothing of the
pipeline, so every room may use it)."""

from __future__ import annotations

import threading
from typing import Callable, Union

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each frame."""

Cancel = Union[threading.Event, Callable[[], bool], None]
"""A ``threading.Event`` that is set, or a callable returning True, asks the work to stop."""


class RenderCancelled(RuntimeError):
    """The user cancelled a render; partial output has been removed."""


def is_cancelled(cancel: Cancel) -> bool:
    """True when ``cancel`` (an Event or a callable) asks to stop."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def check_cancel(cancel: Cancel) -> None:
    """Raise :class:`RenderCancelled` when ``cancel`` asks to stop."""
    if is_cancelled(cancel):
        raise RenderCancelled("render cancelled")
