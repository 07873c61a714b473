"""Per-variant statistics computed in DuckDB equal the same sums computed by hand in numpy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.experiments.assignment import Experiment, exposures, record_exposures
from cxlens.experiments.metrics import MetricDefinition, analyze_experiment, variant_statistics
from cxlens.experiments.stats import compare

T0 = datetime(2026, 3, 1, tzinfo=UTC)
UNITS = [f"c{i}" for i in range(400)]


@pytest.fixture
def filled(store):
    exp = Experiment("checkout")
    record_exposures(store, exposures(exp, UNITS, T0))
    # c0 also saw the other variant later: it must be left out
    other = "treatment" if exp.assign("c0") == "control" else "control"
    store.execute("INSERT INTO exposures VALUES ('checkout', ?, 'c0', ?)", [other, T0 + timedelta(days=1)])
    rng = np.random.default_rng(11)
    rows = []
    for i, unit in enumerate(UNITS):
        for k in range(rng.poisson(1.5)):
            when = T0 + timedelta(days=rng.uniform(-20, 20))  # before and after exposure
            rows.append((f"o{i}-{k}", f"m{i}-{k}", unit, when, round(rng.gamma(2, 30), 2)))
    orders = pd.DataFrame(rows, columns=["order_id", "message_id", "customer_id", "timestamp", "revenue"])
    store.register("o", pa.Table.from_pandas(orders))
    store.execute("INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue) "
                  "SELECT order_id, message_id, customer_id, timestamp, revenue FROM o")
    store.unregister("o")
    events = [(f"e{i}", "track", "Signed Up", unit, T0 + timedelta(hours=rng.uniform(-48, 48)))
              for i, unit in enumerate(UNITS) if rng.random() < 0.3]
    store.register("e", pa.Table.from_pandas(pd.DataFrame(
        events, columns=["message_id", "type", "event", "customer_id", "timestamp"])))
    store.execute("INSERT INTO events (message_id, type, event, customer_id, timestamp, received_at) "
                  "SELECT *, now() FROM e")
    store.unregister("e")
    return exp, orders, events


def _expected(exp, orders, window_days=None, pre_days=None):
    """Per-unit revenue, order count and pre-period revenue computed in pandas."""
    units = pd.DataFrame({"uid": UNITS[1:], "variant": [exp.assign(u) for u in UNITS[1:]]})
    ts = pd.to_datetime(orders["timestamp"], utc=True)
    post = ts >= T0
    if window_days:
        post &= ts < T0 + timedelta(days=window_days)
    agg = orders[post].groupby("customer_id")["revenue"].agg(["sum", "count"])
    units["m"] = units["uid"].map(agg["sum"]).fillna(0.0)
    units["d"] = units["uid"].map(agg["count"]).fillna(0.0)
    if pre_days:
        pre = (ts < T0) & (ts >= T0 - timedelta(days=pre_days))
        units["x"] = units["uid"].map(orders[pre].groupby("customer_id")["revenue"].sum()).fillna(0.0)
    return units


def test_revenue_per_unit_matches_pandas(store, filled) -> None:
    exp, orders, _ = filled
    stats = variant_statistics(store, "checkout", MetricDefinition("revenue", "revenue", window_days=14))
    units = _expected(exp, orders, window_days=14)
    assert [v["name"] for v in stats["variants"]] == ["control", "treatment"]
    for record in stats["variants"]:
        m = units.loc[units.variant == record["name"], "m"].to_numpy()
        assert record["n"] == len(m)
        assert record["sum"] == pytest.approx(m.sum())
        assert record["sum_squares"] == pytest.approx((m**2).sum())


def test_ratio_and_cuped_cross_products(store, filled) -> None:
    exp, orders, _ = filled
    metric = MetricDefinition("aov", "order_value", cuped_days=20)
    stats = variant_statistics(store, "checkout", metric)
    assert stats["metric"] == "ratio_cuped"
    units = _expected(exp, orders, pre_days=20)
    for record in stats["variants"]:
        part = units[units.variant == record["name"]]
        assert record["denominator_sum"] == pytest.approx(part["d"].sum())
        assert record["sum_products"] == pytest.approx((part["m"] * part["d"]).sum())
        assert record["pre_sum"] == pytest.approx(part["x"].sum())
        assert record["post_pre_sum_products"] == pytest.approx((part["m"] * part["x"]).sum())


def test_conversion_metric_counts_converted_units(store, filled) -> None:
    exp, _, events = filled
    stats = variant_statistics(store, "checkout", MetricDefinition("signup", "conversion", event="Signed Up"))
    converted = {e[3] for e in events if e[4] >= T0} - {"c0"}
    for record in stats["variants"]:
        assert record["sum"] == sum(exp.assign(u) == record["name"] for u in converted)
    assert stats["metric"] == "proportion"


def test_analyze_experiment_runs_the_engine_on_the_sums(store, filled) -> None:
    metrics = [MetricDefinition("revenue", "revenue", cuped_days=20),
               MetricDefinition("signup", "conversion", event="Signed Up", guardrail=True)]
    result = analyze_experiment(store, "checkout", metrics, weights=[0.5, 0.5])
    assert result["excluded_units"] == 1
    again = compare({"metrics": [variant_statistics(store, "checkout", m) for m in metrics],
                     "weights": [0.5, 0.5]})
    # DuckDB sums in parallel, so two runs may differ in the last bits: compare numbers with a tolerance
    for ours, ref in zip(result["metrics"], again["metrics"], strict=True):
        for a, b in zip(ours["results"], ref["results"], strict=True):
            assert a["relative"]["expected"] == pytest.approx(b["relative"]["expected"], rel=1e-9)
            assert a["relative"]["ci"] == pytest.approx(b["relative"]["ci"], rel=1e-9)
            assert a["absolute"]["p_value"] == pytest.approx(b["absolute"]["p_value"], rel=1e-9)
    assert result["srm"]["p_value"] == pytest.approx(again["srm"]["p_value"])


def test_unknown_experiment_and_bad_metric(store, filled) -> None:
    with pytest.raises(NotFoundError, match="unknown experiment 'nope'.*checkout"):
        variant_statistics(store, "nope", MetricDefinition("revenue", "revenue"))
    with pytest.raises(InvalidInputError, match="needs the event name"):
        MetricDefinition("signup", "conversion")
    with pytest.raises(InvalidInputError, match="no units in variant"):
        variant_statistics(store, "checkout", MetricDefinition("revenue", "revenue"), ["control", "blue"])
