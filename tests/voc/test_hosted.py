"""The survey API and the hosted page on a real server on loopback; the form in a real Chromium."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from surveys_support import CASES, CSAT_SUPPORT, HELPFUL  # noqa: E402

from cxlens import jsonutil  # noqa: E402
from cxlens.keys import create_key  # noqa: E402

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def server(live_server):
    """A live server whose store has an admin key, a write key, the checkout survey and the rules."""
    import yaml

    live = live_server
    admin = create_key(live.runtime.store, "admin", "ops").secret
    write = create_key(live.runtime.store, "write", "site").secret
    with httpx.Client(base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {admin}"}) as api:
        for definition in (yaml.safe_load((CASES / "checkout.yaml").read_text()), CSAT_SUPPORT, HELPFUL):
            assert api.post("/v1/surveys", json=definition).status_code == 201
        rules = jsonutil.loads((CASES / "rules.json").read_bytes())
        assert api.put("/v1/loop/rules", json=rules).status_code == 200
        live.api, live.write_key = api, write
        yield live


def _respond(server, survey: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/surveys/{survey}/responses", json=body, auth=(server.write_key, ""))


def test_survey_crud_and_responses_api(server):
    api = server.api
    assert [s["survey_id"] for s in api.get("/v1/surveys").json()] == [
        "checkout-nps",
        "helpful",
        "support-csat",
    ]
    assert api.get("/v1/surveys/checkout-nps").json()["questions"][0]["scale"] == [0, 10]
    assert api.get("/v1/surveys/nope").status_code == 404
    assert api.post("/v1/surveys", json={"id": "x", "title": "X", "questions": []}).status_code == 400
    # a body that is not a JSON object is named "body" (pydantic's location said "0", or nothing)
    for body, message in ((b"nope", "the body is not valid JSON"),
                          (b"[1]", "the body must be a JSON object")):
        refused = api.post("/v1/surveys", content=body, headers={"Content-Type": "application/json"})
        assert refused.status_code == 400 and refused.json()["details"]["problems"] == [
            {"field": "body", "message": message}]
        assert refused.json()["message"] == f"body: {message}"
    assert httpx.post(f"{server.url}/v1/surveys", json=HELPFUL).status_code == 401  # no admin key

    ok = _respond(
        server,
        "checkout-nps",
        {"userId": "u1", "answers": {"nps": 2, "why": "slow"}, "responseId": "r_" + "a" * 20},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["recorded"] == 2 and len(ok.json()["tasks_created"]) >= 1
    again = _respond(
        server,
        "checkout-nps",
        {"userId": "u1", "answers": {"nps": 2, "why": "slow"}, "responseId": "r_" + "a" * 20},
    )
    assert again.json()["duplicates"] == 2 and again.json()["tasks_created"] == []
    bad = _respond(server, "checkout-nps", {"userId": "u1", "answers": {"nps": 12, "colour": "red"}})
    assert bad.status_code == 400 and set(bad.json()["details"]["errors"]) == {"nps", "colour"}
    assert _respond(server, "nope", {"userId": "u1", "answers": {"nps": 1}}).status_code == 404
    assert _respond(server, "checkout-nps", {"answers": {"nps": 1}}).status_code == 400  # nobody
    assert (
        httpx.post(
            f"{server.url}/v1/surveys/checkout-nps/responses", json={"userId": "u", "answers": {"nps": 1}}
        ).status_code
        == 401
    )

    [task] = api.get("/v1/loop/tasks", params={"status": "open"}).json()
    # blank filters (the documented ?status=&owner=&customer_id=) mean "any": status= was a 400
    assert api.get("/v1/loop/tasks?status=&owner=&customer_id=").json() == [task]
    assert task["rule_id"] == "detractor" and task["owner"] == "ana"
    moved = api.post(f"/v1/loop/tasks/{task['task_id']}", json={"status": "resolved"})
    assert moved.status_code == 400 and "outcome" in moved.json()["message"]
    done = api.post(
        f"/v1/loop/tasks/{task['task_id']}",
        json={"status": "resolved", "outcome": "called back", "contacted": True},
    ).json()
    assert done["status"] == "resolved" and done["history"][-1]["note"] == "called back"
    assert api.post("/v1/loop/run").json()["created"] == 0
    assert api.get("/v1/loop/report").json()["contacted"]["responses"] == 1


def test_one_click_link_records_then_asks_for_a_comment(server):
    _respond(server, "checkout-nps", {"userId": "mail-1", "answers": {"nps": 10}})
    customer = server.runtime.store.scalar(
        "SELECT customer_id FROM identities WHERE kind = 'user_id' AND value = 'mail-1'"
    )
    link = server.api.post("/v1/surveys/checkout-nps/links", json={"customer_id": customer}).json()
    assert "mail-1" not in link["token"]
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        page = browser.get(link["one_click"]["3"])
        assert page.status_code == 200 and "your answer has been recorded" in page.text
        assert 'name="nps"' not in page.text and 'name="why"' in page.text  # the rest of the survey
        assert browser.get(link["one_click"]["9"]).status_code == 200  # a second click changes nothing
        scores = server.runtime.store.fetchall(
            "SELECT score, channel FROM feedback WHERE customer_id = ? AND metric = 'nps' ORDER BY timestamp",
            [customer],
        )
        assert scores == [(10.0, "server"), (3.0, "email")]
        token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
        posted = browser.post("/s/checkout-nps", data={"t": token, "answered": "nps", "why": "Card declined"})
        assert posted.status_code == 303 and posted.headers["location"] == "/s/checkout-nps/thanks"
        assert (
            server.runtime.store.scalar(
                "SELECT comment FROM feedback WHERE customer_id = ? AND metric = 'text'", [customer]
            )
            == "Card declined"
        )
        tampered = browser.get(f"/s/checkout-nps?t={token[:-3]}xyz&nps=9")
        assert (
            tampered.status_code == 400 and "not valid" in tampered.text and "Traceback" not in tampered.text
        )
        assert browser.get("/s/nope").status_code == 404


def test_a_one_click_page_does_not_call_a_required_question_optional(server):
    """After a one-click score the page said "You can tell us more below (optional)" above a second
    required question that the form then insisted on."""
    two = {"id": "two-scores", "title": "Two", "questions": [
        {"id": "nps", "kind": "nps", "label": "Recommend?"},
        {"id": "effort", "kind": "ces", "label": "Easy?"},
    ]}
    assert server.api.post("/v1/surveys", json=two).status_code == 201
    _respond(server, "two-scores", {"userId": "mail-2", "answers": {"nps": 9, "effort": 6}})
    customer = server.runtime.store.scalar(
        "SELECT customer_id FROM identities WHERE kind = 'user_id' AND value = 'mail-2'"
    )
    link = server.api.post("/v1/surveys/two-scores/links", json={"customer_id": customer}).json()
    page = httpx.get(server.url + link["one_click"]["9"])
    assert page.status_code == 200 and "your answer has been recorded" in page.text
    assert "(optional)" not in page.text and 'name="effort"' in page.text


def test_the_form_shows_errors_beside_their_fields(server):
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        form = browser.get("/s/checkout-nps")
        assert form.status_code == 200 and "<legend>How likely are you" in form.text
        assert 'for="f-nps-10"' in form.text and "<script" not in form.text
        response_id = re.search(r'name="response_id" value="([^"]+)"', form.text).group(1)
        bad = browser.post(
            "/s/checkout-nps", data={"response_id": response_id, "ease.clear": "9", "why": "hm"}
        )
        assert bad.status_code == 400
        assert 'id="f-nps-error"' in bad.text and 'aria-describedby="f-nps-hint f-nps-error"' in bad.text
        assert 'id="f-ease--clear-error"' in bad.text and 'aria-invalid="true"' in bad.text
        assert 'href="#f-nps"' in bad.text and 'value="hm"' not in bad.text and ">hm</textarea>" in bad.text
        good = browser.post("/s/checkout-nps", data={"response_id": response_id, "nps": "7", "why": "fine"})
        assert good.status_code == 303
    rows = server.runtime.store.fetchall(
        "SELECT metric, score, channel, customer_id IS NOT NULL FROM feedback ORDER BY metric"
    )
    assert rows == [("nps", 7.0, "web", True), ("text", None, "web", True)]


def test_a_hidden_answered_field_cannot_skip_a_required_question(server):
    """Posting answered=nps without a one-click answer recorded it skipped the required NPS."""
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        form = browser.get("/s/checkout-nps")
        response_id = re.search(r'name="response_id" value="([^"]+)"', form.text).group(1)
        forged = browser.post("/s/checkout-nps", data={"response_id": response_id, "answered": "nps",
                                                       "why": "skipped the score"})
        assert forged.status_code == 400 and 'id="f-nps-error"' in forged.text
    assert server.runtime.store.scalar("SELECT count(*) FROM feedback") == 0


def test_a_survey_changed_while_the_page_was_open_asks_again(server):
    """A form answered under version 1 and sent after version 2 was saved showed the respondent a
    developer message ("survey 'support-csat' has no question 'why'") linking to no field."""
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        form = browser.get("/s/support-csat")
        response_id = re.search(r'name="response_id" value="([^"]+)"', form.text).group(1)
        changed = {**CSAT_SUPPORT, "questions": [*CSAT_SUPPORT["questions"][:1],
                                                 {"id": "fix", "kind": "yesno", "label": "Was it fixed?"}]}
        assert server.api.post("/v1/surveys", json=changed).json()["version"] == 2
        stale = browser.post("/s/support-csat", data={"response_id": response_id, "version": "1",
                                                      "csat": "4", "why": "quick"})
        assert stale.status_code == 409 and "survey was changed" in stale.text
        assert "has no question" not in stale.text and 'name="fix"' in stale.text
        assert 'name="version" value="2"' in stale.text and 'value="4" checked' in stale.text
        assert server.runtime.store.scalar("SELECT count(*) FROM feedback") == 0
        sent = browser.post("/s/support-csat", data={"response_id": response_id, "version": "2",
                                                     "csat": "4", "fix": "yes"})
        assert sent.status_code == 303
    assert server.runtime.store.fetchall(
        "SELECT metric, score FROM feedback ORDER BY metric") == [("csat", 4.0), ("yesno", 1.0)]


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def test_the_form_works_by_keyboard_alone_without_javascript(server, chromium):
    from playwright.sync_api import expect

    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.url + "/s/checkout-nps")
        page.keyboard.press("Tab")  # into the NPS scale
        expect(page.locator("#f-nps-0")).to_be_focused()
        page.keyboard.press("Enter")  # submitting with nothing chosen: the errors, not a traceback
        expect(page.get_by_role("alert")).to_contain_text("please answer this question")
        expect(
            page.get_by_role("radiogroup", name=re.compile("How likely")).or_(
                page.get_by_role("group", name=re.compile("How likely"))
            )
        ).to_be_visible()
        page.keyboard.press("Tab")  # the summary link to the field
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(page.locator("#f-nps-0")).to_be_focused()
        for _ in range(8):
            page.keyboard.press("ArrowRight")  # radios: arrows choose within the group
        expect(page.get_by_label("8", exact=True)).to_be_checked()
        page.get_by_label("What is the main reason").focus()
        page.keyboard.type("Quick, but the coupon field was hidden")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Send")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page).to_have_url(server.url + "/s/checkout-nps/thanks")
        expect(page.get_by_role("status")).to_contain_text("Thank you")
    finally:
        context.close()
    assert server.runtime.store.scalar("SELECT score FROM feedback WHERE metric = 'nps'") == 8.0
