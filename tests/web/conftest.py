"""Console fixtures: a live server (``create_app`` + ``cxlens.web.mount``) on a small synthetic store,
with one signed-up user per role, and a headless Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers beside this file

from web_support import PASSWORD, sign_in  # noqa: E402
from web_synthetic import fill_store  # noqa: E402

from cxlens.store import Store  # noqa: E402
from cxlens.web import create_user, mount  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ANCHOR = datetime(2025, 3, 31, 12, tzinfo=UTC)
CUSTOMERS = 60
ROLES = ("admin", "analyst", "marketer", "viewer")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Console:
    url: str
    server: object

    @property
    def store(self):
        return self.server.runtime.store

    @staticmethod
    def email(role: str) -> str:
        return f"{role}@example.org"

    @contextmanager
    def client(self, role: str | None = None) -> Iterator[httpx.Client]:
        """An HTTP client, signed in as ``role`` when given."""
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=30) as client:
            if role:
                response = sign_in(client, self.email(role), PASSWORD)
                assert response.status_code == 303, response.text
            yield client


@pytest.fixture(scope="session")
def template_store(tmp_path_factory) -> Path:
    """A 60-customer store with one user per role, built once; each test serves its own copy."""
    path = tmp_path_factory.mktemp("console-template") / "cxlens.duckdb"
    with Store(path) as store:
        fill_store(store, CUSTOMERS, ANCHOR)
        for role in ROLES:
            create_user(store, Console.email(role), PASSWORD, role)
    return path


@pytest.fixture
def console(request, settings, template_store) -> Iterator[Console]:
    """The app the lead serves (create_app) with the console mounted, on a copy of the template store."""
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_store, settings.store_path)
    live_server = request.getfixturevalue("live_server")
    mount(live_server.app)
    yield Console(url=live_server.url, server=live_server)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def signed_in(browser, console):
    """A function: ``signed_in(role)`` opens a browser page signed in as that role."""
    contexts = []

    def open_as(role: str):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # JavaScript errors on the page: every test checks there were none
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(console.url + "/login")
        page.get_by_label("E-mail").fill(Console.email(role))
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(console.url + "/")
        return page

    yield open_as
    for context in contexts:
        context.close()
