"""The faster ingest paths (ADR 0005) keep their meaning: the WAL's JSON lines, the loader reading
them (and an older WAL's JSON arrays), one-parse commerce/feedback extraction, the ASGI endpoints."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from cxlens.collect.channels import channel_of
from cxlens.collect.loader import Loader, next_wait
from cxlens.collect.messages import to_micros
from cxlens.collect.pipeline import load_events
from cxlens.collect.records import EVENT_SCHEMA, from_json_lines, to_arrow, to_json_lines
from cxlens.collect.wal import KIND_EVENT_LINES, KIND_EVENTS, WalWriter

T = to_micros("2024-05-01T12:00:00Z", "t")


def _record(message_id: str, **extra) -> dict:
    return {"message_id": message_id, "type": "track", "event": "Clicked", "user_id": "u1",
            "anonymous_id": None, "id_kind": None, "id_value": None, "customer_id": None,
            "channel": "web", "source": "test", "timestamp": T, "original_timestamp": T - 5,
            "sent_at": None, "received_at": T + 1, "properties": {"a": [1, 2], "s": "line\nbreak"},
            "traits": None, "context": {"library": {"name": "x"}}, "group_id": None,
            "previous_id": None, "anonymized": False, **extra}


def test_json_lines_round_trip_equals_to_arrow() -> None:
    records = [
        _record("a"),
        _record("b", properties='{"already": "text"}', traits={"email": "é@example.org"}),
        # a record reduced to a consent choice carries only some keys: the rest are nulls
        {"message_id": "c", "type": "identify", "timestamp": T, "received_at": T, "user_id": "u2",
         "traits": {}, "context": {"consent": {"analytics": False}}, "properties": {}},
    ]
    expected = to_arrow(records)
    got = from_json_lines(to_json_lines([dict(r) for r in records]))
    assert got.schema.equals(EVENT_SCHEMA)
    assert got.to_pylist() == expected.to_pylist()


def _append_all(wal_dir, items: list[tuple[int, bytes]]) -> WalWriter:
    writer = WalWriter(wal_dir, 1 << 20, max_wait_ms=0)
    writer.start()

    async def go() -> None:
        for kind, payload in items:
            await writer.append(kind, payload)

    asyncio.run(go())
    writer.stop()
    return writer


def test_loader_reads_json_lines_and_an_older_wal_s_json_arrays(store, settings) -> None:
    legacy = orjson.dumps([_record("old-1"), _record("old-2")])  # what earlier versions wrote
    writer = _append_all(settings.wal_dir, [(KIND_EVENTS, legacy),
                                            (KIND_EVENT_LINES, to_json_lines([_record("new-1")])),
                                            (KIND_EVENT_LINES, to_json_lines([_record("old-1")]))])
    loader = Loader(store, settings, lambda: writer.committed)
    report = loader.drain()
    assert (report.received, report.loaded, report.duplicates) == (4, 3, 1)
    rows = store.records("SELECT message_id, properties, original_timestamp FROM events ORDER BY 1")
    assert [r["message_id"] for r in rows] == ["new-1", "old-1", "old-2"]
    assert all(orjson.loads(r["properties"]) == {"a": [1, 2], "s": "line\nbreak"} for r in rows)
    assert loader.position == writer.committed


def _track(message_id: str, event: str, properties: dict, context: dict | None = None) -> dict:
    return _record(message_id, event=event, properties=properties, context=context)


def test_extraction_reads_every_property_spelling(store, settings) -> None:
    events = [
        _track("o1", "Order Completed", {"orderId": "A-1", "total": "12.5", "currency": "eur",
                                         "products": [{"productId": "p1", "sku": "S1", "name": "Mug",
                                                       "category": "Home", "price": 4, "quantity": 3},
                                                      {"product_id": "p2"}]},
               context={"campaign": {"name": "spring"}}),
        _track("o2", "Order Completed", {"revenue": 7, "products": {"not": "a list"}}),
        _track("f1", "Survey Responded", {"surveyId": "s1", "metric": "NPS", "rating": 9,
                                          "review_body": "good", "touchpoint": "email"}),
        _track("f2", "Review Submitted", {"review_id": "r1", "value": "4", "text": "ok"}),
        _track("x", "Viewed", {"order_id": "not an order"}),
    ]
    report = load_events(store, settings, to_arrow(events))
    assert (report.orders, report.order_items, report.feedback) == (2, 2, 2)
    orders = store.fetchall("SELECT order_id, revenue::DOUBLE, currency, campaign FROM orders ORDER BY 1")
    assert orders == [("A-1", 12.5, "EUR", "spring"), ("o2", 7.0, "USD", None)]
    items = store.fetchall("SELECT order_id, product_id, sku, name, category, price::DOUBLE, quantity "
                           "FROM order_items ORDER BY product_id")
    assert items == [("A-1", "p1", "S1", "Mug", "Home", 4.0, 3), ("A-1", "p2", None, None, None, None, 1)]
    assert store.fetchall("SELECT product_id, currency FROM products ORDER BY 1") == [("p1", "EUR"),
                                                                                    ("p2", "EUR")]
    feedback = store.fetchall("SELECT message_id, survey_id, metric, score, comment, touchpoint "
                              "FROM feedback ORDER BY 1")
    assert feedback == [("f1", "s1", "nps", 9.0, "good", "email"), ("f2", "r1", "rating", 4.0, "ok", None)]
    assert store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_cx_%'") == 0


@pytest.mark.parametrize(("library", "channel"), [
    ("analytics.js", "web"), ("Analytics-Android", "app"), ("rudder-sdk-flutter", "app"),
    ("analytics-python", "server")])
def test_library_channel_lookup_is_case_insensitive_and_repeatable(library: str, channel: str) -> None:
    for _ in range(2):  # the second answer comes from the cache
        assert channel_of({}, {"library": {"name": library}}) == channel


@pytest.mark.parametrize(("took", "wait"), [(0.1, 1.9), (2.0, 0.0), (3.5, 0.0)])
def test_loader_passes_start_an_interval_apart_or_at_once_when_behind(took: float, wait: float) -> None:
    # A pass longer than the interval is followed at once: its backlog is already a large batch.
    assert next_wait(2.0, took) == pytest.approx(wait)
