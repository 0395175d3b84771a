"""One save/load convention for every model the project ships (the diffusers / transformers one).

- A model's configuration is a dataclass deriving from :class:`PretrainedConfig`: a strict JSON
  round trip (``to_dict`` / ``from_dict``, ``save`` / ``load`` of ``config.json``). A key the
  dataclass does not know, a missing required key, a value of the wrong JSON type or a config of
  another model (``model_type``) is refused with a :class:`ConfigError` that names the file and
  the key; nothing is silently dropped.
- A model derives from :class:`PretrainedModel` and is found under ``model.config``. It is saved
  as a folder: ``config.json`` + the weights in safetensors (no pickle), plus files of its own
  (the action classifier's ``labels.json``, a model card):

      model.save_pretrained(path, **options) -> path
      Model.from_pretrained(path, device="cpu", **options) -> model (eval mode)

  A subclass says how its weights become tensors (:meth:`PretrainedModel._weights_to_save`) and
  how tensors become a model (:meth:`PretrainedModel._from_weights`); the folder layout, the file
  checks, the config parsing and the device are handled here once.

Used by the motion tokenizer, the motion generator, the action classifier, the retrieval
evaluator, the relation bank (numpy arrays, not a torch module) and the diffusion renderer's
face-condition layers.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar, Mapping, TypeVar

import numpy as np

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

C = TypeVar("C", bound="PretrainedConfig")
M = TypeVar("M", bound="PretrainedModel")


class ConfigError(ValueError):
    """A config.json (or a config dict) that does not describe this model."""


@dataclasses.dataclass
class PretrainedConfig:
    """Base of the model configs: a dataclass with a strict JSON round trip.

    Class attributes (not fields, so not in ``config.json`` unless said):

    - ``model_type``: written to ``config.json``; a file with another ``model_type`` is refused.
    - ``informational_keys``: keys that :meth:`to_dict` of a subclass adds for readers (the
      relation bank's entry count) and that loading accepts and ignores.
    """

    model_type: ClassVar[str] = ""
    informational_keys: ClassVar[frozenset[str]] = frozenset()

    # ------------------------------------------------------------------ dict round trip
    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values (tuples become lists), ``model_type`` included."""
        data = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if self.model_type and "model_type" not in data:
            data["model_type"] = self.model_type
        return data

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any], *, source: str | Path | None = None) -> C:
        """The config from a dict; unknown keys, missing required keys and wrong types are refused.

        ``source`` (a file name) goes into the error message."""
        where = f"{source}: " if source is not None else ""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}a {cls.__name__} is a JSON object, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        data = dict(data)
        if "model_type" in data:
            given = data["model_type"] if "model_type" in fields else data.pop("model_type")
            if cls.model_type and given != cls.model_type:
                raise ConfigError(f"{where}this is the config of a {given!r} model, not of a "
                                  f"{cls.model_type!r} ({cls.__name__})")
        unknown = sorted(set(data) - set(fields) - set(cls.informational_keys))
        if unknown:
            raise ConfigError(f"{where}unknown {cls.__name__} keys: {', '.join(unknown)} "
                              f"(known: {', '.join(fields)})")
        missing = sorted(name for name, f in fields.items() if name not in data and _required(f))
        if missing:
            raise ConfigError(f"{where}{cls.__name__} lacks the required keys: {', '.join(missing)}")
        values = {name: _checked(cls, fields[name], value, where) for name, value in data.items()
                  if name in fields}
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}invalid {cls.__name__}: {err}") from err

    # ------------------------------------------------------------------ config.json
    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` into ``directory`` (created when missing); returns the file."""
        path = Path(directory) / CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json_string(), encoding="utf-8")
        return path

    @classmethod
    def load(cls: type[C], path: str | Path) -> C:
        """Read a ``config.json`` (the file, or the folder holding it), strictly."""
        path = Path(path)
        if path.is_dir():
            path = path / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"no {CONFIG_NAME} at {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}: not JSON ({err})") from err
        return cls.from_dict(data, source=path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _checked(cls: type, f: dataclasses.Field, value: Any, where: str) -> Any:
    """The JSON value for field ``f``, checked against the type of the field's default (a list
    becomes a tuple where the default is a tuple; an integer is accepted for a float)."""
    default = _default(f)
    annotation = str(f.type)
    wrong = None
    if isinstance(default, bool) or annotation == "bool":
        wrong = not isinstance(value, bool)
    elif isinstance(default, int) or annotation == "int":
        wrong = isinstance(value, bool) or not isinstance(value, int)
    elif isinstance(default, float) or annotation == "float":
        wrong = isinstance(value, bool) or not isinstance(value, (int, float))
        value = value if wrong else float(value)
    elif isinstance(default, str) or annotation == "str":
        wrong = not isinstance(value, str)
    elif isinstance(default, (tuple, list)) or annotation.startswith(("tuple", "list")):
        wrong = not isinstance(value, (list, tuple))
        if not wrong:
            value = tuple(value) if isinstance(default, tuple) or annotation.startswith("tuple") else list(value)
    if wrong:
        raise ConfigError(f"{where}{cls.__name__}.{f.name} should be {annotation}, got {value!r}")
    return value


def card_header(metadata: Mapping[str, Any]) -> str:
    """The Hugging Face Hub's YAML front matter of a model card (``---`` ... ``---``) for string
    values and lists of strings (licence, library, pipeline tag, tags, datasets)."""
    lines = ["---"]
    for key, value in metadata.items():
        if isinstance(value, (list, tuple)):
            lines.append(f"{key}:")
            lines += [f"- {json.dumps(str(v))}" if ":" in str(v) else f"- {v}" for v in value]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines + ["---", ""])


def with_card_header(card: str, metadata: Mapping[str, Any]) -> str:
    """``card`` opening with the Hub header of ``metadata`` (unchanged when it already has one)."""
    if card.startswith("---\n") or not metadata:
        return card
    return card_header(metadata) + "\n" + card


class PretrainedModel:
    """Mixin of the shipped models: ``config``, ``save_pretrained`` and ``from_pretrained``.

    Subclasses set ``config_class`` (and ``weights_name`` / ``framework`` when they differ) and
    implement :meth:`_weights_to_save` and :meth:`_from_weights`; ``missing_hint`` tells the user
    how to make the folder when it is missing.
    """

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    weights_name: ClassVar[str] = WEIGHTS_NAME
    framework: ClassVar[str] = "pt"
    """The safetensors flavour of the weights: "pt" (torch tensors) or "numpy" (arrays)."""
    missing_hint: ClassVar[str] = ""
    """Appended to the error for a folder without the files; ``{path}`` is the folder."""
    card_metadata: ClassVar[dict[str, Any]] = {}
    """The Hub header of the model card (README.md beside the weights): licence, tags, datasets."""
    config: PretrainedConfig

    @property
    def cfg(self) -> PretrainedConfig:
        """The old name of :attr:`config` on the generator and the condition layers."""
        return self.config

    # ------------------------------------------------------------------ save
    def save_pretrained(self, path: str | Path, **options: Any) -> Path:
        """Write ``config.json`` + the weights (and the model's own files) into the folder ``path``.

        ``options`` are the model's own (the tokenizer's ``dtype``, the generator's ``branches``,
        ...); see the subclass."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        tensors, metadata = self._weights_to_save(**options)
        meta = {"format": self.framework}
        if self.config.model_type:
            meta["model_type"] = self.config.model_type
        meta.update({k: str(v) for k, v in metadata.items()})
        # safetensors.torch imports torch: only the torch models ask for it (the relation bank is numpy)
        if self.framework == "numpy":
            from safetensors.numpy import save_file

            tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        else:
            from safetensors.torch import save_file

            tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        save_file(tensors, str(directory / self.weights_name), metadata=meta)
        config = {**self.config.to_dict(), **self._config_extras()}
        (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        self._save_files(directory, **options)
        return directory

    def _config_extras(self) -> dict[str, Any]:
        """Informational keys written into config.json beside the config's own (see
        ``PretrainedConfig.informational_keys``); none by default."""
        return {}

    def _weights_to_save(self, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tensors by name, extra safetensors metadata). By default a torch module's whole
        ``state_dict`` as it is (the action classifier, the retrieval evaluator, the condition layers)."""
        if options:
            raise TypeError(f"{type(self).__name__}.save_pretrained takes no options, got {sorted(options)}")
        return dict(self.state_dict()), {}

    def _save_files(self, directory: Path, **options: Any) -> None:
        """Files of the model's own beside the weights (none by default)."""

    # ------------------------------------------------------------------ load
    @classmethod
    def from_pretrained(cls: type[M], path: str | Path, *, device: Any = "cpu", **options: Any) -> M:
        """The model saved in the folder ``path`` by :meth:`save_pretrained`, on ``device``, in eval mode."""
        directory = Path(path)
        missing = [name for name in (CONFIG_NAME, cls.weights_name) if not (directory / name).is_file()]
        if missing:
            hint = f"; {cls.missing_hint.format(path=directory)}" if cls.missing_hint else ""
            raise FileNotFoundError(f"{directory} needs {CONFIG_NAME} and {cls.weights_name} "
                                    f"({' and '.join(missing)} missing){hint}")
        config = cls._load_config(directory)
        if cls.framework == "numpy":  # as in save_pretrained: torch only for the torch models
            from safetensors.numpy import load_file
        else:
            from safetensors.torch import load_file
        tensors = load_file(str(directory / cls.weights_name))
        model = cls._from_weights(config, tensors, directory, **options)
        return model._placed(device)

    @classmethod
    def _load_config(cls, directory: Path) -> PretrainedConfig:
        return cls.config_class.load(directory / CONFIG_NAME)

    @classmethod
    def _from_weights(cls: type[M], config: PretrainedConfig, tensors: dict[str, Any], directory: Path,
                      **options: Any) -> M:
        """The model from its config and tensors. By default ``cls(config)`` and a strict
        ``load_state_dict`` (every tensor present, none left over)."""
        if options:
            raise TypeError(f"{cls.__name__}.from_pretrained takes no options, got {sorted(options)}")
        model = cls(config)
        model.load_state_dict(tensors, strict=True)
        return model

    def _placed(self: M, device: Any) -> M:
        """The model on ``device`` in eval mode (torch modules); numpy arrays live on the CPU only."""
        if self.framework == "numpy":
            if str(device) != "cpu":
                raise ValueError(f"{type(self).__name__} holds numpy arrays: device must be 'cpu', got {device!r}")
            return self
        return self.to(device).eval()


__all__ = ["CONFIG_NAME", "WEIGHTS_NAME", "ConfigError", "PretrainedConfig", "PretrainedModel", "card_header",
           "with_card_header"]
