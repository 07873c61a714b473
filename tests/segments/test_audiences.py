"""Build segments on a real store, then evaluate, save, refresh and export audiences."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cxlens.errors import ConflictError, InvalidInputError, NotFoundError
from cxlens.profiles.computed import write_computed_traits
from cxlens.segments import audiences
from cxlens.segments.build import BuildOptions, build_segments, get_segment, list_segments
from cxlens.segments.exceptions import ExpressionError
from cxlens.segments.export import export_audience
from cxlens.store import Store

from .conftest import populate

T1, T2 = datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """The synthetic shop with segments built once (k fixed at 3 to keep the module quick)."""
    path = tmp_path_factory.mktemp("segments") / "cxlens.duckdb"
    with Store(path) as store:
        ids = populate(store)
        report = build_segments(store, write_computed_traits, options=BuildOptions(k_min=3, k_max=3))
        write_computed_traits(store, [
            {"customer_id": c, "name": "clv_12m", "value": 500.0 if c.startswith("app") else 50.0,
             "model": "test", "model_version": "1"} for c in ids["app"] + ids["web"]])
        yield store, ids, report


def _members(store: Store, expression: str) -> set[str]:
    result = audiences.preview(store, expression, limit=1000)
    assert len(result["sample"]) == result["size"]
    return set(result["sample"])


def test_build_writes_rfm_and_cluster_traits(built) -> None:
    store, ids, report = built
    assert report["customers"] == 150 and report["rfm"]["buyers"] == 100
    segments = dict(store.fetchall(
        "SELECT customer_id, value->>'$' FROM computed_traits WHERE name = 'rfm_segment'"))
    assert set(segments) == set(ids["app"] + ids["web"])  # browsers never bought: no RFM
    assert {segments[c] for c in ids["app"]} == {"Champions"}
    assert store.scalar("SELECT count(*) FROM computed_traits WHERE name = 'rfm_score'") == 100
    personas = dict(store.fetchall(
        "SELECT customer_id, value->>'$' FROM computed_traits WHERE name = 'persona'"))
    assert len(personas) == 150
    assert {personas[c] for c in ids["app"]} == {report["clusters"]["clusters"][0]["persona"]}
    assert "mostly use the app" in personas[ids["app"][0]]
    listing = list_segments(store)["segments"]
    assert {s["name"] for s in listing} >= {"champions", "lost", "cluster_0", "cluster_2"}
    champions = get_segment(store, "champions")
    assert champions["customers"] == 40 and champions["audience"] == 'rfm_segment = "Champions"'
    assert _members(store, champions["audience"]) == set(ids["app"])
    assert _members(store, get_segment(store, "cluster_0")["audience"]) == set(ids["app"])
    with pytest.raises(NotFoundError, match="champions"):
        get_segment(store, "champs")


@pytest.mark.parametrize(("expression", "groups"), [
    ('traits.plan = "pro"', {"app"}),
    ('not (traits.plan = "pro")', {"web", "look"}),
    ('traits.plan in ["basic", "free"]', {"web", "look"}),
    ('traits.plan not in ["basic", "free"]', {"app"}),
    ('traits.tags contains "vip"', {"app"}),
    ('traits.tags not contains "vip"', {"web", "look"}),
    ("traits.tags is null", {"web", "look"}),
    ("clv_12m is not null", {"app", "web"}),
    ("clv_12m > 200 and consent.marketing", {"app"}),
    ("clv_12m <= 200 or frequency = 0", {"web", "look"}),
    ("consent.marketing", {"app"}),
    ("consent.marketing = false", {"web", "look"}),
    ('customer_id contains "look-"', {"look"}),
    ("frequency >= 6 and features.monetary > 300", {"app"}),
])
def test_expressions_select_exactly_the_right_people(built, expression: str, groups: set[str]) -> None:
    store, ids, _ = built
    assert _members(store, expression) == {c for g in groups for c in ids[g]}


def test_dates_and_string_traits(built) -> None:
    store, ids, _ = built
    store.execute("""INSERT INTO traits SELECT customer_id, 'signup', '"2024-06-01T00:00:00Z"', NULL, now()
                     FROM profiles WHERE customer_id LIKE 'web-%'""")
    try:
        assert _members(store, "traits.signup >= 2024-05-31") == set(ids["web"])
        assert _members(store, "traits.signup < 2024-06-01T00:00:00+00:00") == set()
    finally:
        store.execute("DELETE FROM traits WHERE name = 'signup'")


def test_preview_counts_consent_and_names_fields(built) -> None:
    store, ids, _ = built
    result = audiences.preview(store, "frequency > 0", limit=3)
    assert (result["size"], result["profiles"], result["consented"]) == (100, 150, 40)
    assert result["sample"] == sorted(ids["app"])[:3]
    assert result["fields"] == [{"name": "features.frequency", "source": "feature", "kind": "number"}]
    assert audiences.preview(store, "frequency > 0", purpose="analytics", limit=0)["consented"] == 100
    with pytest.raises(ExpressionError, match="did you mean 'traits.plan'"):
        audiences.preview(store, 'traits.plann = "pro"')
    with pytest.raises(InvalidInputError, match="purpose"):
        audiences.preview(store, "frequency > 0", purpose="ads")


def test_saved_audience_history_and_sizes(built) -> None:
    store, ids, _ = built
    created = audiences.create_audience(store, "pro-plan", 'traits.plan = "pro"', description="paying",
                                        now=T1)
    assert created["refresh"] == {"size": 40, "joined": 40, "left": 0, "consented": 40}
    mover_in, mover_out = ids["web"][0], ids["app"][0]
    set_plan = "UPDATE traits SET value = to_json(?::VARCHAR) WHERE customer_id = ? AND name = 'plan'"
    store.execute(set_plan, ["pro", mover_in])
    store.execute(set_plan, ["basic", mover_out])
    try:
        refreshed = audiences.refresh_audience(store, "pro-plan", now=T2)
    finally:
        store.execute(set_plan, ["basic", mover_in])
        store.execute(set_plan, ["pro", mover_out])
    assert refreshed["refresh"] == {"size": 40, "joined": 1, "left": 1, "consented": 39}
    assert [(s["size"], s["joined"], s["left"]) for s in refreshed["sizes"]] == [(40, 1, 1)]
    shown = audiences.get_audience(store, "pro-plan")
    assert [s["refreshed_at"] for s in shown["sizes"]] == [T2, T1]
    changes = audiences.membership_changes(store, "pro-plan", limit=2)
    assert [(c["change"], c["customer_id"]) for c in changes] == [("joined", mover_in), ("left", mover_out)]
    page = audiences.audience_members(store, "pro-plan", limit=5, offset=0)
    assert page["total"] == 40 and len(page["members"]) == 5
    assert mover_in in {m["customer_id"] for m in audiences.audience_members(store, "pro-plan", limit=100)[
        "members"]}
    consented = audiences.audience_members(store, "pro-plan", consented_only=True, limit=100)
    assert consented["total"] == 39 and mover_in not in {m["customer_id"] for m in consented["members"]}
    assert [a["name"] for a in audiences.list_audiences(store)] == ["pro-plan"]
    with pytest.raises(ConflictError):
        audiences.create_audience(store, "pro-plan", "frequency > 0")


def test_export_keeps_only_consented_members(built, tmp_path: Path) -> None:
    store, ids, _ = built
    audiences.create_audience(store, "buyers", "frequency > 0", purpose="marketing", now=T1)
    report = export_audience(store, "buyers", tmp_path / "buyers.csv", identifiers=("email", "phone"))
    assert (report["members"], report["exported"], report["withheld_without_consent"]) == (100, 40, 60)
    with open(tmp_path / "buyers.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["customer_id", "email", "phone"]
    assert {r["customer_id"] for r in rows} == set(ids["app"])
    assert rows[0]["email"] == f"{rows[0]['customer_id']}@example.org" and rows[0]["phone"] == ""
    audiences.create_audience(store, "buyers-analytics", "frequency > 0", purpose="analytics", now=T1)
    as_json = export_audience(store, "buyers-analytics", tmp_path / "all.json", identifiers=())
    data = json.loads((tmp_path / "all.json").read_text())
    assert as_json["exported"] == len(data) == 100 and set(data[0]) == {"customer_id"}
    with pytest.raises(InvalidInputError, match="identifier kind"):
        export_audience(store, "buyers", tmp_path / "x.csv", identifiers=("password",))
    with pytest.raises(InvalidInputError, match="format"):
        export_audience(store, "buyers", tmp_path / "x.xlsx")


def test_saved_audience_inputs_are_checked(built) -> None:
    store, _, _ = built
    with pytest.raises(InvalidInputError, match="audience name"):
        audiences.create_audience(store, "Bad Name", "frequency > 0")
    with pytest.raises(ExpressionError, match="position 12"):
        audiences.create_audience(store, "broken", "frequency > ")
    assert store.scalar("SELECT count(*) FROM audiences WHERE name = 'broken'") == 0
    with pytest.raises(NotFoundError, match="no audience named 'ghost'"):
        audiences.refresh_audience(store, "ghost")
    with pytest.raises(InvalidInputError, match="limit"):
        audiences.preview(store, "frequency > 0", limit=-1)


def test_membership_tables_are_found_by_erasure(built) -> None:
    """Erasure deletes from every table with a customer_id column: the member tables have one."""
    store, _, _ = built
    tables = {r[0] for r in store.fetchall(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'customer_id'")}
    assert {"audience_members", "audience_changes", "segment_features"} <= tables


def test_consent_in_rules_agrees_with_the_consent_current_view(built) -> None:
    """The compiler reads consent for one purpose without the view; both must say the same."""
    store, ids, _ = built
    customer = ids["web"][1]
    store.execute("""INSERT INTO consent_events VALUES (?, 'user_id', ?, 'marketing', true, ?, 't', NULL),
                     (?, 'user_id', ?, 'marketing', false, ?, 't', NULL)""",
                  [customer, customer, T2, customer, customer, T2])  # a tie: the refusal wins
    try:
        for purpose in ("marketing", "analytics", "personalization"):
            view = {r[0] for r in store.fetchall(
                "SELECT customer_id FROM consent_current WHERE purpose = ? AND granted", [purpose])}
            assert _members(store, f"consent.{purpose}") == view, purpose
        assert customer not in _members(store, "consent.marketing")
    finally:
        store.execute("DELETE FROM consent_events WHERE source = 't'")
