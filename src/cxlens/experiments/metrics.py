"""Per-variant sufficient statistics computed in the store, then analysed by the stats engine.

One SQL statement per metric: each unit's first exposure (units seen in more than one variant are
left out, as GrowthBook does), its metric value after exposure (within an optional window), its
denominator for ratio metrics and, for CUPED, the same quantities over a pre-exposure period; then
n, Σ, Σ² and every cross-product per variant. Only these sums leave the database, so the analysis
scales with the number of variants, not of units.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.experiments.stats import compare
from cxlens.store import Store

log = logging.getLogger(__name__)

MetricKind = Literal["conversion", "count", "revenue", "order_value"]
KINDS: tuple[str, ...] = ("conversion", "count", "revenue", "order_value")

# Each source yields (unit, timestamp, numerator, denominator) rows.
_EVENT_SOURCE = ("SELECT customer_id AS uid, timestamp AS ts, 1.0::DOUBLE AS m, 1.0::DOUBLE AS d "
                 "FROM events WHERE event = ?")
_ORDER_SOURCE = ("SELECT customer_id AS uid, timestamp AS ts, CAST(revenue AS DOUBLE) AS m, 1.0::DOUBLE AS d "
                 "FROM orders")


@dataclass(frozen=True)
class MetricDefinition:
    """What to measure per unit after exposure.

    ``conversion``: did the unit send ``event`` (0/1); ``count``: how many ``event``s;
    ``revenue``: Σ order revenue per unit; ``order_value``: Σ revenue / number of orders (a ratio
    metric). ``window_days`` bounds the post-exposure period; ``cuped_days`` adds a pre-exposure
    covariate of that length (CUPED).
    """

    name: str
    kind: MetricKind
    event: str | None = None
    window_days: float | None = None
    cuped_days: float | None = None
    guardrail: bool = False
    inverse: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInputError(f"metric {self.name!r}: unknown kind {self.kind!r}; use one of "
                                    f"{', '.join(KINDS)}", field="kind")
        if self.kind in ("conversion", "count") and not self.event:
            raise InvalidInputError(f"metric {self.name!r}: a {self.kind} metric needs the event name",
                                    field="event")
        for name in ("window_days", "cuped_days"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InvalidInputError(f"metric {self.name!r}: {name} must be positive", field=name)

    @property
    def statistic_type(self) -> str:
        base = "ratio" if self.kind == "order_value" else "mean"
        if self.cuped_days:
            return f"{base}_cuped"
        return "proportion" if self.kind == "conversion" else base


FIELDS = {
    "proportion": ("n", "sum"),
    "mean": ("n", "sum", "sum_squares"),
    "mean_cuped": ("n", "sum", "sum_squares", "pre_sum", "pre_sum_squares", "post_pre_sum_products"),
    "ratio": ("n", "sum", "sum_squares", "denominator_sum", "denominator_sum_squares", "sum_products"),
}
FIELDS["ratio_cuped"] = (*FIELDS["ratio"], "pre_sum", "pre_sum_squares", "post_pre_sum_products",
                         "pre_denominator_sum", "pre_denominator_sum_squares",
                         "denominator_post_pre_sum_products", "pre_sum_products",
                         "post_pre_denominator_sum_products", "pre_post_denominator_sum_products")


def _unit_value(kind: str, period: str) -> tuple[str, str]:
    """SQL aggregates for a unit's numerator and denominator over its rows in ``period``."""
    if kind == "conversion":
        return f"CAST(count(*) FILTER (WHERE {period}) > 0 AS DOUBLE)", "0.0::DOUBLE"
    m = f"coalesce(sum(s.m) FILTER (WHERE {period}), 0.0)"
    if kind == "order_value":
        return m, f"coalesce(sum(s.d) FILTER (WHERE {period}), 0.0)"
    return m, "0.0::DOUBLE"


def _sql(metric: MetricDefinition, units: str) -> tuple[str, list[Any]]:
    """Per-variant sums over the units that have any metric rows; parameters in placeholder order.

    One join of the source with the exposed units covers both the post-exposure period and the CUPED
    pre-period (split by FILTER). Units without rows contribute zeros to every sum, so only active
    units are joined; unit counts come from the units table itself.
    """
    source, params = ((_EVENT_SOURCE, [metric.event]) if metric.kind in ("conversion", "count")
                      else (_ORDER_SOURCE, []))
    m_post, d_post = _unit_value(metric.kind, "s.ts >= u.exposed_at")
    lower = "u.exposed_at"
    m_pre, d_pre = "0.0::DOUBLE", "0.0::DOUBLE"
    if metric.cuped_days:
        lower = "u.exposed_at - to_seconds(?)"
        params.append(metric.cuped_days * 86400)
        m_pre, d_pre = _unit_value(metric.kind, "s.ts < u.exposed_at")
    upper = ""
    if metric.window_days:
        upper = " AND s.ts < u.exposed_at + to_seconds(?)"
        params.append(metric.window_days * 86400)
    sql = f"""
        WITH src AS ({source}),
        active AS (
            SELECT any_value(u.variant) AS variant, {m_post} AS m, {d_post} AS d, {m_pre} AS mp, {d_pre} AS dp
            FROM {units} u JOIN src s ON s.uid = u.uid AND s.ts >= {lower}{upper}
            GROUP BY u.uid)
        SELECT variant, sum(m) AS sum, sum(m * m) AS sum_squares,
               sum(d) AS denominator_sum, sum(d * d) AS denominator_sum_squares,
               sum(m * d) AS sum_products, sum(mp) AS pre_sum, sum(mp * mp) AS pre_sum_squares,
               sum(m * mp) AS post_pre_sum_products, sum(dp) AS pre_denominator_sum,
               sum(dp * dp) AS pre_denominator_sum_squares,
               sum(d * dp) AS denominator_post_pre_sum_products, sum(mp * dp) AS pre_sum_products,
               sum(m * dp) AS post_pre_denominator_sum_products,
               sum(mp * d) AS pre_post_denominator_sum_products
        FROM active GROUP BY variant"""
    return sql, params


def _check_experiment(store: Store, experiment_key: str) -> None:
    if not store.scalar("SELECT count(*) FROM exposures WHERE experiment_key = ?", [experiment_key]):
        known = [r[0] for r in store.fetchall(
            "SELECT DISTINCT experiment_key FROM exposures ORDER BY 1 LIMIT 20")]
        raise NotFoundError(f"unknown experiment {experiment_key!r}: no exposures recorded; known "
                            f"experiments: {', '.join(known) or 'none'}", experiment_key=experiment_key)


@dataclass(frozen=True)
class _Units:
    table: str
    counts: dict[str, int]
    mixed: int


@contextmanager
def _exposed_units(store: Store, experiment_key: str) -> Iterator[_Units]:
    """A temporary table of each unit's first exposure; units seen in two variants are left out."""
    _check_experiment(store, experiment_key)
    name = f"_cx_units_{uuid.uuid4().hex[:12]}"
    store.execute(f"""CREATE TEMP TABLE {name} AS
        SELECT unit_id AS uid, min(exposed_at) AS exposed_at, min(variant) AS variant,
               min(variant) <> max(variant) AS mixed
        FROM exposures WHERE experiment_key = ? GROUP BY unit_id""", [experiment_key])
    try:
        mixed = int(store.scalar(f"SELECT count(*) FROM {name} WHERE mixed"))
        if mixed:
            store.execute(f"DELETE FROM {name} WHERE mixed")
        counts = dict(store.fetchall(f"SELECT variant, count(*) FROM {name} GROUP BY variant"))
        yield _Units(name, counts, mixed)
    finally:
        store.execute(f"DROP TABLE IF EXISTS {name}")


def _statistics(store: Store, units: _Units, experiment_key: str, metric: MetricDefinition,
                variants: Sequence[str] | None) -> dict[str, Any]:
    counts = units.counts
    sql, params = _sql(metric, units.table)
    sums = {r["variant"]: r for r in store.records(sql, params)}
    order = list(variants) if variants else sorted(counts, key=lambda v: (v != "control", v))
    missing = [v for v in order if v not in counts]
    if missing:
        raise InvalidInputError(f"experiment {experiment_key!r} has no units in variant(s) {missing}; "
                                f"variants seen: {sorted(counts)}", field="variants")
    fields = FIELDS[metric.statistic_type]
    records = []
    for v in order:
        row = {k: float(x or 0.0) for k, x in sums.get(v, {}).items() if k != "variant"}
        records.append({"name": v, **{f: float(counts[v]) if f == "n" else row.get(f, 0.0) for f in fields}})
    return {"name": metric.name, "metric": metric.statistic_type, "guardrail": metric.guardrail,
            "inverse": metric.inverse, "variants": records}


def variant_statistics(store: Store, experiment_key: str, metric: MetricDefinition,
                       variants: Sequence[str] | None = None) -> dict[str, Any]:
    """Sufficient statistics per variant for one metric, control first (``variants`` order)."""
    with _exposed_units(store, experiment_key) as units:
        return _statistics(store, units, experiment_key, metric, variants)


def analyze_experiment(store: Store, experiment_key: str, metrics: Sequence[MetricDefinition], *,
                       variants: Sequence[str] | None = None, weights: Sequence[float] | None = None,
                       method: str = "frequentist", alpha: float = 0.05, correction: str = "holm") -> dict:
    """Compute every metric's statistics in the store and run the stats engine on them."""
    if not metrics:
        raise InvalidInputError("give at least one metric to analyse", field="metrics")
    with _exposed_units(store, experiment_key) as units:
        specs = [_statistics(store, units, experiment_key, m, variants) for m in metrics]
        multi = units.mixed
    if multi:
        log.warning("experiment %s: %d units saw more than one variant and were left out",
                    experiment_key, multi)
    spec: dict[str, Any] = {"metrics": specs}
    if weights is not None:
        spec["weights"] = list(weights)
    result = compare(spec, method=method, alpha=alpha, correction=correction)
    result["experiment_key"] = experiment_key
    result["excluded_units"] = int(multi or 0)
    return result
