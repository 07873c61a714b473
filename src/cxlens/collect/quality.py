"""Data quality: is the data arriving, complete, valid, unique and on time — per source and event.

``quality_report`` returns a typed ``QualityReport``; the CLI (``cxlens quality``) and the API
(``GET /v1/quality``) only render it. What each number means is in ``docs/quality.md``:

- volume: events per day (by event time) since ``since`` (default: the 30 days up to the latest
  event), per source × type × event, the busiest ``MAX_STREAMS`` streams;
- completeness: the share of events with each key field (an identifier, ``user_id``, ``channel``,
  and the key properties of known events, e.g. ``order_id``/``revenue`` of ``Order Completed``);
- validity: rejected rows by source and reason (``rejected_events``), and the share of all rows
  seen that were accepted;
- freshness: now minus the latest ``received_at`` per stream;
- tracking plan: violations per event and rule when ``settings.tracking_plan`` is set.

Duplicates are dropped by the pipeline before they reach ``events`` and not persisted per source,
so the report cannot give a duplicate rate from the store alone (``duplicates`` is None); imports
report theirs in their own ``ImportReport``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cxlens.collect.queries import latest_event_time
from cxlens.collect.tracking_plan import PlanCheck, check_plan, load_plan
from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.store import Store

MAX_STREAMS = 50
DEFAULT_DAYS = 30
# The properties (or traits) without which a known event is of little use downstream.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "Order Completed": ("order_id", "revenue", "currency", "products"),
    "Survey Responded": ("metric", "score"),
    "Review Submitted": ("rating",),
    "Product Viewed": ("product_id",),
    "Email Clicked": ("campaign",),
}
IDENTIFY_TRAITS = ("email",)


@dataclass(frozen=True)
class Stream:
    """One source × type × event."""

    source: str | None
    type: str
    event: str | None
    events: int
    daily: list[int]                  # one count per day from the report's ``since`` to ``until``
    completeness: dict[str, float]    # key field -> share of events that have it
    latest_received_at: datetime | None
    freshness_seconds: float | None


@dataclass(frozen=True)
class Rejection:
    source: str | None
    reason: str
    field: str | None
    count: int


@dataclass
class QualityReport:
    generated_at: datetime
    since: date
    until: date
    events: int
    rejected: int
    streams: list[Stream] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    plan: PlanCheck | None = None
    duplicates: int | None = None     # not persisted by the pipeline; see the module docstring

    @property
    def validity(self) -> float | None:
        """Accepted share of every row seen in the window (accepted + rejected)."""
        total = self.events + self.rejected
        return self.events / total if total else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["validity"] = self.validity
        return out


def _completeness_sql() -> tuple[str, list[str]]:
    """avg() per key field; a field of another event gives NULL, so the average skips it."""
    exprs = ["avg(CASE WHEN user_id IS NOT NULL OR anonymous_id IS NOT NULL THEN 1 ELSE 0 END)",
             "avg(CASE WHEN user_id IS NOT NULL THEN 1 ELSE 0 END)",
             "avg(CASE WHEN channel IS NOT NULL THEN 1 ELSE 0 END)"]
    names = ["identifier", "user_id", "channel"]
    for event, keys in KEY_FIELDS.items():
        for key in keys:
            literal = event.replace("'", "''")
            exprs.append(f"avg(CASE WHEN event = '{literal}' THEN (json_extract(properties, '$.{key}') "
                         f"IS NOT NULL AND json_extract(properties, '$.{key}') <> 'null'::JSON)::INT END)")
            names.append(f"properties.{key}")
    for trait in IDENTIFY_TRAITS:
        exprs.append(f"avg(CASE WHEN type = 'identify' THEN (json_extract(traits, '$.{trait}') "
                     f"IS NOT NULL)::INT END)")
        names.append(f"traits.{trait}")
    return ", ".join(exprs), names


def _window(store: Store, since: date | None) -> tuple[date, date]:
    latest = latest_event_time(store)
    until = (latest or datetime.now(UTC)).astimezone(UTC).date()
    start = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if start > until:
        until = start
    return start, until


def quality_report(store: Store, settings: Settings, *, since: date | None = None,
                   now: datetime | None = None) -> QualityReport:
    """The data-quality report of the store, from ``since`` (a date, UTC) to the latest event."""
    if since is not None and not isinstance(since, date):
        raise InvalidInputError("since must be a date such as 2024-05-01", field="since")
    now = now or datetime.now(UTC)
    start, until = _window(store, since)
    floor = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    completeness, names = _completeness_sql()
    rows = store.fetchall(
        f"SELECT source, type, event, count(*), max(received_at), {completeness} FROM events "
        "WHERE timestamp >= ? GROUP BY ALL ORDER BY count(*) DESC, source, type, event LIMIT ?",
        [floor, MAX_STREAMS])
    days = (until - start).days + 1
    daily: dict[tuple, list[int]] = {}
    for source, type_, event, day, count in store.fetchall(
        "SELECT source, type, event, CAST(timezone('UTC', timestamp) AS DATE) AS day, count(*) "
        "FROM events WHERE timestamp >= ? GROUP BY ALL", [floor]
    ):
        index = (day - start).days
        if 0 <= index < days:
            daily.setdefault((source, type_, event), [0] * days)[index] = count
    streams = []
    for source, type_, event, count, latest, *shares in rows:
        streams.append(Stream(
            source=source, type=type_, event=event, events=count,
            daily=daily.get((source, type_, event), [0] * days),
            completeness={n: round(float(s), 4) for n, s in zip(names, shares, strict=True) if s is not None},
            latest_received_at=latest,
            freshness_seconds=(now - latest).total_seconds() if latest else None,
        ))
    rejections = [Rejection(*r) for r in store.fetchall(
        "SELECT source, reason, field, count(*) FROM rejected_events WHERE rejected_at >= ? "
        "GROUP BY ALL ORDER BY count(*) DESC, source, reason", [floor])]
    total = store.fetchall("SELECT count(*) FROM events WHERE timestamp >= ?", [floor])[0][0]
    plan = None
    if settings.tracking_plan is not None:
        plan = check_plan(store, load_plan(settings.tracking_plan), floor)
    return QualityReport(generated_at=now, since=start, until=until, events=total,
                         rejected=sum(r.count for r in rejections), streams=streams,
                         rejections=rejections, plan=plan)
