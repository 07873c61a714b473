"""Small, hand-checkable customer histories loaded through the real pipeline (``load_events``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import numpy as np

from cxlens.collect.pipeline import load_events
from cxlens.collect.records import to_arrow
from cxlens.config import Settings
from cxlens.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
_ids = count()


def event(user: str, when: datetime, type_: str = "track", name: str | None = None, channel: str = "web",
          properties: dict[str, Any] | None = None, context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"message_id": f"m{next(_ids)}", "type": type_, "event": name, "user_id": user, "channel": channel,
            "timestamp": when, "received_at": when, "properties": properties or {}, "context": context or {}}


def order(user: str, when: datetime, order_id: str, items: list[tuple[str, float, int]],
          channel: str = "web") -> dict[str, Any]:
    products = [{"product_id": f"p-{cat}", "category": cat, "price": price, "quantity": qty}
                for cat, price, qty in items]
    revenue = sum(price * qty for _, price, qty in items)
    return event(user, when, name="Order Completed", channel=channel,
                 properties={"order_id": order_id, "revenue": revenue, "products": products})


def survey(user: str, when: datetime, metric: str, score: float) -> dict[str, Any]:
    return event(user, when, name="Survey Responded", channel="email",
                 properties={"survey_id": "s1", "metric": metric, "score": score})


def consent(user: str, when: datetime, **choices: bool) -> dict[str, Any]:
    return event(user, when, type_="identify", context={"consent": choices})


def load(store: Store, settings: Settings, records: list[dict[str, Any]]) -> None:
    load_events(store, settings, to_arrow(records))


def alice_and_bob() -> list[dict[str, Any]]:
    """Alice: three orders, pages, e-mail, surveys, consent; Bob: one app session, no order."""
    day = timedelta(days=1)
    return [
        consent("alice", T0, marketing=True, personalization=False),
        event("alice", T0 + timedelta(minutes=1), "page", "Home"),
        event("alice", T0 + timedelta(minutes=5), "page", "Shoes"),
        order("alice", T0 + timedelta(minutes=10), "o1", [("shoes", 50.0, 1), ("socks", 5.0, 2)]),
        event("alice", T0 + 3 * day, name="Email Opened", channel="email"),
        event("alice", T0 + 3 * day + timedelta(minutes=2), name="Email Link Clicked", channel="email"),
        order("alice", T0 + 10 * day, "o2", [("shoes", 90.0, 1)], channel="app"),
        survey("alice", T0 + 11 * day, "nps", 6),
        survey("alice", T0 + 12 * day, "csat", 4),
        survey("alice", T0 + 20 * day, "nps", 9),
        consent("alice", T0 + 25 * day, marketing=False),
        order("alice", T0 + 40 * day, "o3", [("socks", 10.0, 1)]),
        event("alice", T0 + 40 * day, name="Support Ticket Created", channel="call_center"),
        event("bob", T0 + 5 * day, "screen", "Home", channel="app"),
        event("bob", T0 + 5 * day + timedelta(minutes=40), "screen", "Deals", channel="app"),
    ]


def random_history(n_customers: int, seed: int = 3) -> list[dict[str, Any]]:
    """A varied random history for engine comparisons: every feature gets non-trivial values."""
    rng = np.random.default_rng(seed)
    cats, channels = ["shoes", "socks", "Home & Garden"], ["web", "app", "store", "email"]
    out: list[dict[str, Any]] = []
    for c in range(n_customers):
        user = f"u{c:04d}"
        start = T0 + timedelta(days=float(rng.uniform(0, 100)))
        out.append(consent(user, start, marketing=bool(rng.random() < 0.5)))
        when = start
        for _ in range(int(rng.integers(1, 12))):
            when += timedelta(hours=float(rng.exponential(60)))
            kind = rng.random()
            channel = str(rng.choice(channels))
            if kind < 0.3:
                items = [(str(rng.choice(cats)), round(float(rng.uniform(5, 100)), 2),
                          int(rng.integers(1, 3))) for _ in range(int(rng.integers(1, 3)))]
                out.append(order(user, when, f"o{next(_ids)}", items, channel=channel))
            elif kind < 0.45:
                out.append(survey(user, when, str(rng.choice(["nps", "csat"])), float(rng.integers(0, 11))))
            elif kind < 0.55:
                out.append(event(user, when, name=str(rng.choice(["Email Opened", "Email Clicked"])),
                                 channel="email"))
            else:
                out.append(event(user, when, str(rng.choice(["page", "screen"])), "X", channel=channel))
    return out


def customer_ids(store: Store) -> dict[str, str]:
    """user_id → the customer_id identity resolved it to."""
    return dict(store.fetchall("SELECT value, customer_id FROM identities WHERE kind = 'user_id'"))


def by_user(store: Store, frame: Any) -> Any:
    """``frame`` re-indexed by user_id, for readable assertions."""
    names = {cid: user for user, cid in customer_ids(store).items()}
    return frame.rename(index=names)
