"""Read-only views of collection for the console, the admin API and the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cxlens import jsonutil
from cxlens.errors import InvalidInputError
from cxlens.store import Store

MAX_LIMIT = 1000

_EVENT_COLUMNS = ("received_at", "timestamp", "type", "event", "channel", "source", "customer_id",
                  "user_id", "anonymous_id", "message_id", "anonymized", "properties")


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}", field="limit")
    return limit


def _with_json(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    for row in rows:
        if isinstance(row.get(column), str):
            row[column] = jsonutil.loads(row[column])
    return rows


def latest_event_time(store: Store) -> datetime | None:
    """When the latest event happened, ignoring events stamped after they arrived (a day's grace).

    The "last 30 days" views open on it; a single device whose clock says 9999 would otherwise open
    them on an empty window in the far future. The filtered scan runs only when such an event exists.
    """
    latest, arrived = store.fetchall("SELECT max(timestamp), max(received_at) FROM events")[0]
    if latest is None or latest <= arrived + timedelta(days=1):
        return latest
    return store.scalar("SELECT max(timestamp) FROM events WHERE timestamp <= received_at + INTERVAL 1 DAY")


def latest_events(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The newest events first (by arrival), as the console's live stream shows them."""
    cols = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)
    rows = store.records(f"SELECT {cols} FROM events ORDER BY received_at DESC LIMIT ?",
                         [check_limit(limit)])
    return _with_json(rows, "properties")


def rejected_events(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The newest rejected messages first, with the reason and the offending field."""
    return store.records(
        "SELECT rejected_at, source, message_id, reason, field, detail, payload FROM rejected_events "
        "ORDER BY rejected_at DESC LIMIT ?", [check_limit(limit)])


def collect_stats(store: Store) -> dict[str, Any]:
    """Counts of what has been collected, and rejections by reason."""
    [row] = store.fetchall(
        "SELECT (SELECT count(*) FROM events), (SELECT count(DISTINCT customer_id) FROM events), "
        "(SELECT count(*) FROM rejected_events), (SELECT count(*) FROM orders), "
        "(SELECT count(*) FROM feedback), (SELECT max(received_at) FROM events)")
    by_reason = dict(store.fetchall(
        "SELECT reason, count(*) FROM rejected_events GROUP BY reason ORDER BY 2 DESC"))
    by_channel = dict(store.fetchall(
        "SELECT coalesce(channel, 'unknown'), count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"))
    return {"events": row[0], "customers": row[1], "rejected": row[2], "orders": row[3],
            "feedback": row[4], "last_received_at": row[5], "rejected_by_reason": by_reason,
            "events_by_channel": by_channel}
