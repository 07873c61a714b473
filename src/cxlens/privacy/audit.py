"""The audit log: who asked for what, when, and how much it touched — never personal data."""

from __future__ import annotations

import secrets
from typing import Any

from cxlens import jsonutil
from cxlens.errors import InvalidInputError
from cxlens.store import Store


def new_request_id() -> str:
    return "dsr_" + secrets.token_hex(8)


def audit(store: Store, actor: str, action: str, subject: str, details: dict[str, Any]) -> None:
    """Append one entry. ``details`` must hold counts and kinds, not identifiers."""
    store.execute("INSERT INTO audit_log VALUES (now(), ?, ?, ?, ?::JSON)",
                  [actor, action, subject, jsonutil.dumps_str(details)]).fetchall()


def audit_entries(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    if not 1 <= limit <= 10_000:
        raise InvalidInputError(f"limit must be between 1 and 10000, not {limit}", field="limit")
    rows = store.records("SELECT logged_at, actor, action, subject, details FROM audit_log "
                         "ORDER BY logged_at DESC LIMIT ?", [limit])
    return [{**r, "details": jsonutil.loads(r["details"]) if r["details"] else None} for r in rows]
