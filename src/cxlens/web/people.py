"""Queries behind the customer and privacy pages, until the profiles and privacy rooms offer them.

Stand-ins, to be replaced by core functions (the report names each): ``search`` → profile lookup
by any identifier, ``customer_360``/``timeline`` → the profile room's 360, ``export_person`` and
``erase_person`` → the privacy room's data-subject requests.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.store import Store

PAGE_SIZE = 50
# Tables holding a person's data, by the column that names them (what export and erase cover).
PERSONAL_TABLES = (
    "events",
    "orders",
    "feedback",
    "identities",
    "traits",
    "computed_traits",
    "consent_events",
    "profiles",
)
_NAME = (
    "coalesce(json_extract_string(any_value(t.value) FILTER (WHERE t.name = 'name'), '$'), "
    "trim(concat_ws(' ', json_extract_string(any_value(t.value) FILTER (WHERE t.name = 'first_name'), '$'), "
    "json_extract_string(any_value(t.value) FILTER (WHERE t.name = 'last_name'), '$'))))"
)


def _decode(value: Any) -> Any:
    """JSON columns arrive as text; show them as values."""
    if isinstance(value, str):
        try:
            return jsonutil.loads(value)
        except jsonutil.JSONDecodeError:
            return value
    return value


def _summaries(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    """One row per customer for result lists: name, e-mail, when seen, how many identifiers."""
    if not ids:
        return []
    rows = store.records(
        f"SELECT p.customer_id, p.first_seen, p.last_seen, {_NAME} AS name, "
        "(SELECT min(value) FROM identities i WHERE i.customer_id = p.customer_id "
        "AND i.kind = 'email') AS email, "
        "(SELECT count(*) FROM identities i WHERE i.customer_id = p.customer_id) AS identifiers "
        "FROM profiles p LEFT JOIN traits t ON t.customer_id = p.customer_id "
        "WHERE p.customer_id IN (SELECT unnest(?)) GROUP BY ALL ORDER BY p.last_seen DESC",
        [ids],
    )
    return rows


def search(store: Store, query: str, page: int = 1) -> dict[str, Any]:
    """Customers matching ``query`` as an identifier (exact, any kind), a customer id, or a trait value.

    With no query, the most recently seen customers, paged.
    """
    query = query.strip()
    if page < 1:
        raise InvalidInputError("page numbers start at 1", field="page")
    if not query:
        total = store.scalar("SELECT count(*) FROM profiles")
        ids = [
            r[0]
            for r in store.fetchall(
                "SELECT customer_id FROM profiles ORDER BY last_seen DESC LIMIT ? OFFSET ?",
                [PAGE_SIZE, (page - 1) * PAGE_SIZE],
            )
        ]
        return {"rows": _summaries(store, ids), "total": total, "page": page, "pages": -(-total // PAGE_SIZE)}
    if len(query) < 2:
        raise InvalidInputError("type at least two characters to search", field="q")
    needle = query.lower()
    ids = [
        r[0]
        for r in store.fetchall(
            "SELECT customer_id FROM identities WHERE value IN (?, ?) UNION "
            "SELECT customer_id FROM profiles WHERE customer_id = ? UNION "
            "(SELECT DISTINCT customer_id FROM traits WHERE CAST(value AS VARCHAR) ILIKE ? LIMIT ?)",
            [query, needle, query, f"%{query}%", PAGE_SIZE],
        )
    ][:PAGE_SIZE]
    rows = _summaries(store, ids)
    return {"rows": rows, "total": len(rows), "page": 1, "pages": 1}


def customer_360(store: Store, customer_id: str, default_consent: dict[str, bool]) -> dict[str, Any]:
    """Everything known about one customer except the timeline (see ``timeline``)."""
    profile = store.records("SELECT * FROM profiles WHERE customer_id = ?", [customer_id])
    identities = store.records(
        "SELECT kind, value, first_seen, last_seen FROM identities WHERE customer_id = ? "
        "ORDER BY kind, first_seen",
        [customer_id],
    )
    if not profile and not identities:
        raise NotFoundError(
            f"no customer {customer_id!r}: search for them by e-mail, user id or phone",
            customer_id=customer_id,
        )
    links = store.records(
        "SELECT e.first_seen, e.a_kind, e.a_value, e.b_kind, e.b_value, e.via, e.message_id "
        "FROM identity_edges e "
        "JOIN identities i ON i.customer_id = ? AND ((e.a_kind = i.kind AND e.a_value = i.value)) "
        "ORDER BY e.first_seen LIMIT 200",
        [customer_id],
    )
    merges = store.records(
        "SELECT merged_at, from_customer_id, into_customer_id, reason, evidence FROM merges "
        "WHERE into_customer_id = ? OR from_customer_id = ? ORDER BY merged_at",
        [customer_id, customer_id],
    )
    traits = store.records(
        "SELECT name, value, source, updated_at FROM traits WHERE customer_id = ? ORDER BY name",
        [customer_id],
    )
    computed = store.records(
        "SELECT name, value, model, model_version, computed_at FROM computed_traits WHERE customer_id = ? "
        "ORDER BY name",
        [customer_id],
    )
    history = store.records(
        "SELECT decided_at, purpose, granted, kind, source FROM consent_events WHERE customer_id = ? "
        "ORDER BY decided_at DESC",
        [customer_id],
    )
    consent = {
        purpose: {"granted": granted, "decided_at": None, "source": "default"}
        for purpose, granted in default_consent.items()
    }
    for row in reversed(history):  # oldest first, so the latest decision wins
        consent[row["purpose"]] = {
            "granted": row["granted"],
            "decided_at": row["decided_at"],
            "source": row["source"] or row["kind"],
        }
    for row in (*traits, *computed):
        row["value"] = _decode(row["value"])
    for row in merges:
        row["evidence"] = _decode(row["evidence"])
    return {
        "customer_id": customer_id,
        "profile": profile[0] if profile else None,
        "identities": identities,
        "links": links,
        "merges": merges,
        "traits": traits,
        "computed": computed,
        "consent": consent,
        "consent_history": history,
    }


def timeline(store: Store, customer_id: str, page: int = 1) -> dict[str, Any]:
    """Every interaction of one customer, newest first, across channels, a page at a time."""
    if page < 1:
        raise InvalidInputError("page numbers start at 1", field="page")
    total = store.scalar("SELECT count(*) FROM events WHERE customer_id = ?", [customer_id])
    rows = store.records(
        "SELECT timestamp, type, event, channel, source, properties FROM events WHERE customer_id = ? "
        "ORDER BY timestamp DESC LIMIT ? OFFSET ?",
        [customer_id, PAGE_SIZE, (page - 1) * PAGE_SIZE],
    )
    for row in rows:
        props = _decode(row.pop("properties")) or {}
        row["details"] = (
            ", ".join(f"{k}: {v}" for k, v in list(props.items())[:4]) if isinstance(props, dict) else ""
        )
    return {"rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE))}


def resolve(store: Store, identifier: str) -> str:
    """The customer id behind an identifier (any kind) or a customer id itself."""
    identifier = identifier.strip()
    if not identifier:
        raise InvalidInputError("enter an e-mail, user id, phone or customer id", field="identifier")
    found = store.fetchall(
        "SELECT DISTINCT customer_id FROM identities WHERE value IN (?, ?) UNION "
        "SELECT customer_id FROM profiles WHERE customer_id = ?",
        [identifier, identifier.lower(), identifier],
    )
    if not found:
        raise NotFoundError("nobody with that identifier is in the store (already erased, or never seen)")
    if len(found) > 1:
        raise InvalidInputError("that identifier names several customers: use the customer id instead")
    return str(found[0][0])


def export_person(store: Store, customer_id: str) -> dict[str, Any]:
    """Every row held about one customer, table by table (a data-subject access request)."""
    return {
        "customer_id": customer_id,
        "exported_at": datetime.now(UTC),
        **{
            table: store.records(f"SELECT * FROM {table} WHERE customer_id = ?", [customer_id])
            for table in PERSONAL_TABLES
        },
    }


def erasure_preview(store: Store, customer_id: str) -> list[tuple[str, int]]:
    """How many rows an erasure would delete, per table (shown on the confirmation step)."""
    return [
        (table, store.scalar(f"SELECT count(*) FROM {table} WHERE customer_id = ?", [customer_id]))
        for table in PERSONAL_TABLES
    ]


def erase_person(store: Store, customer_id: str, actor: str) -> str:
    """Delete one customer's data everywhere, in one transaction, and record it in the audit log."""
    request_id = "dsr_" + secrets.token_hex(8)
    counts = dict(erasure_preview(store, customer_id))
    with store.transaction():
        for table in PERSONAL_TABLES:
            store.execute(f"DELETE FROM {table} WHERE customer_id = ?", [customer_id])
        store.execute(
            "INSERT INTO audit_log VALUES (?, ?, 'erase', ?, ?)",
            [datetime.now(UTC), actor, request_id, jsonutil.dumps_str({"rows": counts})],
        )
    return request_id


def audit(store: Store, action: str, actor: str, subject: str, details: dict[str, Any] | None = None) -> None:
    store.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [datetime.now(UTC), actor, action, subject, jsonutil.dumps_str(details or {})],
    )


def audit_log(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    return store.records(
        "SELECT logged_at, actor, action, subject, details FROM audit_log ORDER BY logged_at DESC LIMIT ?",
        [limit],
    )


def suppressions(store: Store, limit: int = 100) -> dict[str, Any]:
    return {
        "total": store.scalar("SELECT count(*) FROM suppressions"),
        "rows": store.records(
            "SELECT suppressed_at, kind, request_id, identifier_hash FROM suppressions "
            "ORDER BY suppressed_at DESC LIMIT ?",
            [limit],
        ),
    }
