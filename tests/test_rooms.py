"""Rules between the rooms (docs/architecture.md) that an import can break."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _loaded_after(imports: str) -> set[str]:
    code = f"import sys\n{imports}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_the_runtime_path_does_not_import_the_training_data_synthesis():
    loaded = _loaded_after("import pipeline.motion.generate, pipeline.motion.bvh, pipeline.body.rig, "
                           "pipeline.token2pose.api, pipeline.render.backends, pipeline.render.pose_video")
    assert "pipeline.motion.rotations" in loaded
    assert not {m for m in loaded if m.startswith("pipeline.data.synthetic")}


def test_the_video_writer_imports_nothing_of_the_renderers():
    loaded = _loaded_after("import pipeline.video, pipeline.jobs")
    assert "pipeline.video.writer" in loaded
    assert not {m for m in loaded if m.startswith("pipeline.render")}
