"""What the decision path knows about people, held in memory and refreshed from the store.

A decision must not wait on the database, so consent, the few traits decisions use (time zone, city,
churn risk, value) and open service issues are snapshots. Consent is re-read whenever the
personalization choices in ``consent_events`` change (checked every ``refresh_seconds``, one second
by default), so a withdrawal takes effect within about a second of being loaded; a refusal sent with
the request itself takes effect at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from cxlens import jsonutil
from cxlens.config import Settings
from cxlens.privacy.consent import LATEST_GRANTED
from cxlens.store import Store

log = logging.getLogger(__name__)

PURPOSES = ("personalization", "marketing")  # the purposes decisions depend on
ISSUE_DAYS = 30  # a detractor score or a support ticket newer than this is an open issue


@dataclass(frozen=True)
class Facts:
    """One person's facts for a decision (None where unknown)."""

    churn_risk: float | None = None
    clv: float | None = None
    timezone: str | None = None
    city: str | None = None
    open_issue: str | None = None  # why a service follow-up is due, in words


SLICE_ROWS = 5_000  # rows converted to Python objects at a time by a snapshot rebuild


def fetch_in_slices(store: Store, sql: str, params: list[Any] | None = None,
                    size: int | None = None) -> Iterator[list[tuple]]:
    """A query's rows, ``size`` at a time, handing the GIL to waiting threads between slices.

    Snapshots are rebuilt on the refresh thread while the event loop answers decisions. Converting a
    result to Python objects holds the GIL for the whole call, and so do ``sorted``, ``dict(rows)`` and
    ``frozenset(...)`` over a whole result: at a million identifiers a rebuild kept the event loop
    waiting up to 330 ms at a time (consent: 133 ms, one trait column: 65 ms). In slices of 5,000 rows
    each hold is a millisecond or two, and ``time.sleep(0)`` between them lets the loop in (measured
    after the change: 11–22 ms longest waits, from the final concatenation and the machine). The cursor is
    this thread's: drain the iterator before the next query.
    """
    cursor = store.execute(sql, params)
    while rows := cursor.fetchmany(size or SLICE_ROWS):
        yield rows
        time.sleep(0)


class Column:
    """A sorted id → value lookup in numpy: compact for millions of people, O(log n) per lookup.

    Both arrays hold Python objects but are numpy arrays, which the garbage collector does not track:
    a dict or set of a million entries is walked by every full collection (tens of ms, GIL held)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        pairs = sorted((str(k), v) for k, v in pairs if k is not None and v is not None)
        self.ids = np.array([k for k, _ in pairs], dtype=object)
        self.values = np.empty(len(pairs), dtype=object)
        self.values[:] = [v for _, v in pairs]

    @classmethod
    def from_slices(cls, slices: Iterable[list[tuple[str, Any]]]) -> Column:
        """From rows already ordered by id (SQL ``ORDER BY``; DuckDB's default collation is binary, the
        order of Python's ``str``), built slice by slice: no sort, no dict to grow and rehash, and no
        call over every row at once, so the GIL is never held for long (``fetch_in_slices``)."""
        column = cls([])
        ids: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for rows in slices:
            kept = [(k, v) for k, v in rows if k is not None and v is not None]
            ids.append(np.array([k for k, _ in kept], dtype=object))
            values.append(np.empty(len(kept), dtype=object))
            values[-1][:] = [v for _, v in kept]
        if ids:
            column.ids, column.values = np.concatenate(ids), np.concatenate(values)
        return column

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def get(self, key: str) -> Any:
        i = int(np.searchsorted(self.ids, key))
        return self.values[i] if i < len(self.ids) and self.ids[i] == key else None

    def __len__(self) -> int:
        return len(self.ids)


def _number(raw: Any, keys: tuple[str, ...]) -> float | None:
    """A computed trait's number: the value itself, or the first of ``keys`` in an object."""
    value = jsonutil.loads(raw) if isinstance(raw, str | bytes) else raw
    if isinstance(value, dict):
        value = next((value[k] for k in keys if isinstance(value.get(k), int | float)), None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class CustomerState:
    """Snapshots of consent, traits and open issues; ``refresh`` re-reads what changed."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.defaults = {p: bool(settings.consent_defaults.get(p, False)) for p in PURPOSES}
        self._consent_mark: tuple | None = None
        self._consent: dict[str, Column] = {p: Column([]) for p in PURPOSES}
        self._facts: dict[str, Column] = {}
        self._issues = Column([])

    def refresh(self, now: datetime | None = None, facts: bool = True) -> bool:
        """Re-read consent if it changed; with ``facts`` also traits and open issues. True when
        anything was re-read (the engine then freezes the new objects out of the collector's way)."""
        # consent_events only grows, except by erasure, which also writes audit_log: counts and the
        # newest time see every change in ~1 ms (a hash over a million rows cost ~30 ms of CPU a second)
        mark = self.store.fetchone("""
            SELECT (SELECT count(*) FROM consent_events), (SELECT max(decided_at) FROM consent_events),
                   (SELECT count(*) FROM audit_log)""")
        if mark != self._consent_mark:
            self._consent = {p: Column.from_slices(
                [(c, g) for _, c, g in rows] for rows in fetch_in_slices(self.store, f"""
                    SELECT purpose, customer_id, {LATEST_GRANTED}
                    FROM consent_events WHERE purpose = ? AND customer_id IS NOT NULL
                    GROUP BY purpose, customer_id ORDER BY customer_id""", [p])) for p in PURPOSES}
            self._consent_mark = mark
            log.info("consent reloaded: %d explicit choices", sum(map(len, self._consent.values())))
            changed = True
        else:
            changed = False
        if facts:
            self._load_facts(now or datetime.now(UTC))
        return changed or facts

    def _load_facts(self, now: datetime) -> None:
        def computed(name: str, keys: tuple[str, ...]) -> Column:
            return Column.from_slices([(c, _number(v, keys)) for c, v in rows] for rows in fetch_in_slices(
                self.store, "SELECT customer_id, value FROM computed_traits WHERE name = ? "
                            "ORDER BY customer_id", [name]))  # one row per person and name (primary key)

        def trait(name: str) -> Column:
            return Column.from_slices(fetch_in_slices(
                self.store, "SELECT customer_id, json_extract_string(value, '$') AS v FROM traits "
                            "WHERE name = ? ORDER BY customer_id", [name]))

        self._facts = {
            "churn_risk": computed("churn_risk", ("churn_risk", "probability", "risk", "value", "score")),
            "clv": computed("clv", ("clv", "value", "expected_value", "prediction")),
            "timezone": trait("timezone"), "city": trait("city"),
        }
        since = now - timedelta(days=ISSUE_DAYS)
        self._issues = Column.from_slices(fetch_in_slices(self.store, """
            SELECT customer_id, arg_max(why, happened_at) FROM (
                SELECT customer_id, timestamp AS happened_at,
                       'you told us you were unhappy (' || metric || ' ' || score::INTEGER || ')' AS why
                FROM feedback
                WHERE customer_id IS NOT NULL AND timestamp >= ?
                  AND ((metric = 'nps' AND score <= 6) OR (metric IN ('csat', 'rating') AND score <= 2))
                UNION ALL
                SELECT customer_id, timestamp, 'you contacted support recently'
                FROM events WHERE type = 'track' AND event = 'Support Ticket Created'
                  AND customer_id IS NOT NULL AND timestamp >= ?)
            GROUP BY customer_id ORDER BY customer_id""", [since, since]))

    def granted(self, purpose: str, customer_id: str | None,
                request_consent: dict[str, bool] | None = None) -> bool:
        """Has this person consented to ``purpose``? A refusal in the request itself always wins; an
        anonymous visitor has only what the request grants."""
        if request_consent is not None and request_consent.get(purpose) is False:
            return False
        if customer_id is None:
            return bool(request_consent and request_consent.get(purpose))
        choice = self._consent[purpose].get(customer_id)
        return self.defaults[purpose] if choice is None else bool(choice)

    def facts(self, customer_id: str | None) -> Facts:
        if customer_id is None:
            return Facts()
        return Facts(**{name: column.get(customer_id) for name, column in self._facts.items()},
                     open_issue=self._issues.get(customer_id))
