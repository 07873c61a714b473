"""The loader: moves committed WAL records into the store, exactly once, in the background.

Every ``loader_interval_ms`` (start to start) it reads records after its checkpoint (never past
what the writer has fsync'd), and loads up to ``loader_batch_rows`` events per transaction through
``pipeline.load_events_in_transaction`` — the rejected messages and the new checkpoint
``(segment, offset)`` commit in that same transaction. A crash therefore either keeps a batch and
its checkpoint or neither, and the restart replays from the checkpoint. Segments wholly before the
checkpoint are deleted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from cxlens.collect.pipeline import LoadReport, load_events_in_transaction
from cxlens.collect.records import from_json_lines, to_arrow
from cxlens.collect.wal import (
    KIND_EVENT_LINES,
    KIND_EVENTS,
    KIND_REJECTED,
    WalPosition,
    list_segments,
    read_from,
    segment_path,
)
from cxlens.config import Settings
from cxlens.store import Store

log = logging.getLogger(__name__)

_TS = pa.timestamp("us", tz="UTC")
REJECTED_SCHEMA = pa.schema([
    ("rejected_at", _TS), ("source", pa.string()), ("message_id", pa.string()),
    ("reason", pa.string()), ("field", pa.string()), ("detail", pa.string()), ("payload", pa.string()),
])
CHECKPOINT = "wal"


def read_checkpoint(store: Store) -> WalPosition:
    rows = store.fetchall('SELECT segment, "offset" FROM collect_checkpoints WHERE name = ?', [CHECKPOINT])
    return WalPosition(int(rows[0][0]), int(rows[0][1])) if rows else WalPosition(0, 0)


def next_wait(interval: float, took: float) -> float:
    """Seconds to rest after a pass that took ``took``: passes start ``interval`` apart, or at once."""
    return max(0.0, interval - took)


class Loader:
    """Background WAL → store mover; ``drain()`` runs one full pass synchronously."""

    def __init__(self, store: Store, settings: Settings, committed: Callable[[], WalPosition],
                 after_load: Callable[[], None] | None = None) -> None:
        self._store = store
        self._settings = settings
        self._wal_dir: Path = settings.wal_dir
        self._committed = committed
        self._after_load = after_load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one drain at a time (background thread or a direct call)
        self.position = read_checkpoint(store)
        self.totals = LoadReport()
        self.rejected = 0
        self.failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cxlens-loader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Load everything committed, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.drain()

    def _run(self) -> None:
        # Passes start every ``interval`` (start to start): a pass that took longer than that is
        # followed at once by the next, because the events that arrived meanwhile are already a
        # large batch — resting a full interval after a long pass only let the backlog grow.
        interval = self._settings.loader_interval_ms / 1000.0
        wait = interval
        while not self._stop.wait(wait):
            started = time.monotonic()
            try:
                self.drain()
            except Exception:
                # Keep the WAL (nothing is lost) and try again next round; say so loudly.
                self.failures += 1
                log.exception("loading from the WAL failed; will retry")
                started = time.monotonic()  # a failing store is retried a full interval later
            wait = next_wait(interval, time.monotonic() - started)

    def drain(self) -> LoadReport:
        """Load every record committed so far; returns what this pass loaded."""
        done = LoadReport()
        with self._lock:
            committed = self._committed()
            while (report := self._load_one_batch(committed)) is not None:
                done.add(report)
        return done

    def _load_one_batch(self, committed: WalPosition) -> LoadReport | None:
        lines: list[bytes] = []  # KIND_EVENT_LINES payloads, parsed at once by Arrow
        legacy: list[dict[str, Any]] = []  # KIND_EVENTS records (a WAL written by an older version)
        rejected: list[dict[str, Any]] = []
        rows = 0
        end: WalPosition | None = None
        for record in read_from(self._wal_dir, self.position, committed):
            if record.kind == KIND_EVENT_LINES:
                lines.append(record.payload)
                rows += record.payload.count(b"\n")
            elif record.kind == KIND_EVENTS:
                old = orjson.loads(record.payload)
                legacy.extend(old)
                rows += len(old)
            elif record.kind == KIND_REJECTED:
                rejected.extend(orjson.loads(record.payload))
            else:
                log.error("WAL record of unknown kind %d at %s skipped", record.kind, record.end)
            end = record.end
            if rows >= self._settings.loader_batch_rows:
                break
        if end is None:
            return None
        tables = [from_json_lines(b"".join(lines))] if lines else []
        if legacy:
            tables.append(to_arrow(legacy))
        with self._store.transaction():
            report = (load_events_in_transaction(self._store, self._settings, pa.concat_tables(tables))
                      if tables else LoadReport())
            if rejected:
                self._insert_rejected(rejected)
            self._store.execute(
                'INSERT OR REPLACE INTO collect_checkpoints (name, segment, "offset", updated_at) '
                "VALUES (?, ?, ?, now())", [CHECKPOINT, end.segment, end.offset])
        self.position = end
        self.totals.add(report)
        self.rejected += len(rejected)
        self._delete_loaded_segments()
        if self._after_load is not None:
            self._after_load()
        return report

    def _insert_rejected(self, rows: list[dict[str, Any]]) -> None:
        table = pa.table({f.name: [r.get(f.name) for r in rows] for f in REJECTED_SCHEMA},
                         schema=REJECTED_SCHEMA)
        self._store.register("_cx_rejected", table)
        try:
            self._store.execute(
                "INSERT INTO rejected_events (rejected_at, source, message_id, reason, field, detail, "
                "payload) SELECT * FROM _cx_rejected")
        finally:
            self._store.unregister("_cx_rejected")

    def _delete_loaded_segments(self) -> None:
        for segment in list_segments(self._wal_dir):
            if segment >= self.position.segment:
                break
            segment_path(self._wal_dir, segment).unlink(missing_ok=True)
