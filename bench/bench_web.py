"""Console page render times on a large store: p50 and p99 per page, against a goal of 300 ms.

The store is filled straight with SQL (``tests/web/web_synthetic.py``: 5 events, ~2.3 identities and
~1.3 traits per customer); quick uses 100,000 customers, full 1,000,000. Each page is fetched over
loopback from a real uvicorn server running ``create_app`` (which mounts the console), signed in as
an admin, so a figure is the whole server-side cost of the page (queries, charts, template) plus
loopback HTTP. The first fetch of each page is reported apart ("first"): it fills the console's
daily summary and report caches, which later fetches reuse until the data changes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 300.0
PASSWORD = "benchmark password 1"


def _serve(settings):  # type: ignore[no-untyped-def]
    from cxlens.api.app import create_app
    from cxlens.api.background import BackgroundServer

    return BackgroundServer(create_app(settings)).start()


def _sign_in(client: httpx.Client) -> None:
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"email": "bench@example.org", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303, response.text


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(quick: bool = False) -> str:
    sys.path.insert(0, str(ROOT / "tests" / "web"))
    from web_synthetic import fill_store

    from cxlens.config import load_settings
    from cxlens.store import Store
    from cxlens.web import create_user

    customers = 100_000 if quick else 1_000_000
    repeats = 10 if quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp))
        started = time.perf_counter()
        with Store(settings.store_path) as store:
            counts = fill_store(store, customers)
            create_user(store, "bench@example.org", PASSWORD, "admin")
            customer_id, email = store.fetchone(
                "SELECT customer_id, value FROM identities WHERE kind = 'email' LIMIT 1")
        fill_seconds = time.perf_counter() - started
        server = _serve(settings)
        url = server.url
        pages = {
            "overview": "/",
            "overview, one channel": "/?channel=web",
            "customers (list)": "/customers",
            "customers (search e-mail)": f"/customers?q={email}",
            "customers (search user id)": "/customers?q=user-12345",
            "customer 360": f"/customers/{customer_id}",
            "data": "/data",
            "live stream (htmx)": "/data/stream",
            "privacy": "/privacy",
            "lifetime value": "/clv",
            "VoC text": "/voc/text",
            "models": "/models",
        }
        rows = []
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                _sign_in(client)
                for name, path in pages.items():
                    t0 = time.perf_counter()
                    assert client.get(path).status_code == 200, path  # warm-up (and a check)
                    first = 1000 * (time.perf_counter() - t0)
                    times = []
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        client.get(path)
                        times.append(1000 * (time.perf_counter() - t0))
                    p50, p99 = statistics.median(times), _percentile(times, 0.99)
                    rows.append(f"| {name} | `{path.split('?')[0]}` | {first:.0f} | {p50:.0f} | {p99:.0f} | "
                                f"{p50 / GOAL_MS:.2f} |")
        finally:
            server.stop()
    header = (
        "## Web console: page render time\n\n"
        f"Store: {customers:,} customers, {counts['events']:,} events, {counts['identities']:,} identities, "
        f"{counts['orders']:,} orders, {counts['feedback']:,} feedback answers "
        f"(filled in {fill_seconds:.0f} s). "
        f"Each page fetched {repeats} times after one warm-up, signed in, over loopback. "
        f"Goal: p50 under {GOAL_MS:.0f} ms (ratio < 1 meets it).\n\n"
        "| page | path | first ms | p50 ms | p99 ms | p50 / goal |\n|---|---|---|---|---|---|"
    )
    return header + "\n" + "\n".join(rows)
