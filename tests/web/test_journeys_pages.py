"""Console pages of journeys, experiments and the CX program: over HTTP against the live server, and
in a real Chromium (charts drawn under the CSP, the funnel builder used like a person would)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest
from playwright.sync_api import expect

from cxlens.experiments.assignment import exposures, record_exposures
from cxlens.experiments.program import create_initiative
from cxlens.experiments.program_kpis import create_kpi
from cxlens.experiments.registry import create_experiment
from cxlens.journeys.funnels import funnel
from cxlens.journeys.maps import journey_map

STEPS = ["Product Viewed", "Order Completed"]


@pytest.fixture
def filled(console):
    """The console's synthetic store plus orders as events, an analysed experiment, a KPI, an initiative."""
    store = console.store
    store.execute("""INSERT INTO events (message_id, type, event, customer_id, channel, timestamp,
                                         received_at,
                                         properties, context)
        SELECT 'oc-' || message_id, 'track', 'Order Completed', customer_id, channel,
               timestamp + INTERVAL 1 HOUR, timestamp + INTERVAL 1 HOUR, '{"revenue": 25}',
               '{"campaign": {"source": "newsletter", "medium": "email"}}'
        FROM events WHERE event = 'Product Viewed' AND hash(message_id) % 2 = 0""")
    definition = create_experiment(
        store,
        {"key": "hero", "metrics": [{"name": "purchase", "kind": "conversion", "event": "Order Completed"}]},
    )
    ids = np.array([r[0] for r in store.fetchall("SELECT customer_id FROM profiles ORDER BY 1")])
    record_exposures(store, exposures(definition.to_experiment(), ids, datetime(2024, 12, 1, tzinfo=UTC)))
    create_kpi(
        store, key="orders", name="Orders", measure="orders", target=5, period="month", objective="Grow"
    )
    create_initiative(
        store,
        title="Free returns",
        objective="less effort after purchase",
        pilot={
            "key": "free-returns",
            "metrics": [{"name": "purchase", "kind": "conversion", "event": "Order Completed"}],
        },
        tags="returns",
    )
    return console


def test_journey_map_shows_the_core_numbers(filled):
    expected = journey_map(filled.store)
    with filled.client("viewer") as client:
        html = client.get("/journeys").text
    for stage in expected["stages"]:
        assert f'data-stage="{stage["stage"]}">{stage["reach"]:,}<' in html
    assert (
        "Stage flows as a table" in html and '"$schema":"https://vega.github.io/schema/vega/v5.json"' in html
    )
    assert 'href="/journeys"' in html and ">Journeys<" in html  # in the navigation


def test_funnel_builder_and_its_errors(filled):
    expected = funnel(filled.store, STEPS, "7d")["steps"][-1]["conversion"]
    with filled.client("marketer") as client:
        ok = client.get(
            "/journeys/funnels", params={"steps": "\n".join(STEPS), "window": "7d", "breakdown": "channel"}
        )
        bad = client.get("/journeys/funnels", params={"steps": "Product Viewed", "window": "7d"})
        window = client.get("/journeys/funnels", params={"steps": "\n".join(STEPS), "window": "soon"})
    assert ok.status_code == 200 and f"{100 * expected:.1f}%" in ok.text and "channel = web" in ok.text
    assert "between 2 and 10 steps" in bad.text and 'role="alert"' in bad.text
    assert "window &#39;soon&#39; is not understood" in window.text


def test_cohorts_attribution_experiments_program_pages(filled):
    with filled.client("analyst") as client:
        cohorts = client.get("/journeys/cohorts", params={"cohort_by": "first_seen", "period": "week"})
        attribution = client.get("/journeys/attribution", params={"lookback_days": 14})
        bad_period = client.get("/journeys/cohorts", params={"period": "day"})
        experiments = client.get("/experiments")
        hero = client.get("/experiments/hero")
        quiet = client.get("/experiments/free-returns")
        missing = client.get("/experiments/nope")
        program = client.get("/program")
        search = client.get("/program", params={"q": "effort"})
        none_found = client.get("/program", params={"q": "pricing"})
    assert cohorts.status_code == 200 and "Retention heat map as a table" in cohorts.text
    assert (
        attribution.status_code == 200
        and "newsletter / email" in attribution.text
        and "shapley" in attribution.text
    )
    assert bad_period.status_code == 400 and "unknown period" in bad_period.text
    assert 'href="/experiments/hero"' in experiments.text and "free-returns" in experiments.text
    assert 'data-kpi="Verdict">inconclusive<' in hero.text and "Sample ratio check" in hero.text
    assert "no exposures recorded" in quiet.text
    assert missing.status_code == 404
    assert 'data-kpi="orders"' in program.text and "Free returns" in program.text
    assert "Free returns" in search.text and "No initiatives match" in none_found.text


def test_pages_need_a_session(filled):
    with filled.client() as client:
        assert client.get("/journeys").status_code == 303
        assert client.get("/program").status_code == 303


@pytest.mark.slow
def test_build_a_funnel_and_see_the_flows_in_a_browser(filled, signed_in):
    expected = funnel(filled.store, STEPS, "1d")["steps"][-1]["conversion"]
    page = signed_in("viewer")
    page.get_by_role("link", name="Journeys").click()
    expect(page).to_have_url(filled.url + "/journeys")
    expect(page.locator("figure.chart svg").first).to_be_visible()  # the Vega Sankey and the bars drew
    assert page.locator("figure.chart svg").count() == page.locator("figure.chart").count()
    page.get_by_role("link", name="Funnels").click()
    page.get_by_label(re.compile("Steps, one per line")).fill("\n".join(STEPS))
    page.get_by_label("Conversion window").fill("1d")
    page.get_by_role("button", name="Build funnel").click()
    expect(page.locator('[data-kpi="Funnel conversion"]')).to_have_text(f"{100 * expected:.1f}%")
    expect(page.locator("figure.chart svg")).to_be_visible()
    page.get_by_text("Funnel as a table").click()
    expect(page.locator("figure.chart table")).to_be_visible()
    page.get_by_role("link", name="Experiments").click()
    page.get_by_role("link", name="hero").click()
    expect(page.locator("figure.chart svg")).to_be_visible()
    assert page.errors == []
