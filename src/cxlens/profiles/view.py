"""The customer 360: one profile, and its cross-channel timeline.

Every read is a point look-up on an indexed ``customer_id`` (event counts per channel are kept at
load time in ``profile_channels``), so a profile answers in milliseconds at a million customers.
"""

from __future__ import annotations

from typing import Any

from cxlens import jsonutil
from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.identity.keyed import Hasher
from cxlens.identity.lookup import find_customer
from cxlens.privacy.consent import consent_history, consent_state
from cxlens.store import Store

MAX_TIMELINE = 1000


def _json(value: Any) -> Any:
    return jsonutil.loads(value) if isinstance(value, str) else value


def _explain(merge: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A merge record with evidence hashes shown as the customer's own identifiers where known."""
    def show(ref: dict[str, Any]) -> dict[str, Any]:
        return {**ref, "identifier": names.get(ref.get("hash", ""))}

    evidence = [{**item, "a": show(item["a"]), "b": show(item["b"])} if "a" in item else show(item)
                for item in _json(merge["evidence"]) or []]
    return {**merge, "evidence": evidence}


def get_profile(store: Store, settings: Settings, identifier: str) -> dict[str, Any]:
    """Everything known about the customer ``identifier`` resolves to."""
    customer_id = find_customer(store, settings, identifier)
    profile = store.records("SELECT first_seen, last_seen, updated_at FROM profiles WHERE customer_id = ?",
                            [customer_id])
    identities = store.records("""
        SELECT kind, value, first_seen, last_seen, hub FROM identities WHERE customer_id = ?
        ORDER BY kind, value""", [customer_id])
    hasher = Hasher.for_data_dir(settings.data_dir)
    names = {hasher.identifier(i["kind"], i["value"]): f"{i['kind']}:{i['value']}" for i in identities}
    merges = store.records("""
        SELECT merged_at, outcome, from_customer_id, into_customer_id, reason, evidence FROM merges
        WHERE into_customer_id = ? OR from_customer_id = ? ORDER BY merged_at""", [customer_id, customer_id])
    traits = store.records("SELECT name, value, source, updated_at FROM traits WHERE customer_id = ? "
                           "ORDER BY name", [customer_id])
    computed = store.records("""
        SELECT name, value, model, model_version, computed_at FROM computed_traits
        WHERE customer_id = ? ORDER BY name""", [customer_id])
    channels = store.fetchall("SELECT channel, events FROM profile_channels WHERE customer_id = ? "
                              "ORDER BY events DESC, channel", [customer_id])
    return {
        "customer_id": customer_id,
        "first_seen": profile[0]["first_seen"] if profile else None,
        "last_seen": profile[0]["last_seen"] if profile else None,
        "updated_at": profile[0]["updated_at"] if profile else None,
        "identities": identities,
        "traits": {t["name"]: {**t, "value": _json(t["value"])} for t in traits},
        "computed_traits": {c["name"]: {**c, "value": _json(c["value"])} for c in computed},
        "consent": {"current": consent_state(store, customer_id, settings),
                    "history": consent_history(store, customer_id)},
        "events_by_channel": {channel: count for channel, count in channels},
        "merges": [_explain(m, names) for m in merges],
    }


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
    events = store.records(f"""
        SELECT message_id, type, event, channel, source, timestamp, id_kind, properties, traits, context
        FROM events WHERE {where} ORDER BY timestamp DESC, message_id LIMIT ? OFFSET ?""",
                           [*params, limit, offset])
    for e in events:
        for key in ("properties", "traits", "context"):
            e[key] = _json(e[key])
    return {"customer_id": customer_id, "total": total, "limit": limit, "offset": offset, "events": events}

