"""Dual-branch (text + audio) masked motion-token generator and its sampler."""

from pipeline.motion.generator.config import SPEECH_PROMPT, GeneratorConfig
from pipeline.motion.generator.model import DualBranchGenerator
from pipeline.motion.generator.sampling import SamplingOptions, decode_windowed, masked_decode

__all__ = ["SPEECH_PROMPT", "DualBranchGenerator", "GeneratorConfig", "SamplingOptions", "decode_windowed",
           "masked_decode"]
