"""Data preparation, input validation, compression, persistence and the validation report."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.predict.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    MaximumLikelihoodModel,
    ParetoNBDModel,
)
from cxlens.predict.summary import compress, summarize_transactions, validate_summary
from cxlens.predict.validation import holdout_report


def test_summary_reproduces_the_published_cdnow_summary(cdnow_calibration, cdnow_published_summary) -> None:
    """Our transactions → summary gives the FHL (2005) CDNOW summary (published to 2 decimals)."""
    ours = cdnow_calibration.summary.copy()
    ours.index = ours.index.astype(int)
    ours = ours.sort_index()
    ref = cdnow_published_summary
    assert len(ours) == 2357
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), ref["frequency"].to_numpy())
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), atol=0.0051)
    assert cdnow_calibration.holdout_length == pytest.approx(39.0)


def test_summary_merges_same_day_purchases_and_excludes_later_customers() -> None:
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c"],
        "date": ["2024-01-01", "2024-01-01T18:00:00Z", "2024-01-15", "2024-01-08", "2024-02-01"],
        "amount": [5.0, 5.0, 20.0, 7.0, 1.0],
    })
    result = summarize_transactions(tx, amount_col="amount", period="day", calibration_end="2024-01-22",
                                    observation_end="2024-02-05")
    s = result.summary
    assert list(s.index) == ["a", "b"]  # c's first purchase is after the calibration end
    assert s.loc["a", "frequency"] == 1 and s.loc["a", "recency"] == 14 and s.loc["a", "T"] == 21
    assert s.loc["a", "monetary_value"] == 20.0  # the repeat purchase only; the first day (10) excluded
    assert s.loc["b", "monetary_value"] == 0.0
    assert result.holdout_length == 14


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"frequency": [1.5], "recency": [1], "T": [2]}), "whole number"),
    (pd.DataFrame({"frequency": [-1], "recency": [0], "T": [2]}), "negative"),
    (pd.DataFrame({"frequency": [1], "recency": [3], "T": [2]}), "larger than T"),
    (pd.DataFrame({"frequency": [0], "recency": [1], "T": [2]}), "frequency 0"),
    (pd.DataFrame({"frequency": [1], "recency": ["x"], "T": [2]}), "not a number"),
    (pd.DataFrame({"frequency": [1], "recency": [1]}), "lacks column"),
    (pd.DataFrame({"frequency": [], "recency": [], "T": []}), "no rows"),
])
def test_summary_validation_names_row_and_column(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        validate_summary(frame)


def test_summary_validation_shows_the_value_as_written() -> None:
    """Messages quote the offending value as the file has it, not numpy's repr (``np.int64(5)``)."""
    with pytest.raises(InvalidInputError) as caught:
        validate_summary(pd.DataFrame({"frequency": [1], "recency": [5], "T": [3]}))
    assert str(caught.value).startswith("column 'recency', row 1 (index 0): 5 is larger than T")
    assert "np." not in str(caught.value)
    with pytest.raises(InvalidInputError, match=r"'frequency', row 1: 1\.5 is not a whole"):
        BetaGeoBetaBinomModel().fit(pd.DataFrame({"frequency": [1.5], "recency": [2], "n_periods": [3]}))


def test_negative_amounts_and_bad_dates_are_explained() -> None:
    tx = pd.DataFrame({"customer_id": ["a", "a"], "date": ["2024-01-01", "2024-01-02"], "amount": [1, -3]})
    with pytest.raises(InvalidInputError, match=r"row 2.*negative"):
        summarize_transactions(tx, amount_col="amount")
    tx = pd.DataFrame({"customer_id": ["a", "a"], "date": ["2024-01-01", "yesterday"]})
    with pytest.raises(InvalidInputError, match=r"'date', row 2.*cannot read 'yesterday'"):
        summarize_transactions(tx)


def test_one_purchase_only_data_is_refused_with_advice() -> None:
    one_timers = pd.DataFrame({"frequency": [0, 0, 0], "recency": [0, 0, 0], "T": [5, 6, 7],
                               "monetary_value": [0, 0, 0]})
    with pytest.raises(InvalidInputError, match="bought only once"):
        BetaGeoModel().fit(one_timers)
    with pytest.raises(InvalidInputError, match="only once"):
        GammaGammaModel().fit(one_timers)


def test_compression_does_not_change_the_fit(cdnow_published_summary) -> None:
    """Fitting the distinct rows with weights equals fitting every customer."""
    data = cdnow_published_summary
    stats = compress(x=data["frequency"].to_numpy(), tx=data["recency"].to_numpy(), T=data["T"].to_numpy())
    assert stats.weights.sum() == len(data) and len(stats.weights) < len(data)
    distinct = pd.DataFrame({"frequency": stats.columns["x"], "recency": stats.columns["tx"],
                             "T": stats.columns["T"]})
    weighted = BetaGeoModel().fit(distinct, sample_weight=stats.weights)
    full = BetaGeoModel().fit(data)
    for name in full.param_names:
        assert weighted.params_[name] == pytest.approx(full.params_[name], rel=1e-5)


def test_penalizer_shrinks_parameters(cdnow_published_summary) -> None:
    free = BetaGeoModel().fit(cdnow_published_summary)
    shrunk = BetaGeoModel(penalizer_coef=0.1).fit(cdnow_published_summary)
    assert sum(v**2 for v in shrunk.params_.values()) < sum(v**2 for v in free.params_.values())
    assert shrunk.standard_errors_ == {}  # a penalised optimum is not the MLE


def test_estimator_contract_and_persistence(cdnow_published_summary) -> None:
    model = ParetoNBDModel(penalizer_coef=0.0)
    assert vars(model) == {"penalizer_coef": 0.0, "period": "week"}  # __init__ only stores
    with pytest.raises(ModelNotFittedError):
        model.predict_probability_alive(cdnow_published_summary)
    assert model.fit(cdnow_published_summary) is model
    assert not any(isinstance(v, pd.DataFrame | np.ndarray) for v in vars(model).values())
    restored = MaximumLikelihoodModel.from_dict(model.to_dict())
    np.testing.assert_allclose(restored.predict_purchases(cdnow_published_summary, 10),
                               model.predict_purchases(cdnow_published_summary, 10))
    clone = pickle.loads(pickle.dumps(model))
    assert clone.params_ == model.params_


def test_holdout_report_on_cdnow(cdnow_calibration) -> None:
    """The BG/NBD beats the naive "same rate as before" forecast on the CDNOW holdout."""
    model = BetaGeoModel().fit(cdnow_calibration.summary)
    report = holdout_report(model, cdnow_calibration.summary, cdnow_calibration.holdout_length)
    assert report["customers"] == 2357
    assert report["actual_total"] == cdnow_calibration.summary["holdout_frequency"].sum()
    assert report["mae"] < report["naive_mae"] and report["rmse"] < report["naive_rmse"]
    assert 0.8 < report["predicted_total"] / report["actual_total"] < 1.0
    assert [r["frequency"] for r in report["by_frequency"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(r["customers"] for r in report["by_frequency"]) == 2357


def test_pareto_handles_extreme_customers() -> None:
    """Hundreds of purchases with α ≪ β push 2F1 to the edge; the likelihood stays finite."""
    model = ParetoNBDModel()
    x = np.array([0.0, 1.0, 400.0, 900.0])
    tx = np.array([0.0, 0.5, 50.0, 51.9])
    T = np.array([52.0, 52.0, 52.0, 52.0])
    for params in ([0.5, 0.1, 0.6, 500.0], [0.5, 500.0, 0.6, 0.1], [2.0, 3.0, 1.0, 3.0]):
        ll = model._loglik(np.array(params), x, tx, T)
        assert np.all(np.isfinite(ll))
        p_alive = np.exp(model._log_p_alive(np.array(params), x, tx, T))
        assert np.all((p_alive >= 0) & (p_alive <= 1))


def test_pareto_closed_form_matches_quadrature() -> None:
    model = ParetoNBDModel()
    params = np.array([0.55, 10.6, 0.61, 11.7])
    x, tx, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.4, 35.0]), np.array([38.9, 38.9, 38.9])
    closed = model._log_a0(params, x, tx, T)
    quad = model._log_a0_quadrature(params, x, tx, T)
    np.testing.assert_allclose(closed, quad, rtol=1e-8)


def _one_pass_cases() -> list:
    """(totals, per-row log-likelihood, weights, parameter sets) for each model with a gradient."""
    from cxlens.predict.clv import ModifiedBetaGeoModel
    from cxlens.predict.summary import Levels

    x, m = np.array([1.0, 2, 3, 10, 2]), np.array([1.0, 5, 20, 3, 7])
    weights = np.array([3.0, 1, 2, 5, 0.5])
    gg_totals = GammaGammaModel._totals(weights, Levels.of(x), m)
    cases = [(gg_totals, lambda p, x=x: GammaGammaModel._loglik(p, x, m), weights,
              [np.array([6.0, 3.7, 15.0]), np.array([0.4, 1.2, 0.3])])]
    x, tx = np.array([0.0, 1, 5, 30, 1, 0]), np.array([0, 2.0, 10, 30, 2, 0])
    T = np.array([40.0, 40, 40, 41, 38, 12])
    weights = np.array([3.0, 1, 2, 5, 0.5, 7])
    for model in (BetaGeoModel(), ModifiedBetaGeoModel()):
        levelled = (Levels.of(x), Levels.of(tx), Levels.of(T))
        # b < 1 makes b + x - 1 negative at x = 0, a level the dropout term must never read
        cases.append((model._totals(weights, *levelled), lambda p, model=model: model._loglik(p, x, tx, T),
                      weights, [np.array([0.3, 4.2, 0.8, 2.4]), np.array([1.7, 0.5, 2.5, 0.6])]))
    return cases


@pytest.mark.parametrize("case", range(3), ids=["gammagamma", "bgnbd", "mbgnbd"])
def test_one_pass_likelihood_and_gradient_match_per_row_formula_and_finite_differences(case) -> None:
    from scipy.optimize import approx_fprime

    totals, per_row, weights, param_sets = _one_pass_cases()[case]
    for params in param_sets:
        loglik, grad = totals(params)
        assert loglik == pytest.approx(float(weights @ per_row(params)), rel=1e-12)
        numeric = approx_fprime(params, lambda p: float(weights @ per_row(p)), 1e-7)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n_columns", [1, 3, 5])
def test_compress_keeps_every_row_and_finds_each_distinct_row_once(n_columns) -> None:
    from cxlens.predict.summary import compress

    rng = np.random.default_rng(3)
    # five columns of up to 100,000 levels overflow one 62-bit key, so the codes are packed twice
    level_counts = [4, 100_000, 60, 100_000, 7][:n_columns]
    columns = {f"c{i}": rng.integers(0, n, 200_000) / 7.0 for i, n in enumerate(level_counts)}
    out = compress(**columns)
    rows = np.column_stack(list(columns.values()))
    distinct = np.column_stack([out.columns[name] for name in columns])
    np.testing.assert_array_equal(distinct[out.inverse], rows)
    assert len(np.unique(distinct, axis=0)) == len(distinct) == len(np.unique(rows, axis=0))
    np.testing.assert_array_equal(out.weights, np.bincount(out.inverse))


@pytest.mark.parametrize("model_name", ["bgnbd", "mbgnbd", "pareto"])
def test_scoring_on_distinct_rows_equals_scoring_every_customer(model_name, cdnow_published_summary) -> None:
    from cxlens.predict.clv import customer_lifetime_value
    from cxlens.predict.clv.value import expected_purchases_by_month

    data = cdnow_published_summary
    x, tx, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    assert len(data[["frequency", "recency", "T"]].drop_duplicates()) < len(data) * 0.8  # rows repeat
    model = MaximumLikelihoodModel.registry[model_name]().fit(data)
    spend = GammaGammaModel().fit(data)
    params = np.array([model.params_[k] for k in model.param_names])
    times = np.array([4.35, 8.7, 13.05])
    one_by_one = np.column_stack([model._expected(params, t, x, tx, T) for t in times])
    assert np.all(np.isfinite(one_by_one)) and np.all(one_by_one > 0)
    np.testing.assert_allclose(model.predict_purchases_path(data, times), one_by_one, rtol=1e-10)
    monthly = expected_purchases_by_month(model, data, 3)
    np.testing.assert_allclose(monthly.sum(axis=1), model.predict_purchases(data, 3 * 365.25 / 12 / 7),
                               rtol=1e-10)
    factors = 1.01 ** -np.arange(1, 4)
    np.testing.assert_allclose(customer_lifetime_value(model, spend, data, months=3, discount_rate=0.01),
                               spend.predict_spend(data) * (monthly @ factors), rtol=1e-12)
