"""The experiment registry: definitions, validation, sticky assignment with exposures, targeting,
rollouts, and the assignment endpoint for client apps (write key) on a live server."""

from __future__ import annotations

import httpx
import pytest

from cxlens.errors import ConflictError, InvalidInputError, NotFoundError
from cxlens.experiments.registry import (
    RolloutSpec,
    assign,
    create_experiment,
    get_experiment,
    list_experiments,
    save_experiment,
)
from cxlens.keys import create_key

METRICS = [{"name": "purchase", "kind": "conversion", "event": "Order Completed"}]


def test_create_get_list(store):
    created = create_experiment(
        store,
        {
            "key": "hero-banner",
            "variants": ["control", "a", "b"],
            "weights": [0.5, 0.25, 0.25],
            "metrics": METRICS,
        },
    )
    assert get_experiment(store, "hero-banner") == created
    row = list_experiments(store)[0]
    assert (row["key"], row["units"], row["weights"], row["status"]) == (
        "hero-banner",
        0,
        [0.5, 0.25, 0.25],
        "running",
    )
    with pytest.raises(ConflictError, match="already exists"):
        create_experiment(store, {"key": "hero-banner", "metrics": METRICS})
    with pytest.raises(NotFoundError, match="unknown experiment 'nope'; registered: hero-banner"):
        get_experiment(store, "nope")


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"key": "x", "metrics": []}, "metrics"),
        ({"key": "x", "variants": ["control"], "metrics": METRICS}, "at least two distinct"),
        ({"key": "x", "weights": [0.9, 0.3], "metrics": METRICS}, "weights"),
        ({"key": "bad key!", "metrics": METRICS}, "key"),
        # GET /v1/experiments/assign is the assignment endpoint: that definition was unreachable
        ({"key": "assign", "metrics": METRICS}, "key: .*'assign' is reserved"),
        ({"key": "x", "metrics": [{"name": "m", "kind": "conversion"}]}, "needs the event name"),
        ({"key": "x", "metrics": [{"name": "m", "kind": "clicks", "event": "e"}]}, "kind"),
        ({"key": "x", "coverage": 1.5, "metrics": METRICS}, "coverage"),
        # a window beyond DuckDB's interval range was stored, and every analysis of it was a 500
        ({"key": "x", "metrics": [{**METRICS[0], "window_days": 1e300}]}, "window_days must be"),
        ({"key": "x", "metrics": [{**METRICS[0], "cuped_days": 1e300}]}, "cuped_days must be"),
        ({"key": "x", "metrics": [{**METRICS[0], "window_days": float("nan")}]}, "window_days must be"),
        ({"key": "x", "rollout": {"variant": "zzz", "coverage": 0.1}, "metrics": METRICS}, "rollout.variant"),
        (
            {"key": "x", "namespace": {"name": "n", "start": 0.5, "end": 0.2}, "metrics": METRICS},
            "start must be",
        ),
        # refused on creation: once stored, every assignment request for it failed with a 400
        ({"key": "x", "segment": "champions", "metrics": METRICS}, "segment: .*NAME=VALUE"),
        ({"key": "x", "segment": "rfm_segment=", "metrics": METRICS}, "segment: .*NAME=VALUE"),
        ({"key": "x", "segment": "audience: ", "metrics": METRICS}, "segment: .*audience:NAME"),
    ],
)
def test_bad_definitions_name_the_field(store, definition, message):
    with pytest.raises(InvalidInputError, match=message):
        create_experiment(store, definition)


def test_an_unknown_target_audience_is_refused(store):
    """A misspelt audience was stored, and the experiment then quietly assigned nobody."""
    with pytest.raises(InvalidInputError, match="segment: unknown audience 'vips'; known audiences: none"):
        create_experiment(store, {"key": "x", "segment": "audience:vips", "metrics": METRICS})


def test_overlapping_layers_are_refused(store):
    create_experiment(
        store, {"key": "a", "namespace": {"name": "home", "start": 0, "end": 0.5}, "metrics": METRICS}
    )
    with pytest.raises(InvalidInputError, match="overlap"):
        create_experiment(
            store, {"key": "b", "namespace": {"name": "home", "start": 0.4, "end": 1}, "metrics": METRICS}
        )


def test_assignment_is_sticky_and_records_the_first_exposure_once(store):
    definition = create_experiment(store, {"key": "checkout", "metrics": METRICS})
    first = assign(store, "checkout", "cust-1")
    assert first["variant"] == definition.to_experiment().assign("cust-1")  # the landed hashing decides
    assert assign(store, "checkout", "cust-1") == first
    assert store.fetchall("SELECT variant, unit_id FROM exposures") == [(first["variant"], "cust-1")]
    variants = {assign(store, "checkout", f"u{i}")["variant"] for i in range(40)}
    assert variants == {"control", "treatment"}
    with pytest.raises(InvalidInputError, match="unit"):
        assign(store, "checkout", "")


def test_segment_targeting_status_and_holdout(store):
    store.execute("""INSERT INTO computed_traits VALUES
        ('vip-1', 'rfm_segment', '"champions"', 'rfm', '1', now()),
                     ('low-1', 'rfm_segment', '"hibernating"', 'rfm', '1', now())""")
    create_experiment(store, {"key": "vip-offer", "segment": "rfm_segment=champions", "metrics": METRICS})
    assert assign(store, "vip-offer", "vip-1")["in_experiment"] is True
    out = assign(store, "vip-offer", "low-1")
    assert out["variant"] is None and "segment" in out["reason"]
    create_experiment(
        store, {"key": "held", "holdout": {"key": "global", "fraction": 0.5}, "metrics": METRICS}
    )
    held = [assign(store, "held", f"u{i}", record=False)["variant"] is None for i in range(200)]
    assert 70 < sum(held) < 130  # about half are held out
    create_experiment(store, {"key": "draft", "status": "draft", "metrics": METRICS})
    assert assign(store, "draft", "u1")["reason"] == "the experiment is draft"


def test_segment_targeting_matches_the_stored_segment_name_in_any_case(store):
    """`segments build` writes "Champions"; the documented target `rfm_segment=champions` must
    reach them, not leave the pilot without a single unit."""
    store.execute("""INSERT INTO computed_traits VALUES
        ('vip-1', 'rfm_segment', '"Champions"', 'rfm', '1', now())""")
    create_experiment(store, {"key": "vip-offer", "segment": "rfm_segment=champions", "metrics": METRICS})
    assert assign(store, "vip-offer", "vip-1")["in_experiment"] is True


def test_rollout_keeps_units_as_coverage_grows(store):
    definition = create_experiment(store, {"key": "new-nav", "metrics": METRICS})
    definition.status, definition.rollout = "rolling_out", RolloutSpec(variant="treatment", coverage=0.1)
    save_experiment(store, definition)
    units = [f"u{i}" for i in range(400)]
    at_10 = {u for u in units if assign(store, "new-nav", u)["variant"] == "treatment"}
    definition.rollout.coverage = 0.5
    save_experiment(store, definition)
    at_50 = {u for u in units if assign(store, "new-nav", u)["variant"] == "treatment"}
    assert at_10 < at_50 and 20 < len(at_10) < 60 and 160 < len(at_50) < 240
    assert store.fetchall(
        "SELECT experiment_key, count(DISTINCT unit_id) FROM exposures GROUP BY 1 ORDER BY 1"
    ) == [("new-nav:rollout:10", 400), ("new-nav:rollout:50", 400)]  # each stage checked on its own traffic


@pytest.mark.slow
def test_assign_endpoint_takes_a_write_key(live_server):
    store = live_server.runtime.store
    create_experiment(store, {"key": "checkout", "metrics": METRICS})
    write = create_key(store, "write", "web app").secret
    admin = create_key(store, "admin", "ops").secret
    url = live_server.url
    ok = httpx.get(
        f"{url}/v1/experiments/assign", params={"experiment": "checkout", "unit": "c1"}, auth=(write, "")
    )
    assert ok.status_code == 200 and ok.json()["variant"] in ("control", "treatment")
    again = httpx.get(
        f"{url}/v1/experiments/assign", params={"experiment": "checkout", "unit": "c1"}, auth=(write, "")
    )
    assert again.json()["variant"] == ok.json()["variant"]
    assert (
        httpx.get(f"{url}/v1/experiments/assign", params={"experiment": "checkout", "unit": "c1"}).status_code
        == 401
    )
    assert (
        httpx.get(
            f"{url}/v1/experiments/assign", params={"experiment": "nope", "unit": "c1"}, auth=(write, "")
        ).status_code
        == 404
    )
    # the key before the query: without one, a request missing `unit` was a 400 naming the field
    assert httpx.get(f"{url}/v1/experiments/assign", params={"experiment": "checkout"}).status_code == 401
    # an admin key is a valid key of the wrong kind: 403 saying so (it was 401 "missing write key")
    wrong = httpx.get(f"{url}/v1/experiments/assign", params={"experiment": "checkout", "unit": "c1"},
                      headers={"Authorization": f"Bearer {admin}"})
    assert wrong.status_code == 403 and wrong.json()["message"].startswith("an admin key cannot be used here")
    assert httpx.get(f"{url}/v1/experiments", auth=(write, "")).status_code == 403  # registry: admin
    listed = httpx.get(f"{url}/v1/experiments", headers={"Authorization": f"Bearer {admin}"})
    assert listed.json()[0]["units"] == 1
    created = httpx.post(
        f"{url}/v1/experiments",
        headers={"Authorization": f"Bearer {admin}"},
        json={"key": "x", "variants": ["only"], "metrics": METRICS},
    )
    assert created.status_code == 400 and "at least two" in created.json()["message"]
    missing = httpx.post(f"{url}/v1/experiments", headers={"Authorization": f"Bearer {admin}"},
                         json={"key": "y", "metrics": [{"name": "m", "kind": "clicks"}]})
    assert [p["field"] for p in missing.json()["details"]["problems"]] == ["metrics.0.kind"]  # as every route
