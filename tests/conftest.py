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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn server on loopback, in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        import threading

        import uvicorn

        from cxlens.api.app import create_app

        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def runtime(self):
        return self.app.state.runtime

    def start(self) -> LiveServer:
        import time

        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("cxlens test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


@pytest.fixture
def live_server(settings: Settings):
    """`create_app(settings)` served by uvicorn on a free loopback port; ``.url`` to call it."""
    server = LiveServer(settings).start()
    try:
        yield server
    finally:
        server.stop()
