"""The server starts on loopback and answers its health check."""

import httpx


def test_health(live_server) -> None:
    response = httpx.get(f"{live_server.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_route_is_json_404(live_server) -> None:
    response = httpx.get(f"{live_server.url}/v1/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
