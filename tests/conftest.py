"""Shared test fixtures: where the project's real data lives, and skipping when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The data folder beside the repository (../shared/data); tests skip on a user's fresh clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the project's data folder at {SHARED_DATA} (present in CI, not in a fresh clone)")
    return SHARED_DATA
