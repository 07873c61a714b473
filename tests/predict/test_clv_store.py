"""CLV scored from the store recovers the demo's planted truth and lands as computed traits."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlens.demo.run import build_demo
from cxlens.errors import InvalidInputError
from cxlens.predict.clv.store import score_store, write_clv_traits
from cxlens.store import Store


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from cxlens.config import load_settings

    settings = load_settings(tmp_path_factory.mktemp("clv") / "data")
    build_demo(settings, customers=400, seed=3, create_keys=False)
    with Store(settings.store_path) as store:
        yield store, settings


def _truth(store: Store, settings) -> pd.DataFrame:
    truth = pd.read_parquet(settings.data_dir / "demo" / "ground_truth" / "customers.parquet")
    ids = pd.DataFrame(store.fetchall("SELECT value, customer_id FROM identities WHERE kind = 'user_id'"),
                       columns=["user_id", "customer_id"])
    return truth.merge(ids, on="user_id").set_index("customer_id")


def test_scores_follow_the_planted_truth(demo_store) -> None:
    store, settings = demo_store
    result = score_store(store)
    joined = result.scores.join(_truth(store, settings), how="inner")
    assert len(joined) > 200
    # Customers the simulation left alive look more alive than those it let drop out ...
    by_alive = joined.groupby("alive_at_end")["p_alive"].mean()
    assert by_alive[True] > by_alive[False] + 0.1
    # ... and the high-rate, high-spend segment is worth more than the occasional one.
    clv = joined.groupby("segment")["clv_12m"].mean()
    assert clv["loyal_premium"] > 2 * clv["occasional"]


def test_scores_become_computed_traits(demo_store) -> None:
    store, _ = demo_store
    result = score_store(store)
    written = write_clv_traits(store, result)
    assert written == 4 * len(result.scores)
    rows = dict(store.fetchall("SELECT name, count(*) FROM computed_traits "
                               "WHERE model = 'clv.bgnbd+gammagamma' GROUP BY name"))
    assert rows == {name: len(result.scores) for name in
                    ("p_alive", "expected_purchases_12m", "expected_spend", "clv_12m")}


def test_an_empty_store_says_what_to_do(store) -> None:
    with pytest.raises(InvalidInputError, match="import orders"):
        score_store(store)
