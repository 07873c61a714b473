"""First exposures kept by the recorders equal a regrouping of the raw exposures, however they arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from cxlens.experiments.assignment import Experiment, exposures, record_exposures
from cxlens.experiments.units import ensure_units

T0 = datetime(2026, 3, 1, tzinfo=UTC)
UNITS = np.array([f"c{i}" for i in range(300)])
REGROUPED = """SELECT unit_id, arg_min(variant, exposed_at), min(exposed_at), min(variant) <> max(variant),
                      count(*) FROM exposures WHERE experiment_key = 'checkout' GROUP BY 1 ORDER BY 1"""
KEPT = """SELECT unit_id, variant, first_exposed_at, is_multi_variant, n_exposures FROM experiment_units
          WHERE experiment_key = 'checkout' ORDER BY 1"""


def test_batches_fold_into_one_row_per_unit_with_the_first_exposure(store) -> None:
    exp = Experiment("checkout")
    record_exposures(store, exposures(exp, UNITS, T0 + timedelta(days=1)))
    record_exposures(store, exposures(exp, UNITS[:100], T0))  # seen again, earlier: first exposure moves
    flipped = Experiment("checkout", seed="another-seed")  # same key, other variants for about half
    record_exposures(store, exposures(flipped, UNITS[200:], T0 + timedelta(days=2)))
    kept = store.fetchall(KEPT)
    assert kept == store.fetchall(REGROUPED)
    assert len(kept) == len(UNITS) and any(row[3] for row in kept) and not all(row[3] for row in kept)


def test_exposures_written_around_the_recorders_are_noticed_and_rebuilt(store) -> None:
    record_exposures(store, exposures(Experiment("checkout"), UNITS, T0))
    # the row count changes (−3 + 2): that is what the check sees (an edit keeping it would not be seen)
    store.execute("DELETE FROM exposures WHERE unit_id IN ('c1', 'c2', 'c4')")
    store.execute("INSERT INTO exposures VALUES ('checkout', 'x', 'c3', ?), ('checkout', 'y', 'new', ?)",
                  [T0, T0])
    ensure_units(store, "checkout")
    assert store.fetchall(KEPT) == store.fetchall(REGROUPED)


def test_an_unchanged_key_is_not_rebuilt(store) -> None:
    record_exposures(store, exposures(Experiment("checkout"), UNITS, T0))
    store.execute("UPDATE experiment_units SET variant = 'marker' WHERE unit_id = 'c0'")
    ensure_units(store, "checkout")
    assert store.scalar("SELECT variant FROM experiment_units WHERE unit_id = 'c0'") == "marker"
