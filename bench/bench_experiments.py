"""Experiments: bulk assignment throughput, and store-side analysis over millions of exposures.

Assignment: GrowthBook-compatible v2 hashing of unit ids held in a numpy string array (the bulk path),
and from a Python list (which adds the list → array conversion). Goal ≥ 1,000,000 units/s.

Analysis: a DuckDB store with N exposure rows (one per unit, two variants), orders for ~20 % of units
before and after exposure, and a conversion event; ``analyze_experiment`` with three metrics —
revenue per unit with CUPED, conversion, and average order value (ratio) — computes the per-variant
sums in SQL and runs the frequentist engine. Goal: 10,000,000 exposures in ≤ 5 s.

The exposures are written with plain SQL (fast to fill), then folded into ``experiment_units`` once with
the recorder's own step (``record_first_exposures``), as ``record_exposures`` does batch by batch; that
cost is paid when exposures are recorded, not per analysis, and is reported on its own row.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_UNITS_PER_SECOND = 1_000_000
GOAL_ANALYSIS_SECONDS = 5.0


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _fill(store, n: int) -> None:
    store.execute(f"""INSERT INTO exposures
        SELECT 'checkout', CASE WHEN hash(i) % 2 = 0 THEN 'control' ELSE 'treatment' END, 'u' || i,
               TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_seconds(CAST(i % 86400 AS BIGINT))
        FROM range({n}) t(i)""")
    store.execute(f"""INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue)
        SELECT 'o' || i || '-' || k, 'm' || i || '-' || k, 'u' || i,
               TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_days(CAST(k * 7 - 10 AS INTEGER)),
               CAST(20 + (hash(i * 7 + k) % 10000) / 100.0 AS DECIMAL(18, 4))
        FROM range({n}) t(i), range(3) s(k) WHERE hash(i) % 5 = 0""")
    store.execute(f"""INSERT INTO events (message_id, type, event, customer_id, timestamp, received_at)
        SELECT 'e' || i, 'track', 'Signed Up', 'u' || i, TIMESTAMPTZ '2026-03-03 00:00:00+00', now()
        FROM range({n}) t(i) WHERE hash(i + 1) % 10 < 3""")


def run(quick: bool = False) -> str:
    from cxlens.experiments.assignment import Experiment
    from cxlens.experiments.metrics import MetricDefinition, analyze_experiment
    from cxlens.experiments.units import record_first_exposures
    from cxlens.store import Store

    n_assign = 200_000 if quick else 1_000_000
    ids_list = [f"user-{i}" for i in range(n_assign)]
    ids = np.array(ids_list)
    exp = Experiment("checkout-redesign", ("control", "a", "b"))
    repeats = 1 if quick else 5
    t_array = _median_time(lambda: exp.assign_many(ids), repeats)
    t_list = _median_time(lambda: exp.assign_many(ids_list), repeats)

    n_exposures = 1_000_000 if quick else 10_000_000
    metrics = [MetricDefinition("revenue", "revenue", cuped_days=14),
               MetricDefinition("signup", "conversion", event="Signed Up"),
               MetricDefinition("aov", "order_value")]
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        _fill(store, n_exposures)
        rows = store.scalar("SELECT count(*) FROM exposures")
        started = time.perf_counter()
        record_first_exposures(store, "exposures")
        t_fold = time.perf_counter() - started
        t_analysis = _median_time(lambda: analyze_experiment(store, "checkout", metrics, weights=[0.5, 0.5]),
                                  1 if quick else 3)
        t_one = _median_time(lambda: analyze_experiment(store, "checkout", metrics[:1]), 1 if quick else 3)

    rate_array, rate_list = n_assign / t_array, n_assign / t_list
    load = os.getloadavg()[0]
    return "\n".join([
        "## Experiments: assignment and analysis",
        "",
        "Assignment hashes unit ids with GrowthBook's v2 FNV-1a scheme (3 variants) in the vectorised numpy "
        "path. Analysis runs `analyze_experiment` (revenue with CUPED, conversion, average order value) on a "
        f"DuckDB file with {rows:,} exposure rows, ~20 % of units with 3 orders and 30 % with a conversion "
        f"event. Medians of {repeats} (assignment) and {1 if quick else 3} (analysis) runs. Load average "
        f"at the end of the run: {load:.1f} on {os.cpu_count()} cores (the machine is shared).",
        "",
        "| measurement | size | median | rate | goal | ratio to goal |",
        "|---|---|---|---|---|---|",
        f"| assign, numpy array of ids | {n_assign:,} units | {t_array:.3f} s | {rate_array:,.0f} units/s | "
        f"≥ {GOAL_UNITS_PER_SECOND:,} units/s | {rate_array / GOAL_UNITS_PER_SECOND:.2f}× |",
        f"| assign, Python list of ids | {n_assign:,} units | {t_list:.3f} s | {rate_list:,.0f} units/s | "
        f"≥ {GOAL_UNITS_PER_SECOND:,} units/s | {rate_list / GOAL_UNITS_PER_SECOND:.2f}× |",
        f"| analysis, 3 metrics | {rows:,} exposures | {t_analysis:.2f} s | "
        f"{rows / t_analysis:,.0f} rows/s | "
        f"≤ {GOAL_ANALYSIS_SECONDS:g} s for 10M | {GOAL_ANALYSIS_SECONDS / t_analysis * rows / 1e7:.2f}× |",
        f"| analysis, 1 metric (CUPED revenue) | {rows:,} exposures | {t_one:.2f} s | "
        f"{rows / t_one:,.0f} rows/s | — | — |",
        f"| fold first exposures (once, when recorded) | {rows:,} exposures | {t_fold:.2f} s (1 run) | "
        f"{rows / t_fold:,.0f} rows/s | — | — |",
    ])
