"""The three inference methods on top of the effect moments: Welch t, sequential, Bayesian.

* **frequentist** — Welch's unequal-variance t-test, two-sided, with a t confidence interval on the
  (absolute or relative) effect.
* **sequential** — an always-valid confidence sequence (Waudby-Smith et al. 2023, eq. 155 for the
  p-value), tuned by the expected total sample size N*, GrowthBook's "tuning parameter".
* **bayesian** — GrowthBook's Gaussian effect model: a normal likelihood on the effect combined with a
  normal prior (flat/improper by default); chance to win, expected loss (risk) and a credible interval.

References
----------
Welch (1947). The generalization of 'Student's' problem. Biometrika 34.
Waudby-Smith, Arbour, Sinha, Kennedy, Ramdas (2023). Time-uniform central limit theory and
asymptotic confidence sequences. arXiv:2103.06476.
GrowthBook, *gbstats* ``frequentist/tests.py`` and ``bayesian/tests.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as st

from cxlens.experiments.stats.moments import (
    BASELINE_ZERO,
    DifferenceType,
    effect_moments,
    welch_dof,
)
from cxlens.experiments.stats.statistics import Statistic, with_theta

Method = Literal["frequentist", "sequential", "bayesian"]
METHODS: tuple[str, ...] = ("frequentist", "sequential", "bayesian")
DEFAULT_TUNING = 5000.0


@dataclass(frozen=True)
class Prior:
    """Normal prior on the effect; ``proper=False`` is GrowthBook's default flat prior.

    The mean and variance default to GrowthBook's metric defaults (mean 0, standard deviation 0.5 on the
    relative scale); they only act when ``proper`` is true.
    """

    mean: float = 0.0
    variance: float = 0.25
    proper: bool = False
    scale: DifferenceType = "relative"


@dataclass(frozen=True)
class TestResult:
    """One treatment against control for one metric."""

    method: str
    difference_type: str
    expected: float
    ci: tuple[float, float]
    stddev: float
    p_value: float | None = None
    chance_to_win: float | None = None
    risk: tuple[float, float] | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {
            "method": self.method, "difference_type": self.difference_type, "expected": self.expected,
            "ci": list(self.ci), "stddev": self.stddev, "p_value": self.p_value,
            "chance_to_win": self.chance_to_win, "risk": None if self.risk is None else list(self.risk),
            "error": self.error,
        }


def _empty(method: str, difference_type: str, error: str) -> TestResult:
    bayes = method == "bayesian"
    return TestResult(method, difference_type, 0.0, (0.0, 0.0), 0.0,
                      p_value=None if bayes else 1.0, chance_to_win=0.5 if bayes else None,
                      risk=(0.0, 0.0) if bayes else None, error=error)


def frequentist_test(a: Statistic, b: Statistic, *, alpha: float = 0.05,
                     difference_type: DifferenceType = "relative") -> TestResult:
    """Two-sided Welch t-test and (1 − α) confidence interval on the effect."""
    a, b = with_theta(a, b)
    moments = effect_moments(a, b, difference_type)
    if not moments.ok:
        return _empty("frequentist", difference_type, moments.error or "")
    dof = welch_dof(a, b)
    t_stat = moments.estimate / moments.standard_error
    half = st.t.ppf(1 - alpha / 2, dof) * moments.standard_error
    return TestResult("frequentist", difference_type, moments.estimate,
                      (moments.estimate - half, moments.estimate + half), moments.standard_error,
                      p_value=float(2 * st.t.sf(abs(t_stat), dof)))


def sequential_rho(alpha: float, tuning: float) -> float:
    """Mixture width ρ that makes the boundary tightest at N* = ``tuning`` units (two-sided)."""
    return float(np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / tuning))


def sequential_test(a: Statistic, b: Statistic, *, alpha: float = 0.05,
                    difference_type: DifferenceType = "relative",
                    tuning: float = DEFAULT_TUNING) -> TestResult:
    """Always-valid (1 − α) confidence sequence and p-value; safe to peek at any time."""
    a, b = with_theta(a, b)
    moments = effect_moments(a, b, difference_type)
    if not moments.ok:
        return _empty("sequential", difference_type, moments.error or "")
    n = a.n + b.n
    rho = sequential_rho(alpha, tuning)
    s2 = moments.standard_error**2 * n
    nr2 = n * rho**2 + 1
    half = np.sqrt(s2) * np.sqrt(2 * nr2 * np.log(np.sqrt(nr2) / alpha) / (n * rho) ** 2)
    st2 = moments.estimate**2 * n / moments.standard_error**2
    e_value = np.exp(rho**2 * st2 / (2 * nr2)) / np.sqrt(nr2)
    return TestResult("sequential", difference_type, moments.estimate,
                      (moments.estimate - half, moments.estimate + half), moments.standard_error,
                      p_value=float(min(1 / e_value, 1.0)))


def gaussian_risk(mean: float, sd: float) -> tuple[float, float]:
    """Expected loss of choosing control, and of choosing treatment: E[max(δ,0)], E[max(−δ,0)]."""
    p_neg = st.norm.cdf(0, mean, sd)
    lo, hi = -mean / sd, np.inf
    mean_pos = st.truncnorm.mean(lo, hi, loc=mean, scale=sd) if p_neg < 1 else 0.0
    mean_neg = st.truncnorm.mean(-np.inf, lo, loc=mean, scale=sd) if p_neg > 0 else 0.0
    return float((1 - p_neg) * mean_pos), float(-p_neg * mean_neg)


def bayesian_test(a: Statistic, b: Statistic, *, alpha: float = 0.05,
                  difference_type: DifferenceType = "relative", prior: Prior | None = None,
                  inverse: bool = False) -> TestResult:
    """Posterior of the effect under a normal prior; chance to win, risk, credible interval."""
    prior = prior or Prior()
    a, b = with_theta(a, b)
    moments = effect_moments(a, b, difference_type)
    if not moments.ok:
        return _empty("bayesian", difference_type, moments.error or "")
    relative = difference_type == "relative"
    base = a.unadjusted_mean
    prior_mean, prior_var = prior.mean, prior.variance
    if relative and prior.scale == "absolute":
        prior_mean, prior_var = prior_mean / abs(base), prior_var / base**2
    elif not relative and prior.scale == "relative":
        if prior.proper and base == 0:
            return _empty("bayesian", difference_type, BASELINE_ZERO)
        prior_mean, prior_var = prior_mean * abs(base), prior_var * base**2
    data_var = moments.standard_error**2
    precision = 1 / data_var + (1 / prior_var if prior.proper else 0.0)
    mean = ((moments.estimate / data_var + prior_mean / prior_var) / precision if prior.proper
            else moments.estimate)
    sd = float(np.sqrt(1 / precision))
    ctw = float(st.norm.sf(0, mean, sd))
    risk = gaussian_risk(mean, sd)
    if inverse:
        ctw, risk = 1 - ctw, (risk[1], risk[0])
    lo, hi = st.norm.ppf([alpha / 2, 1 - alpha / 2], mean, sd)
    return TestResult("bayesian", difference_type, float(mean), (float(lo), float(hi)), sd,
                      chance_to_win=ctw, risk=risk)


def run_test(method: str, a: Statistic, b: Statistic, *, alpha: float = 0.05,
             difference_type: DifferenceType = "relative", tuning: float = DEFAULT_TUNING,
             prior: Prior | None = None, inverse: bool = False) -> TestResult:
    """Dispatch to the chosen method (the caller validated ``method``)."""
    if method == "bayesian":
        return bayesian_test(a, b, alpha=alpha, difference_type=difference_type, prior=prior,
                             inverse=inverse)
    if method == "sequential":
        return sequential_test(a, b, alpha=alpha, difference_type=difference_type, tuning=tuning)
    return frequentist_test(a, b, alpha=alpha, difference_type=difference_type)
