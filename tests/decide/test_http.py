"""/v1/decide on a real server on loopback: auth, validation, consent, caps under concurrent requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from cxlens.decide.service import EngineHolder
from cxlens.keys import create_key
from cxlens.recommend.service import train
from cxlens.store import Store

from .conftest import build_shop

pytestmark = pytest.mark.slow


@pytest.fixture
def built(settings):
    with Store(settings.store_path) as store:
        build_shop(store, settings)
        train(store, settings.data_dir)


@pytest.fixture
def server(built, live_server):
    live = live_server
    admin = create_key(live.runtime.store, "admin", "test").secret
    write = create_key(live.runtime.store, "write", "test").secret
    try:
        yield live, admin, write
    finally:
        holder = getattr(live.app.state, "decide", None)
        if isinstance(holder, EngineHolder):
            holder.stop()


def test_decide_over_http(server) -> None:
    live, admin, write = server
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=live.url, timeout=30) as client:
        assert client.post("/v1/decide", json={"placement": "home"}).status_code == 401
        bad = client.post("/v1/decide", json={"placement": "billboard"}, headers=auth)
        assert bad.status_code == 400 and "valid placements: home" in bad.json()["message"]
        assert client.post("/v1/decide", json={"placement": "home", "k": 0}, headers=auth).status_code == 400
        refused = client.post("/v1/decide", json={"identifier": "u3", "placement": "home"},
                              headers=auth).json()
        assert refused["personalized"] is False and refused["items"]
        mine = client.post("/v1/decide", json={"identifier": "u1", "placement": "product_page",
                                                "context": {"productId": "P01", "device": "mobile"}},
                           headers=auth).json()
        assert mine["personalized"] is True and all(i["reason"] for i in mine["items"])
        item = mine["items"][0]["item_id"]
        ok = client.post("/v1/decide/feedback", auth=(write, ""),
                         json={"decisionId": mine["decision_id"], "itemId": item, "event": "click"})
        assert ok.status_code == 200
        missing = client.post("/v1/decide/feedback", auth=(write, ""),
                              json={"decisionId": "dec_none", "itemId": item, "event": "click"})
        assert missing.status_code == 404


def test_caps_hold_under_concurrent_http_requests(server) -> None:
    live, admin, _ = server
    zones = ("UTC", "Asia/Tokyo", "America/New_York", "Asia/Kolkata", "Pacific/Honolulu")
    daytime = next(z for z in zones if 9 <= datetime.now(ZoneInfo(z)).hour < 20)  # outside quiet hours
    body = {"identifier": "cus_0001", "placement": "app_push", "context": {"timezone": daytime}}
    auth = {"Authorization": f"Bearer {admin}"}

    def one(_: int) -> dict:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            return client.post("/v1/decide", json=body, headers=auth).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(24)))
    contacted = [a for a in answers if a["action"] not in ("suppressed", "nothing")]
    assert 1 <= len(contacted) <= 2  # app_push: at most 2 per day
    engine = live.app.state.decide.get(live.runtime.store, live.settings)
    engine.journal.flush()
    logged = live.runtime.store.scalar(
        "SELECT count(*) FROM decide_contacts WHERE customer_id = 'cus_0001' AND channel = 'app_push'")
    assert logged == len(contacted)


def test_errors_keep_the_api_shape(server) -> None:
    """The plain-ASGI endpoints answer errors as FastAPI routes do: status, code, message, problems."""
    live, admin, write = server
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=live.url, timeout=30) as client:
        bad = client.post("/v1/decide", json={"placement": "home", "k": 0, "extra": 1}, headers=auth)
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
        assert {p["field"] for p in bad.json()["details"]["problems"]} == {"k", "extra"}
        alias = client.post("/v1/decide", headers=auth,
                            json={"placement": "home", "context": {"localTime": "2025-06-01T10:00"}})
        assert alias.json()["details"]["problems"][0]["field"] == "context.localTime"
        broken = client.post("/v1/decide", content=b"{not json", headers=auth)
        assert broken.status_code == 400 and "not valid JSON" in broken.json()["message"]
        assert broken.json()["details"]["problems"] == [  # was a message alone, naming no field
            {"field": "body", "message": broken.json()["message"].removeprefix("body: ")}]
        empty = client.post("/v1/decide", content=b"", headers=auth)
        assert empty.status_code == 400 and empty.json()["details"]["problems"][0]["field"] == "body"
        listed = client.post("/v1/decide", json=[1], headers=auth)  # was field "", "Input should be …"
        assert listed.status_code == 400 and listed.json()["details"]["problems"] == [
            {"field": "body", "message": "the body must be a JSON object"}]
        # a write key, sent as Bearer or as collection sends it, is the wrong kind: 403 saying so
        for sent in ({"headers": {"Authorization": f"Bearer {write}"}}, {"auth": (write, "")}):
            refused = client.post("/v1/decide", json={"placement": "home"}, **sent)
            assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
            assert refused.json()["message"].startswith(
                "a write key cannot be used here; this call needs an admin key")
        assert client.post("/v1/decide", json={"placement": "home"}, auth=("wk_nope", "")).status_code == 401
        wrong = client.get("/v1/decide", headers=auth)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        anonymous = client.post("/v1/decide/feedback",
                                json={"decisionId": "d", "itemId": "i", "event": "click"})
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
        unknown_event = client.post("/v1/decide/feedback", auth=(write, ""),
                                    json={"decisionId": "d", "itemId": "i", "event": "like"})
        assert unknown_event.status_code == 400 and unknown_event.json()["details"]["problems"][0]["field"] \
            == "event"
        blank = client.post("/v1/decide/feedback", auth=(write, ""),  # was field "body"
                            json={"decisionId": "d", "itemId": " ", "event": "click"})
        assert blank.status_code == 400
        assert [p["field"] for p in blank.json()["details"]["problems"]] == ["itemId"]
