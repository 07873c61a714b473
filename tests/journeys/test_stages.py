"""The stage model and touchpoint catalogue: config files, validation, and which stage an event is in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from cxlens.errors import InvalidInputError
from cxlens.journeys.maps import stage_entries_sql
from cxlens.journeys.population import Population
from cxlens.journeys.touchpoints import OWNERS, JourneyConfig, load_journey_config

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def add_events(store, rows: list[dict]) -> None:
    """Insert hand-written events (customer, minutes after T0, event, type, channel)."""
    full = [
        {
            "message_id": f"m{i}",
            "type": r.get("type", "track"),
            "event": r["event"],
            "customer_id": r["cid"],
            "channel": r.get("channel", "web"),
            "timestamp": T0 + timedelta(minutes=r["t"]),
            "received_at": T0 + timedelta(minutes=r["t"]),
            "properties": r.get("properties"),
            "context": r.get("context"),
        }
        for i, r in enumerate(rows)
    ]
    store.register("_new_events", pa.Table.from_pylist(full))
    store.execute("INSERT INTO events BY NAME SELECT * FROM _new_events")
    store.unregister("_new_events")


def stages_of(store, config: JourneyConfig) -> dict[tuple[str, str], int]:
    sql, params = stage_entries_sql(store, config, Population())
    return {(r["cid"], r["stage"]): int(r["n"]) for r in store.records(sql, params)}


def test_default_model_maps_segment_ecommerce_events_to_stages(store):
    add_events(
        store,
        [
            {"cid": "a", "t": 0, "event": "/", "type": "page"},
            {"cid": "a", "t": 1, "event": "Product Viewed"},
            {"cid": "a", "t": 2, "event": "Order Completed"},
            {"cid": "a", "t": 3, "event": "Support Ticket Created", "channel": "call_center"},
            {"cid": "a", "t": 4, "event": "Order Completed"},  # a repeat purchase: loyalty too
            {"cid": "a", "t": 5, "event": None, "type": "identify"},  # not part of the journey
        ],
    )
    assert stages_of(store, JourneyConfig()) == {
        ("a", "awareness"): 1,
        ("a", "consideration"): 1,
        ("a", "purchase"): 2,
        ("a", "service"): 1,
        ("a", "loyalty"): 1,
    }


def test_a_toml_config_replaces_stages_rules_and_touchpoints(store, tmp_path):
    path = tmp_path / "journey.toml"
    path.write_text("""
stages = ["discover", "buy", "help"]
repeat_purchase_stage = ""
[[rules]]
stage = "buy"
events = ["Order Completed"]
[[rules]]
stage = "help"
channels = ["call_center"]
[[rules]]
stage = "discover"
types = ["page"]
[[touchpoints]]
name = "hotline"
owner = "brand"
stage = "help"
channels = ["call_center"]
""")
    config = load_journey_config(path)
    assert config.model.stages == ("discover", "buy", "help")
    assert config.catalogue.get("hotline").owner == "brand"
    add_events(
        store,
        [
            {"cid": "b", "t": 0, "event": "/", "type": "page"},
            {"cid": "b", "t": 1, "event": "Order Completed"},
            {"cid": "b", "t": 2, "event": "Order Completed"},
            {"cid": "b", "t": 3, "event": "Call", "channel": "call_center"},
            {"cid": "b", "t": 4, "event": "Product Viewed"},
        ],
    )  # no rule: not in the journey
    assert stages_of(store, config) == {("b", "discover"): 1, ("b", "buy"): 2, ("b", "help"): 1}


def test_json_config_keeps_default_rules_of_the_stages_it_lists(tmp_path):
    path = tmp_path / "journey.json"
    path.write_text('{"stages": ["awareness", "purchase"]}')
    model = load_journey_config(path).model
    assert {r.stage for r in model.rules} == {"awareness", "purchase"}
    assert model.repeat_purchase_stage is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"stages": ["a", "b"], "rules": [{"stage": "c", "events": ["x"]}]}', "unknown stage 'c'"),
        ('{"stages": ["a", "b"], "rules": [{"stage": "a"}]}', "matches nothing"),
        ('{"stages": ["a", "b"], "rules": [{"stage": "a", "types": ["click"]}]}', "unknown message type"),
        ('{"stages": ["a"]}', "at least two distinct stages"),
        ('{"touchpoints": [{"name": "x", "owner": "government"}]}', "unknown owner"),
        ('{"touchpoints": [{"name": "x", "owner": "brand", "stage": "nowhere"}]}', "unknown stage 'nowhere'"),
        ("[1, 2]", "top level must be an object"),
        ("{not json", "not valid"),
    ],
)
def test_bad_configs_are_refused_with_the_problem_named(tmp_path, text, message):
    path = tmp_path / "journey.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        load_journey_config(path)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(InvalidInputError, match="no such file"):
        load_journey_config(tmp_path / "nope.toml")


def test_default_catalogue_covers_the_four_owner_kinds_and_the_demo_touchpoints():
    catalogue = JourneyConfig().catalogue
    assert {t.owner for t in catalogue.touchpoints} == set(OWNERS)
    for name in ("delivery", "checkout", "product", "support", "app"):  # the demo's feedback touchpoints
        assert catalogue.get(name) is not None
    assert catalogue.owner_of("delivery") == "partner"
    assert catalogue.owner_of("reviews") == "customer"
    assert catalogue.owner_of("social") == "external"
    assert catalogue.owner_of("no-such-touchpoint") == "unknown"


def test_quotes_in_configured_names_stay_data(store, tmp_path):
    path = tmp_path / "journey.json"
    path.write_text(
        '{"stages": ["a", "b"], "rules": [{"stage": "a", "events": ["it\'s"]},'
        ' {"stage": "b", "events": ["x\'); DROP TABLE events; --"]}]}'
    )
    add_events(store, [{"cid": "q", "t": 0, "event": "it's"}])
    assert stages_of(store, load_journey_config(path)) == {("q", "a"): 1}
    assert store.scalar("SELECT count(*) FROM events") == 1
