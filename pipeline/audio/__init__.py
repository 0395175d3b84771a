"""Speech in: loading (any format -> 16 kHz mono), features at the motion rate, pause-based cuts.

Importable without torch or librosa (each is imported inside the function that needs it);
:class:`Wav2Vec2Features` needs torch / transformers. The generator's audio-to-token convolutions
(``AudioTemporalBlock``) live with the generator, in ``pipeline/motion/generator/temporal_block.py``.
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
from pipeline.audio.features import AudioFeatureExtractor, LibrosaFeatures, Wav2Vec2Features, load_audio_features
from pipeline.audio.pauses import speech_activity, suggest_segments

__all__ = [
    "MAX_AUDIO_SECONDS", "MIN_AUDIO_SECONDS", "AudioClip", "AudioError", "load_audio", "motion_frames_for",
    "save_wav", "speech_activity", "suggest_segments",
    "AudioFeatureExtractor", "LibrosaFeatures", "Wav2Vec2Features", "load_audio_features",
]

