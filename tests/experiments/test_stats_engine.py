"""The engine against SciPy / statsmodels on raw data, and the analysis layer's contract."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion as sm_proportion

from cxlens.errors import InvalidInputError
from cxlens.experiments.stats import (
    Proportion,
    Ratio,
    RegressionAdjusted,
    SampleMean,
    adjust_p_values,
    compare,
    frequentist_test,
    srm_p_value,
)
from cxlens.experiments.stats.statistics import cuped_theta


def _mean(x: np.ndarray) -> SampleMean:
    return SampleMean(n=len(x), sum=float(x.sum()), sum_squares=float((x**2).sum()))


def _record(name: str, x: np.ndarray) -> dict:
    return {"name": name, "n": len(x), "sum": float(x.sum()), "sum_squares": float((x**2).sum())}


RNG = np.random.default_rng(7)
A = RNG.gamma(2.0, 10.0, 4000)
B = RNG.gamma(2.0, 10.6, 3800)


def test_absolute_welch_matches_scipy() -> None:
    ours = frequentist_test(_mean(A), _mean(B), difference_type="absolute", alpha=0.1)
    ref = stats.ttest_ind(B, A, equal_var=False)
    ci = ref.confidence_interval(confidence_level=0.9)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert ours.ci == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_relative_lift_uses_the_delta_method() -> None:
    """se² = s_B²/(n_B·x̄_A²) + s_A²·x̄_B²/(n_A·x̄_A⁴) (delta method for x̄_B/x̄_A)."""
    ours = frequentist_test(_mean(A), _mean(B))
    ma, mb, va, vb = A.mean(), B.mean(), A.var(ddof=1), B.var(ddof=1)
    se = np.sqrt(vb / (len(B) * ma**2) + va * mb**2 / (len(A) * ma**4))
    assert ours.expected == pytest.approx(mb / ma - 1)
    assert ours.stddev == pytest.approx(se)


def test_proportion_matches_statsmodels_wald() -> None:
    ours = frequentist_test(Proportion(20000, 2100), Proportion(20000, 2260), difference_type="absolute")
    ref = sm_proportion.test_proportions_2indep(2260, 20000, 2100, 20000, method="wald", compare="diff")
    assert ours.p_value == pytest.approx(ref.pvalue, abs=2e-5)  # t with ~40k dof vs normal


def test_cuped_equals_welch_on_adjusted_values() -> None:
    """CUPED = Welch test on y − θ·x with θ the pooled OLS slope (Deng et al. 2013)."""
    x_a, x_b = RNG.normal(50, 10, 3000), RNG.normal(50, 10, 3000)
    y_a = 0.8 * x_a + RNG.normal(0, 5, 3000)
    y_b = 0.8 * x_b + 1.0 + RNG.normal(0, 5, 3000)

    def ra(y: np.ndarray, x: np.ndarray) -> RegressionAdjusted:
        return RegressionAdjusted(n=len(y), post=_mean(y), pre=_mean(x),
                                  post_pre_sum_of_products=float((y * x).sum()))

    a, b = ra(y_a, x_a), ra(y_b, x_b)
    theta = np.polyfit(np.r_[x_a, x_b], np.r_[y_a, y_b], 1)[0]
    assert cuped_theta(a, b) == pytest.approx(theta, rel=1e-6)
    ours = frequentist_test(a, b, difference_type="absolute")
    ref = stats.ttest_ind(y_b - theta * x_b, y_a - theta * x_a, equal_var=False)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-5)
    plain = frequentist_test(_mean(y_a), _mean(y_b), difference_type="absolute")
    rho = np.corrcoef(np.r_[x_a, x_b], np.r_[y_a, y_b])[0, 1]
    assert ours.stddev / plain.stddev == pytest.approx(np.sqrt(1 - rho**2), rel=0.05)  # variance × (1 − ρ²)


def test_ratio_metric_delta_method_matches_linearisation() -> None:
    """Var(Σm/Σd) ≈ Var(m − R·d)/(n·d̄²): the linearised per-unit residual."""
    d = RNG.poisson(3, 5000).astype(float) + 1
    m = d * RNG.gamma(2, 20, 5000)
    ratio = Ratio(n=5000, m=_mean(m), d=_mean(d), m_d_sum_of_products=float((m * d).sum()))
    r = m.sum() / d.sum()
    assert ratio.mean == pytest.approx(r)
    assert ratio.variance / 5000 == pytest.approx((m - r * d).var(ddof=1) / (5000 * d.mean() ** 2), rel=1e-9)


def test_srm_matches_scipy_chisquare() -> None:
    users, weights = [5050, 4800, 5300], [1, 1, 1]
    expected = np.array(weights) / 3 * sum(users)
    assert srm_p_value(users, weights) == pytest.approx(stats.chisquare(users, expected).pvalue)


def test_holm_and_bh_by_hand() -> None:
    """p = (0.01, 0.04, 0.03). Holm: 3·0.01, max(2·0.03, ·), max(1·0.04, 0.06) → (0.03, 0.06, 0.06).
    BH: sorted (0.01, 0.03, 0.04)·3/rank = (0.03, 0.045, 0.04), running min from the top → (0.03, 0.04, 0.04).
    """
    assert adjust_p_values([0.01, 0.04, 0.03], "holm") == pytest.approx([0.03, 0.06, 0.06])
    assert adjust_p_values([0.01, 0.04, 0.03], "bh") == pytest.approx([0.03, 0.04, 0.04])
    assert adjust_p_values([0.01, None], "holm") == [0.01, None]


def _spec() -> dict:
    lat_a, lat_b = RNG.normal(200, 30, 4000), RNG.normal(215, 30, 3800)
    return {
        "weights": [0.5, 0.5],
        "metrics": [
            {"name": "revenue", "metric": "mean", "variants": [_record("control", A), _record("new", B)]},
            {"name": "conversion", "metric": "proportion",
             "variants": [{"name": "control", "n": 4000, "sum": 400},
                          {"name": "new", "n": 3800, "sum": 410}]},
            {"name": "latency_ms", "metric": "mean", "guardrail": True, "inverse": True,
             "variants": [_record("control", lat_a), _record("new", lat_b)]},
        ],
    }


def test_compare_corrects_goal_metrics_and_flags_guardrails() -> None:
    out = compare(_spec(), correction="holm")
    revenue, conversion, latency = out["metrics"]
    raw = [revenue["results"][0]["relative"]["p_value"], conversion["results"][0]["relative"]["p_value"]]
    assert [revenue["results"][0]["p_value_adjusted"], conversion["results"][0]["p_value_adjusted"]] == \
        pytest.approx(adjust_p_values(raw, "holm"))
    assert "p_value_adjusted" not in latency["results"][0]
    assert latency["results"][0]["harm"] is True  # +7.5 % latency, lower is better
    assert out["guardrail_breaches"][0]["metric"] == "latency_ms"
    assert out["srm"]["p_value"] == pytest.approx(srm_p_value([4000, 3800], [0.5, 0.5]))


def test_compare_bayesian_reports_chance_to_win() -> None:
    out = compare(_spec(), method="bayesian")
    result = out["metrics"][0]["results"][0]["relative"]
    assert 0.5 < result["chance_to_win"] <= 1 and result["p_value"] is None
    assert out["metrics"][2]["results"][0]["harm"] is True


@pytest.mark.parametrize(("spec", "message"), [
    ({"metric": "mean", "variants": [{"name": "a", "n": 10, "sum": 1, "sum_squares": 2}]}, "at least two"),
    ({"metric": "mean", "variants": [{"name": "a", "n": 0, "sum": 0, "sum_squares": 0},
                                     {"name": "b", "n": 5, "sum": 1, "sum_squares": 1}]}, "n must be"),
    ({"metric": "mean", "variants": [{"name": "a", "n": 5, "sum": 1, "sum_squares": -1},
                                     {"name": "b", "n": 5, "sum": 1, "sum_squares": 1}]}, "sum_squares"),
    ({"metric": "proportion", "variants": [{"name": "a", "n": 5, "sum": -1},
                                           {"name": "b", "n": 5, "sum": 1}]}, "negative"),
    ({"metric": "mean", "variants": [{"name": "a", "n": 5, "sum": 1},
                                     {"name": "b", "n": 5, "sum": 1, "sum_squares": 1}]}, "sum_squares"),
    ({"metric": "median", "variants": []}, "unknown metric type"),
])
def test_compare_rejects_bad_input_naming_the_field(spec: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        compare(spec)


def test_zero_variance_is_reported_not_raised() -> None:
    spec = {"metric": "mean", "variants": [{"name": "a", "n": 5, "sum": 5, "sum_squares": 5},
                                           {"name": "b", "n": 5, "sum": 6, "sum_squares": 8}]}
    result = compare(spec)["metrics"][0]["results"][0]
    assert result["relative"]["error"] == "zero_variance" and result["significant"] is False


def test_compare_rejects_bad_settings() -> None:
    spec = _spec()
    with pytest.raises(InvalidInputError, match="method"):
        compare(spec, method="magic")
    with pytest.raises(InvalidInputError, match="alpha"):
        compare(spec, alpha=1.5)
