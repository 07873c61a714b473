"""The one way events enter the store: de-duplicate → unify → insert → extract, in one transaction.

``load_events(store, settings, batch)`` is the stable entry point for every source (the HTTP
collector's loader and the bulk importer). ``batch`` is an Arrow table with
``cxlens.collect.records.EVENT_SCHEMA``; columns may arrive in a castable type (strings for JSON,
timestamps in another unit). Either all of a batch's effects commit or none do.

De-duplication (ADR 0002): a message whose ``messageId`` was already loaded is skipped, however long
ago. Loaded ids are kept as 128-bit MD5 numbers in ``message_ids`` (16 bytes, stable across DuckDB
versions); a batch is checked with one hash join against it, which costs far less than a primary
key on ``events.message_id`` (an ART index on a string) or an anti-join on the events table.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.collect.extract import extract
from cxlens.collect.records import EVENT_COLUMNS, EVENT_SCHEMA
from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.profiles.unify import unify
from cxlens.store import Store

log = logging.getLogger(__name__)

REQUIRED = ("message_id", "type", "timestamp", "received_at")
_COLUMN_LIST = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)


@dataclass(slots=True)
class LoadReport:
    """What one load did. ``received`` = ``loaded`` + ``duplicates`` + the two ``dropped_*``."""

    received: int = 0
    loaded: int = 0
    duplicates: int = 0
    dropped_suppressed: int = 0
    dropped_refused: int = 0
    anonymized: int = 0
    merges: int = 0
    orders: int = 0
    order_items: int = 0
    feedback: int = 0

    def add(self, other: LoadReport) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def conform(batch: pa.Table) -> pa.Table:
    """``batch`` with exactly ``EVENT_SCHEMA``, or an error naming the column at fault."""
    if batch.schema.equals(EVENT_SCHEMA):
        table = batch
    else:
        missing = [c for c in EVENT_COLUMNS if c not in batch.column_names]
        if missing:
            raise InvalidInputError(f"the batch lacks column(s) {', '.join(missing)}; build it with "
                                    "cxlens.collect.records.to_arrow", field=missing[0])
        columns = []
        for field in EVENT_SCHEMA:
            try:
                columns.append(batch.column(field.name).cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InvalidInputError(f"column {field.name} cannot be read as {field.type}: {exc}",
                                        field=field.name) from None
        table = pa.table(columns, schema=EVENT_SCHEMA)
    for name in REQUIRED:
        nulls = table.column(name).null_count
        if nulls:
            raise InvalidInputError(f"column {name} has {nulls} empty value(s); every event needs one",
                                    field=name)
    return table


def _first_of_each_id(batch: pa.Table) -> pa.Table:
    if pc.count_distinct(batch.column("message_id")).as_py() == batch.num_rows:
        return batch
    indexed = batch.append_column("_cx_i", pa.array(range(batch.num_rows), pa.int64()))
    firsts = indexed.group_by("message_id", use_threads=False).aggregate([("_cx_i", "min")])
    keep = pc.sort_indices(firsts.column("_cx_i_min"))
    return batch.take(pc.take(firsts.column("_cx_i_min"), keep))


def _fresh(store: Store, batch: pa.Table) -> pa.Table:
    """``batch`` with each message id once (the first wins) and none that ``message_ids`` holds;
    records its ids there (ADR 0002).

    The usual batch repeats nothing: then each id is hashed once, and both checks are counts over
    the hashes. Only a batch that does repeat (a retry, a re-import) takes the slower path that
    finds which rows to drop.
    """
    store.register("_cx_in", batch.select(["message_id"]))
    try:
        store.execute("CREATE OR REPLACE TEMP TABLE _cx_hashes AS SELECT md5_number(message_id) AS id_hash "
                      "FROM _cx_in")
        repeats = store.scalar("""
            SELECT (SELECT count(*) - count(DISTINCT id_hash) FROM _cx_hashes)
                 + (SELECT count(*) FROM message_ids m JOIN _cx_hashes b USING (id_hash))""")
        if not repeats:
            store.execute("INSERT INTO message_ids SELECT id_hash FROM _cx_hashes")
    finally:
        store.execute("DROP TABLE IF EXISTS _cx_hashes")
        store.unregister("_cx_in")
    return batch if not repeats else _not_loaded_before(store, _first_of_each_id(batch))


def _not_loaded_before(store: Store, batch: pa.Table) -> pa.Table:
    """``batch`` without the ids ``message_ids`` holds; records the rest there (ADR 0002)."""
    store.register("_cx_in", batch.select(["message_id"]))
    try:
        seen = [row[0] for row in store.fetchall(
            "SELECT b.message_id FROM message_ids m JOIN _cx_in b ON m.id_hash = md5_number(b.message_id)"
        )]
        if seen:  # rare (retries, re-imports): only then is the batch filtered and re-registered
            batch = batch.filter(pc.invert(pc.is_in(batch.column("message_id"), pa.array(seen, pa.string()))))
            store.register("_cx_in", batch.select(["message_id"]))
        store.execute("INSERT INTO message_ids SELECT md5_number(message_id) FROM _cx_in")
    finally:
        store.unregister("_cx_in")
    return batch


def load_events(store: Store, settings: Settings, batch: pa.Table) -> LoadReport:
    """Load ``batch`` in one transaction; see the module docstring. Returns what happened."""
    with store.transaction():
        return load_events_in_transaction(store, settings, batch)


def load_events_in_transaction(store: Store, settings: Settings, batch: pa.Table) -> LoadReport:
    """``load_events`` for a caller that holds the transaction (the WAL loader commits its
    checkpoint with the rows)."""
    batch = conform(batch)
    report = LoadReport(received=batch.num_rows)
    if batch.num_rows == 0:
        return report
    fresh = _fresh(store, batch)
    report.duplicates = batch.num_rows - fresh.num_rows
    if fresh.num_rows == 0:
        return report
    unified = unify(store, settings, fresh)
    report.dropped_suppressed = unified.dropped_suppressed
    report.dropped_refused = unified.dropped_refused
    report.anonymized = unified.anonymized
    report.merges = unified.merges
    loaded = conform(unified.batch)
    report.loaded = loaded.num_rows
    # One Arrow chunk per column: inserted from a many-chunked table, DuckDB writes the rows in
    # pieces that the next checkpoint rewrites (1.7-2 CPU-s per million events, as much as the
    # insert itself); from one chunk they are written once (measured: ADR 0008, third pass).
    store.register("_cx_loaded", loaded.combine_chunks())
    try:
        store.execute(f"INSERT INTO events ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM _cx_loaded")
        extracted = extract(store)
    finally:
        store.unregister("_cx_loaded")
    report.orders, report.order_items, report.feedback = (
        extracted.orders, extracted.order_items, extracted.feedback)
    log.debug("loaded %d events (%d duplicates)", report.loaded, report.duplicates)
    return report
