"""The project zip format: ``project.json`` + portrait + audio + ``tokens.npy`` / ``locked.npy``.

A project zip holds ``project.json`` (format version, segments, settings, takes, undo history),
the portrait and the audio files as they were given, ``tokens.npy`` and ``locked.npy`` (written
and read with ``allow_pickle=False``: nothing in a project file is ever unpickled). Opening a
bad file raises ``ProjectError`` (a ValueError) with a clear message and touches nothing.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from pipeline.constants import CODEBOOK_SIZE
from pipeline.project.document import FORMAT, VERSION, Project, ProjectError, Snapshot, Take
from pipeline.project.timeline import History, Segment, TimelineError, validate

PROJECT_JSON = "project.json"
TOKENS_NPY = "tokens.npy"
LOCKED_NPY = "locked.npy"

MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_MEMBER_BYTES = 150 * 1024 * 1024
MAX_MEMBERS = 16
PORTRAIT_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".webm", ".opus")

# ----------------------------------------------------------------------------- saving

def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def save_project(project: Project, path: str | Path) -> Path:
    """Write the project as a zip at ``path`` (atomically: a failed write leaves no half file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    portrait_name = audio_name = None
    members: list[tuple[str, Path]] = []
    for kind, file in (("portrait", project.portrait_file), ("audio", project.audio_file)):
        if not file:
            continue
        src = Path(file)
        if not src.is_file():
            raise ProjectError(f"the project's {kind} file {src.name} is missing from {src.parent}")
        name = f"{kind}{src.suffix.lower()}"
        members.append((name, src))
        if kind == "portrait":
            portrait_name = name
        else:
            audio_name = name
    used = sum(src.stat().st_size for _, src in members)      # + 16 MB for project.json and the tokens
    history_audio = _history_audio(project, MAX_ZIP_BYTES - used - 16 * 1024 * 1024)
    members += [(name, Path(file)) for file, name in history_audio.items()]
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(PROJECT_JSON, json.dumps(project.to_json(portrait_name, audio_name, history_audio),
                                                 indent=2))
            for name, src in members:
                zf.write(src, name, compress_type=zipfile.ZIP_STORED)
            if project.tokens is not None:
                zf.writestr(TOKENS_NPY, _npy_bytes(np.asarray(project.tokens, dtype=np.int64)))
                locked = project.locked if project.locked is not None else np.zeros(len(project.tokens), bool)
                zf.writestr(LOCKED_NPY, _npy_bytes(np.asarray(locked, dtype=bool)))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


MAX_HISTORY_AUDIO = 3
"""Earlier recordings kept in a saved project for undo (the newest ones; older steps are dropped)."""
HISTORY_AUDIO_PREFIX = "earlier-audio-"


def _history_audio(project: Project, budget: int) -> dict[str, str]:
    """Zip member names for the earlier recordings the undo/redo history refers to (newest first,
    at most MAX_HISTORY_AUDIO, only files that still exist, and only while the zip stays within
    ``budget`` bytes: a saved project must always open again)."""
    out: dict[str, str] = {}
    stacks = list(reversed(project.history.undo_stack)) + list(project.history.redo_stack)
    for snap in stacks:
        file = snap.audio_file
        if not file or file == project.audio_file or file in out or not Path(file).is_file():
            continue
        size = Path(file).stat().st_size
        if len(out) >= MAX_HISTORY_AUDIO or size > budget or size > MAX_MEMBER_BYTES:
            continue
        budget -= size
        out[file] = f"{HISTORY_AUDIO_PREFIX}{len(out) + 1}{Path(file).suffix.lower()}"
    return out


# ----------------------------------------------------------------------------- opening

def _read_npy(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    try:
        with zf.open(name) as fh:
            return np.load(io.BytesIO(fh.read()), allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ProjectError(f"{name} in the project is not a plain numeric array ({err}); "
                           "the file is damaged or was not written by the studio") from None


def _check_members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ProjectError(f"the project zip has {len(infos)} files; a studio project has at most {MAX_MEMBERS}")
    out = {}
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or "\\" in name or len(pure.parts) != 1:
            raise ProjectError(f"the project zip contains an unexpected path {name!r}")
        if info.file_size > MAX_MEMBER_BYTES:
            raise ProjectError(f"{name} in the project is too large ({info.file_size / 1e6:.0f} MB)")
        out[name] = info
    return out


def _segments_from(data: dict, duration: float) -> list[Segment]:
    raw = data.get("segments")
    if not isinstance(raw, list):
        raise ProjectError("project.json has no segment list")
    try:
        segments = [Segment.from_dict(s) for s in raw]
        if segments:
            validate(segments, duration)
    except TimelineError as err:
        raise ProjectError(f"the project's timeline is invalid: {err}") from None
    return segments


def _token_list(values, what: str) -> list[int] | None:
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, int) and 0 <= v < CODEBOOK_SIZE for v in values):
        raise ProjectError(f"{what} in project.json must be a list of codebook ids (0..{CODEBOOK_SIZE - 1})")
    return values


def open_project(path: str | Path, dest_dir: str | Path) -> Project:
    """Read a project zip; its portrait and audio are copied into ``dest_dir`` (created).

    Raises ProjectError for anything that is not a valid project; ``dest_dir`` then holds no new
    file. Values with a safe default that are out of range are reset and listed in the returned
    project's ``repairs`` (pipeline/project/repair.py); the rest is kept.
    """
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"no project file at {path}")
    if path.stat().st_size > MAX_ZIP_BYTES:
        raise ProjectError(f"{path.name} is too large for a project ({path.stat().st_size / 1e6:.0f} MB)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ProjectError(f"{path.name} is not a studio project (not a zip file). Open a .zip made "
                           "with Save project.") from None
    with zf:
        members = _check_members(zf)
        if PROJECT_JSON not in members:
            raise ProjectError(f"{path.name} is a zip but not a studio project: it has no {PROJECT_JSON}")
        try:
            data = json.loads(zf.read(PROJECT_JSON).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as err:
            raise ProjectError(f"{PROJECT_JSON} in {path.name} is damaged: {err}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProjectError(f"{path.name} is not a studio project ({PROJECT_JSON} has the wrong format tag)")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ProjectError(f"{path.name} has a damaged format version ({str(version)[:20]!r}); "
                               f"a studio project has a whole number from 1 to {VERSION}")
        if version > VERSION:
            raise ProjectError(f"{path.name} was saved by a newer studio (format version {version}); "
                               f"this one reads up to version {VERSION}")
        from pipeline.project.repair import repair

        repairs = repair(data)
        try:
            duration = float(data.get("duration_s") or 0.0)
        except (TypeError, ValueError):
            raise ProjectError("project.json has a bad duration") from None
        segments = _segments_from(data, duration)

        tokens = locked = None
        if data.get("has_tokens"):
            if TOKENS_NPY not in members:
                raise ProjectError(f"{path.name} says it has motion tokens but {TOKENS_NPY} is missing")
            tokens = _read_npy(zf, TOKENS_NPY)
            if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
                raise ProjectError(f"{TOKENS_NPY} must be a 1-D integer array, got {tokens.dtype} {tokens.shape}")
            if tokens.size and (tokens.min() < 0 or tokens.max() >= CODEBOOK_SIZE):
                raise ProjectError(f"{TOKENS_NPY} holds ids outside the codebook (0..{CODEBOOK_SIZE - 1})")
            tokens = tokens.astype(np.int64)
            if LOCKED_NPY in members:
                locked = _read_npy(zf, LOCKED_NPY)
                if locked.shape != tokens.shape or locked.dtype != np.bool_:
                    raise ProjectError(f"{LOCKED_NPY} must be one boolean per token ({tokens.shape[0]})")
            else:
                locked = np.zeros(tokens.shape, dtype=bool)

        names = {}
        for kind, suffixes in (("portrait", PORTRAIT_SUFFIXES), ("audio", AUDIO_SUFFIXES)):
            name = data.get(kind)
            if name is None:
                continue
            if not isinstance(name, str) or name not in members:
                raise ProjectError(f"the project's {kind} file {name!r} is missing from {path.name}")
            if PurePosixPath(name).suffix.lower() not in suffixes:
                raise ProjectError(f"the project's {kind} file {name!r} has an unexpected type")
            names[kind] = name
        if tokens is not None and "audio" not in names:
            raise ProjectError("the project has motion tokens but no audio")
        hist = data.get("history") if isinstance(data.get("history"), dict) else {}
        earlier = _earlier_audio(hist, members, names)

        try:
            takes = [Take(str(t["label"]), _token_list(t["tokens"], "a take") or [], float(t.get("created", 0)))
                     for t in data.get("takes", [])]
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            if isinstance(err, ProjectError):
                raise
            raise ProjectError(f"the project's takes are damaged: {err}") from None
        settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
        transcript, articulation, language = _speech_from(data)

        files, created = {}, []
        try:
            for kind, name in [*names.items(), *((m, m) for m in earlier)]:
                out, new = _extract(zf, members[name], Path(dest_dir))
                if new:
                    created.append(str(out))
                files[kind] = str(out)
            by_member = {m: files[m] for m in earlier}
            if "audio" in names:
                by_member[names["audio"]] = files["audio"]
            undo, redo, dropped = [], [], 0
            for stack, raw in ((undo, hist.get("undo", [])), (redo, hist.get("redo", []))):
                for step in raw if isinstance(raw, list) else []:
                    try:
                        snap = Snapshot.from_dict(step, by_member)
                        _token_list(snap.tokens, "an undo step")
                        stack.append(snap)
                    except (KeyError, TypeError, AttributeError, ValueError):
                        dropped += 1
            if dropped:
                repairs.append(f"{dropped} damaged undo step(s) dropped; the rest of the history is kept")
        except (OSError, zipfile.BadZipFile, zlib.error) as err:
            _remove(created)
            raise ProjectError(f"could not read the files inside {path.name}: {err}") from None
        except BaseException:
            _remove(created)
            raise

    history = History()
    history.undo_stack, history.redo_stack = undo, redo
    return Project(portrait_file=files.get("portrait"), audio_file=files.get("audio"), duration_s=duration,
                   segments=segments, tokens=tokens, locked=locked, settings=settings, takes=takes,
                   history=history, name=str(data.get("name") or "untitled"), transcript=transcript,
                   articulation=articulation, language=language, repairs=repairs, extracted=created)


OPENED_PREFIX = "opened-"


def _earlier_audio(hist: dict, members: dict, names: dict) -> list[str]:
    """The earlier recordings (zip members) the history's steps refer to, checked like the audio."""
    out = []
    for side in ("undo", "redo"):
        for step in hist.get(side, []) if isinstance(hist.get(side), list) else []:
            name = step.get("audio") if isinstance(step, dict) else None
            if name is None or name == names.get("audio") or name in out:
                continue
            if (isinstance(name, str) and name in members and name.startswith(HISTORY_AUDIO_PREFIX)
                    and PurePosixPath(name).suffix.lower() in AUDIO_SUFFIXES and len(out) < MAX_HISTORY_AUDIO):
                out.append(name)
    return out


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest_dir: Path) -> tuple[Path, bool]:
    """Member ``info`` under ``dest_dir/opened-<crc>-<size>/`` (content-addressed, so restoring
    the same autosave again reuses its files instead of adding a copy each time). Written to a
    temporary name and renamed: a failed read leaves no partial file. Returns (path, newly made)."""
    folder = dest_dir / f"{OPENED_PREFIX}{info.CRC:08x}-{info.file_size}"
    out = folder / info.filename
    if out.is_file() and out.stat().st_size == info.file_size:
        return out, False
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{info.filename}.{uuid.uuid4().hex[:8]}.part"
    try:
        with zf.open(info) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out, True


def _remove(files: list[str]) -> None:
    for file in files:
        path = Path(file)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()          # only when empty
        except OSError:
            pass


def discard_opened(project: Project) -> None:
    """Delete the files a failed open extracted (the project is not used; files it shares with an
    earlier open of the same content stay)."""
    _remove(project.extracted)
    project.extracted = []


MAX_TRANSCRIPT_CHARS = 20000


def _speech_from(data: dict) -> tuple[str, float, str]:
    """The transcript, articulation strength and language of a project.json (defaults when a
    project predates them)."""
    speech = data.get("speech") or {}
    if not isinstance(speech, dict):
        raise ProjectError("project.json has a damaged 'speech' entry")
    transcript = speech.get("transcript") or ""
    if not isinstance(transcript, str) or len(transcript) > MAX_TRANSCRIPT_CHARS:
        raise ProjectError(f"the project's transcript must be text of at most {MAX_TRANSCRIPT_CHARS} characters")
    try:
        articulation = float(speech.get("articulation", 1.0))
    except (TypeError, ValueError):
        raise ProjectError("the project's articulation strength is not a number") from None
    if not np.isfinite(articulation):
        raise ProjectError("the project's articulation strength is not a number")
    language = speech.get("language") or "en"
    if not isinstance(language, str) or len(language) > 32:
        raise ProjectError("the project's language must be a short name such as 'en'")
    return transcript, float(np.clip(articulation, 0.0, 2.0)), language


