"""Events for the identity, profiles and privacy tests, loaded through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cxlens.collect.records import to_arrow
from cxlens.config import Settings
from cxlens.profiles.unify import UnifyResult, unify
from cxlens.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def event(n: int, **fields: Any) -> dict[str, Any]:
    """A record with defaults; ``n`` makes the message id and the time (n minutes after T0)."""
    record: dict[str, Any] = {
        "message_id": f"m{n}", "type": "track", "event": "Viewed", "channel": "web", "source": "test",
        "timestamp": T0 + timedelta(minutes=n), "received_at": T0 + timedelta(minutes=n),
    }
    record.update(fields)
    return record


def load(store: Store, settings: Settings, records: Iterable[Mapping[str, Any]]) -> UnifyResult:
    """De-duplicate by message id, unify and insert in one transaction, as the pipeline does.

    ``collect.pipeline.load_events`` cannot be used yet: under DuckDB 2 it fails on
    ``unregister`` after its extract step (an unfetched INSERT result); switch once fixed.
    """
    rows = list(records)
    with store.transaction():
        seen = set(store.arrow("SELECT message_id FROM events")["message_id"].to_pylist())
        result = unify(store, settings, to_arrow(r for r in rows if r["message_id"] not in seen))
        store.register("_test_batch", result.batch)
        store.execute("INSERT INTO events SELECT * FROM _test_batch").fetchall()
        store.unregister("_test_batch")
    return result


def mapping(store: Store) -> dict[tuple[str, str], str]:
    return {(k, v): c for k, v, c in store.fetchall("SELECT kind, value, customer_id FROM identities")}


def old_store(path: Path, tables: Iterable[str], ddl: Iterable[str]) -> Store:
    """A store whose ``tables`` are made again by ``ddl``: how a store an older version created looks
    (DuckDB cannot drop a constraint, so those stores keep what they were made with)."""
    store = Store(path)
    for table in tables:
        store.execute(f"DROP TABLE {table}")
    for statement in ddl:
        store.execute(statement)
    return store
