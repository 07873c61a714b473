"""The customer 360: one profile, and its cross-channel timeline.

Every read is a point look-up on an indexed ``customer_id`` (event counts per channel are kept at
load time in ``profile_channels``), so a profile answers in a few milliseconds at a million customers
(bench/bench_profiles.py). At that size nearly all of a look-up's cost is DuckDB planning the
statement, not reading rows; ADR 0003 (addendum "Profile read") has the measurements behind the shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cxlens import jsonutil
from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.identity.keyed import Hasher
from cxlens.identity.lookup import customer_id_form, find_customer
from cxlens.privacy.consent import PURPOSES
from cxlens.store import Store

MAX_TIMELINE = 1000


def _json(value: Any) -> Any:
    return jsonutil.loads(value) if isinstance(value, str) else value


def _cols(*names: str) -> dict[str, str]:
    return {name: name for name in names}


def _explain(merge: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A merge record with evidence hashes shown as the customer's own identifiers where known."""
    def show(ref: dict[str, Any]) -> dict[str, Any]:
        return {**ref, "identifier": names.get(ref.get("hash", ""))}

    evidence = [{**item, "a": show(item["a"]), "b": show(item["b"])} if "a" in item else show(item)
                for item in _json(merge["evidence"]) or []]
    return {**merge, "evidence": evidence}


# The parts of a profile: part -> (field -> SQL expression, FROM ... WHERE ...), ``$c`` the customer
# id. Each is one equality on a column with its own index, the only filter DuckDB answers with an
# index: an OR (``from = $c OR into = $c``), and even an AND with a second condition, scans the whole
# table. So merges are two reads, and self-merges (from = into) are dropped from the second in Python.
_PARTS: dict[str, tuple[dict[str, str], str]] = {
    "profile": (_cols("first_seen", "last_seen", "updated_at"), "FROM profiles WHERE customer_id = $c"),
    "identities": (_cols("kind", "value", "first_seen", "last_seen", "hub"),
                   "FROM identities WHERE customer_id = $c"),
    "traits": (_cols("name", "value", "source", "updated_at"), "FROM traits WHERE customer_id = $c"),
    "computed": (_cols("name", "value", "model", "model_version", "computed_at"),
                 "FROM computed_traits WHERE customer_id = $c"),
    "channels": (_cols("channel", "events"), "FROM profile_channels WHERE customer_id = $c"),
    "history": ({**_cols("purpose", "granted", "decided_at", "source", "message_id"), "via_kind": "kind"},
                "FROM consent_events WHERE customer_id = $c"),
    "merges": (_MERGE := _cols("merged_at", "outcome", "from_customer_id", "into_customer_id", "reason",
                               "evidence"), "FROM merges WHERE into_customer_id = $c"),
    "merges_from": (_MERGE, "FROM merges WHERE from_customer_id = $c"),
}
# The TIMESTAMPTZ fields above: they travel as ISO text in the row's JSON and become datetimes again.
_TIMES = ("first_seen", "last_seen", "updated_at", "computed_at", "decided_at", "merged_at")


def _row(fields: dict[str, str]) -> str:
    return "to_json({" + ", ".join(f"'{name}': {expr}" for name, expr in fields.items()) + "})"


# One statement, each row one JSON object. At a million customers nearly all of a look-up is DuckDB's
# fixed cost per statement (parse, bind, optimize: ~0.4 ms even on an empty table), so ten separate
# reads were slow; and binding is what a wide UNION of typed columns costs (the earlier 9 x 11 grid
# of cast slots bound in ~5 ms). A JSON object per row binds in a fraction of that (interleaved A/B,
# 1M profiles: CPU p50 5.5 -> 3.5 ms) and keeps JSON columns (trait values, evidence) parsed. It is
# parsed once (``Store.statement``): DuckDB 2's parser cost as much again as the rest.
_PROFILE_SQL = "\nUNION ALL ".join(f"SELECT '{part}' AS part, {_row(fields)} AS row {source}"
                                   for part, (fields, source) in _PARTS.items())


_Parts = dict[str, list[dict[str, Any]]]


def _read_parts(store: Store, customer_id: str) -> _Parts:
    parts: _Parts = {part: [] for part in _PARTS}
    for part, text in store.fetchall(store.statement(_PROFILE_SQL), {"c": customer_id}):
        row = jsonutil.loads(text)
        for name in _TIMES:
            if row.get(name) is not None:
                row[name] = datetime.fromisoformat(row[name])
        parts[part].append(row)
    return parts


def _located(store: Store, settings: Settings, identifier: str) -> tuple[str, _Parts]:
    """The customer ``identifier`` resolves to and their profile rows.

    A current customer id is read directly: its own identities prove it current, which is the check
    ``find_customer`` would have made in a statement of its own. Only an id merged away (no
    identities) goes through ``find_customer`` to its survivor.
    """
    candidate = customer_id_form(identifier)
    if candidate is not None:
        parts = _read_parts(store, candidate)
        if parts["identities"]:
            return candidate, parts
    customer_id = find_customer(store, settings, identifier)
    return customer_id, _read_parts(store, customer_id)


def _current_consent(settings: Settings, history: list[dict[str, Any]]) -> dict[str, bool]:
    """Purpose -> granted: the latest choice, a refusal winning a tie, else the default.

    The same rule as ``privacy.consent.LATEST_GRANTED`` (tested equal to ``consent_state``), applied
    to the history already read rather than by a GROUP BY branch of its own.
    """
    consent = {p: bool(settings.consent_defaults.get(p, False)) for p in PURPOSES}
    latest: dict[str, tuple[datetime, bool]] = {}
    for choice in history:
        key = (choice["decided_at"], not choice["granted"])
        if choice["purpose"] not in latest or key > latest[choice["purpose"]]:
            latest[choice["purpose"]] = key
    consent.update({purpose: not refused for purpose, (_, refused) in latest.items()})
    return consent


def get_profile(store: Store, settings: Settings, identifier: str) -> dict[str, Any]:
    """Everything known about the customer ``identifier`` resolves to."""
    customer_id, parts = _located(store, settings, identifier)
    profile = parts["profile"][0] if parts["profile"] else {}
    identities = sorted(parts["identities"], key=lambda i: (i["kind"], i["value"]))
    history = sorted(parts["history"], key=lambda h: h["purpose"])
    history.sort(key=lambda h: h["decided_at"], reverse=True)
    merges_from = [m for m in parts["merges_from"] if m["into_customer_id"] != customer_id]
    merges = sorted(parts["merges"] + merges_from, key=lambda m: m["merged_at"])
    names: dict[str, str] = {}
    if merges:  # the installation secret is read only when there is evidence to show
        hasher = Hasher.for_data_dir(settings.data_dir)
        names = {hasher.identifier(i["kind"], i["value"]): f"{i['kind']}:{i['value']}" for i in identities}
    channels = sorted(parts["channels"], key=lambda c: (-c["events"], c["channel"]))
    return {
        "customer_id": customer_id,
        "first_seen": profile.get("first_seen"),
        "last_seen": profile.get("last_seen"),
        "updated_at": profile.get("updated_at"),
        "identities": identities,
        "traits": {t["name"]: t for t in sorted(parts["traits"], key=_name)},
        "computed_traits": {c["name"]: c for c in sorted(parts["computed"], key=_name)},
        "consent": {"current": _current_consent(settings, history), "history": history},
        "events_by_channel": {c["channel"]: c["events"] for c in channels},
        "merges": [_explain(m, names) for m in merges],
    }


def _name(row: dict[str, Any]) -> str:
    return str(row["name"])


def get_timeline(store: Store, settings: Settings, identifier: str, *, limit: int = 50, offset: int = 0,
                 channel: str | None = None) -> dict[str, Any]:
    """The customer's events across channels, newest first, a page at a time."""
    if not 1 <= limit <= MAX_TIMELINE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_TIMELINE}, not {limit}", field="limit")
    if offset < 0:
        raise InvalidInputError(f"offset must be 0 or more, not {offset}", field="offset")
    customer_id = find_customer(store, settings, identifier)
    where, params = "customer_id = ?", [customer_id]
    if channel:
        where += " AND channel = ?"
        params.append(channel)
    total = store.scalar(f"SELECT count(*) FROM events WHERE {where}", params)
    # Past the last event the page is empty without asking: an offset beyond 64 bits fails in SQL.
    events = [] if offset >= total else store.records(f"""
        SELECT message_id, type, event, channel, source, timestamp, id_kind, properties, traits, context
        FROM events WHERE {where} ORDER BY timestamp DESC, message_id LIMIT ? OFFSET ?""",
                           [*params, limit, offset])
    for e in events:
        for key in ("properties", "traits", "context"):
            e[key] = _json(e[key])
    return {"customer_id": customer_id, "total": total, "limit": limit, "offset": offset, "events": events}

