"""Churn: the time split cannot leak (rolling training origins included), the model keeps the
scikit-learn contract, and it is judged against RFM-only logistic regression on the demo business
and on CDNOW."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone
from tests.features.history import T0, load, order, random_history

from cxlens.cli.main import run
from cxlens.config import load_settings
from cxlens.demo.run import build_demo
from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.features import duckdb_engine
from cxlens.predict.churn import ChurnModel, churn_frame, cutoffs, origin_cutoffs, training_frames
from cxlens.predict.churn_report import evaluate_churn
from cxlens.store import Store

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = load_settings(tmp_path_factory.mktemp("churn") / "data")
    build_demo(settings, customers=3000, seed=11, create_keys=False)
    return settings


@pytest.fixture(scope="module")
def demo_training(demo):
    with Store(demo.store_path, read_only=True) as store:
        return evaluate_churn(duckdb_engine(store), horizon_days=90)


def test_labels_come_only_from_the_window_after_the_cutoff(store, settings):
    load(store, settings, random_history(40))
    engine = duckdb_engine(store)
    cutoff = T0 + 60 * DAY
    before = churn_frame(engine, cutoff, 30)
    buyer = before.X.index[0]
    user = store.fetchone("SELECT value FROM identities WHERE customer_id = ? AND kind = 'user_id'",
                          [buyer])[0]
    load(store, settings, [order(user, cutoff + 5 * DAY, "late", [("shoes", 10.0, 1)]),
                           order(user, cutoff + 45 * DAY, "much-later", [("shoes", 10.0, 1)])])
    after = churn_frame(engine, cutoff, 30)
    pd.testing.assert_frame_equal(before.X, after.X)  # features: nothing from after the cutoff
    assert after.y[buyer] == 0  # the order 5 days later is inside the 30-day label window
    changed = before.y.index[before.y != after.y]
    assert list(changed) in ([], [buyer])


def test_train_labels_end_where_the_holdout_begins(demo_training):
    report = demo_training.report
    train_end = report["train"]["label_window"][1]
    assert train_end == report["holdout"]["cutoff"]
    assert report["holdout"]["label_window"][1] == report["as_of"]
    train_cut, holdout_cut = cutoffs(report["as_of"], 90)
    assert (holdout_cut - train_cut).days == 90 == (report["as_of"] - holdout_cut).days
    origins = report["train"]["origins"]
    assert len(origins) == 4  # two years of demo history: every requested origin is there
    assert origins[0]["cutoff"] == train_cut and origins[0]["label_window"][1] == holdout_cut
    assert all(o["label_window"][1] <= holdout_cut for o in origins)
    assert all((a["cutoff"] - b["cutoff"]).days == 90 for a, b in zip(origins, origins[1:], strict=False))
    assert report["train"]["rows"] == sum(o["customers"] for o in origins) > report["train"]["customers"]


def test_rolling_origins_never_see_the_holdout_window(store, settings):
    load(store, settings, random_history(80))
    engine = duckdb_engine(store)
    holdout_cut, h = T0 + 100 * DAY, 20
    before = training_frames(engine, holdout_cut, h, 4, min_buyers=5)
    assert len(before) >= 2
    assert [f.cutoff for f in before] == origin_cutoffs(holdout_cut, h, 4)[: len(before)]
    churned = before[0].y[before[0].y == 1].index[0]
    user = store.fetchone("SELECT value FROM identities WHERE customer_id = ? AND kind = 'user_id'",
                          [churned])[0]
    load(store, settings, [order(user, holdout_cut, "at-holdout-cutoff", [("shoes", 10.0, 1)]),
                           order(user, holdout_cut + 3 * DAY, "in-holdout", [("shoes", 10.0, 1)])])
    after = training_frames(engine, holdout_cut, h, 4, min_buyers=5)
    for b, a in zip(before, after, strict=True):  # nothing from the holdout window reaches any origin
        pd.testing.assert_frame_equal(b.X, a.X)
        pd.testing.assert_series_equal(b.y, a.y)
    # the same check sees a change one day earlier, inside the latest origin's label window
    load(store, settings, [order(user, holdout_cut - DAY, "in-train-labels", [("shoes", 10.0, 1)])])
    assert training_frames(engine, holdout_cut, h, 4, min_buyers=5)[0].y[churned] == 0
    with pytest.raises(InvalidInputError, match="n_origins"):
        origin_cutoffs(holdout_cut, h, 0)


def test_model_beats_rfm_logistic_on_the_demo_business(demo_training):
    report = demo_training.report
    m, b = report["metrics"], report["baseline"]["metrics"]
    assert report["comparison"]["beats_baseline"], report["comparison"]["verdict"]
    assert m["auc"] > b["auc"] and m["pr_auc"] > b["pr_auc"]
    assert m["auc"] > 0.75
    assert m["lift_by_decile"][0]["lift"] > 1.2 > m["lift_by_decile"][-1]["lift"]
    assert sum(r["customers"] for r in m["reliability"]) == m["customers"]
    # calibrated: predicted and observed churn agree within a few points overall
    assert abs(np.mean([d["mean_score"] for d in m["lift_by_decile"]]) - m["churn_rate"]) < 0.05


def test_reasons_are_plain_words_that_raise_risk(demo, demo_training):
    model = demo_training.model
    with Store(demo.store_path, read_only=True) as store:
        data = churn_frame(duckdb_engine(store), demo_training.report["as_of"], 90,
                           levels=demo_training.levels, labels=False)
    risk = model.predict_proba(data.X)[:, 1]
    riskiest = data.X.iloc[np.argsort(-risk)[:5]]
    reasons = model.explain(riskiest)
    assert all(reasons), "every high-risk customer gets at least one reason"
    for why in reasons:
        for r in why:
            assert r["effect"] > 0 and "(typical: " in r["text"] and not r["feature"].startswith("consent_")


def test_estimator_contract(demo_training):
    model = ChurnModel(max_iter=20)
    assert clone(model).get_params() == model.get_params()
    frame = pd.DataFrame({"recency_days": [1.0, 2.0], "frequency": [1, 2], "monetary": [3.0, 4.0]})
    with pytest.raises(ModelNotFittedError):
        model.predict_proba(frame)
    with pytest.raises(InvalidInputError, match="one class"):
        model.fit(frame, [1, 1])
    with pytest.raises(InvalidInputError, match="lacks"):
        demo_training.model.predict_proba(frame.drop(columns="monetary"))
    assert all(name.endswith("_") for name in ("estimator_", "reference_", "feature_importances_"))


def _cdnow_store(path, transactions: pd.DataFrame) -> Store:
    store = Store(path)
    stamps = pd.to_datetime(transactions["date"].astype(str), format="%Y%m%d", utc=True)
    rows = pa.table({"order_id": [f"o{i}" for i in range(len(transactions))],
                     "message_id": [f"m{i}" for i in range(len(transactions))],
                     "customer_id": transactions["customer_id"].astype(str), "timestamp": stamps,
                     "revenue": transactions["amount"].astype(float)})
    store.register("cdnow", rows)
    store.execute("INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue) "
                  "SELECT * FROM cdnow")
    store.unregister("cdnow")
    return store


def test_cdnow_report_compares_with_rfm_logistic(tmp_path, cdnow_transactions):
    """Label: no purchase in the 13 weeks after the cutoff. Holdout cutoff 1998-03-31; training
    origins 1997-12-30, 09-30, 07-01 and 04-01 (the whole cohort bought in Q1 1997).

    On CDNOW the logistic regression on RFM is at the ceiling of what transaction features carry
    (docs/churn.md: in-period 10-fold CV, no richer model beats it), so the bar here is
    non-inferiority: within 0.002 of it on AUC and PR-AUC. The single-origin model of before missed
    that bar (AUC −0.0026); the rolling-origin model meets it (−0.0005 / −0.0000).
    """
    with _cdnow_store(tmp_path / "cdnow.duckdb", cdnow_transactions) as store:
        report = evaluate_churn(duckdb_engine(store), as_of="1998-06-30", horizon_days=91).report
    m, b, c = report["metrics"], report["baseline"]["metrics"], report["comparison"]
    assert report["holdout"]["customers"] == 2357
    assert [o["cutoff"].date().isoformat() for o in report["train"]["origins"]] == [
        "1997-12-30", "1997-09-30", "1997-07-01", "1997-04-01"]
    assert m["auc"] > 0.8 and b["auc"] > 0.8
    assert c["auc_gain"] == pytest.approx(m["auc"] - b["auc"])
    assert c["auc_gain"] > -0.002 and c["pr_auc_gain"] > -0.002
    assert m["brier"] < b["brier"]  # and its probabilities are the better calibrated
    # the verdict says plainly which way it went
    assert c["beats_baseline"] == (c["auc_gain"] > 0 and c["pr_auc_gain"] > 0)
    assert ("does NOT beat" in c["verdict"]) != c["beats_baseline"]


def test_cli_train_then_score_writes_churn_traits(demo, tmp_path, capsys):
    import shutil

    settings = load_settings(tmp_path / "copy")
    shutil.copytree(demo.data_dir, settings.data_dir)
    assert run(["churn", "train", "--data-dir", str(settings.data_dir), "--json"]) == 0
    capsys.readouterr()
    assert run(["churn", "score", "--top", "3", "--data-dir", str(settings.data_dir), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"top"' in out and '"reasons"' in out
    with Store(settings.store_path, read_only=True) as store:
        rows = store.fetchall("SELECT value, model FROM computed_traits WHERE name = 'churn_risk'")
        reasons = store.fetchall("SELECT value->'reasons' FROM computed_traits WHERE name = 'churn_reasons'")
        buyers = store.scalar("SELECT count(DISTINCT customer_id) FROM orders")
    # customers scored, not trait rows (two per customer: churn_risk and churn_reasons)
    assert json.loads(out)["customers"] == buyers
    assert len(rows) == buyers and {r[1] for r in rows} == {"churn-hgb"}
    assert all(0.0 <= float(r[0]) <= 1.0 for r in rows)
    assert len(reasons) == buyers
    assert run(["churn", "train", "--horizon-days", "0", "--data-dir", str(settings.data_dir)]) == 2
