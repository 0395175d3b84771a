"""Moved to pipeline/project/timeline.py; this name stays for the studio's imports (same module)."""

import sys

from pipeline.project import timeline as _moved

sys.modules[__name__] = _moved
