"""Find customers by any identifier or by a trait — what a person types into a search box.

An exact identifier (any form ``identity.lookup`` accepts) wins outright. Otherwise ``name=value``
finds customers whose trait ``name`` equals ``value`` (case-insensitive), and plain text finds
customers with an identifier starting with it or a text trait containing it. Results are pages
of customers with what matched, newest activity first.
"""

from __future__ import annotations

from typing import Any

from cxlens.config import Settings
from cxlens.errors import CxlensError, InvalidInputError
from cxlens.identity.lookup import find_customer
from cxlens.store import Store

PAGE_SIZE = 50
MIN_TEXT = 2


def page_count(total: int, page: int, size: int = PAGE_SIZE) -> int:
    """How many pages of ``size`` the ``total`` rows make, checking ``page`` is one of them.

    A page past the last is empty, and a list read it as an empty store ("No customers yet"); a page
    number beyond 64 bits failed in SQL. Both are a page that does not exist, said as such.
    """
    if page < 1:
        raise InvalidInputError("page numbers start at 1", field="page")
    pages = max(1, -(-total // size))
    if page > pages:
        raise InvalidInputError(f"page {page:,} is past the last page ({pages:,})", field="page")
    return pages


def _matches(store: Store, query: str) -> tuple[str, list[Any]]:
    """SQL selecting (customer_id, matched) for a non-identifier query."""
    name, sep, value = query.partition("=")
    if sep and name.strip() and value.strip():
        return ("SELECT customer_id, any_value(name || ' = ' || json_extract_string(value, '$')) AS matched "
                "FROM traits WHERE name = ? AND lower(json_extract_string(value, '$')) = lower(?) "
                "GROUP BY customer_id", [name.strip(), value.strip()])
    if len(query) < MIN_TEXT:
        raise InvalidInputError(f"type at least {MIN_TEXT} characters, an identifier, or name=value",
                                field="q")
    pattern = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ("SELECT customer_id, any_value(matched) AS matched FROM ("
            "  SELECT customer_id, kind || ': ' || value AS matched FROM identities "
            "  WHERE lower(value) LIKE ? ESCAPE '\\' "
            "  UNION ALL "
            "  SELECT customer_id, name || ': ' || json_extract_string(value, '$') FROM traits "
            "  WHERE json_type(value) = 'VARCHAR' "
            "    AND lower(json_extract_string(value, '$')) LIKE ? ESCAPE '\\'"
            ") GROUP BY customer_id", [pattern + "%", "%" + pattern + "%"])


def search_customers(store: Store, settings: Settings, query: str, page: int = 1) -> dict[str, Any]:
    """A page of customers matching ``query`` with ``total``, ``pages`` and what matched each."""
    text = query.strip() if isinstance(query, str) else ""
    if not text:
        raise InvalidInputError("type something to search for", field="q")
    try:
        exact = find_customer(store, settings, text)
        sql, params = "SELECT ?::VARCHAR AS customer_id, ? AS matched", [exact, f"identifier {text}"]
    except CxlensError:
        sql, params = _matches(store, text)
    total = store.scalar(f"SELECT count(*) FROM ({sql})", params)
    pages = page_count(total, page)
    rows = store.records(
        f"SELECT m.customer_id, m.matched, p.first_seen, p.last_seen "
        f"FROM ({sql}) m LEFT JOIN profiles p USING (customer_id) "
        f"ORDER BY p.last_seen DESC NULLS LAST, m.customer_id LIMIT ? OFFSET ?",
        [*params, PAGE_SIZE, (page - 1) * PAGE_SIZE])
    # Details for this page's ids only: a correlated subquery per row would scan all identities.
    details = {cid: (email, n) for cid, email, n in store.fetchall(
        "SELECT customer_id, min(value) FILTER (WHERE kind = 'email'), count(*) FROM identities "
        "WHERE customer_id IN (SELECT unnest(?)) GROUP BY customer_id",
        [[r["customer_id"] for r in rows]])}
    for row in rows:
        row["email"], row["identifiers"] = details.get(row["customer_id"], (None, 0))
    return {"rows": rows, "total": total, "page": page, "pages": pages}
