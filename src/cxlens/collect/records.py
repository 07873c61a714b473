"""The normalized event record: the one shape every source is turned into before loading.

A record is a dict with the keys of ``EVENT_COLUMNS`` (snake_case, as in the ``events`` table).
Between stages records travel as an Arrow table with ``EVENT_SCHEMA``: JSON columns as strings,
times as timezone-aware UTC. The HTTP collector, the WAL and bulk import all produce it; the
pipeline (``cxlens.collect.pipeline``) consumes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from cxlens import jsonutil

_TS = pa.timestamp("us", tz="UTC")

EVENT_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("type", pa.string()),
        ("event", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("id_kind", pa.string()),
        ("id_value", pa.string()),
        ("customer_id", pa.string()),
        ("channel", pa.string()),
        ("source", pa.string()),
        ("timestamp", _TS),
        ("original_timestamp", _TS),
        ("sent_at", _TS),
        ("received_at", _TS),
        ("properties", pa.string()),
        ("traits", pa.string()),
        ("context", pa.string()),
        ("group_id", pa.string()),
        ("previous_id", pa.string()),
        ("anonymized", pa.bool_()),
    ]
)
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)
JSON_COLUMNS = frozenset({"properties", "traits", "context"})


def to_arrow(records: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Records (dicts, JSON columns as dicts or strings) → an Arrow table with ``EVENT_SCHEMA``."""
    rows = list(records)
    columns: dict[str, list[Any]] = {}
    for name in EVENT_COLUMNS:
        values = [row.get(name) for row in rows]
        if name in JSON_COLUMNS:
            values = [v if v is None or isinstance(v, str) else jsonutil.dumps_str(v) for v in values]
        elif name == "anonymized":
            values = [bool(v) for v in values]
        columns[name] = values
    return pa.table(columns, schema=EVENT_SCHEMA)
