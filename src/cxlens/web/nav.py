"""The console's navigation: each page module declares its entries, the layout shows them.

A room that adds console pages (segments, CLV and churn, journeys, experiments ...) writes a module
in ``cxlens/web/pages/`` with ``router = console_router()`` and ``NAV = (NavItem(...),)`` and adds its
name to ``cxlens.web.app.PAGE_MODULES``; the layout then lists it, ordered by ``order``, for the roles
that hold ``permission``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cxlens.web.auth import allowed


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    order: int = 100  # position in the menu: lower comes first
    permission: str = "view"  # who sees the entry (the page checks again: hiding is not protecting)

    def is_current(self, path: str) -> bool:
        return (
            path == self.path if self.path == "/" else path == self.path or path.startswith(self.path + "/")
        )


def visible(items: Iterable[NavItem], role: str) -> list[NavItem]:
    """The entries ``role`` may see, in menu order."""
    return sorted((i for i in items if allowed(role, i.permission)), key=lambda i: (i.order, i.label))
