"""A tiny shop in a real store: products, customers with identities, orders, consent; models trained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from cxlens.config import Settings
from cxlens.decide.engine import DecisionEngine
from cxlens.privacy.consent import sync_defaults
from cxlens.recommend.service import train
from cxlens.store import Store

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PRODUCTS = [(f"P{n:02d}", f"Product {n}", ["coffee", "tea", "kitchen", "books"][n % 4], 5.0 + n)
            for n in range(24)]


def insert(store: Store, table: str, rows: list[tuple]) -> None:
    """Bulk insert through Arrow (row-by-row executemany is slow in DuckDB)."""
    columns = {f"c{n}": [row[n] for row in rows] for n in range(len(rows[0]))}
    store.register("_rows", pa.table(columns))
    try:
        store.execute(f"INSERT INTO {table} SELECT * FROM _rows")
    finally:
        store.unregister("_rows")


def build_shop(store: Store, settings: Settings, n_customers: int = 60) -> None:
    """Customers of two tastes (even products / odd products) so a model has something to learn."""
    sync_defaults(store, settings)
    store.executemany("INSERT INTO products VALUES (?, ?, ?, ?, 'EUR', NULL, ?)",
                      [(*p, NOW) for p in PRODUCTS[:1]])
    insert(store, "products", [(*p, "EUR", None, NOW) for p in PRODUCTS[1:]])
    orders, items, identities = [], [], []
    for c in range(n_customers):
        cid = f"cus_{c:04d}"
        identities.append(("user_id", f"u{c}", cid, cid, NOW, NOW))
        taste = c % 2
        for o in range(6):
            oid = f"o{c}-{o}"
            at = NOW - timedelta(days=200 - 30 * o + c % 7)
            orders.append((oid, f"m{oid}", cid, at, 10.0, "EUR", "web", None))
            for j in range(2):
                product = PRODUCTS[(2 * ((c + o * 3 + j * 5) % 12) + taste) % 24]
                items.append((oid, product[0], None, product[1], product[2], product[3], 1))
    insert(store, "orders", orders)
    insert(store, "order_items", items)
    insert(store, "identities", [(*i, False) for i in identities])
    insert(store, "profiles", [(i[2], NOW, NOW, NOW) for i in identities])
    consent = []
    for c in range(n_customers):
        consent.append((f"cus_{c:04d}", "user_id", f"u{c}", "personalization", c % 3 != 0, NOW, "test", None))
        consent.append((f"cus_{c:04d}", "user_id", f"u{c}", "marketing", True, NOW, "test", None))
    insert(store, "consent_events", consent)


def grant(store: Store, customer: str, purpose: str, granted: bool, at: datetime) -> None:
    store.execute("INSERT INTO consent_events VALUES (?, 'user_id', 'x', ?, ?, ?, 'test', NULL)",
                  [customer, purpose, granted, at])


@pytest.fixture
def shop(store: Store, settings: Settings) -> Store:
    build_shop(store, settings)
    train(store, settings.data_dir)
    return store


@pytest.fixture
def engine(shop: Store, settings: Settings):
    engine = DecisionEngine.open(shop, settings)
    yield engine
    engine.stop()
