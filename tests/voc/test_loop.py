"""The closed loop: rules → tasks (owners, SLA), lifecycle, escalation, webhooks, recovery report."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from surveys_support import CASES, CSAT_SUPPORT, answer, checkout_survey, customer_of  # noqa: E402

from cxlens import jsonutil  # noqa: E402
from cxlens.errors import ConflictError, InvalidInputError  # noqa: E402
from cxlens.voc import loop, loop_rules, surveys, webhooks  # noqa: E402

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def rules(store):
    return loop.save_rules(store, loop_rules.parse_rules(jsonutil.loads((CASES / "rules.json").read_bytes())))


class Receiver:
    """A real HTTP endpoint on loopback that answers with the status codes it is told to, in order."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(statuses: list[int]) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"id": "x", "when": {"metric": "nps", "max": 11}}, "when.max"),
        ({"id": "x", "when": {"metric": "stars", "max": 1}}, "when.metric"),
        ({"id": "x", "when": {}}, "when"),
        ({"id": "x", "when": {"theme": "delivery"}}, "when.keywords"),
        ({"id": "x", "when": {"sentiment": "positive"}}, "when.sentiment"),
        ({"id": "x", "when": {"metric": "csat", "max": 2}, "sla_hours": 0}, "sla_hours"),
        ({"id": "X Y", "when": {"metric": "csat", "max": 2}}, "id"),
    ],
)
def test_bad_rules_name_the_field(rule, field):
    with pytest.raises(InvalidInputError) as caught:
        loop_rules.parse_rule(rule)
    assert caught.value.details["field"] == field


def test_rules_create_tasks_with_owners_and_due_times(store, settings, rules):
    checkout = checkout_survey(store)
    support = surveys.save_survey(store, CSAT_SUPPORT)
    answer(store, settings, checkout, {"nps": 3}, "d1", when=T0)
    answer(store, settings, checkout, {"nps": 6}, "d2", when=T0)
    answer(store, settings, checkout, {"nps": 9, "why": "Great, fast checkout"}, "p1", when=T0)
    answer(store, settings, support, {"csat": 2, "why": "The courier was late again"}, "s1", when=T0)
    tasks = {(t["rule_id"], t["customer_id"]): t for t in loop.list_tasks(store)}
    assert set(tasks) == {
        ("detractor", customer_of(store, "d1")),
        ("detractor", customer_of(store, "d2")),
        ("unhappy-csat", customer_of(store, "s1")),
        ("delivery", customer_of(store, "s1")),
    }
    first, second = (tasks[("detractor", customer_of(store, u))] for u in ("d1", "d2"))
    assert (first["owner"], second["owner"]) == ("ana", "ben")  # round-robin
    assert first["due_at"] == T0 + timedelta(hours=24) and first["status"] == "open"
    assert (first["metric"], first["score"], first["touchpoint"]) == ("nps", 3.0, "checkout")
    assert tasks[("delivery", customer_of(store, "s1"))]["owner"] == "logistics"
    assert loop.evaluate(store)["created"] == []  # nothing new: nothing twice


def test_a_late_comment_is_evaluated_with_its_score(store, settings, rules):
    survey = checkout_survey(store)
    answer(store, settings, survey, {"nps": 8}, "late", when=T0, response_id="r_late")
    assert loop.list_tasks(store) == []  # a passive: no rule yet
    answer(
        store,
        settings,
        survey,
        {"nps": 8, "why": "Terrible, awful, slow checkout. I hate it."},
        "late",
        when=T0,
        response_id="r_late",
    )
    [task] = loop.list_tasks(store)
    assert (task["rule_id"], task["response_key"]) == ("angry", "r_late")  # negative sentiment at checkout


def test_anonymized_answers_create_no_task(store, settings, rules):
    from surveys_support import load_message

    load_message(
        store,
        settings,
        {"type": "identify", "userId": "private", "context": {"consent": {"analytics": False}}},
    )
    answer(store, settings, checkout_survey(store), {"nps": 0}, "private", when=T0)
    assert loop.list_tasks(store) == []


def test_a_task_is_worked_resolved_and_closed_with_history(store, settings, rules):
    answer(store, settings, checkout_survey(store), {"nps": 2}, "d1", when=T0)
    [task] = loop.list_tasks(store)
    loop.assign(store, task["task_id"], "zoe", "console:usr_1")
    loop.set_status(store, task["task_id"], "in_progress", "console:usr_1")
    with pytest.raises(InvalidInputError, match="outcome"):
        loop.set_status(store, task["task_id"], "resolved", "console:usr_1")
    done = loop.set_status(
        store, task["task_id"], "resolved", "console:usr_1", outcome="called, refunded", contacted=True
    )
    assert (done["status"], done["owner"], done["outcome"], done["contacted"]) == (
        "resolved",
        "zoe",
        "called, refunded",
        True,
    )
    assert [h["action"] for h in done["history"]] == ["created", "assigned", "status", "status"]
    closed = loop.set_status(store, task["task_id"], "closed", "cli")
    with pytest.raises(ConflictError):
        loop.set_status(store, closed["task_id"], "open", "cli")
    with pytest.raises(InvalidInputError, match="unknown status"):
        loop.list_tasks(store, status="done")


def test_assigning_and_moving_on_together_is_all_or_nothing(store, settings, rules):
    answer(store, settings, checkout_survey(store), {"nps": 2}, "d1", when=T0)
    [task] = loop.list_tasks(store)
    with pytest.raises(InvalidInputError, match="outcome"):
        loop.update_task(store, task["task_id"], "cli", owner="zoe", status="resolved")
    assert loop.get_task(store, task["task_id"])["owner"] == task["owner"]
    done = loop.update_task(store, task["task_id"], "cli", owner="zoe", status="closed", outcome="called")
    assert (done["owner"], done["status"]) == ("zoe", "closed")
    assert [h["action"] for h in done["history"]] == ["created", "assigned", "status"]


def test_overdue_tasks_escalate_once_and_webhooks_are_signed_retried_and_logged(
    store, settings, rules, receiver
):
    hook_receiver = receiver([500, 200])
    hook = webhooks.add_webhook(store, hook_receiver.url)
    answer(store, settings, checkout_survey(store), {"nps": 1, "why": "zebra crossing"}, "d1", when=T0)
    policy = webhooks.DeliveryPolicy(max_attempts=3, backoff_seconds=10, timeout_seconds=5)
    now = datetime.now(UTC) + timedelta(seconds=1)  # deliveries are queued when the answer is loaded
    assert webhooks.deliver_due(store, now=now, policy=policy) == {"delivered": 0, "retrying": 1, "failed": 0}
    assert (
        webhooks.deliver_due(store, now=now + timedelta(seconds=5), policy=policy)["retrying"] == 0
    )  # backoff
    assert webhooks.deliver_due(store, now=now + timedelta(seconds=10), policy=policy)["delivered"] == 1
    headers, body = hook_receiver.received[-1]
    assert webhooks.verify(hook["secret"], body, headers[webhooks.SIGNATURE_HEADER], now=now)
    assert not webhooks.verify("whsec_wrong", body, headers[webhooks.SIGNATURE_HEADER], now=now)
    mangled = headers[webhooks.SIGNATURE_HEADER][:-1] + "é"  # compare_digest raised TypeError on non-ASCII
    assert not webhooks.verify(hook["secret"], body, mangled, now=now)
    sent = json.loads(body)
    assert sent["event"] == "task.created" and sent["task"]["owner"] == "ana"
    # no comment and no user id anywhere in the payload (random hex ids may contain "d1" as text)
    assert "zebra" not in body.decode() and "d1" not in _values(sent)
    [entry] = webhooks.delivery_log(store)
    assert (entry["state"], entry["attempts"], entry["last_status"]) == ("delivered", 2, 200)

    later = now + timedelta(minutes=1)  # the task was due at T0 + 24 h
    [escalated] = loop.escalate_overdue(store, now=later)
    assert (escalated["owner"], escalated["escalated_from"]) == ("cx-lead", "ana")
    assert loop.escalate_overdue(store, now=later + timedelta(hours=1)) == []
    assert webhooks.deliver_due(store, now=later, policy=policy)["delivered"] == 1
    assert json.loads(hook_receiver.received[-1][1])["event"] == "task.escalated"


def test_a_dead_receiver_fails_after_the_last_attempt(store, settings, rules, receiver):
    dead = receiver([503, 503])
    webhooks.add_webhook(store, dead.url, ["task.created"])
    answer(store, settings, checkout_survey(store), {"nps": 0}, "d1", when=T0)
    policy = webhooks.DeliveryPolicy(max_attempts=2, backoff_seconds=1, timeout_seconds=5)
    now = datetime.now(UTC) + timedelta(seconds=1)
    webhooks.deliver_due(store, now=now, policy=policy)
    assert webhooks.deliver_due(store, now=now + timedelta(seconds=1), policy=policy)["failed"] == 1
    assert webhooks.delivery_log(store)[0]["state"] == "failed"
    with pytest.raises(InvalidInputError):
        webhooks.add_webhook(store, "ftp://example.org/")


def test_recovery_report_compares_contacted_and_not(store, settings, rules):
    survey = checkout_survey(store)
    for i, first in enumerate([2, 4, 6, 3, 5, 1]):
        answer(store, settings, survey, {"nps": first}, f"c{i}", when=T0)
    tasks = {t["customer_id"]: t for t in loop.list_tasks(store)}
    for i in range(3):
        loop.set_status(
            store,
            tasks[customer_of(store, f"c{i}")]["task_id"],
            "resolved",
            "cli",
            outcome="called",
            contacted=True,
        )
    for i, nxt in enumerate([9, 8, 9, 4, 5, 2]):
        answer(store, settings, survey, {"nps": nxt}, f"c{i}", when=T0 + timedelta(days=30))
    report = loop.recovery_report(store, "nps")
    assert report["contacted"] == {
        "responses": 3,
        "with_next_score": 3,
        "mean_score": 4.0,
        "mean_next_score": pytest.approx(8.667, abs=1e-3),
        "mean_change": 4.667,
    }
    assert report["not_contacted"]["mean_change"] == pytest.approx(0.667, abs=1e-3)  # +1, 0, +1
    from scipy import stats

    expected = stats.ttest_ind([7, 4, 3], [1, 0, 1], equal_var=False).pvalue
    assert report["welch_p_value"] == pytest.approx(expected, abs=1e-4)
    with pytest.raises(InvalidInputError, match="unknown metric 'npss'"):  # was an empty report
        loop.recovery_report(store, "npss")


def test_run_loop_does_everything_once(store, settings, rules):
    answer(store, settings, surveys.save_survey(store, CSAT_SUPPORT), {"csat": 1}, "s1", when=T0)
    result = loop.run_loop(store, now=T0 + timedelta(days=3))
    assert result["escalated"] == 1 and result["webhooks"] == {"delivered": 0, "retrying": 0, "failed": 0}


def _values(value):
    """Every scalar in a JSON document, as strings."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    return [str(value)]
