"""Synthetic co-speech training pairs for the motion generator's audio branch, and BEAT2 reading.

No freely licensed co-speech dataset exists (see shared/data/README.md), so the audio branch
learns from synthetic pairs: speech from espeak-ng / festival (speech_synth), gestures from a
rule-based co-speech model driven by the speech's prosody (gesture_rules), written in the
HumanML3D layout (pairs). Users who own BEAT2 convert it to the same layout (beat2).

    from pipeline.data.synthetic.cospeech import cospeech_motion, build_pairs
    motion = cospeech_motion(samples, 16000, np.random.default_rng(0))
    build_pairs("cache/cospeech", n_clips=400, seed=0)
"""

from .gesture_rules import CoSpeechMotion, cospeech_motion
from .speech_synth import SpeechSynthError, synthesize

__all__ = ["CoSpeechMotion", "SpeechSynthError", "build_pairs", "cospeech_motion", "synthesize"]


def build_pairs(*args, **kwargs):
    """See pipeline.data.synthetic.cospeech.pairs.build_pairs (imported lazily: it pulls in torch)."""
    from .pairs import build_pairs as _build
    return _build(*args, **kwargs)
