"""Screenshots of the console's pages into docs/img/ (run by `make screenshots`).

Builds the real demo business (`cxlens demo --no-serve --customers 2000`: generated, then imported
through the collect pipeline) in a throw-away data dir, serves it, signs in with Playwright in
Debian's Chromium (/usr/bin/chromium; never a downloaded browser) and saves one PNG per page.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PASSWORD = "screenshot password"
CUSTOMERS = 2_000


def main() -> int:
    from playwright.sync_api import sync_playwright

    from cxlens.api.app import create_app
    from cxlens.api.background import BackgroundServer
    from cxlens.config import load_settings
    from cxlens.store import Store
    from cxlens.web import create_user

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cli = Path(sys.executable).parent / "cxlens"  # the console script installed beside this Python
        subprocess.run([str(cli), "demo", "--no-serve", "--customers", str(CUSTOMERS), "--data-dir", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        settings = load_settings(Path(tmp), port=0)
        with Store(settings.store_path) as store:
            create_user(store, "ana@example.org", PASSWORD, "admin")
            # someone with a long, varied history makes the 360 worth looking at
            customer_id = store.scalar("SELECT customer_id FROM profile_channels GROUP BY 1 "
                                       "ORDER BY count(*) DESC, sum(events) DESC, customer_id LIMIT 1")
        server = BackgroundServer(create_app(settings)).start()
        url = server.url
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(url + "/login")
                page.screenshot(path=OUT / "console-login.png")
                page.get_by_label("E-mail").fill("ana@example.org")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(url + "/")
                shots = {"overview": "/", "customers": "/customers",
                         "customer-360": f"/customers/{customer_id}", "data": "/data",
                         "privacy": "/privacy", "users": "/users", "clv": "/clv", "voc-text": "/voc/text",
                         "models": "/models", "segments": "/segments", "churn": "/churn",
                         "drivers": "/voc/drivers", "surveys": "/surveys", "followups": "/surveys/followups",
                         "personalization": "/personalization", "journeys": "/journeys",
                         "funnels": "/journeys/funnels", "attribution": "/journeys/attribution",
                         "experiments": "/experiments/checkout-flow", "program": "/program"}
                for name, path in shots.items():
                    page.goto(url + path)
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(500)  # let Vega finish drawing
                    page.screenshot(path=OUT / f"console-{name}.png", full_page=True)
                    print(f"saved docs/img/console-{name}.png")
                browser.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
