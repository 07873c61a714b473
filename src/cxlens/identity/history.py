"""Moving history when identifiers change customer: every table with a ``customer_id`` column.

Tables are discovered in ``information_schema``, so tables the analytics add later follow
automatically. Per table, the most precise rule its columns allow:

1. ``id_kind`` + ``id_value`` (events): rows follow the identifier they are anchored to;
   ``kind`` + ``value`` (consent choices) likewise;
2. ``message_id`` (orders, feedback, ...): rows follow their event;
3. every table: rows of a customer id that disappeared go to its successor.

Where a primary key or unique constraint includes ``customer_id`` (derived per-customer tables),
the successor's own row wins and the moved duplicate is dropped: derived values are recomputed.
Tables that need a real combination (profiles, traits) are combined by their owner *before* this
runs, so nothing of theirs is left to move.
"""

from __future__ import annotations

import logging

from cxlens.store import Store

log = logging.getLogger(__name__)

# Rewritten by resolution itself, not moved.
_OWN_TABLES = frozenset({"identities"})


def customer_tables(store: Store) -> dict[str, set[str]]:
    """Base tables with a ``customer_id`` column → their column names."""
    rows = store.fetchall("""
        SELECT c.table_name, c.column_name FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
        WHERE t.table_type = 'BASE TABLE' AND c.table_catalog = current_database()
          AND c.table_schema = current_schema()""")
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return {t: cols for t, cols in columns.items() if "customer_id" in cols and t not in _OWN_TABLES}


def _unique_keys(store: Store, table: str) -> list[list[str]]:
    rows = store.fetchall("""
        SELECT constraint_column_names FROM duckdb_constraints()
        WHERE table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')
          AND database_name = current_database() AND schema_name = current_schema()""", [table])
    return [list(r[0]) for r in rows if "customer_id" in r[0]]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def move_history(store: Store, moves: str, renames: str) -> dict[str, int]:
    """Apply identifier ``moves`` (kind, value, old, new) and customer ``renames`` (old, new).

    Returns rows changed per table. The moved events are collected first so dependent tables
    (orders, feedback) can follow them by ``message_id``.
    """
    if not store.scalar(f"SELECT (SELECT count(*) FROM {moves}) + (SELECT count(*) FROM {renames})"):
        return {}
    store.execute(f"""
        CREATE OR REPLACE TEMP TABLE _hist_msgs AS
        SELECT e.message_id, m.new FROM events e
        JOIN {moves} m ON e.id_kind = m.kind AND e.id_value = m.value AND e.customer_id = m.old""")
    changed: dict[str, int] = {}
    for table, cols in sorted(customer_tables(store).items()):
        t = _q(table)
        count = 0
        keys = _unique_keys(store, table)
        if keys:
            count += _move_keyed(store, t, cols, keys, renames)
        else:
            if {"id_kind", "id_value"} <= cols:
                count += _rows(store, f"""UPDATE {t} SET customer_id = m.new FROM {moves} m
                    WHERE {t}.id_kind = m.kind AND {t}.id_value = m.value AND {t}.customer_id = m.old""")
            elif {"kind", "value"} <= cols:
                count += _rows(store, f"""UPDATE {t} SET customer_id = m.new FROM {moves} m
                    WHERE {t}.kind = m.kind AND {t}.value = m.value AND {t}.customer_id = m.old""")
            elif "message_id" in cols:
                count += _rows(store, f"""UPDATE {t} SET customer_id = h.new FROM _hist_msgs h
                    WHERE {t}.message_id = h.message_id""")
            count += _rows(store, f"""UPDATE {t} SET customer_id = r.new FROM {renames} r
                WHERE {t}.customer_id = r.old""")
        if count:
            changed[table] = count
    log.debug("moved history: %s", changed)
    return changed


def _move_keyed(store: Store, t: str, cols: set[str], keys: list[list[str]], renames: str) -> int:
    """Renames in a table keyed by customer: insert under the new id unless taken, drop the old."""
    names = sorted(cols)
    select = ", ".join("r.new" if c == "customer_id" else f"x.{_q(c)}" for c in names)
    moved = _rows(store, f"""
        INSERT INTO {t} ({", ".join(_q(c) for c in names)})
        SELECT {select} FROM {t} x JOIN {renames} r ON x.customer_id = r.old
        ON CONFLICT DO NOTHING""")
    store.execute(f"DELETE FROM {t} WHERE customer_id IN (SELECT old FROM {renames})")
    return moved


def _rows(store: Store, sql: str) -> int:
    return int(store.scalar(sql) or 0)
