"""The console over HTTP (httpx against a live server): sign-in, sessions, CSRF, lockout, roles, numbers."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from web_support import PASSWORD, csrf_of, login_token, sign_in

from cxlens import keys
from cxlens.identity.keyed import Hasher
from cxlens.web import summary
from cxlens.web.guard import safe_next

PAGES = ("/", "/customers", "/customers/cus_1", "/data", "/privacy", "/users", "/clv", "/voc/text", "/models")


def _person(console, kind: str = "email") -> tuple[str, str]:
    """(customer id, identifier of ``kind``) of a demo customer who has events."""
    return console.store.fetchone(
        "SELECT i.customer_id, i.value FROM identities i WHERE i.kind = ? AND i.customer_id IN "
        "(SELECT customer_id FROM events) ORDER BY i.customer_id LIMIT 1", [kind])


def _kpi(html: str, label: str) -> str:
    return re.search(rf'data-kpi="{re.escape(label)}">([^<]+)<', html).group(1).strip()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_strangers_to_sign_in(console, path):
    with console.client() as client:
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
        htmx = client.get("/data/stream", headers={"HX-Request": "true"})
        assert htmx.headers["HX-Redirect"].startswith("/login")


def test_sign_in_sets_a_safe_session_cookie_and_returns_to_the_page(console):
    with console.client() as client:
        response = client.post(
            "/login",
            data={
                "email": "ADMIN@example.org ",
                "password": PASSWORD,
                "csrf_token": login_token(client),
                "next": "/customers",
            },
        )
        assert response.status_code == 303 and response.headers["location"] == "/customers"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        page = client.get("/customers")
        assert page.status_code == 200 and "admin@example.org" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        client.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert client.get("/customers").status_code == 303


def test_cookie_is_secure_behind_https(console):
    with console.client() as client:
        token = login_token(client)
        response = client.post(
            "/login",
            headers={"X-Forwarded-Proto": "https"},
            data={"email": "viewer@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert "Secure" in response.headers["set-cookie"]


def test_next_never_leaves_the_site():
    assert safe_next("//evil.example/x") == "/"
    assert safe_next("https://evil.example") == "/"
    assert safe_next("/customers?q=a") == "/customers?q=a"


def test_wrong_password_says_so_and_lockout_follows_repeated_failures(console):
    with console.client() as client:
        for _ in range(5):
            response = sign_in(client, "analyst@example.org", "not the password at all")
            assert response.status_code == 401 and "not right" in response.text
        locked = sign_in(client, "analyst@example.org", PASSWORD)
        assert locked.status_code == 429 and "locked" in locked.text
        assert sign_in(client, "viewer@example.org", PASSWORD).status_code == 303  # others unaffected


def test_forms_without_the_csrf_token_are_refused(console):
    with console.client("admin") as client:
        page = client.get("/data")
        for data in ({"name": "web"}, {"name": "web", "csrf_token": "forged"}):
            refused = client.post("/data/keys", data=data)
            assert refused.status_code == 403 and "CSRF" in refused.text
        cross_site = client.post(
            "/data/keys",
            data={"name": "web", "csrf_token": csrf_of(page.text)},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403
        assert console.store.scalar("SELECT count(*) FROM api_keys") == 0
        via_header = client.post(
            "/data/keys", data={"name": "web"}, headers={"X-CSRF-Token": csrf_of(page.text)}
        )
        assert via_header.status_code == 200
    with console.client() as stranger:
        response = stranger.post("/login", data={"email": "admin@example.org", "password": PASSWORD})
        assert response.status_code == 403


def test_admin_creates_a_key_sees_the_secret_once_and_revokes_it(console):
    with console.client("admin") as client:
        page = client.get("/data")
        created = client.post(
            "/data/keys", data={"name": "web shop", "kind": "write", "csrf_token": csrf_of(page.text)}
        )
        secret = re.search(r'value="(wk_[^"]+)"', created.text).group(1)
        key_id = console.store.scalar("SELECT key_id FROM api_keys WHERE name = 'web shop'")
        assert console.server.runtime.keyring.authenticate(secret, "write").key_id == key_id
        again = client.get("/data")
        assert "web shop" in again.text and secret not in again.text
        client.post(f"/data/keys/{key_id}/revoke", data={"csrf_token": csrf_of(again.text)})
        assert console.store.scalar("SELECT revoked_at IS NOT NULL FROM api_keys WHERE key_id = ?", [key_id])
        actions = [r[0] for r in console.store.fetchall("SELECT action FROM audit_log ORDER BY logged_at")]
        assert actions == ["key.create", "key.revoke"]


@pytest.mark.parametrize("role", ["viewer", "marketer", "analyst"])
def test_only_admins_manage_keys_and_users(console, role):
    with console.client(role) as client:
        page = client.get("/data")
        assert "Create key" not in page.text
        token = csrf_of(page.text)
        assert client.post("/data/keys", data={"name": "x", "csrf_token": token}).status_code == 403
        assert client.get("/users").status_code == 403
        assert 'href="/users"' not in page.text
        created = client.post(
            "/users",
            data={"email": "new@example.org", "password": PASSWORD, "role": "admin", "csrf_token": token},
        )
        assert created.status_code == 403
    assert console.store.scalar("SELECT count(*) FROM console_users") == 4


@pytest.mark.parametrize(("role", "may_erase"), [("viewer", False), ("marketer", False), ("analyst", True)])
def test_who_may_erase(console, role, may_erase):
    customer_id, email = _person(console)
    with console.client(role) as client:
        page = client.get("/privacy")
        assert ("Review erasure" in page.text) is may_erase
        response = client.post(
            "/privacy/erase",
            data={"identifier": email, "confirm": customer_id, "csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == (200 if may_erase else 403)
    remaining = console.store.scalar("SELECT count(*) FROM events WHERE customer_id = ?", [customer_id])
    assert (remaining == 0) is may_erase


def test_an_erasure_in_the_console_refuses_the_person_at_the_door_at_once(console):
    """As over the API: the gate must not wait for the next load to learn the suppression."""
    customer_id, user_id = _person(console, "user_id")
    secret = keys.create_key(console.store, "write", "web").secret
    with console.client("analyst") as client:
        page = client.get("/privacy")
        form = {"identifier": f"user_id:{user_id}", "confirm": customer_id, "csrf_token": csrf_of(page.text)}
        erased = client.post("/privacy/erase", data=form)
        assert erased.status_code == 200
    resent = httpx.post(f"{console.url}/v1/track", auth=(secret, ""),
                        json={"userId": user_id, "event": "Page Viewed"})
    assert resent.json()["withheld"] == 1


def test_admin_manages_users(console):
    with console.client("admin") as client:
        page = client.get("/users")
        token = csrf_of(page.text)
        short = client.post(
            "/users",
            data={"email": "x@example.org", "password": "short", "role": "viewer", "csrf_token": token},
        )
        assert short.status_code == 400 and "at least 12 characters" in short.text
        client.post(
            "/users",
            data={"email": "new@example.org", "password": PASSWORD, "role": "marketer", "csrf_token": token},
        )
        user_id = console.store.scalar("SELECT user_id FROM console_users WHERE email = 'new@example.org'")
        client.post(f"/users/{user_id}", data={"disabled": "yes", "csrf_token": token})
    with console.client() as other:
        assert sign_in(other, "new@example.org", PASSWORD).status_code == 401


def test_overview_numbers_match_the_store(console):
    with console.client("viewer") as client:
        page = client.get("/", params={"start": "2025-01-01", "end": "2025-06-30", "channel": "web"})
    where = "timestamp >= '2025-01-01' AND timestamp < '2025-07-01' AND channel = 'web'"
    events, active = console.store.fetchone(
        f"SELECT count(*), count(DISTINCT customer_id) FROM events WHERE {where}"
    )
    orders = console.store.scalar(f"SELECT count(*) FROM orders WHERE {where}")
    assert _kpi(page.text, "Events") == f"{events:,}" and events > 0
    assert _kpi(page.text, "Active customers") == f"{active:,}"
    assert _kpi(page.text, "Orders") == f"{orders:,}"


def test_overview_catches_up_with_new_and_erased_data(console, monkeypatch):
    """The cached daily summary follows appends (only the touched days) and erasures (all days).

    A window's distinct-customer count may lag streaming data by ``WINDOW_MAX_AGE``; zero here.
    """
    monkeypatch.setattr(summary, "WINDOW_MAX_AGE", 0.0)
    params = {"start": "2025-06-01", "end": "2025-06-30"}
    where = "timestamp >= '2025-06-01' AND timestamp < '2025-07-01'"
    customer_id, email = _person(console)

    def expected() -> tuple[str, str]:
        events, active = console.store.fetchone(
            f"SELECT count(*), count(DISTINCT customer_id) FROM events WHERE {where}")
        return f"{events:,}", f"{active:,}"

    with console.client("admin") as client:
        assert (_kpi(client.get("/", params=params).text, "Events"),) == expected()[:1]
        console.store.execute(
            "INSERT INTO events (message_id, type, event, channel, source, timestamp, received_at, "
            "customer_id, anonymized) VALUES ('late-1', 'track', 'Late', 'web', 'test', "
            "'2025-06-15 10:00+00', now(), ?, false)", [customer_id])
        page = client.get("/", params=params).text
        assert (_kpi(page, "Events"), _kpi(page, "Active customers")) == expected()
        token = csrf_of(client.get("/privacy").text)
        client.post("/privacy/erase", data={"identifier": email, "confirm": customer_id, "csrf_token": token})
        page = client.get("/", params=params).text
        assert _kpi(page, "Events") == expected()[0]


def test_bad_input_gets_a_message_not_a_traceback(console):
    with console.client("viewer") as client:
        for path, message in [
            ("/?start=31-03-2025", "not a date"),
            ("/?start=2025-03-10&end=2025-03-01", "swap"),
            ("/customers?page_no=abc", "page_no"),
            ("/customers/nobody", "no customer"),
        ]:
            response = client.get(path)
            assert response.status_code in (400, 404), path
            assert response.headers["content-type"].startswith("text/html") and message in response.text, path
        unknown = client.get("/customers", params={"q": "nobody@nowhere.test"})
        assert unknown.status_code == 200 and "Nobody matches" in unknown.text and "email:" in unknown.text


@pytest.mark.parametrize("page_no", ["99999", "99999999999999999999"])
def test_a_page_past_the_last_says_so(console, page_no):
    """Past the last page the list said "No customers yet. Run cxlens demo" of a full store (and a
    page number beyond 64 bits was a 500); a search said nothing of the page."""
    with console.client("viewer") as client:
        listing = client.get("/customers", params={"page_no": page_no})
        search = client.get("/customers", params={"q": "city=Dublin", "page_no": page_no})
    assert listing.status_code == 400
    assert "past the last page" in listing.text and "No customers yet" not in listing.text
    assert "past the last page" in search.text


def test_a_timeline_page_past_the_last_says_so(console):
    """The 360 of a customer with events said "No interactions recorded" past the last timeline
    page, and a page number beyond 64 bits was a 500."""
    customer_id, _ = _person(console)
    with console.client("viewer") as client:
        for page_no in ("9999", "99999999999999999999"):
            response = client.get(f"/customers/{customer_id}", params={"page_no": page_no})
            assert response.status_code == 400 and "past the last page" in response.text, page_no


def test_export_downloads_everything_and_is_audited(console):
    customer_id, user_id = _person(console, "user_id")
    with console.client("analyst") as client:
        token = csrf_of(client.get("/privacy").text)
        response = client.post("/privacy/export", data={"identifier": user_id, "csrf_token": token})
    bundle = response.json()
    assert bundle["customer_id"] == customer_id
    assert len(bundle["data"]["events"]) == console.store.scalar(
        "SELECT count(*) FROM events WHERE customer_id = ?", [customer_id])
    assert {i["value"] for i in bundle["data"]["identities"]} >= {user_id}
    analyst = console.store.scalar("SELECT user_id FROM console_users WHERE role = 'analyst'")
    assert console.store.fetchone("SELECT actor, action, subject FROM audit_log") == (
        f"console:{analyst}", "export", bundle["request_id"])


def test_erasure_suppresses_the_identifiers_and_a_resent_event_is_refused(console):
    customer_id, email = _person(console)
    identifiers = console.store.fetchall("SELECT kind, value FROM identities WHERE customer_id = ?",
                                         [customer_id])
    with console.client("admin") as client:
        token = csrf_of(client.get("/privacy").text)
        review = client.post("/privacy/erase", data={"identifier": email, "csrf_token": token})
        assert customer_id in review.text and "What is held" in review.text
        done = client.post("/privacy/erase", data={"identifier": email, "confirm": customer_id,
                                                   "csrf_token": token})
        assert done.status_code == 200 and f"Erased customer {customer_id}" in done.text
        hasher = Hasher.for_data_dir(console.server.settings.data_dir)
        for kind, value in identifiers:  # the list shows keyed hashes, never the identifiers
            assert hasher.identifier(kind, value)[:16] in done.text and value not in done.text
    assert console.store.fetchone("SELECT action FROM audit_log") == ("erase",)
    write = keys.create_key(console.store, "write", "test").secret
    user_id = dict(identifiers).get("user_id")
    resent = httpx.post(console.url + "/v1/batch", auth=(write, ""), json={"batch": [
        {"type": "track", "event": "Came Back", "userId": user_id, "messageId": "resent-1",
         "properties": {"email": email}}]})
    assert resent.status_code == 200
    loader = console.server.runtime.loader
    deadline = time.monotonic() + 10
    while loader.totals.dropped_suppressed == 0 and resent.json()["withheld"] == 0:
        assert time.monotonic() < deadline, "the re-sent event was neither withheld nor dropped"
        time.sleep(0.1)
    assert console.store.scalar("SELECT count(*) FROM events WHERE message_id = 'resent-1'") == 0


def test_clv_and_models_read_computed_traits_when_a_model_wrote_them(console):
    from cxlens.profiles.computed import write_computed_traits

    ids = [r[0] for r in console.store.fetchall("SELECT customer_id FROM profiles ORDER BY 1 LIMIT 30")]
    write_computed_traits(console.store, [
        *({"customer_id": c, "name": "clv", "value": {"clv": 10.0 * i}, "model": "clv-bgnbd",
           "model_version": "7"} for i, c in enumerate(ids)),
        *({"customer_id": c, "name": "p_alive", "value": i / 30, "model": "clv-bgnbd", "model_version": "7"}
          for i, c in enumerate(ids)),
    ])
    with console.client("viewer") as client:
        clv = client.get("/clv").text
        models = client.get("/models").text
    assert "From the computed traits of 30 customers" in clv
    top = re.findall(r'<a href="/customers/([^"]+)">', clv.split('id="top-title"')[1])
    assert top[:2] == [ids[-1], ids[-2]]  # highest CLV first
    assert "clv-bgnbd 7" in clv
    assert re.search(r"<code>clv</code></td><td>clv-bgnbd</td><td><code>7</code></td><td>30</td>", models)
