"""Read-only queries behind console panels that no core room answers yet.

The overview's filters (``Window``), data freshness, sources, and the list of recently seen
customers. Each is one aggregate or one index read, so pages stay fast on a store of a million
customers. Days are UTC calendar days. The overview's daily numbers live in ``cxlens.web.summary``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cxlens.collect.queries import latest_event_time
from cxlens.errors import InvalidInputError
from cxlens.profiles.search import page_count
from cxlens.store import Store

DEFAULT_DAYS = 30
MAX_DAYS = 366
DAY_SQL = "CAST(timezone('UTC', timestamp) AS DATE)"
PAGE_SIZE = 50


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
        sql = f"{column} >= ? AND {column} < ?"
        params: list[Any] = [self.since, self.until]
        if self.channel:
            sql += f" AND {channel_column} = ?"
            params.append(self.channel)
        return sql, params

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


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
        latest = latest_event_time(store)
        last = latest.astimezone(UTC).date() if latest else datetime.now(UTC).date()
    first = _parse_date(start, "start") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInputError("the start date is after the end date: swap them", field="start")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInputError(f"pick a range of at most {MAX_DAYS} days", field="start")
    return Window(first, last, channel or None)


def freshness(store: Store) -> dict[str, Any]:
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
        "series": [{"hour": r["hour"].isoformat(), "events": r["events"]} for r in hourly],
    }


def sources(store: Store) -> list[dict[str, Any]]:
    """Every source that sent events: how much, over which channels, and when last."""
    return store.records(
        "SELECT coalesce(source, '(unknown)') AS source, count(*) AS events, "
        "string_agg(DISTINCT channel, ', ' ORDER BY channel) AS channels, max(received_at) AS last_received "
        "FROM events GROUP BY 1 ORDER BY events DESC LIMIT 100"
    )


def recent_customers(store: Store, page: int = 1) -> dict[str, Any]:
    """The most recently seen customers, a page at a time, with their e-mail when known.

    The customers page opens on this list; searching goes through ``profiles.view`` instead.
    """
    total = store.scalar("SELECT count(*) FROM profiles")
    pages = page_count(total, page, PAGE_SIZE)
    rows = store.records(
        # One sort key: a tie-breaker makes DuckDB's top-N three times slower at a million profiles.
        "SELECT customer_id, first_seen, last_seen FROM profiles ORDER BY last_seen DESC LIMIT ? OFFSET ?",
        [PAGE_SIZE, (page - 1) * PAGE_SIZE])
    # A second read for the page's 50 ids: a correlated subquery would join all of identities.
    emails = dict(store.fetchall(
        "SELECT customer_id, min(value) FROM identities WHERE customer_id IN (SELECT unnest(?)) "
        "AND kind = 'email' GROUP BY 1", [[r["customer_id"] for r in rows]]))
    for row in rows:
        row["email"] = emails.get(row["customer_id"])
    return {"rows": rows, "total": total, "page": page, "pages": pages}


# A computed trait's number: the value itself, or the first numeric field a model wrote it under.
_TRAIT_NUMBER = ("coalesce(TRY_CAST(value::VARCHAR AS DOUBLE), "
                 + ", ".join(f"TRY_CAST(json_extract_string(value, '$.{k}') AS DOUBLE)"
                             for k in ("value", "score", "clv", "p_alive", "expected_value", "prediction"))
                 + ")")


def trait_numbers(store: Store, name: str, bins: int = 10, top: int = 20) -> dict[str, Any]:
    """A numeric computed trait across customers: how many, a histogram, the highest, and its models."""
    count, low, high = store.fetchone(
        f"SELECT count(v), min(v), max(v) FROM (SELECT {_TRAIT_NUMBER} AS v FROM computed_traits "
        "WHERE name = ?)", [name]) or (0, None, None)
    if not count:
        return {"count": 0}
    width = (high - low) / bins or 1.0
    histogram = store.fetchall(
        f"SELECT least(CAST(floor(({_TRAIT_NUMBER} - ?) / ?) AS INT), ?) AS bin, count(*) "
        "FROM computed_traits WHERE name = ? AND bin IS NOT NULL GROUP BY 1 ORDER BY 1",
        [low, width, bins - 1, name])
    return {
        "count": count,
        "histogram": [{"from": f"{low + b * width:,.2f}", "customers": n} for b, n in histogram],
        "top": store.records(
            f"SELECT customer_id, {_TRAIT_NUMBER} AS value FROM computed_traits WHERE name = ? "
            "ORDER BY value DESC NULLS LAST, customer_id LIMIT ?", [name, top]),
        "models": model_of_traits(store, name),
    }


def model_of_traits(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """Which model and version wrote each computed trait, for how many customers, and when."""
    where, params = ("WHERE name = ?", [name]) if name else ("", [])
    return store.records(
        "SELECT name, model, model_version, count(*) AS customers, min(computed_at) AS first_computed, "
        f"max(computed_at) AS last_computed FROM computed_traits {where} GROUP BY ALL "
        "ORDER BY name, last_computed DESC", params)


def model_runs(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """Trained models recorded by the analytics rooms (``model_runs``), newest first."""
    return store.records(
        "SELECT model, model_version, trained_at, as_of, report, artifact FROM model_runs "
        "ORDER BY trained_at DESC LIMIT ?", [limit])
