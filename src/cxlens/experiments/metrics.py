"""Per-variant sufficient statistics computed in the store, then analysed by the stats engine.

Units come from ``experiment_units`` (each unit's first exposure, kept by the recorders; units seen in
more than one variant are left out, as GrowthBook does). All metrics of one source table are computed
in one statement: the source cut to the experiment's window, one join with the units, each metric's
value after exposure (within an optional window), its denominator for ratio metrics and, for CUPED,
the same over a pre-exposure period, through conditional aggregates; then n, Σ, Σ² and every
cross-product per variant. Only these sums leave the database, so the analysis scales with the number
of variants, not of units.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.experiments.stats import compare
from cxlens.experiments.units import ensure_units
from cxlens.store import Store

log = logging.getLogger(__name__)

MetricKind = Literal["conversion", "count", "revenue", "order_value"]
KINDS: tuple[str, ...] = ("conversion", "count", "revenue", "order_value")
# ten years, as attribution's lookback: longer than any history, and far inside DuckDB's interval
# range (a longer window overflowed it and every analysis of the experiment failed)
MAX_DAYS = 3650

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
            if value is not None and not 0 < value <= MAX_DAYS:  # NaN fails too
                raise InvalidInputError(f"metric {self.name!r}: {name} must be positive and at most "
                                        f"{MAX_DAYS}", field=name)

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


# Each per-variant field is Σ over units of the product of these per-unit values: m (metric), d
# (denominator), mp / dp (the same over the CUPED pre-period).
_PRODUCTS = {
    "sum": ("m",), "sum_squares": ("m", "m"), "denominator_sum": ("d",),
    "denominator_sum_squares": ("d", "d"), "sum_products": ("m", "d"), "pre_sum": ("mp",),
    "pre_sum_squares": ("mp", "mp"), "post_pre_sum_products": ("m", "mp"),
    "pre_denominator_sum": ("dp",), "pre_denominator_sum_squares": ("dp", "dp"),
    "denominator_post_pre_sum_products": ("d", "dp"), "pre_sum_products": ("mp", "dp"),
    "post_pre_denominator_sum_products": ("m", "dp"), "pre_post_denominator_sum_products": ("mp", "d"),
}


def _seconds(days: float) -> str:
    """An interval literal; days are validated positive floats, so no user text reaches the SQL."""
    return f"to_seconds({float(days) * 86400!r})"


@dataclass(frozen=True)
class _Units:
    """The key's analysable units (``experiment_units`` minus multi-variant units), summarised."""

    key: str
    counts: dict[str, int]
    mixed: int
    first: Any
    last: Any


def _units(store: Store, experiment_key: str) -> _Units:
    if not store.scalar("SELECT count(*) FROM exposures WHERE experiment_key = ?", [experiment_key]):
        known = [r[0] for r in store.fetchall(
            "SELECT DISTINCT experiment_key FROM exposures ORDER BY 1 LIMIT 20")]
        raise NotFoundError(f"unknown experiment {experiment_key!r}: no exposures recorded; known "
                            f"experiments: {', '.join(known) or 'none'}", experiment_key=experiment_key)
    ensure_units(store, experiment_key)
    rows = store.fetchall("""SELECT variant, count(*), min(first_exposed_at), max(first_exposed_at)
        FROM experiment_units WHERE experiment_key = ? AND NOT is_multi_variant GROUP BY variant""",
                          [experiment_key])
    mixed = store.scalar(
        "SELECT count(*) FROM experiment_units WHERE experiment_key = ? AND is_multi_variant",
        [experiment_key])
    return _Units(experiment_key, {r[0]: r[1] for r in rows}, int(mixed),
                  min((r[2] for r in rows), default=None), max((r[3] for r in rows), default=None))


def _source_sums(store: Store, units: _Units, metrics: Sequence[tuple[int, MetricDefinition]],
                 events: bool) -> dict[str, dict[str, float]]:
    """Every field of several metrics of one source table, per variant, in one join and one pass.

    The source is cut to the experiment's window (first exposure − longest CUPED period to last
    exposure + longest window) before the join, so rows no unit can count are never joined; each
    metric then takes its own period through FILTERs. Units without rows add zero to every sum, so
    only active units are joined. Returns ``{variant: {"FIELD__I": value}}``.
    """
    params: list[Any] = []
    if events:
        names = sorted({m.event for _, m in metrics if m.event})
        source = (f"SELECT customer_id AS uid, timestamp AS ts, event, 1.0::DOUBLE AS v FROM events "
                  f"WHERE event IN ({', '.join('?' * len(names))})")
        params.extend(names)
    else:
        source = ("SELECT customer_id AS uid, timestamp AS ts, CAST(revenue AS DOUBLE) AS v FROM orders "
                  "WHERE true")
    cuped = max((m.cuped_days or 0.0 for _, m in metrics), default=0.0)
    before = f" - {_seconds(cuped)}" if cuped else ""
    lower = f"u.first_exposed_at{before}"
    source += f" AND timestamp >= ?::TIMESTAMPTZ{before}"
    params.append(units.first)
    upper = ""
    if all(m.window_days for _, m in metrics):
        window = max(m.window_days or 0.0 for _, m in metrics)
        source += f" AND timestamp < ?::TIMESTAMPTZ + {_seconds(window)}"
        params.append(units.last)
        upper = f" AND s.ts < u.first_exposed_at + {_seconds(window)}"
    per_unit, sums = [], []
    for i, metric in metrics:
        own = ""
        if events:
            own = " AND s.event = ?"
            params.append(metric.event)
        post = f"s.ts >= u.first_exposed_at{own}"
        if metric.window_days:
            post += f" AND s.ts < u.first_exposed_at + {_seconds(metric.window_days)}"
        periods = {"m": post}
        if metric.cuped_days:
            periods["mp"] = (f"s.ts < u.first_exposed_at AND s.ts >= u.first_exposed_at - "
                             f"{_seconds(metric.cuped_days)}{own}")
            if events:
                params.append(metric.event)
        for name, period in periods.items():
            if metric.kind == "conversion":
                per_unit.append(f"CAST(count(*) FILTER (WHERE {period}) > 0 AS DOUBLE) AS {name}__{i}")
            else:
                per_unit.append(f"coalesce(sum(s.v) FILTER (WHERE {period}), 0.0) AS {name}__{i}")
            if metric.kind == "order_value":
                denominator = name.replace("m", "d")
                per_unit.append(f"count(*) FILTER (WHERE {period})::DOUBLE AS {denominator}__{i}")
        for field in FIELDS[metric.statistic_type][1:]:
            sums.append(f"sum({' * '.join(f'{v}__{i}' for v in _PRODUCTS[field])}) AS {field}__{i}")
    params.append(units.key)
    sql = f"""WITH src AS ({source}),
        active AS (
            SELECT any_value(u.variant) AS variant, {', '.join(per_unit)}
            FROM experiment_units u JOIN src s ON s.uid = u.unit_id AND s.ts >= {lower}{upper}
            WHERE u.experiment_key = ? AND NOT u.is_multi_variant
            GROUP BY u.unit_id)
        SELECT variant, {', '.join(sums)} FROM active GROUP BY variant"""
    return {r.pop("variant"): r for r in store.records(sql, params)}


def _specs(store: Store, units: _Units, metrics: Sequence[MetricDefinition],
           variants: Sequence[str] | None) -> list[dict[str, Any]]:
    """The stats engine's input for every metric, control first (``variants`` order)."""
    counts = units.counts
    order = list(variants) if variants else sorted(counts, key=lambda v: (v != "control", v))
    missing = [v for v in order if v not in counts]
    if missing:
        raise InvalidInputError(f"experiment {units.key!r} has no units in variant(s) {missing}; "
                                f"variants seen: {sorted(counts)}", field="variants")
    sums: dict[str, dict[str, float]] = {}
    for events in (False, True):
        group = [(i, m) for i, m in enumerate(metrics) if (m.kind in ("conversion", "count")) == events]
        if group:
            for variant, row in _source_sums(store, units, group, events).items():
                sums.setdefault(variant, {}).update(row)
    specs = []
    for i, metric in enumerate(metrics):
        records = [{"name": v, "n": float(counts[v]),
                    **{f: float(sums.get(v, {}).get(f"{f}__{i}") or 0.0)
                       for f in FIELDS[metric.statistic_type][1:]}} for v in order]
        specs.append({"name": metric.name, "metric": metric.statistic_type, "guardrail": metric.guardrail,
                      "inverse": metric.inverse, "variants": records})
    return specs


def variant_statistics(store: Store, experiment_key: str, metric: MetricDefinition,
                       variants: Sequence[str] | None = None) -> dict[str, Any]:
    """Sufficient statistics per variant for one metric, control first (``variants`` order)."""
    return _specs(store, _units(store, experiment_key), [metric], variants)[0]


def analyze_experiment(store: Store, experiment_key: str, metrics: Sequence[MetricDefinition], *,
                       variants: Sequence[str] | None = None, weights: Sequence[float] | None = None,
                       method: str = "frequentist", alpha: float = 0.05, correction: str = "holm") -> dict:
    """Compute every metric's statistics in the store and run the stats engine on them."""
    if not metrics:
        raise InvalidInputError("give at least one metric to analyse", field="metrics")
    units = _units(store, experiment_key)
    specs = _specs(store, units, metrics, variants)
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
