"""Timing: the rhythm shrinks toward the population, send times fall back to the population's, and
traits go only to customers who allow marketing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from tests.features.history import T0, consent, customer_ids, event, load, order

from cxlens.cli.main import run
from cxlens.errors import InvalidInputError
from cxlens.predict.timing import best_contact_times, next_purchase
from cxlens.store import Store


def test_best_time_is_own_for_rich_histories_and_population_for_sparse():
    # population: most activity Tuesday 19:00 (slot 24 + 19 = 43); "rich" engages Sundays 08:00 (152)
    counts = pd.DataFrame({
        "customer_id": ["crowd"] * 2 + ["rich", "sparse"],
        "hour_of_week": [43, 10, 152, 100],
        "n": [500, 20, 40, 1],
    })
    best, pop_best = best_contact_times(counts, prior_strength=10)
    assert pop_best == 43
    assert best.loc["rich", "hour_of_week"] == 152 and best.loc["rich", "source"] == "own history"
    assert (best.loc["rich", "day"], best.loc["rich", "hour_utc"]) == ("Sun", 8)
    assert best.loc["sparse", "hour_of_week"] == 43 and best.loc["sparse", "source"] == "population"
    # posterior of the winning slot: (n_h + k·pop_h) / (n + k)
    pop_43 = (500 + 1) / (561 + 168)
    assert best.loc["sparse", "confidence"] == pytest.approx(10 * pop_43 / 11)
    with pytest.raises(InvalidInputError):
        best_contact_times(counts, prior_strength=0)


def test_next_purchase_shrinks_toward_the_population_rhythm():
    as_of = datetime(2024, 6, 1, tzinfo=UTC)
    features = pd.DataFrame({
        "frequency": [11, 2, 1, 0], "purchase_days": [11, 2, 1, 0],
        "ipt_mean_days": [10.0, 40.0, None, None], "recency_days": [5.0, 50.0, 20.0, None],
        "first_purchase_days": [105.0, 90.0, 20.0, None],
    }, index=["steady", "twice", "once", "never"])
    out = next_purchase(features, as_of, prior_strength=2.0, horizon_days=30)
    population = 25.0  # median of the repeaters' mean intervals (10, 40)
    assert "never" not in out.index
    assert out.loc["steady", "interval_days"] == pytest.approx((10 * 10 + 2 * population) / 12)
    assert out.loc["twice", "interval_days"] == pytest.approx((1 * 40 + 2 * population) / 3)
    assert out.loc["once", "interval_days"] == pytest.approx(population)
    interval = pd.Timedelta(days=out.loc["twice", "interval_days"])
    expected = pd.Timestamp(as_of) - pd.Timedelta(days=50) + interval
    assert out.loc["twice", "next_purchase"] == expected
    assert out.loc["twice", "overdue_days"] == pytest.approx(50 - out.loc["twice", "interval_days"])
    assert out.loc["steady", "overdue_days"] == 0
    assert {"p_alive", "expected_orders_30d"} <= set(out.columns)
    # a horizon that is not a positive number of days is refused (it used to drop the BG/NBD
    # columns with a warning and write the traits without them)
    for horizon in (0, -5):
        message = f"horizon must be a whole number of days ≥ 1, got {horizon}"
        with pytest.raises(InvalidInputError, match=message):
            next_purchase(features, as_of, horizon_days=horizon)


def test_cli_writes_timing_traits_only_for_marketing_consent(store, settings, capsys):
    day = timedelta(days=1)
    records = []
    for user, allows in (("yes", True), ("no", False)):
        records.append(consent(user, T0, marketing=allows))
        for i in range(4):
            records.append(order(user, T0 + (10 * i + 1) * day, f"{user}{i}", [("shoes", 20.0, 1)]))
            records.append(event(user, T0 + (10 * i + 1) * day + timedelta(hours=2), "page", "Home"))
    load(store, settings, records)
    ids = customer_ids(store)
    store.close()
    assert run(["timing", "score", "--data-dir", str(settings.data_dir), "--json"]) == 0
    assert '"contact_time_written": 1' in capsys.readouterr().out
    with Store(settings.store_path, read_only=True) as again:
        rows = again.fetchall("SELECT customer_id, name FROM computed_traits ORDER BY name")
    assert rows == [(ids["yes"], "best_contact_time"), (ids["yes"], "next_purchase")]
