"""Video out: rendered frames and the speech into an H.264/AAC mp4 (ffmpeg), and reading one back.

Progress and cancel types are in :mod:`pipeline.jobs`; pose-map videos in
:mod:`pipeline.render.pose_video`.
"""

from pipeline.video.writer import VideoError, frame_count, probe_video, read_audio_track, write_video

__all__ = ["VideoError", "frame_count", "probe_video", "read_audio_track", "write_video"]
