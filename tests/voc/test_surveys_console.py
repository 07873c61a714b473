"""Console pages of surveys on a real server: charts with bands, themes, the follow-up queue (roles, CSRF)."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "web"))

from surveys_support import CASES, CSAT_SUPPORT, answer, checkout_survey  # noqa: E402
from web_support import PASSWORD, csrf_of, sign_in  # noqa: E402

from cxlens import jsonutil  # noqa: E402
from cxlens.voc import loop, loop_rules, surveys  # noqa: E402
from cxlens.web import create_user  # noqa: E402

pytestmark = pytest.mark.slow
COMMENTS = [
    "The courier was late and the box was damaged",
    "Delivery took two weeks, far too slow",
    "Great prices and friendly support staff",
    "Support answered fast and solved it",
    "Checkout kept failing with my card",
    "Payment page crashed twice at checkout",
]


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory) -> Path:
    """A data directory with users, rules, two surveys and 48 answers, built once per module."""
    from cxlens.config import load_settings
    from cxlens.store import Store

    settings = load_settings(tmp_path_factory.mktemp("surveys-console") / "data")
    with Store(settings.store_path) as store:
        for role in ("viewer", "marketer"):
            create_user(store, f"{role}@example.org", PASSWORD, role)
        loop.save_rules(store, loop_rules.parse_rules(jsonutil.loads((CASES / "rules.json").read_bytes())))
        checkout, support = checkout_survey(store), surveys.save_survey(store, CSAT_SUPPORT)
        start = datetime(2025, 1, 5, tzinfo=UTC)
        for i in range(24):
            when = start + timedelta(days=i * 3)
            answer(
                store,
                settings,
                checkout,
                {"nps": (i * 7) % 11, "why": COMMENTS[i % 6] + f" (order {i})"},
                f"n{i}",
                when=when,
            )
            answer(store, settings, support, {"csat": 1 + i % 5}, f"n{i}", when=when)
    return settings.data_dir


@pytest.fixture
def console(request, settings, template_dir):
    """A live server on a copy of the template data directory."""
    shutil.copytree(template_dir, settings.data_dir, dirs_exist_ok=True)
    return request.getfixturevalue("live_server")


@contextmanager
def _client(server, role: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as client:
        assert sign_in(client, f"{role}@example.org", PASSWORD).status_code == 303
        yield client


def test_scores_with_bands_by_month_and_along_the_journey(console):
    with _client(console, "viewer") as client:
        html = client.get("/surveys").text
        assert "How was checkout?" in html and "/s/checkout-nps" in html
        assert html.count('<figure class="chart') == 4  # NPS and CSAT: trend and journey (no CES answers)
        assert '"y2"' in html and "95% confidence band" in html
        assert "NPS by touchpoint along the journey as a table" in html
        assert "the store has no ces answers" in html
        assert '<a href="/surveys/followups"' in html  # in the navigation


def test_themes_with_quotes_and_sentiment(console):
    with _client(console, "viewer") as client:
        html = client.get("/surveys/themes").text
    assert "Themes in comments" in html and '<th scope="row">' in html
    assert html.count("<li>“") >= 4  # representative quotes per theme
    assert re.search(
        r"<td>-0\.\d+</td>", html
    )  # a theme with negative mean sentiment (the checkout failures)


def test_the_queue_is_role_checked_csrf_protected_and_records_outcomes(console):
    store = console.runtime.store
    [task, *_] = loop.list_tasks(store, status="open")
    with _client(console, "viewer") as viewer:
        html = viewer.get("/surveys/followups").text
        assert task["task_id"] in html and f'action="/surveys/followups/{task["task_id"]}"' not in html
        refused = viewer.post(
            f"/surveys/followups/{task['task_id']}",
            data={"status": "in_progress", "csrf_token": csrf_of(html)},
        )
        assert refused.status_code == 403
    with _client(console, "marketer") as marketer:
        html = marketer.get("/surveys/followups").text
        assert f'action="/surveys/followups/{task["task_id"]}"' in html
        forged = marketer.post(
            f"/surveys/followups/{task['task_id']}",
            data={"status": "in_progress"},
            headers={"Origin": console.url},
        )
        assert forged.status_code == 403  # no CSRF token
        no_outcome = marketer.post(
            f"/surveys/followups/{task['task_id']}", data={"status": "resolved", "csrf_token": csrf_of(html)}
        )
        assert no_outcome.status_code == 400 and "outcome" in no_outcome.text
        done = marketer.post(
            f"/surveys/followups/{task['task_id']}",
            data={
                "owner": "zoe",
                "status": "resolved",
                "outcome": "apologised, voucher",
                "contacted": "yes",
                "csrf_token": csrf_of(html),
            },
        )
        assert done.status_code == 200 and f"Saved {task['task_id']}" in done.text
    saved = loop.get_task(store, task["task_id"])
    assert (saved["owner"], saved["status"], saved["contacted"]) == ("zoe", "resolved", True)
    assert saved["history"][-1]["actor"].startswith("console:usr_")


@pytest.mark.parametrize(("form", "named"), [
    ({"status": "resolved"}, "outcome"),  # answered "That did not work" but saved the new owner
    ({"status": "resolved", "outcome": "called", "contacted": "maybe"}, "maybe"),  # saved as "not contacted"
])
def test_a_refused_follow_up_change_changes_nothing(console, form, named):
    """A change the form refuses (resolving without an outcome, a contacted value it does not offer)
    saves nothing: not the new owner, not a history entry."""
    store = console.runtime.store
    [task, *_] = loop.list_tasks(store, status="open")
    with _client(console, "marketer") as marketer:
        html = marketer.get("/surveys/followups").text
        refused = marketer.post(f"/surveys/followups/{task['task_id']}",
                                data={"owner": "zoe", **form, "csrf_token": csrf_of(html)})
        assert refused.status_code == 400 and named in refused.text
    saved = loop.get_task(store, task["task_id"])
    assert (saved["owner"], saved["status"], saved["contacted"]) == (task["owner"], "open", None)
    assert [h["action"] for h in saved["history"]] == ["created"]


def test_the_queue_says_when_it_shows_only_the_most_urgent_tasks(console, monkeypatch):
    """With more tasks than the page shows, the heading said "Queue (200)" of a longer queue."""
    from cxlens.web.pages import surveys as surveys_page

    monkeypatch.setattr(surveys_page, "QUEUE_LIMIT", 1)
    total = len(loop.list_tasks(console.runtime.store, limit=10_000))
    assert total > 1
    with _client(console, "viewer") as viewer:
        html = viewer.get("/surveys/followups").text
    assert f"1 of {total}, most urgent first" in html and html.count("<tr data-task=") == 1


def test_the_status_choice_offers_only_moves_the_task_can_make(console):
    """A resolved task offered "open", which the server always refused (409)."""
    store = console.runtime.store
    [task, *_] = loop.list_tasks(store, status="open")
    loop.set_status(store, task["task_id"], "resolved", "cli", outcome="called")
    with _client(console, "marketer") as marketer:
        html = marketer.get("/surveys/followups").text
    select = re.search(rf'<select id="s-{task["task_id"]}" name="status">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\w*)"', select) == ["", "in_progress", "closed"]
