"""The VoC analytics over HTTP: a real server on loopback, an admin key, real data."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest

from cxlens import keys
from cxlens.voc.drivers import driver_analysis
from cxlens.voc.sentiment import score_texts

SPEC = (Path(__file__).resolve().parents[1] / "cases" / "voc" / "ecsi.spec").read_text()


@pytest.fixture
def api(live_server):
    store = live_server.runtime.store
    secret = keys.create_key(store, "admin", "voc test").secret
    store.executemany(
        "INSERT INTO feedback (message_id, customer_id, timestamp, metric, score, touchpoint) "
        "VALUES (?, ?, ?, 'nps', ?, ?)",
        [(f"m{i}", f"c{i}", f"2026-0{1 + i % 3}-10T10:00:00Z", score, "store" if i % 2 else "web")
         for i, score in enumerate([10, 9, 8, 3, 10, 6, 9, 9, 2, 10, 7, 9])])
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {secret}"},
                      timeout=120) as client:
        yield client


def test_scores_from_the_store(api) -> None:
    body = api.get("/v1/voc/scores/nps", params={"by": "touchpoint"}).json()
    rows = {r["touchpoint"]: r for r in body["rows"]}
    # web answers: 10, 8, 10, 9, 2, 7 -> 3 promoters, 1 detractor of 6
    assert rows["web"]["n"] == 6 and rows["web"]["score"] == pytest.approx(100 * (3 - 1) / 6)


def test_sentiment_matches_the_library(api) -> None:
    texts = ["Love it, fast delivery!", "On hold for an hour, furious."]
    body = api.post("/v1/voc/sentiment", json={"texts": texts}).json()
    expected = score_texts(texts, "vader")
    assert [r["label"] for r in body["results"]] == list(expected["label"]) == ["positive", "negative"]


def test_drivers_and_model_on_the_ecsi_survey(api, shared_data) -> None:
    ecsi = pd.read_csv(shared_data / "surveys" / "ecsi_satisfaction.csv")
    ecsi = ecsi.drop(columns=["Unnamed: 0", "gender"])
    rows = ecsi.to_dict(orient="records")
    drivers = api.post("/v1/voc/drivers", json={"rows": rows, "target": "sat1",
                                                "drivers": ["qual1", "val1", "imag1"]}).json()
    local = driver_analysis(ecsi, "sat1", ["qual1", "val1", "imag1"]).summary()
    assert drivers["r2"] == pytest.approx(local["r2"])
    model = api.post("/v1/voc/model", json={"rows": rows, "spec": SPEC, "method": "pls", "bootstrap": 0})
    assert model.status_code == 200 and model.json()["r2"]


def test_bad_input_is_named(api, live_server) -> None:
    assert httpx.post(f"{live_server.url}/v1/voc/sentiment", json={"texts": ["x"]}).status_code == 401
    bad = api.post("/v1/voc/model", json={"rows": [{"a": 1}], "spec": "A =~ a +"})
    assert bad.status_code == 400 and "line 1" in bad.json()["message"]
    assert api.post("/v1/voc/sentiment", json={"texts": []}).status_code == 400
    assert api.get("/v1/voc/scores/ces").status_code == 400  # no CES answers: says so
