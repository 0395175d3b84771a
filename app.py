"""The studio's entry point: `python app.py`, and the Hugging Face Space's app file.

Spaces (and scripts) import ``demo``; run directly it serves on 127.0.0.1, port 7860 or
$GRADIO_SERVER_PORT.
"""

from __future__ import annotations

import os

from studio.layout import build_app, launch_style

demo = build_app()
# Renders and downloads live under the sessions root ($VERSASTUDIO_SESSIONS or
# ~/.cache/versastudio/sessions); launch_style() lets Gradio serve that folder and nothing wider.

if __name__ == "__main__":
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        **launch_style(),
    )
