"""Shared fixtures: real stores in tmp_path, settings, and the shared reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlens.config import Settings, load_settings
from cxlens.store import Store

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CASES = Path(__file__).resolve().parent / "cases"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(tmp_path / "data")


@pytest.fixture
def store(settings: Settings):
    with Store(settings.store_path) as s:
        yield s


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA} (../shared/data beside the checkout)")
    return SHARED_DATA
