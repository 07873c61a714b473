"""The web console: server-rendered pages (Jinja2 + htmx + Vega-Lite) over the same core as the API."""

from cxlens.web.app import PAGE_MODULES, mount
from cxlens.web.users import create_user

__all__ = ["PAGE_MODULES", "create_user", "mount"]
