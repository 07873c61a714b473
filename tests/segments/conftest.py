"""A small synthetic shop in a real DuckDB file: three kinds of customers with known behaviour.

* ``app-…``  frequent, high-spend buyers who mostly use the app and click e-mails (marketing consent);
* ``web-…``  occasional, low-spend buyers on the website;
* ``look-…`` visitors who browse the website and never buy.

Every fact is drawn from a seeded generator, so the expected segments follow from the recipe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from cxlens.store import Store

END = datetime(2025, 3, 1, tzinfo=UTC)
GROUPS = {"app": 40, "web": 60, "look": 50}


def _insert(store: Store, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    store.register("_rows", pa.Table.from_pylist(rows))
    try:
        columns = ", ".join(rows[0])
        store.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _rows")
    finally:
        store.unregister("_rows")


def populate(store: Store, seed: int = 7) -> dict[str, list[str]]:
    """Fill ``store`` with the synthetic shop; returns the customer ids of each group."""
    rng = np.random.default_rng(seed)
    events, orders, items, profiles, identities, traits, consent = [], [], [], [], [], [], []
    ids: dict[str, list[str]] = {}
    n_event = 0
    for group, count in GROUPS.items():
        ids[group] = [f"{group}-{i:03d}" for i in range(count)]
        for cid in ids[group]:
            n_orders = {"app": rng.integers(6, 12), "web": rng.integers(1, 3), "look": 0}[group]
            channel = "app" if group == "app" else "web"
            last_day = {"app": rng.integers(1, 20), "web": rng.integers(30, 200),
                        "look": rng.integers(1, 90)}[group]
            days = sorted({int(last_day + rng.integers(0, 300)) for _ in range(max(n_orders - 1, 0))}
                          | ({int(last_day)} if n_orders else set()))
            for k, day in enumerate(days):
                ts = END - timedelta(days=day, hours=int(rng.integers(0, 20)))
                revenue = float(round(rng.uniform(80, 200) if group == "app" else rng.uniform(10, 40), 2))
                oid = f"o-{cid}-{k}"
                orders.append({"order_id": oid, "message_id": f"m-{oid}", "customer_id": cid,
                               "timestamp": ts, "revenue": revenue, "currency": "EUR", "channel": channel})
                items.append({"order_id": oid, "product_id": "p1", "category": "electronics" if
                              group == "app" else "books", "price": revenue, "quantity": 1})
            n_views = int(rng.integers(5, 15))
            for _ in range(n_views):
                ts = END - timedelta(days=int(rng.integers(1, 120)), minutes=int(rng.integers(0, 600)))
                kind = "screen" if channel == "app" else "page"
                events.append({"message_id": f"e{n_event}", "type": kind, "event": "Home",
                               "customer_id": cid, "channel": channel, "timestamp": ts, "received_at": ts})
                n_event += 1
            if group == "app":
                for _ in range(3):
                    ts = END - timedelta(days=int(rng.integers(1, 60)))
                    for name in ("Email Opened", "Email Link Clicked"):
                        events.append({"message_id": f"e{n_event}", "type": "track", "event": name,
                                       "customer_id": cid, "channel": "email", "timestamp": ts,
                                       "received_at": ts})
                        n_event += 1
            profiles.append({"customer_id": cid, "first_seen": END - timedelta(days=400), "last_seen": END,
                             "updated_at": END})
            identities.append({"kind": "email", "value": f"{cid}@example.org", "customer_id": cid,
                               "cluster_id": cid, "first_seen": END - timedelta(days=400), "last_seen": END})
            plan = {"app": "pro", "web": "basic", "look": "free"}[group]
            traits.append({"customer_id": cid, "name": "plan", "value": f'"{plan}"', "updated_at": END})
            if group == "app":
                traits.append({"customer_id": cid, "name": "tags", "value": '["vip", "beta"]',
                               "updated_at": END})
            if group != "look":
                consent.append({"customer_id": cid, "kind": "user_id", "value": cid, "purpose": "marketing",
                                "granted": group == "app", "decided_at": END - timedelta(days=10)})
    _insert(store, "events", events)
    _insert(store, "orders", orders)
    _insert(store, "order_items", items)
    _insert(store, "profiles", profiles)
    _insert(store, "identities", identities)
    _insert(store, "traits", traits)
    _insert(store, "consent_events", consent)
    store.executemany("INSERT INTO consent_defaults VALUES (?, ?)",
                      [("analytics", True), ("personalization", False), ("marketing", False)])
    return ids


@pytest.fixture
def shop(store: Store) -> dict[str, list[str]]:
    """The synthetic shop in the test's store; returns the customer ids of each group."""
    return populate(store)
