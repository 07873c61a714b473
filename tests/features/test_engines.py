"""One code path, two engines: the same feature queries on DuckDB and on local Spark agree on every value."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from tests.features.history import T0, load, random_history

from cxlens.features import build_features, duckdb_engine, engagement_hours, purchases_between, spark_engine

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    """One local Spark session for the module (Java 17+); startup is the slow part."""
    from cxlens.features import spark_session

    session = spark_session("local[1]", "cxlens-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_every_feature_value_agrees(store, settings, spark):
    load(store, settings, random_history(120))
    store.execute("INSERT INTO comment_scores (message_id, sentiment, label, model, scored_at) "
                  "SELECT message_id, (hash(message_id) % 200) / 100.0 - 1, 'neutral', 'test', now() "
                  "FROM feedback")
    as_of = T0 + timedelta(days=90)
    local = build_features(duckdb_engine(store), as_of, consent_defaults=settings.consent_defaults)
    with spark_engine(store, spark) as engine:
        distributed = build_features(engine, as_of, consent_defaults=settings.consent_defaults)
        hours = engine.execute(engagement_hours(engine, as_of.timestamp()))
        future = engine.execute(purchases_between(engine, as_of.timestamp(), as_of.timestamp() + 30 * 86400))
    assert distributed.engine == "spark" and local.engine == "duckdb"
    assert distributed.levels == local.levels
    assert len(local.frame) > 100 and local.frame.shape[1] >= 40
    # every column has real values on both sides, so the comparison below compares something
    assert local.frame.notna().any().all()
    pd.testing.assert_frame_equal(local.frame, distributed.frame, check_exact=False, rtol=1e-9, atol=1e-9)

    duck = duckdb_engine(store)
    local_hours = duck.execute(engagement_hours(duck, as_of.timestamp()))
    key = ["customer_id", "hour_of_week"]
    pd.testing.assert_frame_equal(local_hours.sort_values(key).reset_index(drop=True),
                                  hours.sort_values(key).reset_index(drop=True), check_dtype=False)
    local_future = duck.execute(purchases_between(duck, as_of.timestamp(), as_of.timestamp() + 30 * 86400))
    pd.testing.assert_frame_equal(local_future.sort_values("customer_id").reset_index(drop=True),
                                  future.sort_values("customer_id").reset_index(drop=True), check_dtype=False)
