"""HTTP faces of the analytics room: a customer's features and the churn report (admin keys)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.features.history import alice_and_bob, customer_ids, load

from cxlens import keys
from cxlens.api import analytics
from cxlens.api.app import create_app


def test_features_and_report_endpoints(store, settings):
    load(store, settings, alice_and_bob())
    secret = keys.create_key(store, "admin", "test").secret
    alice = customer_ids(store)["alice"]
    store.close()
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/v1/models/churn/report" for r in app.routes):
        app.include_router(analytics.router)  # until the lead adds "analytics" to ROUTER_MODULES
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(app) as client:
        got = client.get(f"/v1/customers/{alice}/features", params={"as_of": "2024-01-30"}, headers=auth)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["features"]["frequency"] == 2 and body["features"]["latest_nps"] == 9
        assert body["features"]["ipt_std_days"] is None
        assert client.get(f"/v1/customers/{alice}/features").status_code == 401
        missing = client.get("/v1/customers/nobody/features", headers=auth)
        assert missing.status_code == 404 and "nobody" in missing.json()["message"]
        bad = client.get("/v1/customers/x/features", params={"as_of": "soon"}, headers=auth)
        assert bad.status_code == 400
        assert bad.json()["details"]["field"] == "as_of"  # the query parameter, not "as-of date"
        report = client.get("/v1/models/churn/report", headers=auth)
        assert report.status_code == 404 and "cxlens churn train" in report.json()["message"]
