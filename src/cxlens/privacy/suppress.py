"""Suppressions: identifiers of erased people, kept only as keyed hashes, refused forever after.

Refusing re-sent events needs *some* memory of the person; a keyed hash (HMAC under the
installation secret) is the least that works: it matches the same identifier again but cannot be
turned back into it, nor matched against a list of e-mail addresses without the secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from cxlens.identity.keyed import Hasher
from cxlens.store import Store


def suppress(store: Store, hasher: Hasher, identifiers: Iterable[tuple[str, str]], request_id: str) -> int:
    """Add (kind, value) identifiers to the suppression list; returns how many were new."""
    rows = sorted({(hasher.identifier(kind, value), kind) for kind, value in identifiers})
    if not rows:
        return 0
    store.register("_sup_new", pa.table({"identifier_hash": [h for h, _ in rows],
                                         "kind": [k for _, k in rows]}))
    try:
        added = store.scalar("""
            INSERT INTO suppressions (identifier_hash, kind, suppressed_at, request_id)
            SELECT identifier_hash, kind, now(), ? FROM _sup_new ON CONFLICT DO NOTHING""", [request_id])
    finally:
        store.unregister("_sup_new")
    return int(added or 0)


def suppressed_hashes(store: Store) -> set[str]:
    return {row[0] for row in store.fetchall("SELECT identifier_hash FROM suppressions")}


def mark_suppressed(store: Store, hasher: Hasher, ids: str) -> str:
    """Temp table ``_sup_hit`` (kind, value): the identifiers in ``ids`` that are suppressed.

    Hashes are computed only when there is something to match, and once per distinct identifier.
    """
    store.execute("CREATE OR REPLACE TEMP TABLE _sup_hit (kind VARCHAR, value VARCHAR)")
    if not store.scalar("SELECT count(*) FROM suppressions"):
        return "_sup_hit"
    distinct = store.arrow(f"SELECT DISTINCT kind, value FROM {ids}")
    kinds, values = distinct["kind"].to_pylist(), distinct["value"].to_pylist()
    hashes = [hasher.identifier(k, v) for k, v in zip(kinds, values, strict=True)]
    store.register("_sup_batch", pa.table({"kind": kinds, "value": values, "identifier_hash": hashes}))
    try:
        store.execute("""
            INSERT INTO _sup_hit SELECT b.kind, b.value FROM _sup_batch b
            JOIN suppressions s USING (identifier_hash)""")
    finally:
        store.unregister("_sup_batch")
    return "_sup_hit"


def list_suppressions(store: Store) -> list[dict[str, Any]]:
    return store.records("""
        SELECT identifier_hash, kind, suppressed_at, request_id FROM suppressions
        ORDER BY suppressed_at DESC, identifier_hash""")
