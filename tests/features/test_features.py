"""The feature layer on a real DuckDB store: values checked by hand, and point-in-time correctness."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from tests.features.history import (
    T0,
    alice_and_bob,
    by_user,
    customer_ids,
    event,
    load,
    order,
    random_history,
)

from cxlens.errors import InvalidInputError
from cxlens.features import build_features, duckdb_engine, open_engine

DAY = timedelta(days=1)


@pytest.fixture
def loaded(store, settings):
    load(store, settings, alice_and_bob())
    return store


def test_values_match_a_hand_calculation(loaded, settings):
    as_of = T0 + 50 * DAY
    frame = by_user(loaded, build_features(duckdb_engine(loaded), as_of,
                                           consent_defaults=settings.consent_defaults).frame)
    alice, bob = frame.loc["alice"], frame.loc["bob"]
    assert alice["frequency"] == 3 and alice["purchase_days"] == 3
    assert alice["monetary"] == pytest.approx(60 + 90 + 10)
    assert alice["avg_order_value"] == pytest.approx(160 / 3)
    assert alice["recency_days"] == pytest.approx(10.0)
    assert alice["first_purchase_days"] == pytest.approx(50 - 10 / 1440)
    gaps = np.array([10 - 10 / 1440, 30.0])
    assert alice["ipt_mean_days"] == pytest.approx(gaps.mean())
    assert alice["ipt_std_days"] == pytest.approx(gaps.std(ddof=1))
    assert alice["orders_per_month"] == pytest.approx(3 * 365.25 / 12 / alice["first_purchase_days"])
    assert alice["category_share_shoes"] == pytest.approx(140 / 160)
    assert alice["category_share_socks"] == pytest.approx(20 / 160)
    assert alice["email_opens"] == 1 and alice["email_clicks"] == 1 and alice["support_tickets"] == 1
    assert alice["page_views"] == 2
    # identify, 2 pages and the first order are one visit; the e-mail pair another; then one each
    assert alice["events"] == 13 and alice["sessions"] == 8
    assert alice["channel_share_email"] == pytest.approx(5 / 13)
    assert alice["latest_nps"] == 9 and alice["latest_csat"] == 4 and alice["feedback_responses"] == 3
    assert alice["consent_marketing"] == 0 and alice["consent_personalization"] == 0
    assert alice["consent_analytics"] == 1
    assert bob["frequency"] == 0 and np.isnan(bob["recency_days"]) and np.isnan(bob["avg_order_value"])
    assert bob["sessions"] == 2 and bob["screen_views"] == 2 and bob["channel_share_app"] == 1.0
    assert bob["tenure_days"] == pytest.approx(45.0)
    assert np.isnan(bob["mean_sentiment"])


def test_consent_is_as_of_the_moment(loaded, settings):
    before_refusal = by_user(loaded, build_features(duckdb_engine(loaded), T0 + 20 * DAY).frame).loc["alice"]
    assert before_refusal["consent_marketing"] == 1


def test_future_events_do_not_change_features(loaded, settings):
    as_of = T0 + 30 * DAY
    engine = duckdb_engine(loaded)
    first = build_features(engine, as_of)
    load(loaded, settings, [
        order("alice", as_of, "o-at-the-moment", [("hats", 999.0, 1)]),  # exactly at as_of: excluded
        order("alice", as_of + DAY, "o-later", [("hats", 20.0, 1)]),
        event("carol", as_of + 2 * DAY, "page", "Home"),
        event("bob", as_of + DAY, name="Email Opened", channel="email"),
    ])
    again = build_features(engine, as_of)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert again.levels == first.levels
    assert customer_ids(loaded)["carol"] in build_features(engine, as_of + 3 * DAY).frame.index


def test_one_customer_equals_their_row_in_the_whole_table(store, settings):
    load(store, settings, random_history(30))
    engine = duckdb_engine(store)
    whole = build_features(engine, T0 + 60 * DAY)
    ids = customer_ids(store)
    some = sorted([ids["u0003"], ids["u0017"]])
    part = build_features(engine, T0 + 60 * DAY, customers=some, levels=whole.levels)
    pd.testing.assert_frame_equal(part.frame, whole.frame.loc[some])


def test_comment_sentiment_is_used_when_scored(loaded, settings):
    ids = [r[0] for r in loaded.fetchall("SELECT message_id FROM feedback ORDER BY timestamp")]
    loaded.executemany("INSERT INTO comment_scores (message_id, sentiment, label, model, scored_at) "
                       "VALUES (?, ?, 'neutral', 'test', now())", [(ids[0], -0.5), (ids[1], 0.9)])
    frame = by_user(loaded, build_features(duckdb_engine(loaded), T0 + 50 * DAY).frame)
    assert frame.loc["alice", "mean_sentiment"] == pytest.approx(0.2)


def test_default_as_of_is_just_after_the_latest_event(loaded):
    fs = build_features(duckdb_engine(loaded))
    assert fs.as_of > T0 + 40 * DAY and fs.as_of - (T0 + 40 * DAY) <= timedelta(seconds=1)
    assert by_user(loaded, fs.frame).loc["alice", "frequency"] == 3


def test_bad_input_is_named(loaded, store):
    engine = duckdb_engine(loaded)
    with pytest.raises(InvalidInputError, match="not a date"):
        build_features(engine, "last tuesday")
    with pytest.raises(InvalidInputError, match="empty"):
        build_features(engine, customers=[])
    with pytest.raises(InvalidInputError, match="unknown engine"), open_engine(loaded, "oracle"):
        pass


def test_empty_store_says_to_load_data(store):
    with pytest.raises(InvalidInputError, match="no events"):
        build_features(duckdb_engine(store))


def test_cli_build_writes_a_file_and_refuses_unknown_engines(loaded, settings, tmp_path, capsys):
    from cxlens.cli.main import run

    loaded.close()
    out = tmp_path / "features.parquet"
    args = ["features", "build", "--as-of", "2024-03-01", "--data-dir", str(settings.data_dir)]
    assert run([*args, "--out", str(out), "--json"]) == 0
    written = pd.read_parquet(out)
    assert len(written) == 2 and written["frequency"].max() == 3
    assert '"customers": 2' in capsys.readouterr().out
    assert run([*args, "--engine", "oracle"]) == 2
