"""Each model against the maximum-likelihood estimates published for its reference data set,
and against the peer library (lifetimes) on the same data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlens.predict.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
)

CASES = Path(__file__).resolve().parents[1] / "cases" / "clv"


def _rounded(params: dict[str, float], decimals: int = 3) -> dict[str, float]:
    return {k: round(v, decimals) for k, v in params.items()}


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_calibration) -> None:
    """FHL (2005) "Counting your customers the easy way", CDNOW: r=0.243, α=4.414, a=0.793,
    b=2.426, LL=−9582.4 (also CLVTools' reference: LL −9582.429)."""
    model = BetaGeoModel().fit(cdnow_calibration.summary)
    assert _rounded(model.params_) == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert model.log_likelihood_ == pytest.approx(-9582.429, abs=1e-3)
    assert model.converged_
    assert set(model.standard_errors_) == {"r", "alpha", "a", "b"}


def test_pareto_nbd_reproduces_published_cdnow_estimates(cdnow_calibration) -> None:
    """FHL (2005, "RFM and CLV") / Fader & Hardie's Pareto/NBD notes, CDNOW: r=0.553, α=10.578,
    s=0.606, β=11.669, LL=−9595.0; quoted to four decimals (FH MATLAB note) as r=0.5533,
    α=10.5780, s=0.6061, β=11.6693, LL=−9594.98.

    β sits on a ridge (standard error ≈ 6.2): moving it by 0.001 changes the log-likelihood by
    ~1e-6, so its fourth decimal is optimiser tolerance. Our optimum is checked to be a true
    stationary point (gradient ≈ 0) whose likelihood is at least that of the published values,
    and it matches them to the third decimal and within 1e-3 relative.
    """
    model = ParetoNBDModel().fit(cdnow_calibration.summary)
    assert _rounded(model.params_) == {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    published = {"r": 0.5533, "alpha": 10.5780, "s": 0.6061, "beta": 11.6693}
    for name, value in published.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-3)
    assert model.log_likelihood_ == pytest.approx(-9594.98, abs=0.005)
    x, tx, T = (cdnow_calibration.summary[c].to_numpy() for c in ("frequency", "recency", "T"))

    def loglik(params: np.ndarray) -> float:
        return float(model._loglik(params, x, tx, T).sum())

    ours = np.array([model.params_[k] for k in model.param_names])
    for reference in (list(published.values()), [0.553, 10.578, 0.606, 11.669]):
        assert model.log_likelihood_ >= loglik(np.array(reference))
    # a maximum, not just a better point: the gradient in log-parameters vanishes (central differences)
    step = 1e-5
    gradient = [(loglik(ours * np.exp(step * e)) - loglik(ours * np.exp(-step * e))) / (2 * step)
                for e in np.eye(4)]
    assert np.max(np.abs(gradient)) < 1e-2


def test_gamma_gamma_reproduces_fader_hardie_2013(cdnow_calibration) -> None:
    """Fader & Hardie (2013) "The Gamma-Gamma model of monetary value", 946 CDNOW repeat buyers:
    p=6.25, q=3.74, γ=15.44 (LL −4055.9177 per CLVTools' reference test)."""
    model = GammaGammaModel().fit(cdnow_calibration.summary)
    assert _rounded(model.params_, 2) == {"p": 6.25, "q": 3.74, "gamma": 15.44}
    assert model.log_likelihood_ == pytest.approx(-4055.9177, abs=1e-3)
    assert model.n_observations_ == 946


def test_bgbb_reproduces_fader_hardie_shang_2010(donations) -> None:
    """FHS (2010), 11,104 donors over 6 opportunities: α=1.204, β=0.750, γ=0.657, δ=2.783."""
    model = BetaGeoBetaBinomModel().fit(donations)
    assert _rounded(model.params_) == {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    assert model.n_observations_ == 11104
    assert model.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)


@pytest.mark.parametrize(("cohort", "expected"), [
    ("regular", {"alpha": 0.704, "beta": 1.182}),
    ("high_end", {"alpha": 0.668, "beta": 3.806}),
])
def test_sbg_reproduces_fader_hardie_2007(cohort: str, expected: dict[str, float]) -> None:
    """Fader & Hardie (2007): fitted on years 0-7 of each cohort's survivor curve."""
    curve = pd.read_csv(CASES / "sbg_fader_hardie_2007.csv")
    model = ShiftedBetaGeoModel().fit(curve[cohort].to_numpy()[:8])
    assert _rounded(model.params_) == expected
    # the projection tracks the held-out years 8-12 (the paper's point): within 2.5 points of share
    projected = model.survival(12)[8:]
    actual = curve[cohort].to_numpy()[8:] / 1000
    assert np.max(np.abs(projected - actual)) < 0.025


def test_sbg_derl_closed_form_matches_direct_sum() -> None:
    model = ShiftedBetaGeoModel().fit(np.array([1000, 631, 468, 382, 326, 289, 262, 241]))
    n, d = 3, 0.1
    surv = model.survival(3000)
    direct = sum(surv[n + t] / surv[n] * (1 + d) ** -(t - 1) for t in range(1, 2990))
    assert model.discounted_expected_residual_lifetime(n, d) == pytest.approx(direct, rel=1e-9)
    assert model.retention_rate(3)[0] == pytest.approx(surv[1] / surv[0])


# -- the peer library, side by side ---------------------------------------------------------------

@pytest.fixture(scope="module")
def lifetimes():
    return pytest.importorskip("lifetimes")


@pytest.mark.parametrize(("ours", "theirs"), [
    (BetaGeoModel, "BetaGeoFitter"),
    (ModifiedBetaGeoModel, "ModifiedBetaGeoFitter"),
    (ParetoNBDModel, "ParetoNBDFitter"),
])
def test_purchase_models_agree_with_lifetimes(lifetimes, cdnow_published_summary, ours, theirs) -> None:
    data = cdnow_published_summary
    model = ours().fit(data)
    peer = getattr(lifetimes, theirs)().fit(data["frequency"], data["recency"], data["T"])
    for name in model.param_names:
        assert model.params_[name] == pytest.approx(peer.params_[name], rel=2e-3)
    f, r, t = data["frequency"], data["recency"], data["T"]
    np.testing.assert_allclose(model.predict_probability_alive(data),
                               peer.conditional_probability_alive(f, r, t), atol=2e-4)
    np.testing.assert_allclose(model.predict_purchases(data, 39.0),
                               peer.conditional_expected_number_of_purchases_up_to_time(39.0, f, r, t),
                               atol=2e-3)


def test_gamma_gamma_and_clv_agree_with_lifetimes(lifetimes, cdnow_published_summary) -> None:
    from cxlens.predict.clv import customer_lifetime_value

    data = cdnow_published_summary
    spend = GammaGammaModel().fit(data)
    repeat = data[data["frequency"] > 0]
    peer = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    assert [spend.params_[k] for k in ("p", "q", "gamma")] == pytest.approx(
        [peer.params_[k] for k in ("p", "q", "v")], rel=1e-3)
    np.testing.assert_allclose(
        spend.predict_spend(data),
        peer.conditional_expected_average_profit(data["frequency"], data["monetary_value"]), rtol=1e-4)

    bg = BetaGeoModel().fit(data)
    peer_bg = lifetimes.BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    ours = customer_lifetime_value(bg, spend, data, months=12, discount_rate=0.01)
    # lifetimes: time in weeks ("W"), months of 30 days; ours uses 365.25/12-day months, so compare
    # with the same month length by asking lifetimes for its own, then check the difference is
    # only the month-length convention (< 1.5 %)
    theirs = peer.customer_lifetime_value(peer_bg, data["frequency"], data["recency"], data["T"],
                                          data["monetary_value"], time=12, discount_rate=0.01, freq="W")
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=0.015)


def test_bgbb_predictions_agree_with_lifetimes(lifetimes, donations) -> None:
    model = BetaGeoBetaBinomModel().fit(donations)
    peer = lifetimes.BetaGeoBetaBinomFitter().fit(donations["frequency"], donations["recency"],
                                                 donations["n_periods"], donations["weight"])
    args = (donations["frequency"], donations["recency"], donations["n_periods"])
    np.testing.assert_allclose(model.predict_probability_alive(donations),
                               peer.conditional_probability_alive(1, *args), atol=1e-5)
    np.testing.assert_allclose(model.predict_purchases(donations, 5),
                               peer.conditional_expected_number_of_purchases_up_to_time(5, *args), atol=1e-4)
