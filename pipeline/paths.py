"""Where the project's shared data folder is: one answer for the CLI, the tests and the benchmarks.

The real data (CMU mocap, HumanML3D's reference sample, portraits, speech) is not in the
repository: it sits in a folder beside it (``../shared/data`` on the project's machines and in
CI). ``VERSASTUDIO_DATA`` points elsewhere; a fresh clone has neither, and whoever needs the
folder says so (the CLI asks for ``--cmu-dir``, tests skip with a reason).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "VERSASTUDIO_DATA"
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def shared_data_dir() -> Path:
    """The shared data folder: ``$VERSASTUDIO_DATA`` when set, else ``../shared/data`` beside the repo.

    Read on every call (not at import) so that a test or a script can set the variable late.
    The folder may not exist: callers check, and say what is missing.
    """
    env = os.environ.get(DATA_ENV, "").strip()
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR
