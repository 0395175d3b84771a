"""Text prompts in: sentence embeddings (offline MiniLM by default, CLIP from a local folder)."""

from pipeline.text.encoder import (
    TEXT_ENCODER_ENV,
    ClipTextEncoder,
    MiniLMTextEncoder,
    PromptTruncatedWarning,
    TextEncoder,
    cosine_similarity,
    load_text_encoder,
    minilm_model_dir,
)

__all__ = [
    "TEXT_ENCODER_ENV", "ClipTextEncoder", "MiniLMTextEncoder", "PromptTruncatedWarning", "TextEncoder",
    "cosine_similarity", "load_text_encoder", "minilm_model_dir",
]
