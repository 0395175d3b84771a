"""The one place that says where the shared data folder is."""

from __future__ import annotations

from pathlib import Path

from pipeline.paths import DATA_ENV, DEFAULT_DATA_DIR, REPO_ROOT, shared_data_dir


def test_default_is_the_folder_beside_the_repository(monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert shared_data_dir() == DEFAULT_DATA_DIR == REPO_ROOT.parent / "shared" / "data"
    assert (REPO_ROOT / "pipeline" / "paths.py").is_file()


def test_environment_variable_wins_and_is_read_late(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert shared_data_dir() == tmp_path
    monkeypatch.setenv(DATA_ENV, "~/elsewhere")
    assert shared_data_dir() == Path.home() / "elsewhere"
    monkeypatch.setenv(DATA_ENV, "  ")   # blank counts as unset
    assert shared_data_dir() == DEFAULT_DATA_DIR
