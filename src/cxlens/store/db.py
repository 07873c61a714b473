"""Store: one embedded DuckDB file, its schema, and thread-safe access to it.

Other packages never import the driver: they hand SQL (with ``?`` parameters) and Arrow tables to a
``Store``. Schema lives in ``store/schema/*.sql``, one file per room, applied in name order; every
statement is idempotent (``CREATE ... IF NOT EXISTS``), so opening a store brings it up to date.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cxlens.errors import NotFoundError, StoreBusyError

SCHEMA_PACKAGE = "cxlens.store.schema"

# SQL text, or a statement parsed once by ``Store.statement``.
SQL = str | duckdb.Statement


def schema_statements() -> list[str]:
    """Every room's DDL, in file-name order."""
    files = sorted(
        (f for f in resources.files(SCHEMA_PACKAGE).iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    return [f.read_text() for f in files]


class Store:
    """A DuckDB database file with cxlens' schema.

    One ``Store`` per process. Each thread gets its own cursor (DuckDB connections are not safe to
    share across threads, cursors are), and all of them see one transactional database.
    """

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif str(self.path) != ":memory:" and not self.path.exists():
            # DuckDB reports a missing file like a locked one; say which it is
            raise NotFoundError(
                f"no store at {self.path} yet: build one (cxlens demo --no-serve, cxlens import FILE) "
                "or point --data-dir at an existing one",
                path=str(self.path),
            )
        try:
            self._conn = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreBusyError(
                f"the store {self.path} is in use by another process (is `cxlens serve` running?); "
                "stop it or use the HTTP API instead",
                path=str(self.path),
            ) from exc
        self._local = threading.local()
        self._writing = threading.Lock()
        self._statements: dict[str, duckdb.Statement] = {}
        # Times are UTC inside: naive timestamps in files and SQL literals mean UTC, whatever the host.
        self._conn.execute("SET GLOBAL TimeZone = 'UTC'")
        if not read_only:
            for ddl in schema_statements():
                self._conn.execute(ddl)

    @classmethod
    def in_memory(cls) -> Store:
        """A throw-away store, for tests and one-off computations."""
        return cls(":memory:")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._conn.cursor()
            self._local.cursor = cur
        return cur

    def statement(self, sql: str) -> duckdb.Statement:
        """``sql`` (one statement) parsed once, to run many times through ``execute`` and friends.

        For hot point reads: DuckDB 2's parser can cost more than planning and running the read (a
        profile look-up's eight-part UNION: CPU p50 5.5 ms parsed every time, 2.9 ms parsed once).
        Binding still happens per run, so parameters, indexes and schema changes behave as usual.
        Kept per store, keyed by the text: for constant SQL with parameters, never formatted values.
        """
        found = self._statements.get(sql)
        if found is None:
            parsed = self.cursor().extract_statements(sql)
            if len(parsed) != 1:
                raise ValueError(f"Store.statement takes exactly one SQL statement, not {len(parsed)}")
            found = self._statements[sql] = parsed[0]
        return found

    def execute(self, sql: SQL, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """Run one statement on this thread's cursor; returns the cursor for fetching."""
        return self.cursor().execute(sql, params) if params is not None else self.cursor().execute(sql)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.cursor().executemany(sql, rows)

    def fetchall(self, sql: SQL, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def fetchone(self, sql: SQL, params: Sequence[Any] | dict[str, Any] | None = None) -> tuple | None:
        # fetchall, not fetchone: a half-read result keeps the cursor busy, and DuckDB 2 then
        # refuses the next register() on it ("Resource In Use").
        rows = self.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def scalar(self, sql: SQL, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        row = self.fetchone(sql, params)
        return None if row is None else row[0]

    def records(self, sql: SQL, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict]:
        """Rows as dicts keyed by column name."""
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        # A relation (cursor.sql) streams straight to Arrow; a DB-API result would copy the rows.
        relation = self.cursor().sql(sql, params=params)
        return relation.to_arrow_table() if relation is not None else pa.table({})

    def register(self, name: str, table: Any) -> None:
        """Expose an Arrow table or DataFrame to SQL on this thread's cursor as ``name``."""
        self.cursor().register(name, table)

    def unregister(self, name: str) -> None:
        self.cursor().unregister(name)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All statements in the block commit together, or none do.

        Transactions in one process take turns: DuckDB resolves concurrent writers optimistically,
        so two that upsert the same rows (the loader and a survey answer loaded directly, say)
        would otherwise fail one of them with a conflict at commit.
        """
        cur = self.cursor()
        with self._writing:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield self
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
