"""The normalized event record: the one shape every source is turned into before loading.

A record is a dict with the keys of ``EVENT_COLUMNS`` (snake_case, as in the ``events`` table).
Between stages records travel as an Arrow table with ``EVENT_SCHEMA``: JSON columns as strings,
times as timezone-aware UTC. The HTTP collector, the WAL and bulk import all produce it; the
pipeline (``cxlens.collect.pipeline``) consumes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

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


# The JSON-lines form of records (the WAL's event payload): times as integer microseconds, JSON
# columns as text, so Arrow's C++ JSON reader builds the table without any Python per row.
_LINES_SCHEMA = pa.schema([pa.field(f.name, pa.int64() if pa.types.is_timestamp(f.type) else f.type)
                           for f in EVENT_SCHEMA])
_LINES_PARSE = pj.ParseOptions(explicit_schema=_LINES_SCHEMA, unexpected_field_behavior="ignore")
_LINES_READ = pj.ReadOptions(use_threads=False, block_size=1 << 22)  # lines are ≤ ~100 KB


def to_json_lines(records: Iterable[dict[str, Any]]) -> bytes:
    """Records (times as epoch microseconds) → newline-terminated JSON lines ``from_json_lines`` reads.

    Turns each record's JSON columns into text in place: the records are not to be used afterwards.
    """
    lines = []
    for record in records:
        for name in JSON_COLUMNS:
            value = record.get(name)
            if value is not None and not isinstance(value, str):
                record[name] = jsonutil.dumps_str(value)
        lines.append(orjson.dumps(record))
    lines.append(b"")
    return b"\n".join(lines)


def from_json_lines(data: bytes) -> pa.Table:
    """``to_json_lines`` output → an Arrow table with ``EVENT_SCHEMA`` (absent keys become nulls)."""
    table = pj.read_json(pa.BufferReader(data), read_options=_LINES_READ, parse_options=_LINES_PARSE)
    anonymized = table.schema.get_field_index("anonymized")
    table = table.set_column(anonymized, "anonymized", pc.fill_null(table.column(anonymized), False))
    return table.cast(EVENT_SCHEMA)
