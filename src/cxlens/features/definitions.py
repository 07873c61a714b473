"""The per-customer features, written once as Ibis expressions over the engine's input tables.

Point-in-time rule: features "as of" a moment read only rows strictly before it (``ts < as_of``);
nothing later can change them. Times are UTC epoch seconds (see :mod:`cxlens.features.engine`), so
every window below is plain arithmetic and compiles the same on DuckDB and Spark.

Each block aggregates one input once (one scan) and the blocks are left-joined onto the spine of
customers seen before ``as_of``. Counts default to 0; values that do not exist for a customer (the
recency of someone who never bought, the spread of one interval) stay missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
from ibis import _

from cxlens.features.engine import Engine

DAY = 86400.0
MONTH = 365.25 / 12  # days
SESSION_GAP_S = 30 * 60  # a new session starts after 30 idle minutes (Google Analytics' default)
RECENT_DAYS = (30, 90)
EMAIL_OPEN_EVENTS = ("Email Opened",)
EMAIL_CLICK_EVENTS = ("Email Link Clicked", "Email Clicked")
SUPPORT_EVENTS = ("Support Ticket Created",)
ENGAGEMENT_TYPES = ("track", "page", "screen")
PURPOSES = ("analytics", "personalization", "marketing")
MAX_LEVELS = 16  # most categories / channels that get a share column each (the largest ones)


@dataclass(frozen=True)
class Levels:
    """The category and channel values that get share columns, with their column-name slugs."""

    categories: tuple[str, ...]
    channels: tuple[str, ...]

    @staticmethod
    def slugs(values: Sequence[str]) -> list[str]:
        """Column-safe, unique names: ``Home & Garden`` → ``home_garden``; empty → ``none``."""
        out: list[str] = []
        for value in values:
            slug = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_") or "none"
            base, n = slug, 2
            while slug in out:
                slug, n = f"{base}_{n}", n + 1
            out.append(slug)
        return out


def _before(table: ibis.Table, as_of_s: float, customers: Sequence[str] | None) -> ibis.Table:
    kept = table.filter(table.ts < as_of_s)
    return kept.filter(kept.customer_id.isin(list(customers))) if customers is not None else kept


def _count(condition: ibis.BooleanValue) -> ibis.IntegerValue:
    # COUNT, not SUM: a sum of integers is a 128-bit HUGEINT on DuckDB but a BIGINT on Spark
    return condition.ifelse(1, ibis.null()).count()


def levels_as_of(engine: Engine, as_of_s: float) -> Levels:
    """The largest categories (by spend) and channels (by events) before ``as_of`` — so that even the
    set of feature columns is point-in-time."""
    orders = engine.tables["orders"].filter(_.ts < as_of_s)
    items = engine.tables["items"].join(orders.select("order_id"), "order_id")
    cats = items.group_by("category").aggregate(n=_.amount.sum()).order_by([ibis.desc("n"), "category"])
    events = engine.tables["events"].filter(_.ts < as_of_s)
    chans = events.group_by("channel").aggregate(n=_.count()).order_by([ibis.desc("n"), "channel"])
    return Levels(tuple(engine.execute(cats.limit(MAX_LEVELS))["category"]),
                  tuple(engine.execute(chans.limit(MAX_LEVELS))["channel"]))


def _purchases(engine: Engine, as_of_s: float, customers: Sequence[str] | None) -> ibis.Table:
    orders = _before(engine.tables["orders"], as_of_s, customers)
    gap = orders.ts - orders.ts.lag().over(group_by=orders.customer_id, order_by=orders.ts)
    orders = orders.mutate(gap_days=gap / DAY, revenue=orders.revenue.fill_null(0.0))
    recent = {f"orders_{d}d": _count(orders.ts >= as_of_s - d * DAY) for d in RECENT_DAYS}
    return orders.group_by("customer_id").aggregate(
        frequency=orders.order_id.nunique(),
        purchase_days=(orders.ts // DAY).nunique(),
        monetary=orders.revenue.sum(),
        first_order_s=orders.ts.min(),
        last_order_s=orders.ts.max(),
        ipt_mean_days=orders.gap_days.mean(),
        ipt_std_days=orders.gap_days.std(how="sample"),
        revenue_90d=(orders.ts >= as_of_s - 90 * DAY).ifelse(orders.revenue, 0.0).sum(),
        **recent,
    )


def _categories(engine: Engine, as_of_s: float, customers: Sequence[str] | None,
                levels: Levels) -> ibis.Table:
    orders = _before(engine.tables["orders"], as_of_s, customers).select("order_id", "customer_id")
    items = engine.tables["items"].join(orders, "order_id")
    shares = {f"category_share_{slug}": (items.category == value).ifelse(items.amount, 0.0).sum()
              for value, slug in zip(levels.categories, Levels.slugs(levels.categories), strict=True)}
    return items.group_by("customer_id").aggregate(item_spend=items.amount.sum(), **shares)


def _engagement(engine: Engine, as_of_s: float, customers: Sequence[str] | None,
                levels: Levels) -> ibis.Table:
    ev = _before(engine.tables["events"], as_of_s, customers)
    gap = ev.ts - ev.ts.lag().over(group_by=ev.customer_id, order_by=ev.ts)
    ev = ev.mutate(new_session=gap.isnull() | (gap > SESSION_GAP_S))
    recent = {f"events_{d}d": _count(ev.ts >= as_of_s - d * DAY) for d in RECENT_DAYS}
    channels = {f"channel_share_{slug}": _count(ev.channel == value)
                for value, slug in zip(levels.channels, Levels.slugs(levels.channels), strict=True)}
    return ev.group_by("customer_id").aggregate(
        events=ev.count(),
        sessions=_count(ev.new_session),
        active_days=(ev.ts // DAY).nunique(),
        page_views=_count(ev.type == "page"),
        screen_views=_count(ev.type == "screen"),
        email_opens=_count(ev.event.isin(EMAIL_OPEN_EVENTS)),
        email_clicks=_count(ev.event.isin(EMAIL_CLICK_EVENTS)),
        support_tickets=_count(ev.event.isin(SUPPORT_EVENTS)),
        first_seen_s=ev.ts.min(),
        last_seen_s=ev.ts.max(),
        **recent,
        **channels,
    )


def _feedback(engine: Engine, as_of_s: float, customers: Sequence[str] | None) -> ibis.Table:
    fb = _before(engine.tables["feedback"], as_of_s, customers)
    scores = engine.table("comment_scores")
    if scores is not None:
        fb = fb.left_join(scores, "message_id").select(fb, scores.sentiment)
    else:
        fb = fb.mutate(sentiment=ibis.null("float64"))
    return fb.group_by("customer_id").aggregate(
        feedback_responses=fb.count(),
        latest_nps=fb.score.argmax(fb.ts, where=fb.metric == "nps"),
        latest_csat=fb.score.argmax(fb.ts, where=fb.metric == "csat"),
        mean_sentiment=fb.sentiment.mean(),
    )


def _consent(engine: Engine, as_of_s: float, customers: Sequence[str] | None) -> ibis.Table:
    """Each customer's choice per purpose as of the moment: the latest, a refusal winning ties."""
    ce = _before(engine.tables["consent"], as_of_s, customers)
    ce = ce.mutate(latest=ce.ts.max().over(group_by=[ce.customer_id, ce.purpose]))
    ce = ce.filter(ce.ts == ce.latest)
    return ce.group_by("customer_id").aggregate(
        **{f"choice_{p}": ce.granted.min(where=ce.purpose == p) for p in PURPOSES})


def feature_query(engine: Engine, as_of_s: float, *, levels: Levels,
                  consent_defaults: Mapping[str, bool],
                  customers: Sequence[str] | None = None) -> ibis.Table:
    """One table expression: a row per customer seen before ``as_of_s``, a column per feature."""
    ev_ids = _before(engine.tables["events"], as_of_s, customers).select("customer_id")
    od_ids = _before(engine.tables["orders"], as_of_s, customers).select("customer_id")
    spine = ev_ids.union(od_ids, distinct=True)
    p = _purchases(engine, as_of_s, customers)
    c = _categories(engine, as_of_s, customers, levels)
    e = _engagement(engine, as_of_s, customers, levels)
    f = _feedback(engine, as_of_s, customers)
    k = _consent(engine, as_of_s, customers)
    joined = spine
    for block in (p, c, e, f, k):
        joined = joined.left_join(block, "customer_id").drop("customer_id_right")

    def zero(col: ibis.Value) -> ibis.Value:
        return col.fill_null(0)

    def share(part: ibis.Value, whole: ibis.Value) -> ibis.Value:
        return (whole > 0).ifelse(zero(part) / whole, 0.0)

    first_s = ibis.least(joined.first_seen_s.fill_null(joined.first_order_s),
                         joined.first_order_s.fill_null(joined.first_seen_s))
    frequency = zero(joined.frequency)
    out = {
        "recency_days": (as_of_s - joined.last_order_s) / DAY,
        "frequency": frequency,
        "monetary": zero(joined.monetary),
        "avg_order_value": (frequency > 0).ifelse(zero(joined.monetary) / frequency, ibis.null("float64")),
        "purchase_days": zero(joined.purchase_days),
        "first_purchase_days": (as_of_s - joined.first_order_s) / DAY,
        "tenure_days": (as_of_s - first_s) / DAY,
        "ipt_mean_days": joined.ipt_mean_days,
        "ipt_std_days": joined.ipt_std_days,
        # rates and ratios stay comparable as customers age, where raw counts and spans drift
        "orders_per_month": frequency * MONTH / ibis.greatest((as_of_s - joined.first_order_s) / DAY, 1.0),
        "recency_over_interval": (joined.ipt_mean_days > 0).ifelse(
            (as_of_s - joined.last_order_s) / DAY / joined.ipt_mean_days, ibis.null("float64")),
        **{f"orders_{d}d": zero(joined[f"orders_{d}d"]) for d in RECENT_DAYS},
        "revenue_90d": zero(joined.revenue_90d),
        **{f"category_share_{s}": share(joined[f"category_share_{s}"], joined.item_spend)
           for s in Levels.slugs(levels.categories)},
        **{f"channel_share_{s}": share(joined[f"channel_share_{s}"], joined.events)
           for s in Levels.slugs(levels.channels)},
        "events": zero(joined.events),
        **{f"events_{d}d": zero(joined[f"events_{d}d"]) for d in RECENT_DAYS},
        "sessions": zero(joined.sessions),
        "active_days": zero(joined.active_days),
        "page_views": zero(joined.page_views),
        "screen_views": zero(joined.screen_views),
        "days_since_last_event": (as_of_s - joined.last_seen_s) / DAY,
        "email_opens": zero(joined.email_opens),
        "email_clicks": zero(joined.email_clicks),
        "email_click_rate": share(joined.email_clicks, joined.email_opens),
        "support_tickets": zero(joined.support_tickets),
        "feedback_responses": zero(joined.feedback_responses),
        "latest_nps": joined.latest_nps,
        "latest_csat": joined.latest_csat,
        "mean_sentiment": joined.mean_sentiment,
        **{f"consent_{p}": joined[f"choice_{p}"].fill_null(int(bool(consent_defaults.get(p, False))))
           for p in PURPOSES},
    }
    return joined.select("customer_id", **out).order_by("customer_id")


def purchases_between(engine: Engine, start_s: float, end_s: float) -> ibis.Table:
    """Orders per customer in ``[start_s, end_s)`` — the outcome window of churn labels."""
    orders = engine.tables["orders"]
    window = orders.filter((orders.ts >= start_s) & (orders.ts < end_s))
    return window.group_by("customer_id").aggregate(future_orders=window.order_id.nunique())


def engagement_hours(engine: Engine, as_of_s: float, customers: Sequence[str] | None = None
                     ) -> ibis.Table:
    """Engagement events per customer and UTC hour of the week (0 = Monday 00:00-01:00).

    1970-01-01 was a Thursday, so the Monday-based weekday of a day number ``d`` is ``(d + 3) % 7``.
    """
    ev = _before(engine.tables["events"], as_of_s, customers)
    ev = ev.filter(ev.type.isin(ENGAGEMENT_TYPES))
    seconds = ev.ts.cast("int64")
    how = ((seconds // 86400 + 3) % 7) * 24 + (seconds // 3600) % 24
    return ev.mutate(hour_of_week=how).group_by(["customer_id", "hour_of_week"]).aggregate(n=_.count())


def data_end(engine: Engine) -> float | None:
    """The latest event or order time in the store (epoch seconds), or None when it is empty."""
    ends = [engine.scalar(engine.tables[name].ts.max()) for name in ("events", "orders")]
    found = [float(v) for v in ends if v is not None and v == v]
    return max(found) if found else None
