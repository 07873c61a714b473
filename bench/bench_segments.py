"""Audience evaluation at 1,000,000 profiles: preview (count, consented count, sample) and refresh.

Profiles, a feature snapshot, three computed traits per person (clv_12m, churn_risk, rfm_segment),
a plan trait and marketing choices for half the people are bulk-built in SQL; then the rules below
are evaluated five times each (after one warm-up) and the median reported, with the ratio to the
goal. Goal: one audience evaluation over 1,000,000 profiles <= 2 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from cxlens.segments.audiences import create_audience, preview, refresh_audience
from cxlens.segments.compiler import FEATURES_TABLE
from cxlens.store import Store

GOAL_S = 2.0
REPEATS = 5
RULES = {
    "two computed traits + consent": "clv_12m > 200 and churn_risk >= 0.7 and consent.marketing",
    "segment list + trait + feature": 'rfm_segment in ["Champions", "At risk"] and traits.plan = "pro" '
                                      "and frequency >= 3",
    "or / not / is null": "(churn_risk > 0.9 or recency_days > 300) and not (traits.plan is null)",
}


def _build(store: Store, n: int) -> None:
    store.execute(f"CREATE TEMP TABLE b AS SELECT i, 'cus_' || lpad(i::VARCHAR, 8, '0') AS cid "
                  f"FROM range({n}) t(i)")
    store.execute("INSERT INTO profiles SELECT cid, now(), now(), now() FROM b")
    store.execute(f"""CREATE TABLE {FEATURES_TABLE} AS SELECT cid AS customer_id,
                      (hash(i, 1) % 400)::DOUBLE AS recency_days, (hash(i, 2) % 12)::BIGINT AS frequency,
                      (hash(i, 3) % 2000)::DOUBLE AS monetary FROM b""")
    segments = "['Champions', 'Loyal customers', 'At risk', 'Hibernating', 'Lost']"
    store.execute(f"""INSERT INTO computed_traits
        SELECT cid, 'clv_12m', ((hash(i, 4) % 100000) / 100.0)::JSON, 'bench', '1', now() FROM b
        UNION ALL SELECT cid, 'churn_risk', ((hash(i, 5) % 1000) / 1000.0)::JSON, 'bench', '1', now() FROM b
        UNION ALL SELECT cid, 'rfm_segment', to_json({segments}[(1 + hash(i, 6) % 5)::BIGINT]), 'bench', '1',
                         now() FROM b""")
    store.execute("""INSERT INTO traits SELECT cid, 'plan',
                     to_json(['pro', 'basic', 'free'][(1 + hash(i, 7) % 3)::BIGINT]), 'bench', now()
                     FROM b WHERE hash(i, 8) % 10 > 0""")
    store.execute("""INSERT INTO consent_events SELECT cid, 'user_id', cid, 'marketing', i // 2 % 2 = 0,
                     now(), 'bench', NULL FROM b WHERE i % 2 = 0""")
    store.execute("INSERT INTO consent_defaults VALUES ('analytics', true), ('personalization', false), "
                  "('marketing', false) ON CONFLICT DO NOTHING")
    store.execute("DROP TABLE b")
    store.execute("CHECKPOINT")


def _median(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    result = fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(quick: bool = False) -> str:
    n = 100_000 if quick else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "cxlens.duckdb") as store:
        _build(store, n)
        for label, rule in RULES.items():
            seconds, result = _median(lambda rule=rule: preview(store, rule, limit=10))
            rows.append((f"preview: {label}", seconds, result["size"]))  # type: ignore[index]
        rule = RULES["two computed traits + consent"]
        start = time.perf_counter()
        created = create_audience(store, "bench", rule)
        rows.append(("first refresh (everyone joins)", time.perf_counter() - start, created["size"]))
        seconds, result = _median(lambda: refresh_audience(store, "bench"))
        rows.append(("refresh (no change)", seconds, result["size"]))  # type: ignore[index]
    lines = ["## Audience evaluation", "",
             f"Rules over {n:,} profiles with a feature snapshot, 3 computed traits and a trait per person "
             "and marketing choices for half; each compiled to one parameterized DuckDB query. Median of "
             f"{REPEATS} runs after a warm-up (the first refresh runs once). Goal: <= {GOAL_S:.0f} s.", "",
             "| what | median (s) | members | ratio to goal |", "|---|---:|---:|---:|"]
    for label, seconds, size in rows:
        lines.append(f"| {label} | {seconds:.3f} | {size:,} | {seconds / GOAL_S:.2f} |")
    return "\n".join(lines)
