"""NPS / CSAT / CES scores, intervals and change tests, checked against numpy, scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cxlens.errors import InvalidInputError
from cxlens.voc import scores

RNG = np.random.default_rng(7)


def _nps_answers(promoters: int, passives: int, detractors: int) -> np.ndarray:
    return np.array([10] * promoters + [8] * passives + [3] * detractors)


def test_nps_score_and_variance_match_the_coded_answers() -> None:
    answers = _nps_answers(50, 30, 20)
    result = scores.nps(answers)
    codes = np.where(answers >= 9, 1, np.where(answers <= 6, -1, 0))
    assert result.score == pytest.approx(30.0)
    # the +1/0/-1 variance formula equals the (population) variance of the codes
    assert scores.nps_variance(scores.tally(answers, "nps")) == pytest.approx(codes.var())
    assert result.se == pytest.approx(100 * codes.std() / np.sqrt(codes.size))
    assert result.margin == pytest.approx(1.959964 * 100 * np.sqrt(0.61 / 100), rel=1e-6)
    assert (result.high_share, result.low_share) == (50.0, 20.0)


def test_csat_top2box_interval_matches_statsmodels() -> None:
    answers = RNG.integers(1, 6, size=400)
    result = scores.csat(answers, confidence=0.9)
    top2 = int((answers >= 4).sum())
    low, high = proportion_confint(top2, answers.size, alpha=0.1, method="normal")
    assert result.score == pytest.approx(100 * top2 / answers.size)
    assert (result.ci_low, result.ci_high) == pytest.approx((100 * low, 100 * high))
    assert result.mean == pytest.approx(answers.mean())
    assert result.sd == pytest.approx(answers.std(ddof=1))


def test_ces_mean_interval_matches_scipy_t_interval() -> None:
    answers = RNG.integers(1, 8, size=60)
    result = scores.ces(answers)
    low, high = stats.t.interval(0.95, answers.size - 1, loc=answers.mean(), scale=stats.sem(answers))
    assert result.score == pytest.approx(answers.mean())
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.high_share == pytest.approx(100 * (answers >= 5).mean())
    assert result.low_share is None


def test_nps_change_z_uses_each_periods_variance() -> None:
    before, after = _nps_answers(40, 30, 30), _nps_answers(60, 25, 15)
    change = scores.compare(scores.tally(before, "nps"), scores.tally(after, "nps"), "nps")
    c1 = np.where(before >= 9, 1, np.where(before <= 6, -1, 0))
    c2 = np.where(after >= 9, 1, np.where(after <= 6, -1, 0))
    z = (c2.mean() - c1.mean()) / np.sqrt(c1.var() / c1.size + c2.var() / c2.size)
    assert change.difference == pytest.approx(35.0)
    assert change.statistic == pytest.approx(z)
    assert change.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert change.verdict == "significant"


def test_csat_change_is_the_two_proportion_test() -> None:
    before, after = RNG.integers(1, 6, size=300), RNG.integers(2, 6, size=250)
    change = scores.compare(scores.tally(before, "csat"), scores.tally(after, "csat"), "csat")
    table = [[(after >= 4).sum(), (after < 4).sum()], [(before >= 4).sum(), (before < 4).sum()]]
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    assert change.statistic**2 == pytest.approx(chi2)  # a pooled two-proportion z² is Pearson's chi²
    assert change.difference > 0


def test_ces_change_is_welch_t() -> None:
    before, after = RNG.integers(1, 8, size=80), RNG.integers(1, 8, size=50)
    change = scores.compare(scores.tally(before, "ces"), scores.tally(after, "ces"), "ces")
    ref = stats.ttest_ind(after, before, equal_var=False)
    assert change.statistic == pytest.approx(ref.statistic)
    assert change.p_value == pytest.approx(ref.pvalue)


def test_a_small_wobble_is_noise() -> None:
    before, after = _nps_answers(40, 30, 30), _nps_answers(41, 30, 29)
    change = scores.compare(scores.tally(before, "nps"), scores.tally(after, "nps"), "nps")
    assert change.verdict == "noise" and not change.significant


@pytest.mark.parametrize(
    ("values", "metric", "fragment"),
    [
        ([9, 10, 11], "nps", "row 2"),
        ([1, 4.5], "csat", "row 1"),
        ([3, float("nan")], "ces", "row 1"),
        ([0, 5], "csat", "row 0"),
        (["9", "abc", "x"], "nps", "nps score 'abc' in row 1 is not a number \\(2 such rows in all\\)"),
    ],
)
def test_off_scale_scores_are_named_by_row(values, metric, fragment) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        scores.tally(values, metric)


def test_unknown_metric_and_empty_input_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown metric"):
        scores.tally([1, 2], "nsp")
    with pytest.raises(InvalidInputError, match="no nps answers"):
        scores.nps([])
    with pytest.raises(InvalidInputError, match="too few answers"):
        scores.compare(scores.tally([9], "nps"), scores.tally([9, 10], "nps"), "nps")
