"""Read-only queries behind the overview and data pages, until the owning rooms offer them.

Each function answers one panel with one or two aggregate queries, so pages stay fast on a store
of a million customers. Days are UTC calendar days. Where a core function takes over (for example
the quality room's report), the page calls it instead and the query here goes away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.store import Store

DEFAULT_DAYS = 30
MAX_DAYS = 366
_DAY = "CAST(timezone('UTC', {col}) AS DATE)"


@dataclass(frozen=True)
class Window:
    """A date range (both ends included) and an optional channel: the overview's filters."""

    start: date
    end: date
    channel: str | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def where(self, column: str = "timestamp", channel_column: str = "channel") -> tuple[str, list[Any]]:
        """SQL condition and parameters selecting rows inside the window."""
        sql, params = f"{column} >= ? AND {column} < ?", [self.since, self.until]
        if self.channel:
            sql += f" AND {channel_column} = ?"
            params.append(self.channel)
        return sql, params


def _parse_date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"the {name} date {text!r} is not a date: use YYYY-MM-DD", field=name
        ) from None


def window(store: Store, start: str | None, end: str | None, channel: str | None) -> Window:
    """Validate the filters; by default the last 30 days that have data (not the last 30 calendar days,
    so a store loaded with historical data opens on its data)."""
    if end:
        last = _parse_date(end, "end")
    else:
        latest = store.scalar("SELECT max(timestamp) FROM events")
        last = latest.astimezone(UTC).date() if latest else datetime.now(UTC).date()
    first = _parse_date(start, "start") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInputError("the start date is after the end date: swap them", field="start")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInputError(f"pick a range of at most {MAX_DAYS} days", field="start")
    return Window(first, last, channel or None)


def channels(store: Store) -> list[str]:
    return [
        r[0]
        for r in store.fetchall("SELECT DISTINCT channel FROM events WHERE channel IS NOT NULL ORDER BY 1")
    ]


def _days(w: Window) -> list[date]:
    return [w.start + timedelta(days=i) for i in range((w.end - w.start).days + 1)]


def _fill(w: Window, rows: dict[date, dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per day of the window, zeros where nothing happened (a flat line, not a gap)."""
    return [{"day": d.isoformat(), **{k: rows.get(d, {}).get(k) or 0 for k in keys}} for d in _days(w)]


def activity(store: Store, w: Window) -> dict[str, Any]:
    """Events and customers: per-day series and totals for the window."""
    cond, params = w.where()
    day = _DAY.format(col="timestamp")
    daily = store.records(
        f"SELECT {day} AS day, count(*) AS events, count(DISTINCT customer_id) AS customers, "
        "count_if(id_kind IS NOT NULL AND id_kind <> 'anonymous_id' AND NOT anonymized) AS identified "
        f"FROM events WHERE {cond} GROUP BY 1",
        params,
    )
    by_day = {r["day"]: r for r in daily}
    series = _fill(w, by_day, ("events", "customers", "identified"))
    for row in series:
        row["identified_share"] = (
            round(100.0 * row["identified"] / row["events"], 1) if row["events"] else 0.0
        )
    by_channel = store.records(
        f"SELECT {day} AS day, coalesce(channel, '(none)') AS channel, count(*) AS events "
        f"FROM events WHERE {cond} GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
    totals = store.fetchone(
        "SELECT count(*), count(DISTINCT customer_id), "
        "count_if(id_kind IS NOT NULL AND id_kind <> 'anonymous_id' AND NOT anonymized) "
        f"FROM events WHERE {cond}",
        params,
    ) or (0, 0, 0)
    return {
        "series": series,
        "by_channel": [{**r, "day": r["day"].isoformat()} for r in by_channel],
        "events": totals[0],
        "active_customers": totals[1],
        "identified_share": 100.0 * totals[2] / totals[0] if totals[0] else None,
        "known_customers": store.scalar("SELECT count(*) FROM profiles"),
    }


def commerce(store: Store, w: Window) -> dict[str, Any]:
    """Orders and revenue per day; revenue is summed per currency (never added across currencies)."""
    cond, params = w.where()
    currencies = store.fetchall(
        f"SELECT coalesce(currency, '?'), count(*), sum(revenue) FROM orders WHERE {cond} "
        "GROUP BY 1 ORDER BY 2 DESC",
        params,
    )
    main = currencies[0][0] if currencies else None
    daily = store.records(
        f"SELECT {_DAY.format(col='timestamp')} AS day, count(*) AS orders, "
        "CAST(sum(revenue) FILTER (WHERE coalesce(currency, '?') = ?) AS DOUBLE) AS revenue "
        f"FROM orders WHERE {cond} GROUP BY 1",
        [main, *params],
    )
    return {
        "series": _fill(w, {r["day"]: r for r in daily}, ("orders", "revenue")),
        "orders": sum(c[1] for c in currencies),
        "revenue": [{"currency": c[0], "orders": c[1], "revenue": c[2]} for c in currencies],
        "main_currency": main,
    }


def freshness(store: Store, now: datetime | None = None) -> dict[str, Any]:
    """When data last arrived, and arrivals per hour over the last 48 hours that had data."""
    latest = store.scalar("SELECT max(received_at) FROM events")
    if latest is None:
        return {"latest": None, "series": []}
    since = latest - timedelta(hours=48)
    hourly = store.records(
        "SELECT date_trunc('hour', timezone('UTC', received_at)) AS hour, count(*) AS events "
        "FROM events WHERE received_at > ? GROUP BY 1 ORDER BY 1",
        [since],
    )
    return {
        "latest": latest,
        "lag_seconds": ((now or datetime.now(UTC)) - latest).total_seconds(),
        "series": [{"hour": r["hour"].isoformat(), "events": r["events"]} for r in hourly],
    }


def sources(store: Store) -> list[dict[str, Any]]:
    """Every source that sent events: how much, over which channels, and when last."""
    return store.records(
        "SELECT coalesce(source, '(unknown)') AS source, count(*) AS events, "
        "string_agg(DISTINCT channel, ', ' ORDER BY channel) AS channels, max(received_at) AS last_received "
        "FROM events GROUP BY 1 ORDER BY events DESC LIMIT 100"
    )


def latest_events(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The live stream: newest arrivals, without identifiers or payloads (no personal data on screen)."""
    return store.records(
        "SELECT received_at, type, event, channel, source, customer_id FROM events "
        "ORDER BY received_at DESC LIMIT ?",
        [limit],
    )


def rejected(store: Store, limit: int = 50) -> dict[str, Any]:
    """Rejected events by reason, and the latest ones (their payloads stay hidden: they may hold PII)."""
    return {
        "by_reason": store.records(
            "SELECT reason, count(*) AS events, max(rejected_at) AS last FROM rejected_events "
            "GROUP BY 1 ORDER BY 2 DESC"
        ),
        "latest": store.records(
            "SELECT rejected_at, source, reason, field, detail FROM rejected_events "
            "ORDER BY rejected_at DESC LIMIT ?",
            [limit],
        ),
    }


def quality(store: Store, days: int = 14) -> dict[str, Any]:
    """Volume, completeness, validity, duplicates and tracking-plan violations over recent days.

    Stand-in until the quality room's report function exists (``cxlens.collect.quality``).
    """
    latest = store.scalar("SELECT max(received_at) FROM events")
    if latest is None:
        return {"volume": [], "metrics": None}
    since = latest - timedelta(days=days)
    volume = store.records(
        f"SELECT {_DAY.format(col='received_at')} AS day, count(*) AS events FROM events "
        "WHERE received_at > ? GROUP BY 1 ORDER BY 1",
        [since],
    )
    row = (
        store.fetchone(
            "SELECT count(*), count(DISTINCT message_id), count(customer_id), count(channel), "
            "count_if(context IS NOT NULL AND context <> '{}') FROM events WHERE received_at > ?",
            [since],
        )
        or (0,) * 5
    )
    bad = store.fetchone(
        "SELECT count(*), count_if(reason ILIKE '%plan%' OR reason ILIKE '%schema%') FROM rejected_events "
        "WHERE rejected_at > ?",
        [since],
    ) or (0, 0)
    total = row[0] or 1
    return {
        "volume": [{"day": r["day"].isoformat(), "events": r["events"]} for r in volume],
        "metrics": [
            ("Events received", f"{row[0]:,}", f"in the {days} days to the latest arrival"),
            ("With a customer", f"{100 * row[2] / total:.1f}%", "completeness: resolved to a customer"),
            ("With a channel", f"{100 * row[3] / total:.1f}%", "completeness: channel known"),
            (
                "With context",
                f"{100 * row[4] / total:.1f}%",
                "completeness: device, page or campaign context",
            ),
            (
                "Rejected",
                f"{100 * bad[0] / (bad[0] + row[0]) if bad[0] + row[0] else 0:.2f}%",
                "validity: share of messages turned away",
            ),
            ("Duplicates", f"{row[0] - row[1]:,}", "events sharing a messageId with another"),
            ("Tracking-plan violations", f"{bad[1]:,}", "rejected for not matching the tracking plan"),
        ],
    }
