"""Query helpers for the identity, profiles and privacy rooms, safe under DuckDB 2.

Two things in ``Store`` do not work with DuckDB 2 yet (reported to the store's owner): ``arrow``
calls ``fetch_arrow_table``, now ``to_arrow_table``; and ``fetchone``/``scalar`` leave the result
open, after which ``register``/``unregister`` fail ("unfinished result"). These read results
completely. Once the store is fixed they can become plain ``Store`` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from cxlens.store import Store


def fetch_arrow(store: Store, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
    result = store.execute(sql, params)
    for name in ("to_arrow_table", "fetch_arrow_table"):
        if hasattr(result, name):
            table = getattr(result, name)()
            return table if isinstance(table, pa.Table) else table.read_all()
    return store.arrow(sql, params)


def scalar(store: Store, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The first column of the first row (None when there is none), reading the result to the end."""
    rows = store.fetchall(sql, params)
    return rows[0][0] if rows else None
