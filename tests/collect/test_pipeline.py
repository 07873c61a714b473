"""load_events: de-duplication, unification, commerce and feedback extraction, on a real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from cxlens.collect.intake import parse_body, split_messages
from cxlens.collect.messages import to_micros
from cxlens.collect.pipeline import load_events
from cxlens.collect.records import to_arrow
from cxlens.errors import InvalidInputError
from cxlens.store import Store

CASES = Path(__file__).resolve().parents[1] / "cases" / "segment"
RECEIVED = to_micros("2024-05-01T12:00:10Z", "receivedAt")


def _records(case_name: str, settings) -> list[dict]:
    case = json.loads((CASES / f"{case_name}.json").read_text())
    body = orjson.dumps(case["body"])
    intake = split_messages(case["endpoint"], parse_body(body, case["endpoint"], settings), len(body),
                            settings, RECEIVED, "golden")
    return intake.records


def _batch(n: int, prefix: str = "m") -> pa.Table:
    return to_arrow({"message_id": f"{prefix}-{i}", "type": "track", "event": "Viewed",
                     "user_id": f"user-{i % 7}", "channel": "web", "source": "test",
                     "timestamp": RECEIVED, "received_at": RECEIVED, "properties": {"i": i}}
                    for i in range(n))


def test_commerce_and_feedback_are_extracted(store, settings) -> None:
    case = json.loads((CASES / "commerce.json").read_text())
    report = load_events(store, settings, to_arrow(_records("commerce", settings)))
    assert (report.loaded, report.orders, report.order_items, report.feedback) == (4, 2, 2, 2)
    orders = store.records("SELECT order_id, revenue, currency, campaign, customer_id FROM orders "
                           "ORDER BY order_id")
    for got, want in zip(orders, case["expect_orders"], strict=True):
        assert {k: got[k] for k in want} | {"revenue": float(got["revenue"])} == want
        assert got["customer_id"] is not None  # unify resolved the buyer
    items = store.records("SELECT order_id, product_id, sku, price, quantity FROM order_items "
                          "ORDER BY product_id")
    assert [{**i, "price": float(i["price"])} for i in items] == case["expect_items"]
    feedback = store.records("SELECT survey_id, metric, score, comment, touchpoint FROM feedback "
                             "ORDER BY survey_id")
    assert feedback == case["expect_feedback"]
    assert store.scalar("SELECT count(*) FROM products") == 2


def test_golden_messages_resolve_to_customers(store, settings) -> None:
    records = [r for name in ("track", "identify", "page", "alias") for r in _records(name, settings)]
    report = load_events(store, settings, to_arrow(records))
    assert report.loaded == 4
    assert store.scalar("SELECT count(*) FROM events WHERE customer_id IS NULL") == 0


def test_duplicates_within_a_batch_and_across_loads_and_restarts(settings) -> None:
    batch = _batch(50)
    doubled = pa.concat_tables([batch, batch.slice(0, 10)])
    with Store(settings.store_path) as store:
        first = load_events(store, settings, doubled)
        assert (first.received, first.loaded, first.duplicates) == (60, 50, 10)
        again = load_events(store, settings, batch)
        assert (again.loaded, again.duplicates) == (0, 50)
    with Store(settings.store_path) as store:  # the memory of loaded ids is in the store
        mixed = load_events(store, settings, pa.concat_tables([batch.slice(0, 5), _batch(5, "new")]))
        assert (mixed.loaded, mixed.duplicates) == (5, 5)
        assert store.scalar("SELECT count(*) FROM events") == 55
        assert store.scalar("SELECT count(DISTINCT message_id) FROM events") == 55


def test_a_failed_load_leaves_nothing_behind(store, settings) -> None:
    bad = _batch(3).set_column(10, "timestamp", pa.array([RECEIVED, None, RECEIVED],
                                                         pa.timestamp("us", tz="UTC")))
    with pytest.raises(InvalidInputError, match="timestamp"):
        load_events(store, settings, bad)
    assert store.scalar("SELECT count(*) FROM events") == 0
    assert store.scalar("SELECT count(*) FROM message_ids") == 0


def test_missing_column_is_named(store, settings) -> None:
    with pytest.raises(InvalidInputError, match="channel"):
        load_events(store, settings, _batch(2).drop_columns(["channel"]))
