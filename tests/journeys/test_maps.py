"""Journey maps and stage flows on hand-made journeys whose numbers can be checked by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_stages import add_events  # noqa: E402

from cxlens.errors import InvalidInputError, NotFoundError  # noqa: E402
from cxlens.journeys.maps import journey_map, stage_flows  # noqa: E402
from cxlens.journeys.population import Population, available_segments  # noqa: E402

DAY = 1440  # minutes


@pytest.fixture
def journeys(store):
    # a: aware → considers 1 day later → buys 2 days later → support → buys again (loyal)
    # b: aware → considers 3 days later, stops
    # c: aware only
    add_events(
        store,
        [
            {"cid": "a", "t": 0, "event": "/", "type": "page"},
            {"cid": "a", "t": 1 * DAY, "event": "Product Viewed"},
            {"cid": "a", "t": 3 * DAY, "event": "Order Completed"},
            {"cid": "a", "t": 4 * DAY, "event": "Support Ticket Created"},
            {"cid": "a", "t": 10 * DAY, "event": "Order Completed"},
            {"cid": "b", "t": 0, "event": "/", "type": "page"},
            {"cid": "b", "t": 3 * DAY, "event": "Product Viewed", "channel": "app"},
            {"cid": "c", "t": 0, "event": "/", "type": "page"},
            {"cid": "c", "t": 1, "event": "/search", "type": "page"},
        ],
    )
    store.execute("""INSERT INTO computed_traits VALUES
        ('a', 'rfm_segment', '"champions"', 'rfm', '1', now()),
        ('b', 'rfm_segment', '"at risk"', 'rfm', '1', now())""")
    return store


def test_reach_conversion_time_and_drop_off_per_stage(journeys):
    m = journey_map(journeys, experience={"delivery": {"csat": 71.0}})
    stages = {s["stage"]: s for s in m["stages"]}
    assert m["customers"] == 3
    assert [stages[s]["reach"] for s in ("awareness", "consideration", "purchase", "service", "loyalty")] == [
        3,
        2,
        1,
        1,
        1,
    ]
    assert stages["awareness"]["conversion"] == pytest.approx(2 / 3)
    assert stages["awareness"]["drop_off"] == pytest.approx(1 / 3)
    assert stages["awareness"]["median_days_in_stage"] == pytest.approx(2.0)  # a: 1 day, b: 3 days
    assert stages["consideration"]["conversion"] == pytest.approx(1 / 2)
    assert stages["consideration"]["median_days_in_stage"] == pytest.approx(2.0)
    assert stages["loyalty"]["conversion"] is None
    assert m["quality"] == pytest.approx(
        {"purchase_rate": 1 / 3, "repeat_or_loyal_rate": 1.0, "service_rate": 1.0}
    )
    assert m["length"]["median_events"] == 2  # a: 5, b: 2, c: 2
    assert m["length"]["median_days_to_purchase"] == pytest.approx(3.0)
    touch = {t["touchpoint"]: t for t in m["touchpoints"]}
    assert touch["product"]["reach"] == 2 and touch["product"]["owner"] == "brand"
    assert touch["delivery"] == {
        "touchpoint": "delivery",
        "stage": "service",
        "events": 0,
        "reach": 0,
        "owner": "partner",
        "experience": {"csat": 71.0},
    }


def test_a_segment_limits_the_map_to_its_members(journeys):
    m = journey_map(journeys, population=Population(segment="rfm_segment=champions"))
    assert m["customers"] == 1
    assert {s["stage"]: s["reach"] for s in m["stages"]}["purchase"] == 1
    assert available_segments(journeys) == ["rfm_segment=at risk", "rfm_segment=champions"]


def test_segment_values_match_as_the_docs_write_them(journeys):
    """`segments build` stores the display names ("Champions", "At risk"); the documented
    `rfm_segment=champions` / `rfm_segment=at risk` silently selected nobody."""
    journeys.execute("""UPDATE computed_traits SET value = CASE customer_id
        WHEN 'a' THEN '"Champions"' ELSE '"At risk"' END""")
    for segment, members in (("rfm_segment=champions", 1), ("rfm_segment=at risk", 1),
                             ("rfm_segment=Champions", 1)):
        assert journey_map(journeys, population=Population(segment=segment))["customers"] == members


@pytest.mark.parametrize(
    ("segment", "error", "message"),
    [
        ("tier=gold", InvalidInputError, "unknown computed trait 'tier'"),
        ("audience:vip", NotFoundError, "unknown audience 'vip'"),
        ("champions", InvalidInputError, "NAME=VALUE"),
    ],
)
def test_unknown_segments_are_named(journeys, segment, error, message):
    with pytest.raises(error, match=message):
        journey_map(journeys, population=Population(segment=segment))


def test_flows_collapse_repeats_and_end_where_paths_end(journeys):
    f = stage_flows(journeys)
    paths = {p["path"]: p["customers"] for p in f["paths"]}
    assert paths == {
        "awareness": 1,
        "awareness>consideration": 1,
        "awareness>consideration>purchase>service>purchase": 1,
    }
    links = {(x["step"], x["source"], x["target"]): x["customers"] for x in f["links"]}
    assert links[(1, "awareness", "consideration")] == 2
    assert links[(1, "awareness", "(end)")] == 1
    assert links[(2, "consideration", "(end)")] == 1
    assert (5, "purchase", "(end)") not in links  # cut at max_steps = 5: that path did not end there


def test_flow_parameters_are_checked(journeys):
    with pytest.raises(InvalidInputError, match="max_steps"):
        stage_flows(journeys, max_steps=1)


@pytest.mark.slow
def test_journey_endpoints_take_an_admin_key(live_server):
    import httpx

    from cxlens.keys import create_key

    store = live_server.runtime.store
    add_events(
        store,
        [
            {"cid": "a", "t": 0, "event": "Product Viewed"},
            {"cid": "a", "t": 5, "event": "Order Completed"},
            {"cid": "b", "t": 0, "event": "Product Viewed"},
        ],
    )
    admin = {"Authorization": f"Bearer {create_key(store, 'admin', 'ops').secret}"}
    url = f"{live_server.url}/v1/journeys"
    stages = httpx.get(f"{url}/map", headers=admin).json()["stages"]
    assert {s["stage"]: s["reach"] for s in stages}["purchase"] == 1
    steps = httpx.get(
        f"{url}/funnel",
        headers=admin,
        params=[("step", "Product Viewed"), ("step", "Order Completed"), ("window", "1h")],
    ).json()
    assert [s["customers"] for s in steps["steps"]] == [2, 1]
    bad = httpx.get(f"{url}/funnel", headers=admin, params={"step": "Product Viewed", "window": "1h"})
    assert bad.status_code == 400 and "between 2 and 10 steps" in bad.json()["message"]
    assert (
        httpx.get(f"{url}/attribution", headers=admin, params={"model": "last"}).json()["total_conversions"]
        == 1
    )
    assert httpx.get(f"{url}/cohorts", headers=admin).status_code == 200
    assert httpx.get(f"{url}/flows", headers=admin).json()["customers"] == 2
    assert httpx.get(f"{url}/map").status_code == 401
    # a date, as /v1/quality and the features' as_of take it, means midnight UTC (it was a 400)
    day = httpx.get(f"{url}/map", headers=admin, params={"since": "2020-01-01", "until": "2030-01-01"})
    utc = httpx.get(f"{url}/map", headers=admin,
                    params={"since": "2020-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"})
    assert day.status_code == 200 and day.json() == utc.json()
