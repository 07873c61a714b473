"""Console pages of segments and audiences, churn, and NPS drivers: over HTTP against the live server on
the learned demo business (numbers checked against the core functions), role checks, empty states on
an empty store, and the charts drawn by a real Chromium under the console's CSP."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import UTC, datetime

import pandas as pd
import pytest
from playwright.sync_api import expect
from web_support import PASSWORD

from cxlens.config import load_settings
from cxlens.learn import run_learning
from cxlens.predict.churn_report import latest_report
from cxlens.segments.audiences import audience_members, create_audience, preview, refresh_audience
from cxlens.segments.build import grid_matrix, latest_builds, list_segments
from cxlens.store import Store
from cxlens.voc.drivers import driver_analysis
from cxlens.web import create_user

PAGES = ("/segments", "/churn", "/voc/drivers")
AUDIENCE_RULE = 'rfm_segment in ["At risk", "Can\'t lose them", "Hibernating", "Lost"]'


@pytest.fixture(scope="module")
def template_dir(template_dir, tmp_path_factory):
    """The conftest's demo store after ``cxlens learn`` (segments, churn, CLV …) and a saved audience
    refreshed once, so it has a size over time; built once for this module."""
    learned = tmp_path_factory.mktemp("console-learned")
    shutil.copytree(template_dir, learned, dirs_exist_ok=True)
    settings = load_settings(learned)
    with Store(settings.store_path) as store:
        stages = {r.name: r.status for r in run_learning(store, settings)}
        assert stages["segments"] == stages["churn"] == "ok", stages
        create_audience(store, "lapsing", AUDIENCE_RULE, now=datetime(2025, 1, 1, tzinfo=UTC))
        refresh_audience(store, "lapsing", now=datetime(2025, 2, 1, tzinfo=UTC))
    return learned


@pytest.fixture
def empty_console(settings, live_server):
    """A console on a store with nothing in it but the console users."""
    for role in ("admin", "viewer"):
        create_user(live_server.runtime.store, f"{role}@example.org", PASSWORD, role)
    from conftest import Console

    return Console(url=live_server.url, server=live_server)


def specs(page: str) -> list[dict]:
    """Every chart spec embedded in a page."""
    return [json.loads(s.replace("<\\/", "</"))
            for s in re.findall(r'<script type="application/json">(.*?)</script>', page, re.S)]


def text(page: str) -> str:
    return html.unescape(page)


def test_segments_page_shows_the_latest_build(console):
    store = console.store
    builds, segments = latest_builds(store), list_segments(store)["segments"]
    with console.client("viewer") as client:
        page = client.get("/segments").text
        by_spend = client.get("/segments", params={"colour": "monetary"}).text
    for seg in (s for s in segments if s["kind"] == "rfm"):
        assert re.search(rf'data-segment="{seg["name"]}">.*?<td data-customers>{seg["customers"]:,}<', page)
    for c in (s for s in segments if s["kind"] == "cluster"):
        assert html.escape(c["description"]) in page
    heatmap = specs(page)[0]
    shown = {(v["r"], v["f"]): v["customers"] for v in heatmap["data"]["values"]}
    matrix = grid_matrix(builds["rfm"])
    assert all(matrix[5 - r, f - 1] == n for (r, f), n in shown.items())
    assert sum(shown.values()) == matrix.sum() == builds["rfm"]["buyers"]
    assert heatmap["layer"][0]["encoding"]["color"]["field"] == "customers"
    assert specs(by_spend)[0]["layer"][0]["encoding"]["color"]["field"] == "mean_monetary"
    assert "R 4–5 · FM 4–5" in page and "Sizes per build" in page and "RFM grid as a table" in page
    assert 'data-audience-size="lapsing">' in page and 'href="/segments/audiences/lapsing"' in page
    assert 'href="/segments"' in page and ">Segments<" in page  # in the navigation


def test_audience_page_shows_size_over_time_and_consenting_members(console):
    expected = audience_members(console.store, "lapsing", limit=25, consented_only=True)
    everyone = audience_members(console.store, "lapsing", limit=25)
    with console.client("marketer") as client:
        page = client.get("/segments/audiences/lapsing").text
        all_members = client.get("/segments/audiences/lapsing", params={"everyone": "true"}).text
        missing = client.get("/segments/audiences/nobody")
        bad = client.get("/segments/audiences/Not%20A%20Name")
    assert f'data-kpi="Members">{expected["total"]:,}<' in page
    assert f'data-kpi="Members">{everyone["total"]:,}<' in all_members
    assert everyone["total"] > expected["total"]  # the demo has people without marketing consent
    shown = re.findall(r'href="/customers/([^"]+)"', page)
    assert shown == [m["customer_id"] for m in expected["members"]]
    assert len(specs(page)[0]["data"]["values"]) == 2  # created, then refreshed once
    assert missing.status_code == 404 and "no audience named" in text(missing.text)
    assert bad.status_code == 400


def test_audience_preview_gives_the_size_or_the_parsers_caret(console):
    rule = 'churn_risk >= 0.6 and consent.marketing'
    expected = preview(console.store, rule, limit=10)
    with console.client("viewer") as client:
        ok = client.get("/segments/preview", params={"rule": rule}).text
        typo = client.get("/segments/preview", params={"rule": "clv_12 > 200"}).text
        broken = client.get("/segments/preview", params={"rule": "frequency > and consent.marketing"}).text
    assert f'data-kpi="Audience size">{expected["size"]:,}<' in ok
    assert f'data-kpi="Consenting">{expected["consented"]:,}<' in ok
    assert re.findall(r'href="/customers/([^"]+)"', ok) == expected["sample"]
    assert 'aria-invalid="true"' in typo and 'role="alert"' in typo
    assert "did you mean 'clv_12m'?\n  clv_12 > 200\n  ^" in text(typo)
    assert "expected a value" in text(broken) and "\n" + " " * 14 + "^" in text(broken)


def test_churn_page_shows_risk_reasons_consent_and_the_report(console):
    store = console.store
    report = latest_report(store)
    scores = store.records("""
        SELECT t.customer_id, CAST(t.value::VARCHAR AS DOUBLE) AS risk,
               coalesce(c.granted, false) AS contactable
        FROM computed_traits t LEFT JOIN consent_current c
          ON c.customer_id = t.customer_id AND c.purpose = 'marketing'
        WHERE t.name = 'churn_risk' ORDER BY risk DESC, t.customer_id LIMIT 25""")
    with console.client("viewer") as client:
        page = client.get("/churn").text
    rows = re.findall(r'<tr data-customer="([^"]+)">.*?<td data-risk>([\d.]+)</td>.*?badge (yes|no)',
                      page, re.S)
    assert [(cid, f"{risk:.3f}", "yes" if ok else "no") for cid, risk, ok in
            ((s["customer_id"], s["risk"], s["contactable"]) for s in scores)] == rows
    assert {"yes", "no"} <= {r[2] for r in rows}
    top_reasons = json.loads(store.scalar("SELECT value FROM computed_traits WHERE name = 'churn_reasons' "
                                          "AND customer_id = ?", [rows[0][0]]))["reasons"]
    assert all(f"<li>{html.escape(r)}</li>" in page for r in top_reasons)
    assert f'data-metric="auc">{report["metrics"]["auc"]:.3f}<' in page
    assert f'data-metric="pr_auc">{report["metrics"]["pr_auc"]:.3f}<' in page
    assert f'data-metric="baseline-auc">{report["baseline"]["metrics"]["auc"]:.3f}<' in page
    assert html.escape(report["comparison"]["verdict"]) in page
    risk, lift, calibration = specs(page)
    assert sum(v["customers"] for v in risk["data"]["values"]) == store.scalar(
        "SELECT count(*) FROM computed_traits WHERE name = 'churn_risk'")
    assert [v["lift"] for v in lift["data"]["values"][:10]] == [
        d["lift"] for d in report["metrics"]["lift_by_decile"]]
    assert len(calibration["data"]["values"]) == len(report["metrics"]["reliability"]) + len(
        report["baseline"]["metrics"]["reliability"])
    assert 'href="/customers/' in page and "Lift by risk decile as a table" in page


def test_drivers_page_matches_the_voc_driver_analysis(console):
    answers = pd.DataFrame(console.store.records(
        "SELECT customer_id, metric, touchpoint, score FROM feedback WHERE customer_id IS NOT NULL"))
    nps = answers[answers.metric == "nps"].groupby("customer_id")["score"].mean().rename("nps")
    rated = answers[answers.metric.isin(["csat", "ces"])].copy()
    rated["rating"] = 100 * (rated.score - 1) / rated.metric.map({"csat": 4, "ces": 6})
    wide = rated.pivot_table(index="customer_id", columns="touchpoint", values="rating").reindex(nps.index)
    wide = wide.loc[:, wide.notna().sum() >= 5].dropna(how="all")
    data = wide.fillna(wide.mean()).join(nps)
    expected = driver_analysis(data, "nps", scale=(0, 100)).summary()
    with console.client("analyst") as client:
        page = client.get("/voc/drivers").text
    assert "What was used" in page and "mean NPS answer" in page
    assert f'data-kpi="R2">{100 * expected["r2"]:.1f}%<' in page
    for d in expected["drivers"]:
        assert re.search(rf'data-driver="{d["driver"]}">.*?<td data-importance>{d["lmg_share"]:.1f}%<', page)
        if d["quadrant"] == "fix first":
            assert f'data-fix-first="{d["driver"]}"' in page
    assert "fix first" in {d["quadrant"] for d in expected["drivers"]}
    assert len(specs(page)[0]["data"]["values"]) == len(expected["drivers"])


def test_every_role_reads_the_pages_and_no_one_without_a_session(console):
    for role in ("admin", "analyst", "marketer", "viewer"):
        with console.client(role) as client:
            assert all(client.get(p).status_code == 200 for p in PAGES), role
    with console.client() as client:
        for path in (*PAGES, "/segments/preview?rule=frequency%20%3E%201", "/segments/audiences/lapsing"):
            response = client.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_empty_store_pages_name_the_command_that_fills_them(empty_console):
    with empty_console.client("viewer") as client:
        segments, churn, drivers = (text(client.get(p).text) for p in PAGES)
        preview_page = text(client.get("/segments/preview", params={"rule": "frequency > 1"}).text)
    assert "No segments have been built yet" in segments and "cxlens segments build" in segments
    assert "No saved audiences yet" in segments
    assert "No churn model has been trained yet" in churn and "cxlens churn train" in churn
    assert "No survey answers yet" in drivers
    assert 'aria-invalid="true"' in preview_page and "build the feature snapshot first with " \
        "`cxlens segments build`" in preview_page


@pytest.mark.slow
def test_charts_draw_under_the_csp(console, signed_in):
    page = signed_in("viewer")
    for label, path in (("Segments", "/segments"), ("Churn", "/churn"), ("Drivers", "/voc/drivers")):
        page.get_by_role("link", name=label, exact=True).click()
        expect(page).to_have_url(console.url + path)
        expect(page.locator("figure.chart svg").first).to_be_visible()
        assert page.locator("figure.chart svg").count() == page.locator("figure.chart").count(), path
    page.get_by_text("Importance × performance as a table").click()
    expect(page.locator("figure.chart table")).to_be_visible()
    assert page.errors == []
