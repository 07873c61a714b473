"""Saved audiences: a name, an expression and a purpose; membership snapshots and size over time.

A refresh evaluates the expression over every profile (one SQL query, see
:mod:`cxlens.segments.compiler`) and diffs the result with the current members: the people who
joined and left are appended to ``audience_changes``, the members replaced, and the size (and how
many of the members consent to the audience's purpose) appended to ``audience_sizes`` — all in one
transaction.

Consent: membership is the rule alone, so sizes and analysis count everyone the rule selects. What
*leaves* the system (exports, the members list when asked for consented members) keeps only people
who consent to the audience's ``purpose`` right now — read live, so a withdrawal counts at once even
before the next refresh. Marketing audiences therefore never export a person without marketing
consent; write ``consent.marketing`` into the rule as well to make the size mean "reachable".
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from cxlens.errors import ConflictError, InvalidInputError, NotFoundError
from cxlens.segments.compiler import CompiledAudience, check_purpose, compile_expression
from cxlens.store import Store

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_PREVIEW = 1000
MAX_PAGE = 10_000
_NEW = "_audience_new"


def check_name(name: str) -> str:
    """An audience name: lower-case letters, digits, ``-`` and ``_``, at most 64 characters."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidInputError(f"audience name {name!r} is not valid: use 1-64 lower-case letters, digits, "
                                "'-' or '_', starting with a letter or digit (e.g. high-value-at-risk)",
                                field="name")
    return name


def _limit(value: int, upper: int, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= upper:
        raise InvalidInputError(f"{field} must be a whole number from 0 to {upper}", field=field)
    return value


def load_audience(store: Store, name: str) -> dict[str, Any]:
    rows = store.records("SELECT * FROM audiences WHERE name = ?", [check_name(name)])
    if not rows:
        known = [r[0] for r in store.fetchall("SELECT name FROM audiences ORDER BY name LIMIT 20")]
        hint = f"; saved audiences: {', '.join(known)}" if known else "; none are saved yet"
        raise NotFoundError(f"no audience named {name!r}{hint}", audience=name)
    return rows[0]


def preview(store: Store, expression: str, *, purpose: str = "marketing",
            limit: int = 10) -> dict[str, Any]:
    """How many people ``expression`` selects now, how many consent to ``purpose``, and a sample.

    The sample is the first ``limit`` customer ids in id order (stable between calls).
    """
    limit = _limit(limit, MAX_PREVIEW, "limit")
    compiled = compile_expression(store, expression, consent_purpose=purpose)
    # one pass: counts and the ``limit`` smallest ids (DuckDB's top-n ``min(x, n)``)
    size, consented, sample = store.fetchone(compiled.select(
        f"count(*), count(*) FILTER (WHERE {compiled.consent_sql}), min(p.customer_id, {max(limit, 1)})"),
        compiled.params) or (0, 0, None)
    sample = (sample or [])[:limit]
    total = store.scalar("SELECT count(*) FROM profiles")
    return {"expression": expression, "size": size, "profiles": total,
            "share": round(size / total, 4) if total else 0.0, "purpose": purpose,
            "consented": consented, "sample": sample,
            "fields": [{"name": f.name, "source": f.source, "kind": f.kind} for f in compiled.fields]}


def create_audience(store: Store, name: str, expression: str, *, description: str | None = None,
                    purpose: str = "marketing", now: datetime | None = None) -> dict[str, Any]:
    """Save an audience (the expression is checked first) and take its first membership snapshot."""
    check_name(name)
    check_purpose(purpose)
    if description is not None and (not isinstance(description, str) or len(description) > 1000):
        raise InvalidInputError("description must be text of at most 1000 characters", field="description")
    compile_expression(store, expression)  # refuse a broken rule before saving it
    if store.scalar("SELECT count(*) FROM audiences WHERE name = ?", [name]):
        raise ConflictError(f"an audience named {name!r} already exists: choose another name",
                            audience=name)
    store.execute("INSERT INTO audiences VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                  [name, expression, description, purpose, now or datetime.now(UTC)])
    return refresh_audience(store, name, now=now)


def refresh_audience(store: Store, name: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Re-evaluate a saved audience; record who joined and left and the new size."""
    audience = load_audience(store, name)
    moment = now or datetime.now(UTC)
    compiled = compile_expression(store, audience["expression"], consent_purpose=audience["purpose"])
    with store.transaction():
        counts = _snapshot(store, name, compiled, moment)
    log.info("audience %s refreshed: %d members (%d joined, %d left)", name, counts["size"],
             counts["joined"], counts["left"])
    return {**get_audience(store, name, history=1), "refresh": counts}


def _snapshot(store: Store, name: str, compiled: CompiledAudience, moment: datetime) -> dict[str, int]:
    store.execute(f"CREATE OR REPLACE TEMP TABLE {_NEW} AS "
                  + compiled.select(f"p.customer_id, {compiled.consent_sql} AS consented"),
                  compiled.params)
    try:
        old = "SELECT customer_id FROM audience_members WHERE audience = $a"
        args = {"a": name, "t": moment}
        joined = store.fetchall(f"""
            INSERT INTO audience_changes SELECT $a, customer_id, 'joined', $t FROM {_NEW}
            WHERE customer_id NOT IN ({old})""", args)[0][0]
        left = store.fetchall(f"""
            INSERT INTO audience_changes SELECT $a, customer_id, 'left', $t FROM ({old})
            WHERE customer_id NOT IN (SELECT customer_id FROM {_NEW})""", args)[0][0]
        store.execute(f"DELETE FROM audience_members WHERE audience = $a AND customer_id NOT IN "
                      f"(SELECT customer_id FROM {_NEW})", {"a": name})
        store.execute(f"INSERT INTO audience_members SELECT $a, customer_id, $t FROM {_NEW} "
                      f"WHERE customer_id NOT IN ({old})", args)
        size, consented = store.fetchall(f"SELECT count(*), count(*) FILTER (WHERE consented) FROM {_NEW}")[0]
        store.execute("INSERT INTO audience_sizes VALUES ($a, $t, $s, $j, $l, $c)",
                      {**args, "s": size, "j": joined, "l": left, "c": consented})
        store.execute("UPDATE audiences SET refreshed_at = $t, size = $s WHERE name = $a",
                      {**args, "s": size})
    finally:
        store.execute(f"DROP TABLE IF EXISTS {_NEW}")
    return {"size": size, "joined": joined, "left": left, "consented": consented}


def list_audiences(store: Store) -> list[dict[str, Any]]:
    """Every saved audience with its latest size."""
    return store.records("""
        SELECT a.name, a.purpose, a.size, s.consented, a.refreshed_at, a.expression, a.description
        FROM audiences a
        LEFT JOIN (SELECT audience, arg_max(consented, refreshed_at) AS consented
                   FROM audience_sizes GROUP BY audience) s ON s.audience = a.name
        ORDER BY a.name""")


def get_audience(store: Store, name: str, *, history: int = 30) -> dict[str, Any]:
    """A saved audience with its size over the last ``history`` refreshes (newest first)."""
    audience = load_audience(store, name)
    sizes = store.records("""
        SELECT refreshed_at, size, joined, left_count AS "left", consented FROM audience_sizes
        WHERE audience = ? ORDER BY refreshed_at DESC LIMIT ?""",
                          [name, _limit(history, MAX_PAGE, "history")])
    return {**audience, "sizes": sizes}


def audience_members(store: Store, name: str, *, limit: int = 100, offset: int = 0,
                     consented_only: bool = False) -> dict[str, Any]:
    """A page of current members (customer id and when they joined), in id order.

    With ``consented_only``, only members who consent to the audience's purpose now.
    """
    audience = load_audience(store, name)
    consent = ("JOIN consent_current c ON c.customer_id = m.customer_id AND c.purpose = $purpose "
               "AND c.granted") if consented_only else ""
    base = f"FROM audience_members m {consent} WHERE m.audience = $a"
    args: dict[str, Any] = {"a": name, **({"purpose": audience["purpose"]} if consented_only else {})}
    total = store.scalar(f"SELECT count(*) {base}", args)
    members = store.records(
        f"SELECT m.customer_id, m.joined_at {base} ORDER BY m.customer_id LIMIT $limit OFFSET $offset",
        {**args, "limit": _limit(limit, MAX_PAGE, "limit"), "offset": _limit(offset, 2**62, "offset")})
    return {"audience": name, "purpose": audience["purpose"], "consented_only": consented_only,
            "total": total, "limit": limit, "offset": offset, "members": members}


def membership_changes(store: Store, name: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """The latest joins and leaves of an audience, newest first."""
    load_audience(store, name)
    return store.records("""
        SELECT changed_at, change, customer_id FROM audience_changes WHERE audience = ?
        ORDER BY changed_at DESC, change, customer_id LIMIT ?""", [name, _limit(limit, MAX_PAGE, "limit")])
