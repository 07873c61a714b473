"""``mount(app)``: add the console's pages and static files to the FastAPI app that serves the API."""

from __future__ import annotations

from importlib import import_module, resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from cxlens.web.auth import ConsoleConfig
from cxlens.web.nav import NavItem

# Console page modules (``cxlens.web.pages.<name>``); each has ``router`` and may have ``NAV``.
PAGE_MODULES = (
    "login", "overview", "customers", "data", "privacy", "users", "surveys_hosted", "surveys",
    "clv", "voc_text", "models", "journeys", "experiments", "program",
    "segments", "churn", "drivers", "personalization",
)
STATIC_PATH = "/static"


def mount(app: FastAPI, config: ConsoleConfig | None = None) -> None:
    """Serve the console from ``app``; pages read ``app.state.runtime`` (settings and store)."""
    nav: list[NavItem] = []
    for name in PAGE_MODULES:
        module = import_module(f"cxlens.web.pages.{name}")
        app.include_router(module.router)
        nav.extend(getattr(module, "NAV", ()))
    app.state.console_nav = nav
    app.state.console_config = config or ConsoleConfig()
    static_dir = Path(str(resources.files("cxlens.web") / "static"))
    app.mount(STATIC_PATH, StaticFiles(directory=static_dir), name="console-static")
