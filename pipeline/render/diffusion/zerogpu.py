"""Running the denoising on a Hugging Face ZeroGPU Space: ``spaces.GPU`` with a computed duration.

On ZeroGPU a GPU is attached only inside functions decorated with ``spaces.GPU``, for at most the
``duration`` asked for; asking for too little aborts the render, too much lowers the visitor's
queue priority. The duration is computed per call from the video length
(:func:`.estimate.gpu_lease_seconds`). ``spaces`` is imported only if installed (it exists on
Spaces); everywhere else the job simply runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

try:  # guarded: the package only exists on Spaces (and where someone installed it)
    import spaces  # type: ignore
except ImportError:  # pragma: no cover - depends on the environment
    spaces = None


@dataclass
class GpuJob:
    """A call to run on the GPU and the seconds of GPU time it asks for.

    ZeroGPU runs the call in a forked worker and pickles what it is given, so ``fn`` must be a
    module-level function and ``args`` plain data (arrays, numbers); the models are found by the
    function itself in the (inherited) module state, never passed.
    """

    fn: Callable[..., Any]
    args: tuple
    duration_s: int


def _job_duration(job: GpuJob) -> int:
    return int(job.duration_s)


def _run_job(job: GpuJob) -> Any:
    return job.fn(*job.args)


def _decorate() -> Callable[[GpuJob], Any]:
    if spaces is None:
        return _run_job
    return spaces.GPU(duration=_job_duration)(_run_job)


_run_on_gpu = _decorate()


def zero_gpu() -> bool:
    """Whether this is a ZeroGPU Space (the platform sets SPACES_ZERO_GPU) with ``spaces`` importable."""
    return spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "true")


def run_gpu_job(fn: Callable[..., Any], args: tuple, duration_s: int) -> Any:
    """``fn(*args)`` inside ``spaces.GPU(duration=duration_s)`` on ZeroGPU, else directly."""
    if zero_gpu():
        return _run_on_gpu(GpuJob(fn, tuple(args), int(duration_s)))
    return fn(*args)
