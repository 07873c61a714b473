"""The personalization page on the live server over the demo business with trained recommenders: the
offline comparison, offers and fatigue checked against the core functions, a preview that changes
nothing, roles, the empty state, and the charts drawn by Chromium under the console's CSP."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from playwright.sync_api import expect
from web_support import PASSWORD

from cxlens.config import load_settings
from cxlens.decide.report import fatigue_report, offer_report
from cxlens.decide.request import DecideRequest
from cxlens.decide.service import EngineHolder
from cxlens.keys import create_key
from cxlens.recommend.models import MODELS_DIR
from cxlens.recommend.service import evaluation_report, train
from cxlens.store import Store
from cxlens.web import create_user
from cxlens.web.pages.personalization import SYNTHETIC_ITEMS, SYNTHETIC_USERS, K

OFFER = "ten-off"


@pytest.fixture(scope="module")
def template_dir(template_dir, tmp_path_factory):
    """The conftest's demo store with recommenders trained and one offer; built once for this module."""
    trained = tmp_path_factory.mktemp("console-recommend")
    shutil.copytree(template_dir, trained, dirs_exist_ok=True)
    settings = load_settings(trained)
    with Store(settings.store_path) as store:
        train(store, settings.data_dir)
        store.execute(f"INSERT INTO decide_offers VALUES ('{OFFER}', '10% off', 'Take 10% off', 20, NULL, "
                      "NULL, true)")
    return trained


@pytest.fixture
def shop(console, settings, template_dir):
    """The console with the trained models beside its store copy (the conftest copies the store only),
    an admin key, and the engine the server shares between /v1/decide and the page."""
    shutil.copytree(template_dir / MODELS_DIR, settings.data_dir / MODELS_DIR, dirs_exist_ok=True)
    admin = create_key(console.store, "admin", "test").secret
    yield console, admin
    holder = getattr(console.server.app.state, "decide", None)
    if isinstance(holder, EngineHolder):
        holder.stop()


def _email_of(store, customer: str) -> str:
    return store.scalar("SELECT value FROM identities WHERE kind = 'email' AND customer_id = ? LIMIT 1",
                        [customer])


def _midday() -> str:
    """A local time at about noon now, whenever the test runs: e-mail's quiet hours (21:00-08:00
    local) would otherwise withhold every e-mail decision when the suite runs in the evening UTC."""
    now = datetime.now(UTC)
    return now.astimezone(timezone(timedelta(hours=(24 - now.hour) % 24 - 12))).isoformat()


def test_page_numbers_match_the_core(shop):
    console, admin = shop
    store = console.store
    customers = [r[0] for r in store.fetchall(
        # Customer ids are keyed hashes (they differ per installation): pick people who may get
        # e-mail, so the cap statistics below have contacts to count whatever the ids are.
        "SELECT DISTINCT i.customer_id FROM identities i JOIN consent_current c USING (customer_id) "
        "WHERE i.kind = 'email' AND c.purpose = 'marketing' AND c.granted ORDER BY 1 LIMIT 6")]
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=console.url, headers=auth, timeout=60) as api:
        decided = [api.post("/v1/decide", json={"identifier": c, "placement": placement,
                                                "context": {"localTime": _midday()}}).json()
                   for c in customers for placement in ("home", "email", "email")]
        ids = [d["decision_id"] for d in decided]
        for decision, event in ((ids[0], "impression"), (ids[1], "click"), (ids[2], "impression"),
                                (ids[2], "conversion")):
            assert api.post("/v1/decide/feedback", json={"decisionId": decision, "itemId": OFFER,
                                                         "event": event}).status_code == 200
    EngineHolder.of(console.server.app.state).loaded().journal.flush()
    with console.client("viewer") as client:
        page = html.unescape(client.get("/personalization").text)

    offers = {o["offer_id"]: o for o in offer_report(store)}
    assert (offers[OFFER]["impressions"], offers[OFFER]["clicks"], offers[OFFER]["conversions"]) == (3, 1, 1)
    assert offers[OFFER]["rate"] == pytest.approx(2 / 3)
    row = re.search(rf'data-offer="{OFFER}">(.*?)</tr>', page, re.S).group(1)
    assert "<td data-impressions>3</td>" in row and "<td data-rate>0.667</td>" in row

    fatigue = fatigue_report(store, datetime.now(UTC))
    sent = [d for d in decided if d["channel"] == "email" and d["action"] not in ("suppressed", "nothing")]
    assert sum(c["contacts"] for c in fatigue["contacts"]) == len(sent) > 0
    for c in fatigue["contacts"]:
        channel = c["channel"]
        assert f'data-channel="{channel}"><td>{channel}</td><td data-contacts>{c["contacts"]}<' in page
    withheld = [d for d in decided if d["action"] == "suppressed"]
    # A decision can be withheld for more than one reason (say quiet hours and a full cap): the
    # per-reason rows may add up to more than the withheld decisions, never to fewer.
    assert sum(d["suppressed"] for d in fatigue["decisions"]) == len(withheld)
    assert sum(w["decisions"] for w in fatigue["withheld"]) >= len(withheld)
    for w in fatigue["withheld"]:
        assert f'data-withheld="{w["channel"]}:{w["reason"]}"' in page

    report = evaluation_report(store, k=K, synthetic_users=SYNTHETIC_USERS, synthetic_items=SYNTHETIC_ITEMS)
    for model in report["datasets"][0]["models"]:
        cells = re.search(rf'data-model="{model["model"]}">(.*?)</tr>', page, re.S).group(1)
        assert f'<td data-metric="ndcg">{model["ndcg"]:.4f}</td>' in cells, model["model"]
        assert f'<td data-metric="coverage">{model["coverage"]:.3f}</td>' in cells
    chart = [json.loads(s.replace("<\\/", "</")) for s in
             re.findall(r'<script type="application/json">(.*?)</script>', page, re.S)][0]
    assert {v["model"]: v["ndcg"] for v in chart["data"]["values"]} == \
        {m["model"]: m["ndcg"] for m in report["datasets"][0]["models"]}


def test_preview_shows_the_decision_without_making_one(shop):
    console, _ = shop
    store = console.store
    customer = store.scalar("SELECT min(customer_id) FROM identities WHERE kind = 'email'")
    journaled = "SELECT (SELECT count(*) FROM decide_log), (SELECT count(*) FROM decide_contacts)"
    before = store.fetchone(journaled)
    with console.client("marketer") as client:
        page = html.unescape(client.get("/personalization", params={
            "identifier": f"email:{_email_of(store, customer)}", "placement": "email"}).text)
        bad = html.unescape(client.get("/personalization", params={"placement": "billboard"}).text)
    engine = EngineHolder.of(console.server.app.state).loaded()
    engine.journal.flush()
    assert store.fetchone(journaled) == before
    assert engine.ledger.count(customer, "email", 86_400, datetime.now(UTC)) == 0
    expected = engine.decide(DecideRequest(identifier=customer, placement="email"), preview=True)
    assert f'<a href="/customers/{customer}">{customer}</a>' in page
    assert f"<strong data-action>{expected['action']}</strong>" in page
    shown = re.findall(r'<tr data-item="([^"]+)">', page)
    assert shown == [i["item_id"] for i in expected["items"]]
    assert all(f"<code data-rule>{r}</code>" in page for r in expected["rules"])
    assert "data-preview-error" in bad and "valid placements: home" in bad


def test_every_role_reads_it_and_no_one_without_a_session(shop):
    console, _ = shop
    for role in ("admin", "analyst", "marketer", "viewer"):
        with console.client(role) as client:
            page = client.get("/")
            assert 'href="/personalization"' in page.text, role
            assert client.get("/personalization").status_code == 200, role
    with console.client() as client:
        response = client.get("/personalization")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_empty_store_names_the_commands(settings, live_server):
    create_user(live_server.runtime.store, "viewer@example.org", PASSWORD, "viewer")
    from conftest import Console

    with Console(url=live_server.url, server=live_server).client("viewer") as client:
        page = html.unescape(client.get("/personalization").text)
    assert "No recommenders have been trained yet" in page
    assert "cxlens recommend train" in page and "cxlens learn" in page
    assert "No offers yet" in page and "No decision has been withheld" in page


@pytest.mark.slow
def test_charts_draw_under_the_csp(shop, signed_in):
    console, _ = shop
    page = signed_in("viewer")
    page.get_by_role("link", name="Personalization", exact=True).click()
    expect(page).to_have_url(console.url + "/personalization")
    expect(page.locator("figure.chart svg").first).to_be_visible(timeout=60_000)
    assert page.locator("figure.chart svg").count() == page.locator("figure.chart").count() >= 1
    assert page.errors == []
