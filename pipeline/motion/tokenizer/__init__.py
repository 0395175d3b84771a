"""Motion tokenizer: a VQ-VAE turning 263-d motion features into tokens (4 frames each) and back."""

from pipeline.motion.tokenizer.config import CONFIG_NAME, WEIGHTS_NAME, TokenizerConfig
from pipeline.motion.tokenizer.model import MotionTokenizer, TokenizerOutput
from pipeline.motion.tokenizer.quantizer import EMAQuantizer, QuantizerOutput

__all__ = ["CONFIG_NAME", "EMAQuantizer", "MotionTokenizer", "QuantizerOutput", "TokenizerConfig",
           "TokenizerOutput", "WEIGHTS_NAME"]
