"""Shared fixtures: real stores in tmp_path, settings, and the shared reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlens.api.background import BackgroundServer
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


class LiveServer(BackgroundServer):
    """A real uvicorn server on loopback, in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        from cxlens.api.app import create_app

        super().__init__(create_app(settings))
        self.settings = settings

    @property
    def runtime(self):
        return self.app.state.runtime


@pytest.fixture
def live_server(settings: Settings):
    """`create_app(settings)` served by uvicorn on a free loopback port; ``.url`` to call it."""
    server = LiveServer(settings).start()
    try:
        yield server
    finally:
        server.stop()
