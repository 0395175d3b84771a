"""Upload components that hand the raw file to the project's own loader.

Why: ``gr.Image`` opens and converts every upload with PIL before a handler runs, so a text file,
an empty file or a 20000 x 20000 image fail inside Gradio with a bare "Error", and a 16-bit PNG
is clipped to 8 bits (then no person is found). ``pipeline.portrait`` already reads these well
(as the CLI shows); ``PortraitImage`` lets it see the uploaded file as it came. Webcam and
clipboard pictures (sent as data URLs, made by the browser) still go through Gradio's decoding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

if TYPE_CHECKING:
    import numpy as np
    import PIL.Image
    from gradio.data_classes import ImageData


class PortraitImage(gr.Image):
    """``gr.Image`` (same page widget) whose uploaded files reach the handler undecoded, as a path.

    Gradio has already checked that the path is in its upload folder when preprocess runs."""

    is_template = True          # drawn by the frontend's own Image component

    def preprocess(self, payload: ImageData | None) -> str | np.ndarray | PIL.Image.Image | None:
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        return super().preprocess(payload)
