"""The Segment HTTP API on a real server on loopback, driven by the official client libraries."""

from __future__ import annotations

import base64
import gzip
import json
import uuid

import httpx
import orjson
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from cxlens import keys
from cxlens.config import load_settings
from cxlens.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path):
    # A small rate limit so the 429 test needs only a few requests; everything else stays under it.
    return load_settings(tmp_path / "data", rate_limit_events_per_second=50, rate_limit_burst=400)


@pytest.fixture
def secrets(settings) -> dict[str, str]:
    with Store(settings.store_path) as store:
        made = {name: keys.create_key(store, kind, name)
                for name, kind in [("web", "write"), ("other", "write"), ("old", "write"),
                                   ("console", "admin")]}
        keys.revoke_key(store, made["old"].key.key_id)
    return {name: c.secret for name, c in made.items()}


@pytest.fixture
def server(secrets, live_server):
    return live_server


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def _post(server, path: str, body, secret: str | None = None, **kwargs) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"Content-Type": "application/json", **(_auth(secret) if secret else {}),
               **kwargs.pop("headers", {})}
    return httpx.post(f"{server.url}{path}", content=content, headers=headers, timeout=10, **kwargs)


def _loaded(server) -> None:
    server.runtime.loader.drain()


def _count(server, sql: str, params=None) -> int:
    return server.runtime.store.fetchall(sql, params)[0][0]


def _track(n: int, prefix: str = "m") -> list[dict]:
    return [{"type": "track", "event": "Clicked", "userId": f"user-{i}", "messageId": f"{prefix}-{i}"}
            for i in range(n)]


def _sdk_calls(client, run: str) -> None:
    client.identify(f"{run}-u1", {"email": "ada@example.org", "name": "Ada"})
    client.track(f"{run}-u1", "Order Completed", {"order_id": f"{run}-o1", "revenue": 42.5,
                                                 "products": [{"product_id": "p1", "quantity": 2}]})
    client.page(f"{run}-u1", "Docs", "Pricing", {"url": "https://example.org/pricing"})
    client.screen(f"{run}-u1", "App", "Home")
    client.group(f"{run}-u1", "acme", {"name": "Acme"})
    client.alias(f"{run}-anon", f"{run}-u1")
    client.flush()
    client.shutdown()


@pytest.mark.parametrize("sdk", ["segment", "rudder"])
def test_official_clients_deliver_and_events_resolve(server, secrets, sdk: str) -> None:
    errors: list[Exception] = []
    run = f"{sdk}-{uuid.uuid4().hex[:6]}"
    cls = SegmentClient if sdk == "segment" else RudderClient
    client = cls(secrets["web"], host=server.url, on_error=lambda e, batch: errors.append(e),
                 max_retries=1)
    _sdk_calls(client, run)
    assert errors == []
    _loaded(server)
    rows = server.runtime.store.fetchall(
        "SELECT type, customer_id, source, channel FROM events WHERE user_id = ? ORDER BY type",
        [f"{run}-u1"])
    assert [r[0] for r in rows] == ["alias", "group", "identify", "page", "screen", "track"]
    assert len({r[1] for r in rows}) == 1 and rows[0][1] is not None  # one customer
    assert {r[2] for r in rows} == {"web"} and {r[3] for r in rows} == {"server"}
    assert _count(server, "SELECT count(*) FROM orders WHERE order_id = ?", [f"{run}-o1"]) == 1


def test_single_message_endpoints_and_write_key_in_body(server, secrets) -> None:
    r = _post(server, "/v1/track", {"writeKey": secrets["web"], "userId": "u9", "event": "E",
                                    "messageId": "body-key-1"})
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["accepted"] == 1
    r = _post(server, "/v1/import", {"batch": _track(2, "imp")}, secrets["web"])
    assert r.status_code == 200 and r.json()["accepted"] == 2
    _loaded(server)
    ids = "('body-key-1', 'imp-0', 'imp-1')"
    assert _count(server, f"SELECT count(*) FROM events WHERE message_id IN {ids}") == 3


def test_malformed_json_is_400(server, secrets) -> None:
    r = _post(server, "/v1/batch", b'{"batch": [', secrets["web"])
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


def test_oversize_message_is_413_and_oversize_batch_is_413(server, secrets) -> None:
    big = {"userId": "u", "event": "E", "properties": {"x": "y" * 40_000}}
    r = _post(server, "/v1/track", big, secrets["web"])
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    r = _post(server, "/v1/batch", {"batch": [{**big, "type": "track"}] * 14}, secrets["web"])
    assert r.status_code == 413


def test_partly_bad_batch_keeps_the_good_and_records_the_bad(server, secrets) -> None:
    batch = _track(2, "mix") + [
        {"type": "track", "event": "NoId", "messageId": "mix-noid"},
        {"type": "identify", "userId": "u", "traits": "vip", "messageId": "mix-traits"},
    ]
    r = _post(server, "/v1/batch", {"batch": batch}, secrets["web"])
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["index"], x["code"], x["field"]) for x in body["rejected"]] == [
        (2, "missing_identifier", "userId"), (3, "wrong_type", "traits")]
    _loaded(server)
    assert _count(server, "SELECT count(*) FROM events WHERE message_id LIKE 'mix-%'") == 2
    rejected = server.runtime.store.fetchall(
        "SELECT message_id, reason, field, source FROM rejected_events ORDER BY message_id")
    assert rejected == [("mix-noid", "missing_identifier", "userId", "web"),
                        ("mix-traits", "wrong_type", "traits", "web")]


def test_all_invalid_is_400_and_still_recorded(server, secrets) -> None:
    r = _post(server, "/v1/track", {"userId": "u", "messageId": "no-event"}, secrets["web"])
    assert r.status_code == 400 and r.json()["code"] == "all_rejected"
    assert r.json()["details"]["rejected"][0]["field"] == "event"
    _loaded(server)
    assert _count(server, "SELECT count(*) FROM rejected_events WHERE message_id = 'no-event'") == 1


def test_a_message_nested_too_deep_to_store_is_rejected_alone(server, secrets) -> None:
    """orjson reads 1,024 levels but writes 254: such a message made the whole batch a 500 (retried)."""
    deep: dict = {"leaf": 1}
    for _ in range(300):
        deep = {"a": deep}
    batch = [*_track(1, "deep"), {"type": "track", "event": "Deep", "userId": "u", "messageId": "deep-x",
                                  "properties": deep}]
    r = _post(server, "/v1/batch", json.dumps({"batch": batch}).encode(), secrets["web"])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    rejected = [(x["index"], x["code"], x["messageId"]) for x in r.json()["rejected"]]
    assert rejected == [(1, "too_deep", "deep-x")]
    one = json.dumps(batch[1] | {"messageId": "deep-y"}).encode()
    alone = _post(server, "/v1/track", one, secrets["web"])
    assert alone.status_code == 400 and alone.json()["code"] == "all_rejected"
    _loaded(server)
    assert _count(server, "SELECT count(*) FROM events WHERE message_id LIKE 'deep-%'") == 1
    assert _count(server, "SELECT count(*) FROM rejected_events WHERE reason = 'too_deep'") == 2


@pytest.mark.parametrize("name, status", [("missing", 401), ("bogus", 401), ("old", 401), ("console", 403)])
def test_unknown_revoked_or_wrong_kind_keys_are_refused(server, secrets, name: str, status: int) -> None:
    secret = {"missing": None, "bogus": "wk_nope"}.get(name, secrets.get(name))
    r = _post(server, "/v1/batch", {"batch": _track(1, f"key-{name}")}, secret)
    assert r.status_code == status
    assert r.json()["code"] in ("unauthorized", "forbidden")
    if name == "console":
        assert r.json()["message"].startswith("an admin key cannot be used here; this call needs a write key")


def test_gzip_body_and_gzip_bomb(server, secrets) -> None:
    r = _post(server, "/v1/batch", gzip.compress(orjson.dumps({"batch": _track(3, "gz")})), secrets["web"],
              headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["accepted"] == 3
    bomb = gzip.compress(b'{"batch": [' + b" " * 20_000_000 + b"]}")
    r = _post(server, "/v1/batch", bomb, secrets["web"], headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    r = _post(server, "/v1/batch", b"not gzip at all", secrets["web"], headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json()["code"] == "bad_encoding"


def test_duplicate_message_ids_count_once(server, secrets) -> None:
    batch = _track(5, "dup")
    r = _post(server, "/v1/batch", {"batch": batch + batch[:2]}, secrets["web"])
    assert r.json()["duplicates"] == 2
    r = _post(server, "/v1/batch", {"batch": batch}, secrets["web"])  # the client's retry
    assert r.status_code == 200 and r.json()["duplicates"] == 5
    _loaded(server)
    assert _count(server, "SELECT count(*) FROM events WHERE message_id LIKE 'dup-%'") == 5


def test_rate_limit_is_429_with_retry_after(server, secrets) -> None:
    ok = _post(server, "/v1/batch", {"batch": _track(300, "rl")}, secrets["other"])
    assert ok.status_code == 200
    r = _post(server, "/v1/batch", {"batch": _track(300, "rl2")}, secrets["other"])
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert _post(server, "/v1/batch", {"batch": _track(1, "rl3")}, secrets["web"]).status_code == 200


def test_admin_endpoints(server, secrets) -> None:
    _post(server, "/v1/batch", {"batch": _track(3, "adm") + [{"type": "track"}]}, secrets["web"])
    _loaded(server)
    admin = {"Authorization": f"Bearer {secrets['console']}"}
    events = httpx.get(f"{server.url}/v1/admin/events?limit=2", headers=admin).json()
    assert len(events) == 2 and events[0]["received_at"] >= events[1]["received_at"]
    rejected = httpx.get(f"{server.url}/v1/admin/rejected", headers=admin).json()
    assert rejected[0]["reason"] == "missing_identifier"
    stats = httpx.get(f"{server.url}/v1/admin/stats", headers=admin).json()
    assert stats["events"] == 3 and stats["rejected"] == 1
    assert stats["collector"]["loader_failures"] == 0
    assert httpx.get(f"{server.url}/v1/admin/events?limit=0", headers=admin).status_code == 400
    assert httpx.get(f"{server.url}/v1/admin/stats").status_code == 401
    wrong_kind = httpx.get(f"{server.url}/v1/admin/stats", headers=_auth(secrets["web"]))
    assert wrong_kind.status_code == 403 and "a write key cannot be used here" in wrong_kind.json()["message"]
    assert httpx.get(f"{server.url}/v1/admin/stats", headers=_auth("wk_nope")).status_code == 401


def test_collect_endpoints_answer_post_only_and_other_paths_pass_through(server, secrets) -> None:
    # The Segment endpoints are an ASGI middleware in front of FastAPI (ADR 0005).
    r = httpx.get(f"{server.url}/v1/track", timeout=10)
    assert (r.status_code, r.json()["code"], r.headers["allow"]) == (405, "method_not_allowed", "POST")
    assert httpx.get(f"{server.url}/health", timeout=10).json() == {"status": "ok"}
    assert _post(server, "/v1/batch", {"batch": _track(1, "pass")}, secrets["web"]).json()["accepted"] == 1
