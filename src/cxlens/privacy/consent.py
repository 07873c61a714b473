"""Consent: the purposes, how choices are read from events, and each person's current state.

A choice arrives in an event as ``context.consent`` (``{"analytics": bool, "personalization":
bool, "marketing": bool}``), as Segment's ``context.consent.categoryPreferences`` (category names
mapped to purposes by ``CATEGORY_PURPOSES``), or as ``traits.consent``. Several answers for one
purpose in one event combine conservatively: any refusal refuses. The latest choice wins; at equal
times a refusal wins. Until a person decides, ``settings.consent_defaults`` applies.

As with identifiers, one spec drives a per-record reader (request path) and a set-based SQL reader
(batches); tests check they agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxlens.config import CONSENT_PURPOSES, Settings
from cxlens.errors import InvalidInputError
from cxlens.identity.identifiers import as_mapping, sql_may_hold
from cxlens.store import Store

PURPOSES = CONSENT_PURPOSES

# Consent-manager category names (Segment Consent Management, OneTrust ids, common CMP names),
# compared lower-case, → our purposes. Categories not listed (e.g. "necessary") carry no choice.
CATEGORY_PURPOSES: dict[str, str] = {
    "analytics": "analytics", "performance": "analytics", "statistics": "analytics",
    "measurement": "analytics", "c0002": "analytics",
    "personalization": "personalization", "functional": "personalization",
    "preferences": "personalization", "c0003": "personalization",
    "marketing": "marketing", "advertising": "marketing", "targeting": "marketing",
    "c0004": "marketing",
}

# (column, JSON path of an object whose keys are purposes)
_PURPOSE_OBJECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("context", ("consent",)), ("traits", ("consent",))
)
_CATEGORY_OBJECT: tuple[str, tuple[str, ...]] = ("context", ("consent", "categoryPreferences"))


def _obj(record: Mapping[str, Any], column: str, path: tuple[str, ...]) -> Mapping[str, Any]:
    value: Any = as_mapping(record.get(column))
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def record_choices(record: Mapping[str, Any]) -> dict[str, bool]:
    """The consent choices one record carries, purpose → granted."""
    answers: dict[str, list[bool]] = {}
    for column, path in _PURPOSE_OBJECTS:
        for purpose, granted in _obj(record, column, path).items():
            if purpose in PURPOSES and isinstance(granted, bool):
                answers.setdefault(purpose, []).append(granted)
    for category, granted in _obj(record, *_CATEGORY_OBJECT).items():
        category_purpose = CATEGORY_PURPOSES.get(str(category).lower())
        if category_purpose and isinstance(granted, bool):
            answers.setdefault(category_purpose, []).append(granted)
    return {purpose: all(values) for purpose, values in answers.items()}


def choices_sql(events: str) -> str:
    """A query over ``events`` (with ``rid``) → (rid, purpose, granted), one row per choice.

    Only events whose JSON text may hold a ``consent`` key are parsed (``sql_may_hold``): almost no
    event carries a choice, and parsing every context six times was a third of a bulk load's
    identifier cost.
    """
    parts = []
    for column, path in _PURPOSE_OBJECTS:
        base = "$." + ".".join(path)
        for purpose in PURPOSES:
            p = f"{base}.{purpose}"
            parts.append(f"SELECT rid, '{purpose}' AS purpose, json_extract({column}, '{p}')::BOOLEAN "
                         f"AS granted FROM _cs_may WHERE json_type({column}, '{p}') = 'BOOLEAN'")
    mapping = ", ".join(f"'{k}': '{v}'" for k, v in CATEGORY_PURPOSES.items())
    column, path = _CATEGORY_OBJECT
    parts.append(
        f"SELECT rid, MAP {{{mapping}}}[lower(c.key)] AS purpose, c.value::BOOLEAN AS granted "
        f"FROM _cs_may, json_each({column}, '$.{'.'.join(path)}') c "
        f"WHERE json_type({column}, '$.{'.'.join(path)}') = 'OBJECT' AND json_type(c.value) = 'BOOLEAN'"
    )
    union = "\nUNION ALL ".join(parts)
    may = " OR ".join(sql_may_hold(c, {"consent"}) for c in sorted({c for c, _ in _PURPOSE_OBJECTS}))
    return (f"WITH _cs_may AS MATERIALIZED (SELECT rid, traits, context FROM {events} WHERE {may}) "
            f"SELECT rid, purpose, bool_and(granted) AS granted FROM ({union}) "
            "WHERE purpose IS NOT NULL GROUP BY rid, purpose")


def sync_defaults(store: Store, settings: Settings) -> None:
    """Make the ``consent_defaults`` table (read by the ``consent_current`` view) match settings."""
    unknown = set(settings.consent_defaults) - set(PURPOSES)
    if unknown:
        raise InvalidInputError(
            f"consent_defaults names unknown purposes {sorted(unknown)}; use {', '.join(PURPOSES)}",
            field="consent_defaults",
        )
    wanted = {p: bool(settings.consent_defaults.get(p, False)) for p in PURPOSES}
    if dict(store.fetchall("SELECT purpose, granted FROM consent_defaults")) != wanted:
        store.execute("DELETE FROM consent_defaults")
        store.executemany("INSERT INTO consent_defaults VALUES (?, ?)", list(wanted.items()))


# Aggregate over one person's choices for one purpose: the latest wins, a refusal wins ties.
LATEST_GRANTED = "arg_min(granted, (-epoch_us(decided_at), granted))"


def consent_state(store: Store, customer_id: str, settings: Settings | None = None) -> dict[str, bool]:
    """Current consent of one customer, purpose → granted (defaults where they never decided).

    Defaults come from ``settings`` when given, else from the ``consent_defaults`` table. Read-only.
    """
    if settings is not None:
        state = {p: bool(settings.consent_defaults.get(p, False)) for p in PURPOSES}
    else:
        state = dict(store.fetchall("SELECT purpose, granted FROM consent_defaults"))
    state.update(dict(store.fetchall(f"""
        SELECT purpose, {LATEST_GRANTED} FROM consent_events WHERE customer_id = ? GROUP BY purpose""",
                                     [customer_id])))
    return state


def consent_history(store: Store, customer_id: str) -> list[dict[str, Any]]:
    """Every recorded choice of a customer, newest first."""
    return store.records("""
        SELECT purpose, granted, decided_at, source, message_id, kind AS via_kind
        FROM consent_events WHERE customer_id = ? ORDER BY decided_at DESC, purpose""", [customer_id])
