"""The decision journal: every decision and reserved contact written to the store, in batches.

Decisions are answered from memory; writing them must not add disk latency to each request. A
background thread appends queued rows every ``interval`` seconds through Arrow (one INSERT per batch);
``flush`` drains the queue synchronously (tests, shutdown, reading one's own writes).

The interval is one second: an INSERT into ``decide_log`` costs ~2.5 ms of CPU before the first row
(statement, Arrow scan, commit) and ~10 µs a row, and the writing thread competes with the event loop
for the GIL and for the two cores. At 500 decisions a second, batches every 250 ms cost ~15 ms of
CPU a second in four bursts; one batch a second ~7 ms in one (ADR 0007, stalls addendum). The price:
a crash loses up to a second of journal and of reserved contacts (before: 250 ms), which the caps
ledger, rebuilt from ``decide_contacts`` at start, would then not count.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import pyarrow as pa

from cxlens import jsonutil
from cxlens.store import Store

log = logging.getLogger(__name__)

_TS = pa.timestamp("us", tz="UTC")
_LOG_SCHEMA = pa.schema([
    ("decision_id", pa.string()), ("decided_at", _TS), ("customer_id", pa.string()),
    ("placement", pa.string()), ("channel", pa.string()), ("personalized", pa.bool_()),
    ("action", pa.string()), ("items", pa.string()), ("models", pa.string()), ("rules", pa.string()),
    ("context", pa.string()), ("features", pa.string()),
])
_CONTACT_SCHEMA = pa.schema([("customer_id", pa.string()), ("channel", pa.string()),
                             ("contacted_at", _TS), ("decision_id", pa.string())])
_JSON = ("items", "models", "rules", "context", "features")


def _text(value: Any) -> str | None:
    return None if value is None else jsonutil.dumps_str(value)


class Journal:
    """Queues decision and contact rows; a thread writes them to the store in batches."""

    def __init__(self, store: Store, interval: float = 1.0) -> None:
        self.store = store
        self.interval = interval
        self._queue: queue.SimpleQueue[tuple[str, tuple[Any, ...]]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def record(self, decision: dict[str, Any], contact: dict[str, Any] | None) -> None:
        """Queue one decision (on the request path: a tuple in column order, JSON as text)."""
        self._queue.put(("log", tuple(_text(decision.get(name)) if name in _JSON else decision.get(name)
                                      for name in _LOG_SCHEMA.names)))
        if contact is not None:
            self._queue.put(("contact", tuple(contact.get(name) for name in _CONTACT_SCHEMA.names)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="decide-journal", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # keep journaling alive; the next batch retries the store
                log.exception("writing the decision journal failed")

    def flush(self) -> int:
        """Write everything queued now; returns decisions written."""
        rows: dict[str, list[tuple[Any, ...]]] = {"log": [], "contact": []}
        while True:
            try:
                kind, row = self._queue.get_nowait()
            except queue.Empty:
                break
            rows[kind].append(row)
        with self._write_lock:
            for kind, table, schema in (("log", "decide_log", _LOG_SCHEMA),
                                        ("contact", "decide_contacts", _CONTACT_SCHEMA)):
                if rows[kind]:
                    name = f"_journal_{kind}"
                    # column by column: several times cheaper than from_pylist over dicts, and this
                    # thread holds the GIL the event loop needs while it builds the table
                    columns = [pa.array(column, type=field.type)
                               for column, field in zip(zip(*rows[kind], strict=True), schema, strict=True)]
                    self.store.register(name, pa.Table.from_arrays(columns, schema=schema))
                    try:
                        self.store.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {name}")
                    finally:
                        self.store.unregister(name)
        return len(rows["log"])

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
