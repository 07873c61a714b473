"""Score queries over the store's feedback table: NPS/CSAT/CES per group and period from SQL tallies.

Goal: a score query over 10,000,000 answers in at most 1 s on DuckDB. Synthetic answers are generated
inside a temporary store (SQL ``range``), then each query — the tallies aggregate plus the statistics
and period comparisons in Python — is timed five times; the table shows medians.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from cxlens.store import Store
from cxlens.voc.score_store import report_from_store

GOAL_SECONDS = 1.0
QUERIES = [
    ("NPS overall", {"metric": "nps"}),
    (
        "NPS by touchpoint x month, vs previous",
        {"metric": "nps", "by": ["touchpoint"], "period": "month", "compare_to": "previous"},
    ),
    (
        "NPS by channel x quarter, year on year",
        {"metric": "nps", "by": ["channel"], "period": "quarter", "compare_to": "yoy"},
    ),
    (
        "CSAT by channel x touchpoint x half",
        {"metric": "csat", "by": ["channel", "touchpoint"], "period": "half"},
    ),
]


def _generate(store: Store, n: int) -> None:
    store.execute(f"""
        INSERT INTO feedback (message_id, customer_id, timestamp, metric, score, touchpoint, channel)
        SELECT 'm' || i, 'c' || (i % 1000000),
               TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds((hash(i) % 63072000)::BIGINT),
               CASE WHEN i % 10 < 7 THEN 'nps' ELSE 'csat' END,
               CASE WHEN i % 10 < 7 THEN (hash(i * 7) % 11)::DOUBLE ELSE 1 + (hash(i * 7) % 5)::DOUBLE END,
               ['checkout', 'delivery', 'support', 'returns', 'app'][1 + (i % 5)::INTEGER],
               ['web', 'app', 'store', 'call_center'][1 + ((i // 5) % 4)::INTEGER]
        FROM range({n}) t(i)
    """)


def run(quick: bool = False) -> str:
    n = 500_000 if quick else 10_000_000
    repeats = 5
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        started = time.perf_counter()
        _generate(store, n)
        load = time.perf_counter() - started
        rows = []
        for name, kwargs in QUERIES:
            report_from_store(store, **kwargs)  # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                report = report_from_store(store, **kwargs)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            answers = sum(r["n"] for r in report["rows"])
            rows.append(
                f"| {name} | {answers:,} | {len(report['rows'])} | {med:.3f} | {med / GOAL_SECONDS:.2f} |"
            )
    table = "\n".join(rows)
    return f"""## voc_scores — score queries over the feedback table

{n:,} synthetic answers (70 % NPS 0–10, 30 % CSAT 1–5, two years, 5 touchpoints, 4 channels) generated
in a temporary DuckDB store in {load:.1f} s. Each query is one SQL aggregate (n, sum, sum of squares,
high/low counts and an off-scale check per group and period) plus the scores, intervals and change
tests in Python from those tallies; median of {repeats} runs after a warm-up. Goal: ≤ {GOAL_SECONDS:.0f} s
per query over 10,000,000 answers (ratio = median / goal; below 1 meets it).

| query | answers scored | rows | median s | ratio to goal |
|---|---:|---:|---:|---:|
{table}"""
