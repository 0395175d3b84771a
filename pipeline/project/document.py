"""The director's project document: portrait, speech, timeline, motion tokens, takes and history.

Why here: the studio page, the CLI (`render PROJECT.zip`, `export`) and tests all edit the same
document; it holds file paths and arrays only (no UI). Saved and opened by pipeline/project/archive.py.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from pipeline.project.timeline import History, Segment

FORMAT = "versastudio-project"
VERSION = 1
MAX_TAKES = 20


class ProjectError(ValueError):
    """A project file that cannot be opened or written; the message says why."""


@dataclass
class Take:
    """One generated motion the director can go back to."""

    label: str
    tokens: list[int]
    created: float = 0.0

    def to_dict(self) -> dict:
        return {"label": self.label, "tokens": [int(t) for t in self.tokens], "created": self.created}


@dataclass
class Snapshot:
    """What undo / redo restores: the recording, the timeline and the motion tokens together (so
    an undo after loading another recording brings the earlier one back with its segments).

    ``audio_file`` None: the snapshot predates recordings in the history (keep the current one)."""

    segments: list[Segment]
    tokens: list[int] | None
    locked: list[bool] | None
    audio_file: str | None = None
    duration_s: float | None = None

    def to_dict(self, audio_name: str | None = None) -> dict:
        out = {"segments": [s.to_dict() for s in self.segments], "tokens": self.tokens, "locked": self.locked}
        if audio_name is not None:
            out.update(audio=audio_name, duration_s=self.duration_s)
        return out

    @classmethod
    def from_dict(cls, data: dict, audio_files: dict[str, str] | None = None) -> "Snapshot":
        audio = data.get("audio")
        path = None
        if audio is not None:
            path = (audio_files or {}).get(audio)
            if path is None:
                raise ProjectError(f"an undo step's recording {audio!r} is missing from the project")
        duration = float(data["duration_s"]) if path is not None else None
        if duration is not None and not (np.isfinite(duration) and duration > 0):
            raise ProjectError("an undo step has a bad duration")
        return cls([Segment.from_dict(s) for s in data.get("segments", [])], data.get("tokens"),
                   data.get("locked"), path, duration)


@dataclass
class Project:
    """Everything the director made. Files are paths on disk (the session's working folder)."""

    portrait_file: str | None = None
    audio_file: str | None = None
    duration_s: float = 0.0
    segments: list[Segment] = field(default_factory=list)
    tokens: np.ndarray | None = None          # (N,) int64 codebook ids
    locked: np.ndarray | None = None          # (N,) bool: kept when generating again
    settings: dict = field(default_factory=dict)
    takes: list[Take] = field(default_factory=list)
    history: History = field(default_factory=History)
    name: str = "untitled"
    transcript: str = ""
    """What is said (optional): aligned to the speech for the mouth shapes and the timeline words."""
    articulation: float = 1.0
    """Mouth motion strength (1 = natural, 0 = still, up to 2 = exaggerated)."""
    language: str = "en"
    """'en' uses the English phone models; anything else estimates mouth shapes from the spectrum."""
    repairs: list[str] = field(default_factory=list, compare=False)
    """What opening the file reset to a default (pipeline/project/repair.py); never saved."""
    extracted: list[str] = field(default_factory=list, compare=False, repr=False)
    """Files the opening wrote (removed again when the project then fails to load)."""

    # --------------------------------------------------------------- snapshots (undo / redo)
    def snapshot(self) -> Snapshot:
        return Snapshot(list(self.segments),
                        None if self.tokens is None else [int(t) for t in self.tokens],
                        None if self.locked is None else [bool(x) for x in self.locked],
                        self.audio_file, float(self.duration_s))

    def restore(self, snap: Snapshot) -> None:
        if snap.audio_file is not None:
            self.audio_file, self.duration_s = snap.audio_file, float(snap.duration_s)
        self.segments = list(snap.segments)
        self.tokens = None if snap.tokens is None else np.asarray(snap.tokens, dtype=np.int64)
        self.locked = None if snap.locked is None else np.asarray(snap.locked, dtype=bool)

    def checkpoint(self) -> None:
        """Call before an edit: the current state goes on the undo stack."""
        self.history.push(self.snapshot())

    def undo(self) -> None:
        self.restore(self.history.undo(self.snapshot()))

    def redo(self) -> None:
        self.restore(self.history.redo(self.snapshot()))

    def add_take(self, label: str) -> None:
        if self.tokens is None:
            return
        self.takes.append(Take(label, [int(t) for t in self.tokens], time.time()))
        del self.takes[:-MAX_TAKES]

    def copy(self) -> "Project":
        return copy.deepcopy(self)

    # --------------------------------------------------------------- JSON
    def to_json(self, portrait_name: str | None = None, audio_name: str | None = None,
                audio_names: dict[str, str] | None = None) -> dict:
        """``audio_names``: zip member of each recording file the history refers to; history steps
        whose recording is not stored are left out (they could not be brought back)."""
        names = dict(audio_names or {})
        if self.audio_file and audio_name:
            names[self.audio_file] = audio_name

        def steps(stack: list[Snapshot]) -> list[dict]:
            return [s.to_dict(names.get(s.audio_file)) for s in stack
                    if s.audio_file is None or s.audio_file in names]
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "portrait": portrait_name,
            "audio": audio_name,
            "duration_s": self.duration_s,
            "segments": [s.to_dict() for s in self.segments],
            "has_tokens": self.tokens is not None,
            "settings": self.settings,
            "speech": {"transcript": self.transcript, "articulation": float(self.articulation),
                       "language": self.language},
            "takes": [t.to_dict() for t in self.takes],
            "history": {"undo": steps(self.history.undo_stack), "redo": steps(self.history.redo_stack)},
        }


