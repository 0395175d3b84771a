"""Speech to mouth motion: timed phonemes (aligned / recognised / spectral) -> visemes -> mouth track."""

from pipeline.speech.visemes import MouthTrack, mouth_track

__all__ = ["MouthTrack", "mouth_track"]
