"""Feature layer on DuckDB: every per-customer feature for N customers / 20·N events.

Synthetic rows are generated with SQL straight into a temporary store's tables (events, orders,
order_items, feedback, consent_events), so the timing is the feature query alone: one statement
compiled from the Ibis definitions, run inside the store, result brought home as pandas.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

GOAL_SECONDS = 60.0
EVENTS_PER_CUSTOMER = 20


def fill(store: object, customers: int, seed: float = 0.42) -> dict[str, int]:
    """Synthetic history over 2024 with SQL: 20 events, ~2 orders, ~3 items per customer."""
    s = store  # a cxlens Store; typed loosely so the bench imports nothing heavy at module load
    s.execute(f"SELECT setseed({seed})")
    events = customers * EVENTS_PER_CUSTOMER
    s.execute(f"""
        INSERT INTO events (message_id, type, event, customer_id, channel, timestamp, received_at)
        SELECT 'e' || i,
               CASE WHEN r < 0.45 THEN 'page' WHEN r < 0.6 THEN 'screen' ELSE 'track' END,
               CASE WHEN r < 0.6 THEN 'View' WHEN r < 0.7 THEN 'Email Opened'
                    WHEN r < 0.75 THEN 'Email Link Clicked' WHEN r < 0.77 THEN 'Support Ticket Created'
                    ELSE 'Product Viewed' END,
               'c' || (i % {customers}),
               ['web', 'app', 'email', 'store', 'call_center', 'social'][1 + (i * 7 % 6)::INT],
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((random() * 365 * 86400)::BIGINT), now()
        FROM (SELECT range AS i, random() AS r FROM range({events}))""")
    orders = customers * 2
    s.execute(f"""
        INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue, currency)
        SELECT 'o' || i, 'om' || i, 'c' || (hash(i) % {customers}),
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((random() * 365 * 86400)::BIGINT),
               round(5 + random() * 200, 2), 'EUR'
        FROM range({orders}) t(i)""")
    s.execute(f"""
        INSERT INTO order_items (order_id, product_id, category, price, quantity)
        SELECT 'o' || (i % {orders}), 'p' || (i % 200),
               ['apparel', 'home', 'kitchen', 'beauty', 'electronics', 'grocery', 'sports',
                'toys'][1 + (i % 8)::INT],
               round(5 + random() * 100, 2), 1 + (i % 3)::INT
        FROM range({orders * 3 // 2}) t(i)""")
    s.execute(f"""
        INSERT INTO feedback (message_id, customer_id, timestamp, metric, score)
        SELECT 'f' || i, 'c' || (hash(i) % {customers}),
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((random() * 365 * 86400)::BIGINT),
               CASE WHEN i % 2 = 0 THEN 'nps' ELSE 'csat' END, (random() * 10)::INT
        FROM range({customers // 3}) t(i)""")
    s.execute(f"""
        INSERT INTO consent_events (customer_id, kind, value, purpose, granted, decided_at)
        SELECT 'c' || i, 'user_id', 'c' || i, 'marketing', random() < 0.4,
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((random() * 365 * 86400)::BIGINT)
        FROM range({customers}) t(i)""")
    return {"customers": customers, "events": events, "orders": orders}


def run(quick: bool = False) -> str:
    from cxlens.features import build_features, duckdb_engine
    from cxlens.store import Store

    customers = 50_000 if quick else 1_000_000
    repeats = 3 if quick else 2
    as_of = datetime(2024, 12, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="cxlens-bench-features-") as tmp, \
            Store(Path(tmp) / "bench.duckdb") as store:
        started = time.perf_counter()
        sizes = fill(store, customers)
        filled = time.perf_counter() - started
        engine = duckdb_engine(store)
        times, shape = [], (0, 0)
        for _ in range(repeats):
            started = time.perf_counter()
            shape = build_features(engine, as_of).frame.shape
            times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return "\n".join([
        "## Feature layer (DuckDB)",
        "",
        f"All per-customer features (RFM, rhythm, category and channel mix, sessions, e-mail, feedback, "
        f"consent as of a date) for synthetic data generated with SQL into a temporary store "
        f"({filled:.0f} s to generate). Timed: `build_features` — compile the Ibis definitions, run one "
        f"DuckDB statement, return pandas. Median of {repeats} runs.",
        "",
        "| customers | events | orders | feature columns | seconds (median) | runs |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {shape[0]:,} | {sizes['events']:,} | {sizes['orders']:,} | {shape[1]} | {median:.1f} | "
        f"{', '.join(f'{t:.1f}' for t in times)} |",
        "",
        f"- Goal ≤ {GOAL_SECONDS:.0f} s for 1,000,000 customers / 20,000,000 events: "
        + (f"{median:.1f} s ({median / GOAL_SECONDS:.0%} of the budget)." if not quick else
           "quick mode measures 50,000 customers only; run without --quick for the goal."),
    ])
