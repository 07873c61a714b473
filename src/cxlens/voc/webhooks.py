"""Webhook notifications of the closed loop: signed, retried with backoff, every attempt logged.

An event (``task.created``, ``task.escalated``, ``task.updated``) is queued as one delivery per
subscribed webhook, with the exact body that will be signed. :func:`deliver_due` sends what is due:
a 2xx answer delivers it; anything else (or no answer) schedules the next attempt after
``backoff_seconds × 2^(attempt − 1)`` (capped at an hour) until ``max_attempts``, then marks it
failed. Queuing and sending are separate so a slow receiver never holds up a survey answer.

Signatures follow the common "timestamped HMAC" scheme (as Stripe's): the header
``X-Cxlens-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. Receivers
recompute it and reject old timestamps, which stops replays. Bodies carry ids, scores and times —
never a comment, a name or contact data: the receiver looks the customer up if it may.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx

from cxlens import jsonutil
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.store import Store

log = logging.getLogger(__name__)

EVENTS = ("task.created", "task.escalated", "task.updated")
SIGNATURE_HEADER = "X-Cxlens-Signature"
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try: attempts, first back-off, and the per-request timeout."""

    max_attempts: int = 6
    backoff_seconds: float = 30.0
    timeout_seconds: float = 5.0


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: datetime | None = None,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """What a receiver does: check the signature and that it is recent (a helper for Python receivers)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    fresh = abs((now or datetime.now(UTC)).timestamp() - stamp) <= tolerance.total_seconds()
    # bytes, not str: compare_digest raises TypeError on a non-ASCII str, and the header is the sender's
    return fresh and hmac.compare_digest(sign(secret, body, stamp).encode(), header.strip().encode())


def add_webhook(store: Store, url: str, events: list[str] | None = None) -> dict[str, Any]:
    """Subscribe ``url``; returns the webhook with its signing ``secret`` (shown this once)."""
    parsed = urlparse((url or "").strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInputError(f"webhook url {url!r} must be an http(s) URL", field="url")
    chosen = list(events or EVENTS)
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise InvalidInputError(
            f"unknown webhook event(s) {unknown}; use {', '.join(EVENTS)}", field="events"
        )
    hook = {
        "webhook_id": "wh_" + secrets.token_hex(6),
        "url": parsed.geturl(),
        "secret": "whsec_" + secrets.token_urlsafe(24),
        "events": ",".join(chosen),
        "created_at": datetime.now(UTC),
    }
    store.execute(
        "INSERT INTO voc_webhooks (webhook_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?)",
        list(hook.values()),
    )
    return hook


def list_webhooks(store: Store) -> list[dict[str, Any]]:
    return store.records(
        "SELECT webhook_id, url, events, created_at, disabled_at FROM voc_webhooks ORDER BY created_at"
    )


def remove_webhook(store: Store, webhook_id: str) -> None:
    row = store.fetchone(
        "UPDATE voc_webhooks SET disabled_at = now() WHERE webhook_id = ? "
        "AND disabled_at IS NULL RETURNING webhook_id",
        [webhook_id],
    )
    if row is None:
        raise NotFoundError(f"no active webhook {webhook_id!r}", webhook_id=webhook_id)


def enqueue(store: Store, event: str, task: dict[str, Any], now: datetime) -> int:
    """Queue ``event`` about ``task`` for every webhook subscribed to it; returns how many."""
    hooks = store.fetchall("SELECT webhook_id, events FROM voc_webhooks WHERE disabled_at IS NULL")
    queued = 0
    for webhook_id, events in hooks:
        if event not in events.split(","):
            continue
        delivery_id = "dl_" + secrets.token_hex(8)
        body = jsonutil.dumps_str({"id": delivery_id, "event": event, "occurred_at": now, "task": task})
        store.execute(
            "INSERT INTO voc_webhook_deliveries (delivery_id, webhook_id, event, task_id, payload, state, "
            "created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            [delivery_id, webhook_id, event, task.get("task_id"), body, now, now],
        )
        queued += 1
    return queued


def _backoff(policy: DeliveryPolicy, attempts: int) -> timedelta:
    return min(timedelta(seconds=policy.backoff_seconds * 2 ** (attempts - 1)), MAX_BACKOFF)


def deliver_due(
    store: Store,
    *,
    now: datetime | None = None,
    policy: DeliveryPolicy | None = None,
    client: httpx.Client | None = None,
) -> dict[str, int]:
    """Send every pending delivery that is due; returns counts of delivered, retrying and failed."""
    policy = policy or DeliveryPolicy()
    now = now or datetime.now(UTC)
    due = store.fetchall(
        "SELECT d.delivery_id, d.payload, d.attempts, w.url, w.secret FROM voc_webhook_deliveries d "
        "JOIN voc_webhooks w USING (webhook_id) WHERE d.state = 'pending' AND d.next_attempt_at <= ? "
        "ORDER BY d.created_at",
        [now],
    )
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    if not due:
        return counts
    own = client is None
    http = client or httpx.Client(timeout=policy.timeout_seconds)
    try:
        for delivery_id, payload, attempts, url, secret in due:
            body = payload.encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "cxlens-webhooks/1",
                SIGNATURE_HEADER: sign(secret, body, int(now.timestamp())),
            }
            status, error = None, None
            try:
                status = http.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            attempts += 1
            if status is not None and 200 <= status < 300:
                state, next_at = "delivered", None
            elif attempts >= policy.max_attempts:
                state, next_at = "failed", None
                log.warning("webhook delivery %s failed after %d attempts", delivery_id, attempts)
            else:
                state, next_at = "pending", now + _backoff(policy, attempts)
            store.execute(
                "UPDATE voc_webhook_deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?, "
                "next_attempt_at = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? END "
                "WHERE delivery_id = ?",
                [
                    state,
                    attempts,
                    status,
                    error or (None if state == "delivered" else f"HTTP {status}"),
                    next_at,
                    state,
                    now,
                    delivery_id,
                ],
            )
            counts["retrying" if state == "pending" else state] += 1
    finally:
        if own:
            http.close()
    return counts


def delivery_log(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The latest deliveries with their state, attempts and last answer (newest first)."""
    return store.records(
        "SELECT delivery_id, webhook_id, event, task_id, state, attempts, last_status, last_error, "
        "created_at, next_attempt_at, delivered_at FROM voc_webhook_deliveries "
        "ORDER BY created_at DESC LIMIT ?",
        [limit],
    )
