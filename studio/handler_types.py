"""Types of what Gradio hands the studio's handlers and what they hand back (for the hints only)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence, Union

FieldValue = Union[int, float, str, None]
"""A gr.Number / gr.Textbox / gr.Dropdown value: a number, typed text, or nothing (checked by the handler)."""

TableValue = Union["pandas.DataFrame", Mapping[str, Any], Sequence[Sequence[Any]], None]  # noqa: F821
"""A gr.Dataframe value: a DataFrame, {"data": rows}, or the rows themselves."""

ProgressFn = Union[Callable[..., Any], None]
"""gr.Progress (injected by Gradio), or None (tests, scripts)."""

Outputs = tuple[Any, ...]
"""A handler's outputs, in the order of its event's outputs (``VIEW_FIELDS`` for most)."""

__all__ = ["FieldValue", "Outputs", "ProgressFn", "TableValue"]
