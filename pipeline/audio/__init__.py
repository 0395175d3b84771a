"""Speech in: loading (any format -> 16 kHz mono), features at the motion rate, pause-based cuts.

Importable without torch for loading and pauses; :class:`AudioTemporalBlock` (the generator's
audio-to-token convolutions) and :class:`Wav2Vec2Features` need torch / transformers.
"""

from pipeline.audio.io import (
    MAX_AUDIO_SECONDS,
    MIN_AUDIO_SECONDS,
    AudioClip,
    AudioError,
    load_audio,
    motion_frames_for,
    save_wav,
)
from pipeline.audio.pauses import speech_activity, suggest_segments

__all__ = [
    "MAX_AUDIO_SECONDS", "MIN_AUDIO_SECONDS", "AudioClip", "AudioError", "load_audio", "motion_frames_for",
    "save_wav", "speech_activity", "suggest_segments",
    "AudioFeatureExtractor", "LibrosaFeatures", "Wav2Vec2Features", "load_audio_features", "AudioTemporalBlock",
]


def __getattr__(name: str):
    # features import torch (through the temporal block); keep `import pipeline.audio` light
    if name in ("AudioFeatureExtractor", "LibrosaFeatures", "Wav2Vec2Features", "load_audio_features"):
        from pipeline.audio import features

        return getattr(features, name)
    if name == "AudioTemporalBlock":
        from pipeline.audio.temporal_block import AudioTemporalBlock

        return AudioTemporalBlock
    raise AttributeError(f"module 'pipeline.audio' has no attribute {name!r}")
