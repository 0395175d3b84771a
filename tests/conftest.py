"""Shared test fixtures: where the project's real data lives, and skipping when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.paths import shared_data_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = shared_data_dir()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder ($VERSASTUDIO_DATA, default ../shared/data); tests skip on a fresh clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the project's data folder at {SHARED_DATA} (present in CI, not in a fresh clone)")
    return SHARED_DATA
