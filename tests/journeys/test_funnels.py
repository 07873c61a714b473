"""Ordered funnels with a conversion window, best start per customer, breakdowns and bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_stages import add_events  # noqa: E402

from cxlens.errors import InvalidInputError  # noqa: E402
from cxlens.journeys.funnels import FunnelStep, funnel, parse_window  # noqa: E402

STEPS = ["Product Viewed", "Checkout Started", "Order Completed"]


@pytest.fixture
def events(store):
    add_events(
        store,
        [
            # a: all three in order within an hour (10 and 20 minutes apart)
            {"cid": "a", "t": 0, "event": "Product Viewed"},
            {"cid": "a", "t": 10, "event": "Checkout Started"},
            {"cid": "a", "t": 30, "event": "Order Completed"},
            # b: checkout before the view does not count; the order is 3 days after the view (outside 1d)
            {"cid": "b", "t": 0, "event": "Checkout Started", "channel": "app"},
            {"cid": "b", "t": 5, "event": "Product Viewed", "channel": "app"},
            {"cid": "b", "t": 65, "event": "Checkout Started", "channel": "app"},
            {"cid": "b", "t": 3 * 1440, "event": "Order Completed", "channel": "app"},
            # c: a first view that goes nowhere, a later view that converts fully: the later start counts
            {"cid": "c", "t": 0, "event": "Product Viewed"},
            {"cid": "c", "t": 5000, "event": "Product Viewed"},
            {"cid": "c", "t": 5002, "event": "Checkout Started"},
            {"cid": "c", "t": 5006, "event": "Order Completed"},
            # d: only views
            {"cid": "d", "t": 0, "event": "Product Viewed", "channel": "app"},
        ],
    )
    return store


def test_ordered_steps_within_the_window(events):
    r = funnel(events, STEPS, "1d")
    assert [s["customers"] for s in r["steps"]] == [4, 3, 2]
    assert [s["conversion"] for s in r["steps"]] == pytest.approx([1, 0.75, 0.5])
    assert r["steps"][2]["step_conversion"] == pytest.approx(2 / 3)
    assert r["steps"][1]["drop_off"] == pytest.approx(0.25)
    assert r["steps"][1]["median_seconds_from_previous"] == pytest.approx(600)  # a 10, b 60, c 2 minutes
    assert r["steps"][2]["median_seconds_from_previous"] == pytest.approx((20 * 60 + 4 * 60) / 2)
    assert r["window_seconds"] == 86400


def test_a_longer_window_lets_the_late_order_in(events):
    assert [s["customers"] for s in funnel(events, STEPS, "4d")["steps"]] == [4, 3, 3]


def test_breakdown_by_the_starting_events_channel(events):
    r = funnel(events, STEPS, "1d", breakdown="channel")
    groups = {g["value"]: [s["customers"] for s in g["steps"]] for g in r["groups"]}
    assert groups == {"web": [2, 2, 2], "app": [2, 1, 0]}
    assert [s["customers"] for s in r["steps"]] == [4, 3, 2]


def test_the_same_step_twice_needs_two_events(events):
    r = funnel(events, ["Product Viewed", "Product Viewed"], "7d")
    assert [s["customers"] for s in r["steps"]] == [4, 1]  # only c viewed twice


def test_step_property_filters(events):
    r = funnel(events, ["Product Viewed[channel=app]", "Order Completed"], "7d")
    assert [s["customers"] for s in r["steps"]] == [2, 1]
    assert r["steps"][0]["event"] == "Product Viewed[channel=app]"
    assert FunnelStep.parse("Signed Up [plan = pro, country=DE]").where == (
        ("plan", "pro"),
        ("country", "DE"),
    )


@pytest.mark.parametrize(
    ("steps", "window", "breakdown", "message"),
    [
        (["Product Viewed"], "1d", None, "between 2 and 10 steps"),
        (["Product Viewed", "Order[x"], "1d", None, "malformed"),
        (["Product Viewed", "Order Completed[=x]"], "1d", None, "key=value"),
        (["Product Viewed", ""], "1d", None, "malformed"),
        (STEPS, "7 days", None, "window '7 days' is not understood"),
        (STEPS, "0d", None, "must be positive"),
        (STEPS, "99999999999999d", None, "at most 3650 days"),
        (STEPS, float("nan"), None, "must be positive"),
        (STEPS, "1d", "favourite colour", "unknown breakdown"),
    ],
)
def test_bad_funnels_are_refused(events, steps, window, breakdown, message):
    with pytest.raises(InvalidInputError, match=message):
        funnel(events, steps, window, breakdown=breakdown)


def test_window_units():
    assert [parse_window(w) for w in ("30m", "24h", "2w", "90s", 60)] == [1800, 86400, 1209600, 90, 60]
