"""Moved to pipeline/project/repair.py; this name stays for old imports (same module)."""

import sys

from pipeline.project import repair as _moved

sys.modules[__name__] = _moved
