"""The console in a real headless Chromium (Playwright): what a person sees and does."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


def test_strangers_land_on_sign_in_and_come_back_after(browser, console):
    page = browser.new_page()
    try:
        page.goto(console.url + "/customers?q=u3")
        expect(page).to_have_url(re.compile(r"/login\?next="))
        page.get_by_label("E-mail").fill("viewer@example.org")
        page.get_by_label("Password").fill("wrong password, twelve+")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("not right")
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(console.url + "/customers?q=u3")
    finally:
        page.close()


def test_overview_shows_the_store_numbers_with_charts_and_tables(signed_in, console):
    page = signed_in("viewer")
    start = console.store.scalar("SELECT CAST(max(timestamp) AS DATE) - 29 FROM events")
    events, active = console.store.fetchone(
        "SELECT count(*), count(DISTINCT customer_id) FROM events WHERE timestamp >= ?", [start]
    )  # the default range: 30 days up to the latest event
    expect(page.locator('[data-kpi="Events"]')).to_have_text(f"{events:,}")
    expect(page.locator('[data-kpi="Active customers"]')).to_have_text(f"{active:,}")
    expect(page.locator("figure.chart svg").first).to_be_visible()  # vendored Vega ran under the CSP
    assert page.locator("figure.chart svg").count() == page.locator("figure.chart").count()
    page.get_by_label("Channel", exact=True).select_option("email")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"channel=email"))
    emails = console.store.scalar(
        "SELECT count(*) FROM events WHERE timestamp >= ? AND channel = 'email'", [start]
    )
    expect(page.locator('[data-kpi="Events"]')).to_have_text(f"{emails:,}")
    page.get_by_text("Events per day by channel as a table").click()
    expect(page.locator("figure.chart table").last).to_be_visible()
    assert page.errors == []


def test_search_a_customer_and_open_the_360(signed_in, console):
    customer_id, email = console.store.fetchone(
        "SELECT customer_id, value FROM identities WHERE kind = 'email' AND customer_id IN "
        "(SELECT customer_id FROM identities WHERE kind = 'user_id') ORDER BY customer_id LIMIT 1"
    )
    page = signed_in("marketer")
    page.get_by_role("link", name="Customers").click()
    page.get_by_label(re.compile("Find by e-mail")).fill(email.upper())
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=customer_id).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(customer_id)
    expect(page.get_by_role("cell", name=email)).to_be_visible()
    total = console.store.scalar("SELECT count(*) FROM events WHERE customer_id = ?", [customer_id])
    expect(page.get_by_role("heading", name="Timeline")).to_contain_text(f"{total:,} interactions")
    assert page.locator("section[aria-labelledby=timeline-title] tbody tr").count() == min(total, 50)
    expect(page.get_by_role("heading", name="Events by channel")).to_be_visible()
    assert page.errors == []


def test_erase_a_customer_with_confirmation_and_see_them_gone(signed_in, console):
    customer_id, email = console.store.fetchone(
        "SELECT customer_id, value FROM identities WHERE kind = 'email' ORDER BY customer_id DESC LIMIT 1"
    )
    page = signed_in("admin")
    page.get_by_role("link", name="Privacy").click()
    page.get_by_label("Erase everything about").fill(email)
    page.get_by_role("button", name="Review erasure").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(customer_id)
    page.get_by_label(re.compile("Type the customer id")).fill("cus_typo")  # a slip: nothing happens
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("alert")).to_contain_text("does not match")
    assert console.store.scalar("SELECT count(*) FROM events WHERE customer_id = ?", [customer_id]) > 0
    page.get_by_label(re.compile("Type the customer id")).fill(customer_id)
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("status")).to_contain_text(f"Erased customer {customer_id}")
    expect(page.locator("section[aria-labelledby=audit-title]")).to_contain_text("erase")
    hashes = [r[0][:16] for r in console.store.fetchall("SELECT identifier_hash FROM suppressions")]
    assert hashes  # the erased person's identifiers, as keyed hashes
    for prefix in hashes:
        expect(page.locator("section[aria-labelledby=supp-title]")).to_contain_text(prefix)
    assert console.store.scalar("SELECT count(*) FROM events WHERE customer_id = ?", [customer_id]) == 0
    page.goto(console.url + "/customers?q=" + email)
    expect(page.get_by_text("Nobody matches")).to_be_visible()
    assert page.errors == []


def test_viewer_sees_no_actions(signed_in):
    page = signed_in("viewer")
    nav = page.get_by_role("navigation", name="Main")
    labels = nav.get_by_role("link").all_inner_texts()
    assert labels[:3] == ["Overview", "Customers", "Data"] and "Users" not in labels
    assert {"Privacy", "Lifetime value", "VoC text", "Models"} <= set(labels)
    page.get_by_role("link", name="Data").click()
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)
    page.get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("button", name="Review erasure…")).to_have_count(0)
    expect(page.get_by_text("can see the audit trail but not export or erase")).to_be_visible()


def test_admin_creates_a_key_and_the_live_stream_updates(signed_in, console):
    page = signed_in("admin")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_be_visible()
    page.get_by_role("link", name="Data").click()
    page.get_by_label("Name").fill("mobile app")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("Secret")).to_have_value(re.compile(r"^wk_"))
    console.store.execute(
        "INSERT INTO events (message_id, type, event, channel, source, timestamp, received_at, customer_id) "
        "VALUES ('live-1', 'track', 'Live Test Event', 'iot', 'sensor', ?, ?, "
        "(SELECT min(customer_id) FROM profiles))",
        [datetime.now(UTC), datetime.now(UTC)],
    )
    expect(page.locator("#stream")).to_contain_text("Live Test Event", timeout=15_000)  # htmx polls every 5 s
    assert page.errors == []


def test_keyboard_users_can_skip_to_content(signed_in):
    page = signed_in("viewer")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("From", exact=True)).to_be_focused()


def test_analytics_pages_show_the_demo_business(signed_in, console):
    page = signed_in("marketer")
    page.get_by_role("link", name="Lifetime value").click()
    expect(page.locator('[data-kpi="Total CLV"]')).not_to_have_text("—")
    expect(page.locator("figure.chart svg")).to_have_count(2)
    top = page.locator("section[aria-labelledby=top-title] tbody tr")
    expect(top).to_have_count(20)
    top.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("cus_")
    page.get_by_role("link", name="VoC text").click()
    comments = console.store.scalar("SELECT count(*) FROM feedback WHERE trim(comment) <> ''")
    expect(page.get_by_text(f"{comments:,} comments")).to_be_visible()
    expect(page.locator("article.theme").first.locator("q").first).to_be_visible()
    page.get_by_text("Comments by sentiment as a table").click()
    expect(page.locator("figure.chart table")).to_contain_text("negative")
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_text("No computed traits yet.")).to_be_visible()
    expect(page.get_by_text("cxlens segments build")).to_be_visible()
    assert page.errors == []
