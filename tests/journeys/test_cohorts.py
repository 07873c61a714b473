"""Cohort retention by first purchase or first seen, per week or month."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_stages import add_events  # noqa: E402

from cxlens.errors import InvalidInputError  # noqa: E402
from cxlens.journeys.cohorts import retention  # noqa: E402

DAY = 1440  # minutes; T0 is Wednesday 2025-01-01


@pytest.fixture
def events(store):
    add_events(
        store,
        [
            {"cid": "a", "t": 0, "event": "Order Completed"},  # January cohort
            {"cid": "a", "t": 35 * DAY, "event": "Order Completed"},  # back in February
            {"cid": "a", "t": 65 * DAY, "event": "/", "type": "page"},  # March: active, did not buy
            {"cid": "b", "t": 10 * DAY, "event": "Order Completed"},  # January cohort, never back
            {"cid": "c", "t": 40 * DAY, "event": "Order Completed"},  # February cohort
            {"cid": "c", "t": 70 * DAY, "event": "Order Completed"},  # back in March
            {"cid": "d", "t": 2 * DAY, "event": "/", "type": "page"},  # seen, never bought
        ],
    )
    return store


def test_monthly_retention_by_first_purchase_with_purchases_as_return(events):
    r = retention(events, period="month", periods=2, return_event="Order Completed")
    assert r["cohorts"] == [
        {"cohort": "2025-01-01", "size": 2, "retention": [1.0, 0.5, 0.0]},
        {"cohort": "2025-02-01", "size": 1, "retention": [1.0, 1.0, None]},
    ]
    assert r["average"] == pytest.approx([1.0, 2 / 3, 0.0])  # March: only January lived two months


def test_any_event_counts_as_return_by_default(events):
    r = retention(events, period="month", periods=2)
    assert r["cohorts"][0]["retention"] == [1.0, 0.5, 0.5]


def test_first_seen_weekly_cohorts(events):
    r = retention(events, cohort_by="first_seen", period="week", periods=1)
    first = r["cohorts"][0]
    assert first["cohort"] == "2024-12-30" and first["size"] == 2  # a and d, ISO week starting Monday
    assert first["retention"] == [1.0, 0.0]


def test_months_without_the_return_event_are_zero_not_unobserved(store):
    """The data ends at the last event, not at the last return event: months the cohort lived
    through without anyone coming back are 0 %, not empty (which would lift the average curve)."""
    add_events(store, [
        {"cid": "a", "t": 0, "event": "Order Completed"},
        {"cid": "a", "t": 35 * DAY, "event": "/", "type": "page"},
        {"cid": "a", "t": 65 * DAY, "event": "/", "type": "page"},
    ])
    r = retention(store, period="month", periods=3, return_event="Order Completed")
    assert r["cohorts"] == [{"cohort": "2025-01-01", "size": 1, "retention": [1.0, 0.0, 0.0, None]}]
    assert r["average"] == [1.0, 0.0, 0.0, None]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cohort_by": "signup"}, "unknown cohort definition"),
        ({"period": "day"}, "unknown period"),
        ({"periods": 0}, "periods must be between"),
    ],
)
def test_bad_arguments(events, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        retention(events, **kwargs)
