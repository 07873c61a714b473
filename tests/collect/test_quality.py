"""The data-quality report and tracking plan, checked against known imports into a real store."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from cxlens.collect.importer import import_file
from cxlens.collect.quality import quality_report
from cxlens.collect.tracking_plan import load_plan
from cxlens.config import load_settings
from cxlens.errors import ConfigError
from cxlens.store import Store
from cxlens.web.queries import window

CASES = Path(__file__).resolve().parents[1] / "cases" / "import"


def _stream(report, event):
    return next(s for s in report.streams if s.event == event)


def test_report_numbers_match_the_imported_files(store, settings, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,user_id,timestamp,revenue,currency\n"
                    "o1,u1,2024-05-01T10:00:00Z,10,EUR\n"
                    "o2,u2,2024-05-01T11:00:00Z,,EUR\n"        # no revenue: incomplete, still valid
                    "o3,u3,2024-05-03T09:00:00Z,5,\n"
                    "o4,,2024-05-03T09:00:00Z,5,EUR\n")          # row 4: no identifier
    import_file(store, settings, "orders", path, source="shop")
    import_file(store, settings, "events", CASES / "events.csv", source="web")
    now = datetime(2024, 5, 4, tzinfo=UTC)
    report = quality_report(store, settings, since=date(2024, 5, 1), now=now)
    assert report.events == 3 + 3 and report.rejected == 1 + 3
    assert report.validity == 6 / 10
    orders = _stream(report, "Order Completed")
    assert orders.source == "shop" and orders.events == 3
    assert orders.daily == [2, 0, 1]  # 2024-05-01 … 2024-05-03, the day of the latest event
    assert orders.completeness["properties.revenue"] == round(2 / 3, 4)
    assert orders.completeness["properties.currency"] == round(2 / 3, 4)
    assert orders.completeness["properties.order_id"] == 1.0
    assert orders.completeness["identifier"] == 1.0
    assert orders.freshness_seconds == (now - orders.latest_received_at).total_seconds()
    reasons = {(r.source, r.reason): r.count for r in report.rejections}
    assert reasons == {("shop", "missing_identifier"): 1, ("web", "missing_identifier"): 1,
                       ("web", "invalid_timestamp"): 1, ("web", "unknown_type"): 1}
    assert report.duplicates is None


def test_tracking_plan_violations_per_event_and_rule(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"allow_unplanned": False, "events": {"Order Completed": {
        "type": "object", "required": ["order_id", "revenue"],
        "properties": {"revenue": {"type": "number", "minimum": 1}}}}}))
    settings = load_settings(tmp_path / "data", tracking_plan=plan)
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"order_id": "o1", "user_id": "u1", "timestamp": "2024-05-01T10:00:00Z", "revenue": 10},
        {"order_id": "o2", "user_id": "u2", "timestamp": "2024-05-01T10:00:00Z"},
        {"order_id": "o3", "user_id": "u3", "timestamp": "2024-05-01T10:00:00Z", "revenue": 0.5},
        {"order_id": "o4", "user_id": "u4", "timestamp": "2024-05-01T10:00:00Z"},
    ]) + "\n")
    with Store(settings.store_path) as store:
        import_file(store, settings, "orders", path)
        import_file(store, settings, "events", CASES / "events.csv")
        report = quality_report(store, settings, since=date(2024, 5, 1))
    assert report.plan is not None and report.plan.checked == {"Order Completed": 4}
    found = {(v.event, v.rule): v.count for v in report.plan.violations}
    assert found[("Order Completed", "required revenue")] == 2
    assert found[("Order Completed", "revenue: minimum")] == 1
    assert found[("Product Viewed", "unplanned event")] == 1


def test_quality_route_needs_an_admin_key(settings):
    from tests.conftest import LiveServer

    from cxlens import keys

    with Store(settings.store_path) as store:
        secret = keys.create_key(store, "admin", "test").secret
        import_file(store, settings, "feedback", CASES / "feedback.csv")
    server = LiveServer(settings).start()
    try:
        assert httpx.get(f"{server.url}/v1/quality").status_code == 401
        answer = httpx.get(f"{server.url}/v1/quality", params={"since": "2024-05-01"},
                           headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["events"] == 3 and body["rejected"] == 2
        assert body["streams"][0]["event"] == "Survey Responded"
    finally:
        server.stop()


def test_a_misspelt_key_beside_events_is_a_configuration_error(tmp_path):
    """'alow_unplanned' beside "events" was ignored: unplanned events silently stopped being flagged."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"alow_unplanned": False, "events": {"Order Completed": {"type": "object"}}}))
    with pytest.raises(ConfigError, match="unknown key 'alow_unplanned' beside \"events\""):
        load_plan(plan)
    plan.write_text(json.dumps({"allow_unplanned": False, "Order Completed": {"type": "object"}}))
    assert load_plan(plan).schemas == {"Order Completed": {"type": "object"}}  # the plain form still works


def test_an_event_stamped_in_the_future_does_not_move_the_default_window(store, settings, tmp_path):
    """One device clock in year 9999 opened the report on 9999-12-02 … 9999-12-31 with one event."""
    path = tmp_path / "events.csv"
    path.write_text("messageId,type,event,userId,timestamp\n"
                    "e1,track,Clicked,u1,2024-05-01T10:00:00Z\ne2,track,Clicked,u1,2024-05-03T10:00:00Z\n"
                    "e3,track,Clicked,u1,9999-12-31T23:59:59Z\n")
    import_file(store, settings, "events", path)
    report = quality_report(store, settings)
    assert (report.since, report.until) == (date(2024, 4, 4), date(2024, 5, 3))
    assert _stream(report, "Clicked").daily[-3:] == [1, 0, 1]
    assert window(store, None, None, None).end == date(2024, 5, 3)  # the console overview's default
