"""Bulk import: CSV, JSON lines and Parquet files of events, orders, customers, products, feedback.

A file is read in chunks (pyarrow streaming readers, so files larger than memory work). Each chunk
is validated and converted by one SQL statement over the registered Arrow chunk (no per-row
Python), good rows are loaded through the same pipeline as the HTTP collector, bad rows are kept in
``rejected_events`` and in the report with their 1-based row number, field and reason.

While a file is imported, DuckDB's automatic checkpoints are held back (``checkpoint_threshold``
raised to ``IMPORT_CHECKPOINT_THRESHOLD``) and one checkpoint runs at the end: with the default 16 MiB
a checkpoint followed every other 200,000-row commit, rewriting the store's indexes each time, a
cost that grows with the store (ADR 0008). Commits still go to DuckDB's write-ahead log as usual.

Re-running an import changes nothing: rows without a ``message_id`` get one derived from the source
and the row's natural key (``order_id`` for orders, the row's content for other kinds), and the
pipeline drops message ids it has already loaded. See ``docs/import.md``.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens import jsonutil
from cxlens.collect import mapping as mp
from cxlens.collect.conversion import chunk_query, is_line_item_file
from cxlens.collect.records import EVENT_SCHEMA
from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.store import Store

log = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
             ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
# Rows per chunk. Fixed costs per chunk (~100 statements, joins against the growing store) and
# identity work per distinct person in a chunk shrink as chunks grow: on the import bench, 1M
# events took 9.7 CPU-s in 200,000-row chunks, 8.1-9.3 in 500,000 and 7.2-8.1 in 1,000,000, with
# peak memory 0.9, 1.2 and 1.4 GB (ADR 0008, third pass). Wider rows need proportionally more.
DEFAULT_CHUNK_ROWS = 500_000
MAX_REPORTED_REJECTS = 1_000  # the report lists this many; rejected_events keeps every one
_BLOCK_BYTES = 16 << 20
_CHUNK = "_cx_chunk"
# DuckDB's WAL size that triggers a checkpoint while a file is imported. Large row groups of events
# go straight to the database file, so the log grows by only ~45 MB per million events: this means a
# checkpoint every ~5 million rows, and bounds both the log replayed after a crash and the memory
# held by changes not yet checkpointed (+0.6 GB peak at 3 million rows with no checkpoint; ADR 0008).
IMPORT_CHECKPOINT_THRESHOLD = "256MB"

Progress = Callable[[float], None]  # called with the fraction of the file done, 0..1


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str
    field: str | None
    detail: str


@dataclass
class ImportReport:
    """What one import did. ``rows_rejected`` counts every bad row; ``rejected`` lists the first ones."""

    kind: str
    path: str
    format: str
    source: str
    rows_read: int = 0
    rows_rejected: int = 0
    events_built: int = 0
    products_upserted: int = 0
    load: dict[str, int] = field(default_factory=dict)  # the pipeline's LoadReport, summed
    by_reason: dict[str, int] = field(default_factory=dict)
    rejected: list[RejectedRow] = field(default_factory=list)
    convert_seconds: float = 0.0
    load_seconds: float = 0.0

    @property
    def rows_accepted(self) -> int:
        return self.rows_read - self.rows_rejected

    @property
    def events_loaded(self) -> int:
        return self.load.get("loaded", 0)

    @property
    def duplicates(self) -> int:
        return self.load.get("duplicates", 0)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(rows_accepted=self.rows_accepted, events_loaded=self.events_loaded,
                   duplicates=self.duplicates)
        return out


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidInputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}",
                                    field="format")
        return fmt
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".zst")]
    found = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise InvalidInputError(
            f"cannot tell the format of {path.name} from its extension; name it .csv, .jsonl or "
            ".parquet, or pass --format csv|jsonl|parquet",
            field="format",
        )
    return found


# --- reading: every reader yields (Arrow table with the file's own columns, fraction done) ---------

Chunks = Iterator[tuple[pa.Table, float]]


def _csv_batches(path: Path, chunk_rows: int, malformed: list[RejectedRow]) -> Chunks:
    import pyarrow.csv as pcsv

    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(1 << 20).decode("utf-8-sig", errors="replace")
    delimiter = "\t" if path.name.lower().rstrip(".gz").endswith(".tsv") else ","
    try:
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter))
    except StopIteration:
        raise InvalidInputError(f"{path.name} is empty: a CSV file needs a header row",
                                field="file") from None

    # The reader runs on one thread: only then does pyarrow know a bad row's line number (it is
    # ``None`` with parallel parsing), and the streaming reader is no slower for it (measured).
    def on_invalid(row: Any) -> str:
        malformed.append(RejectedRow(row=row.number - 1, reason="malformed_row", field=None,
                                     detail=f"line {row.number}: {row.actual_columns} values where the "
                                     f"header has {row.expected_columns}: {row.text[:80]!r}"))
        return "skip"

    size = max(path.stat().st_size, 1)
    raw = pa.OSFile(str(path))
    stream = pa.CompressedInputStream(raw, "gzip") if path.suffix.lower() == ".gz" else raw
    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=False),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
        # Only an empty cell is empty: pyarrow's default markers (NA, N/A, null, NaN …) are also a
        # user id, Namibia's country code or a last name.
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                            null_values=[""], strings_can_be_null=True,
                                            quoted_strings_can_be_null=False),
    )
    parsed = 0
    for batch in _rechunk(reader, chunk_rows):
        skipped = np.array([r.row for r in malformed], dtype=np.int64)
        rows = record_numbers(np.arange(parsed + 1, parsed + batch.num_rows + 1, dtype=np.int64), skipped)
        parsed += batch.num_rows
        yield batch.append_column("_cx_row", pa.array(rows)), min(raw.tell() / size, 1.0)


def record_numbers(ordinals: np.ndarray, skipped: np.ndarray) -> np.ndarray:
    """Record numbers of parsed rows, given their 1-based ordinals among the parsed rows and the
    sorted record numbers of the rows the parser skipped (malformed lines): a row moves up by one
    for each skipped row before it. The ``j``-th skipped row (0-based) has ``skipped[j] - 1 - j``
    parsed rows before it, so it precedes parsed row ``k`` when ``skipped[j] - j <= k``."""
    return ordinals + np.searchsorted(skipped - np.arange(len(skipped)), ordinals, side="right")


def _rechunk(batches: Any, chunk_rows: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= chunk_rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _jsonl_block(block: bytes, first_row: int, malformed: list[RejectedRow]) -> pa.Table:
    """One block of lines; a block pyarrow cannot read is parsed line by line to find the bad ones."""
    import pyarrow.json as pjson

    try:
        return pjson.read_json(io.BytesIO(block))
    except pa.ArrowInvalid:
        pass
    records = []
    row = first_row
    for line in block.splitlines():
        if not line.strip():
            continue
        try:
            value = jsonutil.loads(line)
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            malformed.append(RejectedRow(row=row, reason="malformed_row", field=None,
                                         detail=f"row {row}: not a JSON object ({exc}): {line[:80]!r}"))
            value = {}
        # Mixed types across lines break type inference: text is the common denominator.
        records.append({k: v if v is None or isinstance(v, str) else
                        (jsonutil.dumps_str(v) if isinstance(v, dict | list) else str(v))
                        for k, v in value.items()})
        row += 1
    table = pa.Table.from_pylist(records)
    return table.append_column("_cx_malformed", pa.array([not r for r in records]))


def _jsonl_batches(path: Path, chunk_rows: int, malformed: list[RejectedRow]) -> Chunks:
    size = max(path.stat().st_size, 1)
    rows = 0
    pending: list[pa.Table] = []
    with pa.OSFile(str(path)) as raw, pa.input_stream(str(path), compression="detect") as stream:
        rest = b""
        while True:
            data = stream.read(_BLOCK_BYTES)
            block = rest + data
            if data:
                cut = block.rfind(b"\n") + 1
                block, rest = block[:cut], block[cut:]
            if block.strip():
                table = _jsonl_block(block, rows + 1, malformed)
                rows += table.num_rows
                pending.append(table)
                if sum(t.num_rows for t in pending) >= chunk_rows or not data:
                    yield _concat(pending), min(raw.tell() / size, 1.0)
                    pending = []
            if not data:
                break
        if pending:
            yield _concat(pending), 1.0


def _concat(tables: list[pa.Table]) -> pa.Table:
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")


def _parquet_batches(path: Path, chunk_rows: int) -> Chunks:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(f"{path.name} is not a readable Parquet file: {exc}", field="file") from exc
    total = max(parquet.metadata.num_rows, 1)
    done = 0
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        done += batch.num_rows
        yield pa.Table.from_batches([batch]), done / total


def read_chunks(path: Path, fmt: str, chunk_rows: int,
                malformed: list[RejectedRow]) -> Chunks:
    """Chunks with a ``_cx_row`` column: the 1-based record number in the file (counting malformed
    records too, so a row's number does not depend on the bad rows before it)."""
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}", field="file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path.name} is empty: there is nothing to import", field="file")
    readers = {"csv": lambda: _csv_batches(path, chunk_rows, malformed),
               "jsonl": lambda: _jsonl_batches(path, chunk_rows, malformed),
               "parquet": lambda: _parquet_batches(path, chunk_rows)}
    offset = 0
    try:
        for table, done in readers[fmt]():
            if "_cx_row" not in table.column_names:  # the CSV reader numbers its own rows
                rows = pa.array(np.arange(offset + 1, offset + table.num_rows + 1, dtype=np.int64))
                table = table.append_column("_cx_row", rows)
            offset += table.num_rows
            yield table, done
    except pa.ArrowInvalid as exc:
        raise InvalidInputError(f"{path.name} cannot be read as {fmt}: {exc}; check --format",
                                field="file") from exc


def _split_trailing_order(table: pa.Table, column: str) -> tuple[pa.Table, pa.Table]:
    """Hold back the last order's rows: its line items may continue in the next chunk."""
    ids = pc.cast(table[column], pa.string())
    last = ids[-1]
    if not last.is_valid:
        return table, table.slice(0, 0)
    differs = pc.fill_null(pc.not_equal(ids, last), True).to_numpy(zero_copy_only=False)
    positions = np.flatnonzero(differs)
    cut = int(positions[-1]) + 1 if len(positions) else 0
    return table.slice(0, cut), table.slice(cut)


def _order_chunks(chunks: Chunks, column: str) -> Chunks:
    carry: pa.Table | None = None
    done = 0.0
    for table, done in chunks:
        if carry is not None and carry.num_rows:
            table = _concat([carry, table])
        ready, carry = _split_trailing_order(table, column)
        if ready.num_rows:
            yield ready, done
    if carry is not None and carry.num_rows:
        yield carry, done


# --- the import ------------------------------------------------------------------------------------

def _record_rejects(store: Store, report: ImportReport, rejects: pa.Table, chunk: pa.Table,
                    kind: str, now: datetime) -> None:
    """Count, list and persist rejected rows; a re-run replaces its earlier rows, never doubles them."""
    if rejects.num_rows == 0:
        return
    report.rows_rejected += rejects.num_rows
    for reason, count in Counter(rejects["_reason"].to_pylist()).items():
        report.by_reason[reason] = report.by_reason.get(reason, 0) + count
    room = MAX_REPORTED_REJECTS - len(report.rejected)
    if room > 0:
        head = rejects.slice(0, room).select(["_row", "_reason", "_field", "_detail"]).to_pylist()
        report.rejected.extend(RejectedRow(r["_row"], r["_reason"], r["_field"], r["_detail"]) for r in head)
    store.register("_cx_rejects", rejects.select(["_row", "_reason", "_field", "_detail"]))
    store.register(_CHUNK, chunk)
    try:
        with store.transaction():
            keyed = ("SELECT 'imp-rej-' || md5($source || '|' || $kind || '|' || _row) AS message_id, * "
                     "FROM _cx_rejects")
            store.execute(f"DELETE FROM rejected_events WHERE source = $source AND message_id IN "
                          f"(SELECT message_id FROM ({keyed}))", {"source": report.source, "kind": kind})
            store.execute(
                "INSERT INTO rejected_events "
                "(rejected_at, source, message_id, reason, field, detail, payload) "
                f"SELECT $now, $source, r.message_id, r._reason, r._field, r._detail, "
                f"left(to_json(c)::VARCHAR, 2000) FROM ({keyed}) r "
                f"LEFT JOIN {_CHUNK} c ON c._cx_row = r._row",
                {"source": report.source, "kind": kind, "now": now},
            )
    finally:
        store.unregister("_cx_rejects")
        store.unregister(_CHUNK)


def _malformed_table(rows: list[RejectedRow]) -> pa.Table:
    return pa.table({"_row": [r.row for r in rows], "_reason": [r.reason for r in rows],
                     "_field": [r.field for r in rows], "_detail": [r.detail for r in rows]})


def _upsert_products(store: Store, good: pa.Table) -> int:
    store.register("_cx_products", good)
    try:
        store.execute(
            "INSERT INTO products (product_id, name, category, price, currency, attributes, updated_at) "
            "SELECT product_id, name, category, price, currency, attributes, updated_at FROM _cx_products "
            "QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY _row DESC) = 1 "
            "ON CONFLICT (product_id) DO UPDATE SET name = excluded.name, category = excluded.category, "
            "price = excluded.price, currency = excluded.currency, attributes = excluded.attributes, "
            "updated_at = excluded.updated_at"
        )
    finally:
        store.unregister("_cx_products")
    return good.num_rows


def _load(store: Store, settings: Settings, batch: pa.Table, report: ImportReport) -> None:
    from cxlens.collect.pipeline import load_events

    result = load_events(store, settings, batch)
    for name, value in result.to_dict().items():
        report.load[name] = report.load.get(name, 0) + value


def import_file(
    store: Store,
    settings: Settings,
    kind: str,
    path: Path | str,
    *,
    fmt: str | None = None,
    columns: dict[str, str] | None = None,
    source: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Import one file of ``kind``; ``columns`` maps file columns to fields (see ``mapping``)."""
    kind = mp.check_kind(kind)
    path = Path(path)
    fmt = detect_format(path, fmt)
    if chunk_rows < 1:
        raise InvalidInputError("chunk_rows must be at least 1", field="chunk_rows")
    source = (source or f"import:{path.stem.split('.')[0]}").strip()
    report = ImportReport(kind=kind, path=str(path), format=fmt, source=source)
    now = datetime.now(UTC)
    malformed: list[RejectedRow] = []

    chunks = read_chunks(path, fmt, chunk_rows, malformed)
    first = next(chunks, None)
    if first is None:
        raise InvalidInputError(f"{path.name} has no rows to import", field="file")
    names = [c for c in first[0].column_names if not c.startswith("_cx")]
    mapping = mp.resolve(kind, names, columns)
    if is_line_item_file(mapping):
        chunks = _order_chunks(_prepend(first, chunks), mapping.fields["order_id"]) \
            if mapping.has("order_id") else _prepend(first, chunks)
    else:
        chunks = _prepend(first, chunks)

    with _few_checkpoints(store, report):
        _import_chunks(store, settings, kind, chunks, mapping, report, now, on_progress)
    if malformed:
        report.rows_read += len(malformed)
        no_rows = pa.table({"_cx_row": pa.array([], pa.int64())})
        _record_rejects(store, report, _malformed_table(malformed), no_rows, kind, now)
    log.info("imported %s (%s): %d rows, %d rejected", path.name, kind, report.rows_read,
             report.rows_rejected)
    return report


@contextmanager
def _few_checkpoints(store: Store, report: ImportReport) -> Iterator[None]:
    """Hold back automatic checkpoints for the import, then checkpoint once (see the module doc)."""
    before = store.scalar("SELECT current_setting('checkpoint_threshold')")
    store.execute(f"SET checkpoint_threshold = '{IMPORT_CHECKPOINT_THRESHOLD}'")
    try:
        yield
    finally:
        store.execute(f"SET checkpoint_threshold = '{before}'")
    started = time.perf_counter()
    store.execute("CHECKPOINT")
    report.load_seconds += time.perf_counter() - started


@dataclass(frozen=True)
class _Converted:
    """One chunk after read + validate + convert: what the loading thread needs of it."""

    chunk: pa.Table      # the file's own columns (rejected rows' payloads are taken from it)
    rows_read: int
    good: pa.Table
    bad: pa.Table
    done: float
    seconds: float       # reading and converting it, on the converting thread


def _convert(store: Store, kind: str, chunk: pa.Table, done: float, mapping: mp.ColumnMapping,
             source: str, now: datetime, started: float) -> _Converted:
    """Validate and convert one chunk with one SQL statement over it; reads nothing of the store."""
    rows_read = chunk.num_rows
    if "_cx_malformed" in chunk.column_names:
        mask = chunk["_cx_malformed"]
        rows_read -= pc.sum(mask).as_py() or 0
        chunk = chunk.filter(pc.invert(mask)).drop_columns(["_cx_malformed"])
    sql = chunk_query(mapping, chunk.schema)
    store.register(_CHUNK, chunk)
    try:
        params = {"now": now} if kind == "products" else {"source": source, "now": now}
        result = store.arrow(sql, params)
    finally:
        store.unregister(_CHUNK)
    ok = pc.is_null(result["_reason"])
    return _Converted(chunk, rows_read, result.filter(ok), result.filter(pc.invert(ok)), done,
                      time.perf_counter() - started)


def _converted(store: Store, kind: str, chunks: Chunks, mapping: mp.ColumnMapping, source: str,
               now: datetime) -> Generator[_Converted, None, None]:
    """Chunks converted one ahead on a second thread, so that reading and converting chunk n+1
    (pyarrow and DuckDB, both without the GIL) runs while chunk n loads: two cores instead of one.

    The conversion thread only reads (its own cursor, the chunk registered there); every write stays
    on the caller's thread, in chunk order, so rejects, reports and re-runs are as before.
    """
    def step() -> _Converted | None:
        started = time.perf_counter()
        item = next(chunks, None)
        return None if item is None else _convert(store, kind, item[0], item[1], mapping, source, now,
                                                  started)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cxlens-import") as pool:
        ahead = pool.submit(step)
        while (converted := ahead.result()) is not None:
            ahead = pool.submit(step)
            yield converted


def _import_chunks(store: Store, settings: Settings, kind: str, chunks: Chunks, mapping: mp.ColumnMapping,
                   report: ImportReport, now: datetime, on_progress: Progress | None) -> None:
    # closing: if a load fails, the conversion thread is waited for before the error propagates.
    with closing(_converted(store, kind, chunks, mapping, report.source, now)) as converted:
        for item in converted:
            _load_one(store, settings, kind, item, report, now, on_progress)


def _load_one(store: Store, settings: Settings, kind: str, item: _Converted, report: ImportReport,
              now: datetime, on_progress: Progress | None) -> None:
    report.rows_read += item.rows_read
    report.convert_seconds += item.seconds
    started = time.perf_counter()
    _record_rejects(store, report, item.bad, item.chunk, kind, now)
    if kind == "products":
        report.products_upserted += _upsert_products(store, item.good)
    elif item.good.num_rows:
        batch = item.good.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
        report.events_built += batch.num_rows
        _load(store, settings, batch, report)
    report.load_seconds += time.perf_counter() - started
    if on_progress is not None:
        on_progress(item.done)


def _prepend(first: tuple[pa.Table, float], rest: Chunks
             ) -> Chunks:
    yield first
    yield from rest
