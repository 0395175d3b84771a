"""Evaluation tools for generated motion: an action classifier (text-action accuracy) and beat
consistency between motion and audio (BC).

    from pipeline.eval.action_classifier import ActionClassifier
    from pipeline.eval.beats import motion_beats, audio_beats, beat_consistency, shuffled_baseline
"""
