"""Console fixtures: a live server (``create_app``, which mounts the console) on the real demo business
(``cxlens.demo``: generated, then imported through the collect pipeline), with one signed-up user per
role, and a headless Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers beside this file

from web_support import PASSWORD, sign_in  # noqa: E402

from cxlens.config import load_settings  # noqa: E402
from cxlens.demo.run import build_demo  # noqa: E402
from cxlens.identity.keyed import SECRET_FILE  # noqa: E402
from cxlens.store import Store  # noqa: E402
from cxlens.web import create_user  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CUSTOMERS = 150
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
def template_dir(tmp_path_factory) -> Path:
    """The demo business (150 customers) with one user per role, built once; each test gets a copy."""
    settings = load_settings(tmp_path_factory.mktemp("console-template"))
    build_demo(settings, customers=CUSTOMERS, seed=7, create_keys=False)
    with Store(settings.store_path) as store:
        for role in ROLES:
            create_user(store, Console.email(role), PASSWORD, role)
    return settings.data_dir


@pytest.fixture
def console(request, settings, template_dir) -> Iterator[Console]:
    """The app the lead serves (create_app mounts the console) on a copy of the demo store.

    The identity key travels with the store: suppressions and merge evidence are keyed hashes under it.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_dir / settings.store_path.name, settings.store_path)
    shutil.copyfile(template_dir / SECRET_FILE, settings.data_dir / SECRET_FILE)
    live_server = request.getfixturevalue("live_server")
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
