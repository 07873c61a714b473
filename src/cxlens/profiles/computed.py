"""Computed traits: the slots analytics fill (rfm, clv, churn_risk, segments, sentiment ...)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from cxlens import jsonutil
from cxlens.errors import InvalidInputError
from cxlens.store import Store

REQUIRED = ("customer_id", "name", "value", "model", "model_version")


def value_matches_sql(value_sql: str) -> str:
    """SQL condition: a ``computed_traits`` row's value equals ``value_sql`` (a literal or ``?``),
    ignoring case.

    Segments are typed by people (``rfm_segment=champions``, ``rfm_segment=at risk``) while the
    segments room stores display names ("Champions", "At risk"); an exact comparison selected nobody.
    """
    return f"lower(json_extract_string(value, '$')) = lower({value_sql})"


def write_computed_traits(store: Store, rows: Iterable[Mapping[str, Any]]) -> int:
    """Upsert computed traits; each row has customer_id, name, value (any JSON), model,
    model_version and optionally computed_at (default now). Returns rows written."""
    clean = []
    now = datetime.now(UTC)
    for i, row in enumerate(rows):
        for key in REQUIRED:
            if key not in row or (key != "value" and not isinstance(row[key], str)) or row[key] == "":
                raise InvalidInputError(f"computed trait row {i}: {key} is required (a non-empty string "
                                        f"except value, which may be any JSON)", field=key, row=i)
        computed_at = row.get("computed_at") or now
        if not isinstance(computed_at, datetime) or computed_at.tzinfo is None:
            raise InvalidInputError(f"computed trait row {i}: computed_at must be a timezone-aware "
                                    "datetime", field="computed_at", row=i)
        clean.append({**{k: row[k] for k in REQUIRED}, "value": jsonutil.dumps_str(row["value"]),
                      "computed_at": computed_at})
    if not clean:
        return 0
    store.register("_ct_rows", pa.Table.from_pylist(clean))
    try:
        store.execute("""
            INSERT INTO computed_traits
            SELECT customer_id, name, arg_max(value, computed_at)::JSON, arg_max(model, computed_at),
                   arg_max(model_version, computed_at), max(computed_at)
            FROM _ct_rows GROUP BY customer_id, name
            ON CONFLICT DO UPDATE SET value = excluded.value, model = excluded.model,
                model_version = excluded.model_version, computed_at = excluded.computed_at""").fetchall()
    finally:
        store.unregister("_ct_rows")
    return len(clean)
