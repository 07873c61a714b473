"""The overview's numbers, kept in memory per store and brought up to date incrementally.

Why not query ``events`` on every visit: distinct customers per day cost about 1 s per 500,000
events (DuckDB hashes every (day, customer) pair), which is seconds at a million customers. So the
console keeps a small daily summary — per UTC day × channel and per day for all channels: events,
identified events, distinct customers; per day × channel × currency: orders and revenue — and a
*freshness stamp* (row counts, latest arrival, latest merge, erasures). Each visit reads the stamp
(a few milliseconds) and then:

- nothing changed: the summary answers as is;
- events were appended: only the days those events fall on are recounted, plus the days of
  customers merged since (a merge moves events between customer ids, which changes distinct counts);
- anything else (an erasure deleted rows, counts do not add up): everything is recounted.

Distinct customers over a whole window cannot be added up from days, so each window's count is
computed on demand and kept until the stamp changes — or, while data keeps streaming in, for at
most ``WINDOW_MAX_AGE`` seconds, and the page says how old the figure is.

This summary belongs with the loader eventually (a ``daily_summary`` table updated in the load
transaction); until then it lives here, in the process that serves the console.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from cxlens.store import Store
from cxlens.web.queries import DAY_SQL, Window

T = TypeVar("T")
ALL = "*"  # the channel key of whole-day rows
NONE_CHANNEL = "(none)"
MAX_WINDOWS = 64  # windows whose distinct-customer count is kept (people use a few date ranges)
WINDOW_MAX_AGE = 60.0  # seconds a window's distinct-customer count may lag streaming data
_IDENTIFIED = "count_if(id_kind IS NOT NULL AND id_kind <> 'anonymous_id' AND NOT anonymized)"
_STAMP_SQL = """SELECT (SELECT count(*) FROM events), (SELECT max(received_at) FROM events),
    (SELECT count(*) FROM merges), (SELECT max(merged_at) FROM merges),
    (SELECT count(*) FROM orders), (SELECT count(*) FROM feedback),
    (SELECT count_if(action = 'erase') FROM audit_log)"""


@dataclass(frozen=True)
class Stamp:
    """What the summary was computed from; a different stamp means the data changed."""

    events: int
    latest_received: datetime | None
    merges: int
    latest_merge: datetime | None
    orders: int
    feedback: int
    erasures: int


@dataclass
class _WindowCount:
    stamp: Stamp
    computed: float
    customers: int


@dataclass
class DailySummary:
    """Per-day aggregates of one store (see the module docstring for how they stay fresh)."""

    store: Store
    stamp: Stamp | None = None
    refreshed_at: float = 0.0
    # (day, channel or ALL) -> [events, identified, customers]
    events: dict[tuple[date, str], list[int]] = field(default_factory=dict)
    # (day, channel, currency) -> [orders, revenue]
    orders: dict[tuple[date, str, str], list[Any]] = field(default_factory=dict)
    _windows: dict[Window, _WindowCount] = field(default_factory=dict)
    _memo: dict[Hashable, tuple[Stamp | None, datetime, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> Stamp:
        """Bring the summary up to date with the store; returns the stamp it now reflects."""
        with self._lock:
            row = self.store.fetchone(_STAMP_SQL) or (0, None, 0, None, 0, 0, 0)
            new = Stamp(*row)
            old = self.stamp
            if new == old:
                return new
            if old is None or not self._events_incrementally(old, new):
                self._recount_events(None)
            if old is None or (new.orders, new.erasures) != (old.orders, old.erasures):
                self._recount_orders()
            self.stamp, self.refreshed_at = new, time.time()
            self._memo.clear()  # every entry was computed from older data
            if len(self._windows) > MAX_WINDOWS:
                self._windows.clear()
            return new

    def _events_incrementally(self, old: Stamp, new: Stamp) -> bool:
        """Recount only the days touched since ``old``; False when that cannot be done safely."""
        if new.erasures != old.erasures or new.events < old.events:
            return False
        days: set[date] = set()
        if new.events != old.events or new.latest_received != old.latest_received:
            arrived, touched = self.store.fetchone(
                f"SELECT count(*), list(DISTINCT {DAY_SQL}) FROM events WHERE received_at > ?",
                [old.latest_received or datetime.min],
            ) or (0, [])
            if arrived != new.events - old.events:  # rows came in out of order, or some left
                return False
            days.update(touched or [])
        if new.merges != old.merges:
            days.update(r[0] for r in self.store.fetchall(
                f"SELECT DISTINCT {DAY_SQL} FROM events WHERE customer_id IN "
                "(SELECT into_customer_id FROM merges WHERE merged_at >= ?)",
                [old.latest_merge or datetime.min],
            ))
        if days:
            self._recount_events(days)
        return True

    def _recount_events(self, days: set[date] | None) -> None:
        """Recount events of ``days`` (all days when None) by day × channel and by day."""
        where, params = "", []
        if days is not None:
            where = f"WHERE timestamp >= ? AND timestamp < ? AND {DAY_SQL} IN (SELECT unnest(?))"
            params = [min(days), max(days) + timedelta(days=1), sorted(days)]
        rows = self.store.fetchall(
            f"SELECT {DAY_SQL} AS day, coalesce(channel, '{NONE_CHANNEL}') AS ch, grouping(ch), count(*), "
            f"{_IDENTIFIED}, count(DISTINCT customer_id) FROM events {where} "
            "GROUP BY GROUPING SETS ((day, ch), (day))",
            params,
        )
        if days is None:
            self.events.clear()
        else:
            for key in [k for k in self.events if k[0] in days]:
                del self.events[key]
        for day, channel, whole_day, n, identified, customers in rows:
            self.events[(day, ALL if whole_day else channel)] = [n, identified, customers]

    def _recount_orders(self) -> None:
        rows = self.store.fetchall(
            f"SELECT {DAY_SQL}, coalesce(channel, '{NONE_CHANNEL}'), coalesce(currency, '?'), count(*), "
            "sum(revenue) FROM orders GROUP BY ALL"
        )
        self.orders = {(d, ch, cur): [n, revenue or Decimal(0)] for d, ch, cur, n, revenue in rows}

    def memo(self, key: Hashable, compute: Callable[[], T]) -> tuple[T, datetime]:
        """``compute()``'s result, kept until the data stamp changes; and when it was computed.

        For core reports that read much of the store (data quality, themes, CLV): visits in between
        cost nothing. Two first visits at once may both compute; the later result is kept.
        """
        stamp = self.stamp
        cached = self._memo.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[2], cached[1]
        value, at = compute(), datetime.now(UTC)
        self._memo[key] = (stamp, at, value)
        return value, at

    def channels(self) -> list[str]:
        return sorted({ch for _, ch in self.events if ch != ALL})

    def latest_day(self) -> date | None:
        return max((d for d, _ in self.events), default=None)

    def active_customers(self, w: Window) -> tuple[int, float]:
        """Distinct customers with an event in the window, and when that count was taken."""
        with self._lock:
            stamp = self.stamp
            cached = self._windows.get(w)
            if cached and (cached.stamp == stamp or time.time() - cached.computed < WINDOW_MAX_AGE):
                return cached.customers, cached.computed
        cond, params = w.where()
        customers = int(self.store.scalar(f"SELECT count(DISTINCT customer_id) FROM events WHERE {cond}",
                                          params) or 0)
        entry = _WindowCount(stamp, time.time(), customers)  # type: ignore[arg-type]
        with self._lock:
            self._windows[w] = entry
        return customers, entry.computed


_summaries: weakref.WeakKeyDictionary[Store, DailySummary] = weakref.WeakKeyDictionary()
_summaries_lock = threading.Lock()


def summary_of(store: Store) -> DailySummary:
    """The store's summary, refreshed to its current stamp (one per store per process)."""
    with _summaries_lock:
        summary = _summaries.get(store)
        if summary is None:
            summary = _summaries[store] = DailySummary(store)
    summary.refresh()
    return summary


def activity(summary: DailySummary, w: Window) -> dict[str, Any]:
    """Events and customers per day of the window, per channel, and over the window."""
    key = w.channel or ALL
    series, by_channel = [], []
    events = identified = 0
    for day in w.days():
        n, ident, customers = summary.events.get((day, key), (0, 0, 0))
        events, identified = events + n, identified + ident
        series.append({"day": day.isoformat(), "events": n, "customers": customers, "identified": ident,
                       "identified_share": round(100.0 * ident / n, 1) if n else 0.0})
        for channel in [w.channel] if w.channel else summary.channels():
            if (day, channel) in summary.events:
                by_channel.append({"day": day.isoformat(), "channel": channel,
                                   "events": summary.events[(day, channel)][0]})
    active, counted_at = summary.active_customers(w) if events else (0, time.time())
    return {"series": series, "by_channel": by_channel, "events": events, "active_customers": active,
            "active_counted_at": datetime.fromtimestamp(counted_at, UTC),
            "identified_share": 100.0 * identified / events if events else None}


def commerce(summary: DailySummary, w: Window) -> dict[str, Any]:
    """Orders and revenue per day; revenue is summed per currency (never added across currencies)."""
    in_window = [(d, cur, n, revenue) for (d, ch, cur), (n, revenue) in summary.orders.items()
                 if w.start <= d <= w.end and (not w.channel or ch == w.channel)]
    per_currency: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for _, cur, n, revenue in in_window:
        per_currency[cur][0] += n
        per_currency[cur][1] += revenue
    ranked = sorted(per_currency.items(), key=lambda kv: -kv[1][0])
    main = ranked[0][0] if ranked else None
    daily: dict[date, list[float]] = defaultdict(lambda: [0, 0.0])
    for d, cur, n, revenue in in_window:
        daily[d][0] += n
        if cur == main:
            daily[d][1] += float(revenue)
    return {
        "series": [{"day": d.isoformat(), "orders": daily[d][0], "revenue": daily[d][1]} for d in w.days()],
        "orders": sum(n for n, _ in per_currency.values()),
        "revenue": [{"currency": cur, "orders": n, "revenue": revenue} for cur, (n, revenue) in ranked],
        "main_currency": main,
    }
