"""Journeys from the store: conversion paths + Markov attribution over 1,000,000 journeys, and an ordered
funnel over 10,000,000 events.

The store is filled with SQL alone (DuckDB ``range`` and ``hash`` — deterministic, seconds to build):

* paths: 1,000,000 customers, each with 1–4 touches over 6 channels (some with a UTM campaign),
  and a conversion for about a third of them — one journey each, converting or null;
* funnel: 1,000,000 customers × 10 events drawn from 5 event names over 30 days; a 3-step funnel
  (``Product Viewed`` → ``Checkout Started`` → ``Order Completed``) within 7 days, with and without a
  breakdown by channel.

Goals: paths + Markov over 1,000,000 journeys ≤ 60 s; the funnel over 10,000,000 events ≤ 30 s
(a two-core shared machine). ``--quick``: a tenth of each.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

GOAL_PATHS_SECONDS = 60.0
GOAL_FUNNEL_SECONDS = 30.0
ANCHOR = datetime(2025, 1, 1, tzinfo=UTC)
CHANNELS = "['web', 'app', 'email', 'social', 'store', 'call_center']"
EVENTS = "['Product Viewed', 'Checkout Started', 'Order Completed', 'Cart Viewed', 'Email Opened']"


def fill_journeys(store, customers: int) -> int:
    """Touches then (for ~1/3) an ``Order Completed`` per customer; returns the events written."""
    store.execute(
        f"""INSERT INTO events (message_id, type, event, customer_id, channel, timestamp, received_at,
                                context, properties)
        SELECT 'p' || i || '-' || j, 'track', CASE WHEN j = n THEN 'Order Completed' ELSE 'Page' END,
               'c' || i, {CHANNELS}[1 + (hash(i, j) % 6)::INT], ts, ts,
               CASE WHEN hash(i, j, 7) % 5 = 0
                    THEN '{{"campaign": {{"source": "newsletter", "medium": "email"}}}}' END,
               CASE WHEN j = n THEN '{{"revenue": 50}}' END
        FROM (SELECT i, j, n, ? + to_minutes(CAST(i % 40000 + j * 30 AS BIGINT)) AS ts
              FROM (SELECT i, 1 + (hash(i) % 4)::INT AS touches,
                           CASE WHEN hash(i, 3) % 3 = 0 THEN 1 + (hash(i) % 4)::INT ELSE -1 END AS n
                    FROM range(?) t(i)) c, range(1, 5) s(j)
              WHERE j <= touches)""",
        [ANCHOR, customers],
    )
    return int(store.scalar("SELECT count(*) FROM events"))


def fill_funnel(store, customers: int, per_customer: int = 10) -> int:
    store.execute(
        f"""INSERT INTO events (message_id, type, event, customer_id, channel, timestamp, received_at)
        SELECT 'f' || i || '-' || j, 'track', {EVENTS}[1 + (hash(i, j) % 5)::INT], 'c' || i,
               {CHANNELS}[1 + (hash(i) % 6)::INT], ts, ts
        FROM (SELECT i, j, ? + to_seconds(CAST(hash(i, j, 1) % (30 * 86400) AS BIGINT)) AS ts
              FROM range(?) t(i), range(?) s(j))""",
        [ANCHOR, customers, per_customer],
    )
    return int(store.scalar("SELECT count(*) FROM events"))


def _median(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run(quick: bool = False) -> str:
    from cxlens.journeys.attribution import attribute
    from cxlens.journeys.funnels import funnel
    from cxlens.journeys.store_paths import build_paths
    from cxlens.store import Store

    journeys = 100_000 if quick else 1_000_000
    funnel_customers = 100_000 if quick else 1_000_000
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "paths.duckdb") as store:
            started = time.perf_counter()
            events = fill_journeys(store, journeys)
            fill_paths = time.perf_counter() - started
            t_paths, table = _median(lambda: build_paths(store, lookback_days=30), repeats)
            t_markov, result = _median(lambda: attribute(table, "markov"), repeats)
        with Store(Path(tmp) / "funnel.duckdb") as store:
            started = time.perf_counter()
            funnel_events = fill_funnel(store, funnel_customers)
            fill_f = time.perf_counter() - started
            steps = ["Product Viewed", "Checkout Started", "Order Completed"]
            t_funnel, f = _median(lambda: funnel(store, steps, "7d"), repeats)
            t_breakdown, _ = _median(lambda: funnel(store, steps, "7d", breakdown="channel"), repeats)
    total_paths = t_paths + t_markov
    counts = [s["customers"] for s in f["steps"]]
    return "\n".join(
        [
            "## Journeys: store paths + Markov attribution, funnels",
            "",
            f"Paths: {journeys:,} synthetic journeys ({events:,} events, built in {fill_paths:.1f} s) → "
            f"{len(table.paths):,} unique paths, {table.total_conversions:,.0f} conversions; "
            f"Markov attributed {sum(c['conversions'] for c in result['channels']):,.0f}. "
            f"Funnel: {funnel_events:,} events "
            f"(built in {fill_f:.1f} s), 3 steps within 7 days, customers per step {counts}. "
            f"Medians of {repeats} run(s).",
            "",
            "| step | seconds | goal |",
            "|---|---|---|",
            f"| build paths from the store | {t_paths:.2f} | |",
            f"| Markov attribution (exact) | {t_markov:.2f} | |",
            f"| paths + Markov | {total_paths:.2f} | ≤ {GOAL_PATHS_SECONDS:.0f} s "
            f"({total_paths / GOAL_PATHS_SECONDS:.2f}× of goal) |",
            f"| funnel, 3 steps | {t_funnel:.2f} | ≤ {GOAL_FUNNEL_SECONDS:.0f} s "
            f"({t_funnel / GOAL_FUNNEL_SECONDS:.2f}× of goal) |",
            f"| funnel, 3 steps by channel | {t_breakdown:.2f} | |",
        ]
    )
