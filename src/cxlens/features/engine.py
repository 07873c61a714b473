"""The engine boundary: where feature queries run, on the store's DuckDB or on Spark.

Everything engine-specific in the feature layer lives here, and it is small on purpose.

* **Inputs.** Each input is one *source projection*: a SELECT over a store table (DuckDB SQL) that
  keeps only the columns the features read, with times as UTC epoch seconds (``ts``, DOUBLE) and
  money as DOUBLE. The feature definitions (:mod:`cxlens.features.definitions`) are Ibis expressions
  over unbound tables with these schemas, so plain arithmetic on seconds is all they need: no time
  zone, interval type or dialect-specific date function is involved.
* **Running.** Ibis compiles an expression to the engine's SQL dialect (``duckdb`` or ``pyspark``)
  and the engine runs that text. DuckDB runs it inside the store (the projections become CTEs of
  the same statement), through ``Store.arrow`` — the store stays the only code touching the driver.
  Spark reads a Parquet snapshot of the projections, written by the store (``COPY ... TO``), as
  temporary views. Ibis' own DuckDB backend is not used: Ibis 12 calls ``fetch_arrow_table``, which
  DuckDB 2 removed (see docs/adr/0004-portable-features.md).

``pyspark`` is imported only when a Spark engine is asked for.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from cxlens.errors import InvalidInputError, MissingDependencyError
from cxlens.store import Store

log = logging.getLogger(__name__)

ENGINES = ("duckdb", "spark")

# name -> (store table, projection). Every time becomes epoch seconds, money a DOUBLE.
SOURCES: dict[str, tuple[str, str]] = {
    "events": ("events", """
        SELECT customer_id, type, event, coalesce(channel, '') AS channel, epoch(timestamp) AS ts
        FROM events WHERE customer_id IS NOT NULL"""),
    "orders": ("orders", """
        SELECT order_id, customer_id, epoch(timestamp) AS ts, CAST(revenue AS DOUBLE) AS revenue
        FROM orders WHERE customer_id IS NOT NULL"""),
    "items": ("order_items", """
        SELECT order_id, coalesce(category, '') AS category,
               CAST(coalesce(price, 0) * coalesce(quantity, 1) AS DOUBLE) AS amount
        FROM order_items"""),
    "feedback": ("feedback", """
        SELECT message_id, customer_id, epoch(timestamp) AS ts, metric, score
        FROM feedback WHERE customer_id IS NOT NULL"""),
    "consent": ("consent_events", """
        SELECT customer_id, purpose, CAST(granted AS INTEGER) AS granted, epoch(decided_at) AS ts
        FROM consent_events WHERE customer_id IS NOT NULL"""),
    # Optional: per-comment sentiment scores, when the text-analytics room has written them.
    "comment_scores": ("comment_scores", """
        SELECT message_id, CAST(sentiment AS DOUBLE) AS sentiment FROM comment_scores"""),
}
OPTIONAL_SOURCES = frozenset({"comment_scores"})
SCHEMAS: dict[str, dict[str, str]] = {
    "events": {"customer_id": "string", "type": "string", "event": "string", "channel": "string",
               "ts": "float64"},
    "orders": {"order_id": "string", "customer_id": "string", "ts": "float64", "revenue": "float64"},
    "items": {"order_id": "string", "category": "string", "amount": "float64"},
    "feedback": {"message_id": "string", "customer_id": "string", "ts": "float64", "metric": "string",
                 "score": "float64"},
    "consent": {"customer_id": "string", "purpose": "string", "granted": "int32", "ts": "float64"},
    "comment_scores": {"message_id": "string", "sentiment": "float64"},
}


def _view(name: str) -> str:
    return f"cxlens_{name}"


@dataclass
class Engine:
    """Unbound input tables, and how this engine runs an expression over them.

    ``tables`` holds only the inputs the store has (an optional one may be missing).
    """

    name: str
    dialect: str
    tables: dict[str, ibis.Table]
    run_sql: Callable[[str], pd.DataFrame]

    def table(self, name: str) -> ibis.Table | None:
        """The input ``name`` (see ``SOURCES``), or None for an optional input the store lacks."""
        return self.tables.get(name)

    def compile(self, expr: ibis.Expr) -> str:
        """The SQL this engine runs for ``expr``."""
        return str(ibis.to_sql(expr, dialect=self.dialect))

    def execute(self, expr: ibis.Expr) -> pd.DataFrame:
        """Run ``expr`` and bring the (per-customer sized) result home as pandas."""
        return self.run_sql(self.compile(expr))

    def scalar(self, expr: ibis.Expr) -> Any:
        frame = self.execute(expr)
        return None if frame.empty else frame.iloc[0, 0]


def _unbound(present: set[str]) -> dict[str, ibis.Table]:
    return {name: ibis.table(SCHEMAS[name], name=_view(name))
            for name, (table, _) in SOURCES.items() if table in present}


def _present(store: Store) -> set[str]:
    present = {row[0] for row in store.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}
    missing = [table for name, (table, _) in SOURCES.items()
               if table not in present and name not in OPTIONAL_SOURCES]
    if missing:
        raise InvalidInputError(f"the store lacks table(s) {', '.join(missing)}: open it with a "
                                "current cxlens so its schema is brought up to date")
    return present


def duckdb_engine(store: Store) -> Engine:
    """Feature queries run inside the store's DuckDB, the projections inlined as CTEs."""
    present = _present(store)
    # NOT MATERIALIZED: let DuckDB push filters and projections into each scan of the base table
    ctes = ",\n".join(f"{_view(name)} AS NOT MATERIALIZED ({sql})"
                      for name, (table, sql) in SOURCES.items() if table in present)

    def run(sql: str) -> pd.DataFrame:
        return store.arrow(f"WITH {ctes}\nSELECT * FROM ({sql}) AS q").to_pandas()

    return Engine("duckdb", "duckdb", _unbound(present), run)


def spark_session(master: str = "local[2]", app_name: str = "cxlens-features") -> Any:
    """A Spark session in UTC, with few shuffle partitions (the feature tables are per customer).

    ``master`` may name a cluster; ``local[N]`` runs Spark on this machine (needs Java 17+).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MissingDependencyError("pyspark", "the Spark feature engine") from None
    return (SparkSession.builder.master(master).appName(app_name)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .getOrCreate())


@contextmanager
def spark_engine(store: Store, session: Any | None = None, workdir: Path | None = None
                 ) -> Iterator[Engine]:
    """Feature queries on Spark over a Parquet snapshot of the store's inputs.

    The snapshot lives in ``workdir`` (default a temporary directory removed on exit); with a
    remote cluster, ``workdir`` must be storage the executors can read.
    """
    present = _present(store)
    session = session if session is not None else spark_session()
    ibis.pyspark  # noqa: B018 -- registers the Spark dialect's compiler options
    with tempfile.TemporaryDirectory(prefix="cxlens-features-", dir=workdir) as tmp:
        for name, (table, sql) in SOURCES.items():
            if table not in present:
                continue
            path = Path(tmp) / f"{name}.parquet"
            store.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
            session.read.parquet(str(path)).createOrReplaceTempView(_view(name))
        log.debug("spark feature engine bound %d inputs from %s", len(present), tmp)

        def run(sql: str) -> pd.DataFrame:
            return session.sql(sql).toPandas()

        yield Engine("spark", "pyspark", _unbound(present), run)


@contextmanager
def open_engine(store: Store, name: str = "duckdb", session: Any | None = None) -> Iterator[Engine]:
    """The engine called ``name`` (``duckdb`` or ``spark``) over ``store``."""
    if name == "duckdb":
        yield duckdb_engine(store)
    elif name == "spark":
        with spark_engine(store, session) as engine:
            yield engine
    else:
        raise InvalidInputError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}", engine=name)
