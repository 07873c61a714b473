"""The customer 360 by every identifier, computed traits, and the HTTP API on a real server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from tests.identity.support import event, load, mapping

from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.keys import create_key
from cxlens.profiles.computed import write_computed_traits
from cxlens.profiles.view import get_profile, get_timeline


def _seed(store, settings) -> str:
    load(store, settings, [event(1, anonymous_id="a1", channel="web")])
    load(store, settings, [event(2, type="identify", user_id="u1", anonymous_id="a1", channel="app",
                                 traits={"email": "Kim@X.io", "phone": "415 555 2671", "plan": "pro"},
                                 context={"externalIds": [{"id": "77", "type": "crm"}]})])
    return mapping(store)[("user_id", "u1")]


def test_every_identifier_kind_resolves(store, settings) -> None:
    customer = _seed(store, settings)
    old = store.fetchone("SELECT from_customer_id FROM merges")[0]
    for ident in ("u1", "user_id:u1", "kim@x.io", "email:KIM@x.io", "phone:+14155552671", "+14155552671",
                  "anonymous_id:a1", "a1", "external_id:crm:77", customer, old):
        assert get_profile(store, settings, ident)["customer_id"] == customer, ident


def test_profile_contents_and_timeline(store, settings) -> None:
    customer = _seed(store, settings)
    write_computed_traits(store, [{"customer_id": customer, "name": "clv", "value": 120.5,
                                   "model": "bgnbd", "model_version": "1",
                                   "computed_at": datetime(2024, 2, 1, tzinfo=UTC)}])
    profile = get_profile(store, settings, "u1")
    assert profile["events_by_channel"] == {"web": 1, "app": 1}
    assert profile["traits"]["plan"]["value"] == "pro"
    assert profile["computed_traits"]["clv"]["value"] == 120.5
    assert profile["consent"]["current"] == settings.consent_defaults
    merge = profile["merges"][0]
    assert merge["outcome"] == "identified"
    assert {merge["evidence"][0]["a"]["identifier"], merge["evidence"][0]["b"]["identifier"]} == {
        "user_id:u1", "anonymous_id:a1"}
    page = get_timeline(store, settings, customer, limit=1)
    assert (page["total"], [e["message_id"] for e in page["events"]]) == (2, ["m2"])
    assert get_timeline(store, settings, customer, channel="web")["total"] == 1
    with pytest.raises(InvalidInputError, match="limit"):
        get_timeline(store, settings, customer, limit=0)
    with pytest.raises(NotFoundError):
        get_profile(store, settings, "nobody@x.io")


@pytest.mark.slow
def test_http_api(live_server, settings) -> None:
    server = live_server
    store = server.runtime.store
    _seed(store, settings)
    secret = create_key(store, "admin", "tests").secret
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server.url}/v1/profiles/u1").status_code == 401
    body = httpx.get(f"{server.url}/v1/profiles/email:kim@x.io", headers=auth).json()
    assert body["identities"] and body["traits"]["plan"]["value"] == "pro"
    events = httpx.get(f"{server.url}/v1/profiles/u1/events?limit=1", headers=auth).json()
    assert (events["total"], len(events["events"])) == (2, 1)
    missing = httpx.get(f"{server.url}/v1/profiles/ghost@x.io", headers=auth)
    assert missing.status_code == 404 and "email:" in missing.json()["message"]
    bad = httpx.get(f"{server.url}/v1/profiles/u1/events?limit=0", headers=auth)
    assert bad.status_code == 400
    export = httpx.post(f"{server.url}/v1/privacy/export", json={"identifier": "u1"}, headers=auth).json()
    assert len(export["data"]["events"]) == 2
    erased = httpx.post(f"{server.url}/v1/privacy/erase", json={"identifier": "u1"}, headers=auth)
    assert erased.status_code == 200 and erased.json()["counts"]["events"] == 2
    assert len(httpx.get(f"{server.url}/v1/privacy/suppressions", headers=auth).json()) == 5
    audit = httpx.get(f"{server.url}/v1/privacy/audit", headers=auth).json()
    assert [a["action"] for a in audit] == ["erase", "export"]
    assert httpx.post(f"{server.url}/v1/privacy/erase", json={}, headers=auth).status_code == 400


def test_a_value_held_by_two_kinds_resolves_by_kind(store, settings) -> None:
    # Look-ups read identities by value alone (the indexed column) and pick the kind in Python.
    load(store, settings, [event(1, user_id="u1", anonymous_id="x"), event(2, user_id="x", anonymous_id="a9"),
                           event(3, user_id="u2", anonymous_id="x")])
    ids = mapping(store)
    assert get_profile(store, settings, "x")["customer_id"] == ids[("user_id", "x")]
    assert get_profile(store, settings, "anonymous_id:x")["customer_id"] == ids[("anonymous_id", "x")]
    assert get_profile(store, settings, "user_id:x")["customer_id"] == ids[("user_id", "x")]


def test_traits_in_the_context_reach_the_profile(store, settings) -> None:
    # unify copies a context into SQL only when it may hold what it reads (traits, ids, consent).
    load(store, settings, [event(1, user_id="u1", context={"traits": {"plan": "gold"}, "ip": "1.2.3.4"}),
                           event(2, user_id="u1", context={"ip": "1.2.3.4", "library": {"name": "x"}})])
    profile = get_profile(store, settings, "u1")
    assert profile["traits"]["plan"]["value"] == "gold"
    assert profile["events_by_channel"] == {"web": 2}


def test_an_offset_past_the_events_is_an_empty_page_whatever_its_size(store, settings) -> None:
    """An offset beyond 64 bits overflowed DuckDB's OFFSET: a 500 from /v1/profiles/ID/events."""
    _seed(store, settings)
    for offset in (2, 10**20):
        page = get_timeline(store, settings, "u1", offset=offset)
        assert (page["total"], page["offset"], page["events"]) == (2, offset, [])
