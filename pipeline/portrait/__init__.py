"""Portrait understanding: the person's whole-body pose, mask, face and framing in one photo.

MediaPipe is imported only when an analysis runs, so importing this package stays cheap.
"""

from pipeline.portrait.analysis import analyze_portrait, classify_framing
from pipeline.portrait.image_io import load_portrait_image
from pipeline.portrait.types import Framing, PortraitAnalysis, PortraitError
from pipeline.portrait.wholebody import NUM_KEYPOINTS, WholeBodyPose

__all__ = ["Framing", "NUM_KEYPOINTS", "PortraitAnalysis", "PortraitError", "WholeBodyPose", "analyze_portrait",
           "classify_framing", "load_portrait_image"]
