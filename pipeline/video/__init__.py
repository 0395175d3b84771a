"""Video out: rendered frames and the speech into an H.264/AAC mp4, with progress and cancel."""

from pipeline.video.pose_video import write_composite_video, write_pose_video
from pipeline.video.progress import Cancel, Progress, RenderCancelled, check_cancel, is_cancelled
from pipeline.video.writer import VideoError, frame_count, probe_video, read_audio_track, write_video

__all__ = [
    "Cancel", "Progress", "RenderCancelled", "VideoError", "check_cancel", "frame_count", "is_cancelled",
    "probe_video", "read_audio_track", "write_composite_video", "write_pose_video", "write_video",
]
