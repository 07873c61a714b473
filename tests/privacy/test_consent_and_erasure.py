"""Consent extraction and policies, the consent gate, export and erasure with suppression."""

from __future__ import annotations

import httpx
import pytest
from tests.identity.support import event, load, mapping

from cxlens.cli.main import run
from cxlens.config import load_settings
from cxlens.errors import NotFoundError
from cxlens.keys import create_key
from cxlens.privacy.consent import consent_state
from cxlens.privacy.dsar import erase_person, export_person
from cxlens.privacy.gate import ConsentGate
from cxlens.store import Store


def test_choices_from_all_three_places_with_history(store, settings) -> None:
    load(store, settings, [
        event(1, user_id="u1", context={"consent": {"marketing": True}}),
        event(2, user_id="u1",
              context={"consent": {"categoryPreferences": {"Functional": True, "C0004": False}}}),
        event(3, type="identify", user_id="u1", traits={"consent": {"personalization": False}}),
    ])
    customer = mapping(store)[("user_id", "u1")]
    assert consent_state(store, customer, settings) == {
        "analytics": True, "personalization": False, "marketing": False}
    assert store.fetchone("SELECT count(*) FROM consent_events")[0] == 4
    assert store.fetchall("SELECT purpose, granted FROM consent_current WHERE customer_id = ? "
                          "ORDER BY purpose", [customer]) == [
        ("analytics", True), ("marketing", False), ("personalization", False)]


def test_anonymize_policy_strips_refused_people(store, settings) -> None:
    result = load(store, settings, [
        event(1, user_id="u1", context={"consent": {"analytics": False}, "ip": "1.2.3.4"}),
        event(2, user_id="u1", properties={"email": "u1@x.io", "sku": "A"}),
    ])
    assert result.anonymized == 2
    rows = store.records("SELECT * FROM events ORDER BY message_id")
    assert all(r["anonymized"] and r["user_id"] is None and r["customer_id"] is None for r in rows)
    assert '"sku":"A"' in rows[1]["properties"] and "u1@x.io" not in rows[1]["properties"]
    assert "1.2.3.4" not in (rows[0]["context"] or "")
    assert store.fetchone("SELECT count(*) FROM traits")[0] == 0


def test_drop_policy_and_regranting(tmp_path) -> None:
    settings = load_settings(tmp_path / "d", consent_policy="drop")
    from cxlens.store import Store

    with Store(settings.store_path) as store:
        result = load(store, settings, [event(1, user_id="u1", context={"consent": {"analytics": False}}),
                                        event(2, user_id="u1")])
        assert (result.dropped_refused, store.fetchone("SELECT count(*) FROM events")[0]) == (2, 0)
        load(store, settings, [event(3, user_id="u1", context={"consent": {"analytics": True}})])
        assert store.fetchone("SELECT count(*) FROM events WHERE user_id = 'u1'")[0] == 1


def test_gate_screens_refused_and_suppressed_people(store, settings) -> None:
    load(store, settings, [event(1, user_id="u1", context={"consent": {"analytics": False}}),
                           event(2, user_id="u2", anonymous_id="a2")])
    erase_person(store, settings, "u2", "test")
    gate = ConsentGate(store, settings)
    gate.refresh()
    result = gate.screen([event(3, user_id="u1", properties={"email": "x@y.io"}), event(4, anonymous_id="a2"),
                          event(5, user_id="u3", context={"consent": {"analytics": False}}),
                          event(6, user_id="u3"), event(7, user_id="u4")])
    assert (result.anonymized, result.dropped, result.reduced) == (2, 1, 1)
    kept = {r["message_id"]: r for r in result.kept}
    assert kept["m3"]["user_id"] is None and kept["m3"]["anonymized"]
    assert kept["m5"]["type"] == "identify" and kept["m5"]["context"] == {"consent": {"analytics": False}}
    assert kept["m7"]["user_id"] == "u4"


def test_an_open_gate_passes_records_untouched_yet_learns_a_refusal_at_once(store, settings) -> None:
    gate = ConsentGate(store, settings)
    gate.refresh()  # nobody refused or suppressed, analytics granted by default: the fast path
    plain = event(1, user_id="u1", properties={"email": "x@y.io"})
    result = gate.screen([plain, event(2, user_id="u2", context='{"\\u0063onsent": {"analytics": false}}'),
                          event(3, user_id="u2"), event(4, user_id="u5")])
    kept = {r["message_id"]: r for r in result.kept}
    assert kept["m1"] is plain  # not copied, not parsed
    assert kept["m2"]["type"] == "identify" and result.reduced == 1  # the escaped refusal was read
    assert kept["m3"]["user_id"] is None and kept["m3"]["anonymized"]  # and protects the next event
    assert kept["m4"]["user_id"] == "u5"


def test_erase_removes_everything_and_refuses_resent_events(store, settings) -> None:
    load(store, settings, [event(1, anonymous_id="a1")])
    load(store, settings, [event(2, type="identify", user_id="u1", anonymous_id="a1",
                                 traits={"email": "p@x.io"}, context={"consent": {"marketing": True}})])
    customer = mapping(store)[("user_id", "u1")]
    store.execute("CREATE TABLE churn_scores (customer_id VARCHAR PRIMARY KEY, score DOUBLE)")
    store.execute("INSERT INTO churn_scores VALUES (?, 0.3)", [customer])
    store.execute("INSERT INTO orders VALUES ('o1', 'm2', ?, now(), 10, 'USD', 'web', NULL)", [customer])
    store.execute("INSERT INTO order_items VALUES ('o1', 'p1', NULL, 'Hat', NULL, 10, 1)")
    exported = export_person(store, settings, "p@x.io", "tester")
    assert {k: len(v) for k, v in exported["data"].items() if v} == {
        "events": 2, "identities": 3, "traits": 1, "consent_events": 1, "orders": 1, "order_items": 1,
        "churn_scores": 1, "profiles": 1, "profile_channels": 1, "merges": 1}
    erase_person(store, settings, "email:P@X.io", "tester")
    for table in ("events", "identities", "identity_edges", "merges", "traits", "consent_events", "orders",
                  "order_items", "churn_scores", "profiles", "profile_channels"):
        assert store.fetchone(f"SELECT count(*) FROM {table}")[0] == 0, table
    assert store.fetchone("SELECT count(*) FROM suppressions")[0] == 3
    audit = store.fetchall("SELECT action, details::VARCHAR FROM audit_log ORDER BY logged_at")
    assert [a for a, _ in audit] == ["export", "erase"]
    assert all("p@x.io" not in d and "u1" not in d for _, d in audit)
    result = load(store, settings, [event(3, anonymous_id="a1"), event(4, anonymous_id="other")])
    assert result.dropped_suppressed == 1
    with pytest.raises(NotFoundError, match="no customer is known"):
        export_person(store, settings, "p@x.io", "tester")


def test_choices_are_read_even_behind_a_json_escape(store, settings) -> None:
    # The batch reader skips JSON whose text cannot hold a "consent" key; "\u0063onsent" is one.
    load(store, settings, [event(1, user_id="u1", context='{"\\u0063onsent": {"marketing": false}}'),
                           event(2, user_id="u2", context='{"ip": "1.2.3.4"}')])
    assert store.fetchall("SELECT purpose, granted FROM consent_events") == [("marketing", False)]


def test_erase_follows_the_person_into_follow_ups_and_experiments(store, settings) -> None:
    """Task history (agents' notes), webhook bodies (the customer id) and experiment units hang off the
    person by task id or unit id, not by a customer_id column: they are exported and erased too."""
    load(store, settings, [event(1, user_id="u1", anonymous_id="a1")])
    load(store, settings, [event(2, user_id="u2", anonymous_id="a2")])
    mine, theirs = mapping(store)[("user_id", "u1")], mapping(store)[("user_id", "u2")]
    for task, customer in (("task_1", mine), ("task_2", theirs)):
        store.execute("INSERT INTO voc_tasks (task_id, rule_id, response_key, customer_id, status, "
                      "responded_at, due_at, created_at, updated_at) "
                      "VALUES (?, 'detractor', ?, ?, 'resolved', now(), now(), now(), now())",
                      [task, task, customer])
        store.execute("INSERT INTO voc_task_history VALUES (?, now(), 'cli', 'note', NULL, NULL, ?)",
                      [task, f"called {customer}"])
        store.execute("INSERT INTO voc_webhook_deliveries (delivery_id, webhook_id, event, task_id, payload, "
                      "state, created_at) VALUES (?, 'wh_1', 'task.created', ?, ?, 'delivered', now())",
                      [f"d_{task}", task, f'{{"task": {{"customer_id": "{customer}"}}}}'])
        store.execute("INSERT INTO exposures VALUES ('checkout-flow', 'express', ?, now())", [customer])
        store.execute("INSERT INTO experiment_units VALUES ('checkout-flow', ?, 'express', now(), false, 1)",
                      [customer])
    exported = export_person(store, settings, "user_id:u1", "tester")["data"]
    assert [r["note"] for r in exported["voc_task_history"]] == [f"called {mine}"]
    assert [r["task_id"] for r in exported["voc_webhook_deliveries"]] == ["task_1"]
    assert [r["unit_id"] for r in exported["exposures"]] == [mine]
    assert [r["unit_id"] for r in exported["experiment_units"]] == [mine]
    counts = erase_person(store, settings, "user_id:u1", "tester")["counts"]
    assert {t: counts[t] for t in ("voc_task_history", "voc_webhook_deliveries", "exposures",
                                   "experiment_units")} == dict.fromkeys(
        ("voc_task_history", "voc_webhook_deliveries", "exposures", "experiment_units"), 1)
    for table, column in (("voc_task_history", "task_id"), ("voc_webhook_deliveries", "task_id"),
                          ("exposures", "unit_id"), ("experiment_units", "unit_id")):
        left = [r[0] for r in store.fetchall(f"SELECT {column} FROM {table}")]
        assert left == (["task_2"] if column == "task_id" else [theirs]), table


def test_an_erasure_over_http_refuses_the_person_at_the_door_at_once(live_server) -> None:
    """The gate must learn the suppression from the erase itself: until the next load it let the
    person's re-sent events into the write-ahead log as they were."""
    runtime = live_server.runtime
    write = {"auth": (create_key(runtime.store, "write", "web").secret, "")}
    admin = {"headers": {"Authorization": f"Bearer {create_key(runtime.store, 'admin', 'dpo').secret}"}}
    track = {"userId": "u1", "event": "Page Viewed", "properties": {"email": "p@x.io"}}
    assert httpx.post(f"{live_server.url}/v1/track", json=track, **write).json()["withheld"] == 0
    runtime.loader.drain()
    erased = httpx.post(f"{live_server.url}/v1/privacy/erase", json={"identifier": "user_id:u1"}, **admin)
    assert erased.status_code == 200, erased.text
    again = httpx.post(f"{live_server.url}/v1/track", json=track, **write).json()
    assert again["withheld"] == 1


def test_cli_export_to_an_unwritable_path_fails_before_exporting(store, settings, tmp_path, capsys) -> None:
    """It was 'unexpected error: FileNotFoundError' after the export had been done and audited."""
    load(store, settings, [event(1, user_id="u1")])
    store.close()
    out = tmp_path / "missing" / "export.json"
    argv = ["privacy", "export", "user_id:u1", "--out", str(out), "--data-dir", str(settings.data_dir)]
    assert run(argv) == 2
    assert f"cannotwrite{out}" in "".join(capsys.readouterr().err.split())  # Rich wraps long lines
    with Store(settings.store_path) as reopened:
        assert reopened.scalar("SELECT count(*) FROM audit_log") == 0
