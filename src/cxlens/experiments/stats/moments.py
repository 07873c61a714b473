"""The effect of a treatment and its standard error, absolute or relative, from two arms' statistics.

Every test (frequentist, sequential, Bayesian) starts from these two moments; only the inference on
top differs. The relative lift (B − A)/A uses the delta method for the variance of a ratio of two
independent means, as GrowthBook's engine does, with the pre-period terms of CUPED folded in.

References
----------
GrowthBook, *gbstats* ``EffectMoments`` (packages/stats/gbstats/models/tests.py).
Deng, Knoblich, Lu (2018). Applying the Delta Method in Metric Analytics. KDD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cxlens.experiments.stats.statistics import (
    RegressionAdjusted,
    RegressionAdjustedRatio,
    Statistic,
)

DifferenceType = Literal["relative", "absolute"]

ZERO_VARIANCE = "zero_variance"
BASELINE_ZERO = "baseline_zero"


@dataclass(frozen=True)
class EffectMoments:
    """Point estimate and standard error of the effect, or the reason there is none."""

    estimate: float
    standard_error: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _relative_cuped_variance(a: RegressionAdjusted, b: RegressionAdjusted) -> float:
    """Var of (adj_B − adj_A)/post_A: the control's adjusted mean and its raw baseline co-vary."""
    base = a.unadjusted_mean
    theta = a.theta or 0.0
    v_trt = (b.post.variance + theta**2 * b.pre.variance - 2 * theta * b.covariance) / (b.n * base**2)
    const = -b.post.mean
    v_ctrl = (a.post.variance * const**2 / a.post.mean**2
              + 2 * theta * a.covariance * const / a.post.mean
              + theta**2 * a.pre.variance) / (a.n * base**2)
    return v_trt + v_ctrl


def _relative_cuped_ratio_variance(a: RegressionAdjustedRatio, b: RegressionAdjustedRatio) -> float:
    """Gradient of (adj_B − adj_A)/ratio_A over control's and treatment's four means each."""
    g_abs = b.mean - a.mean
    g_den = abs(a.unadjusted_mean)
    d_mean, m_mean = a.d_post.mean, a.m_post.mean
    nabla_a = np.array([
        -(g_den + g_abs) / d_mean / g_den**2,
        (m_mean * g_den / d_mean**2 + m_mean * g_abs / d_mean**2) / g_den**2,
        -a.nabla[2] / g_den,
        -a.nabla[3] / g_den,
    ])
    nabla_b = b.nabla / g_den
    return float(nabla_a @ a.lambda_matrix @ nabla_a / a.n + nabla_b @ b.lambda_matrix @ nabla_b / b.n)


def effect_variance(a: Statistic, b: Statistic, relative: bool) -> float:
    """Variance of the absolute difference or of the relative lift (delta method)."""
    if relative and isinstance(a, RegressionAdjusted) and isinstance(b, RegressionAdjusted):
        return _relative_cuped_variance(a, b)
    if relative and isinstance(a, RegressionAdjustedRatio) and isinstance(b, RegressionAdjustedRatio):
        return _relative_cuped_ratio_variance(a, b)
    if relative:
        base = a.unadjusted_mean
        return b.variance / b.n / base**2 + a.variance / a.n * b.mean**2 / base**4
    return b.variance / b.n + a.variance / a.n


def effect_moments(a: Statistic, b: Statistic, difference_type: DifferenceType = "relative") -> EffectMoments:
    """Effect of B over A with its standard error; ``error`` says why when it cannot be estimated."""
    if a.has_zero_variance() or b.has_zero_variance():
        return EffectMoments(0.0, 0.0, ZERO_VARIANCE)
    relative = difference_type == "relative"
    if relative and (a.mean == 0 or a.unadjusted_mean == 0):
        return EffectMoments(0.0, 0.0, BASELINE_ZERO)
    variance = effect_variance(a, b, relative)
    if not variance > 0:
        return EffectMoments(0.0, 0.0, ZERO_VARIANCE)
    diff = b.mean - a.mean
    estimate = diff / a.unadjusted_mean if relative else diff
    return EffectMoments(estimate, float(np.sqrt(variance)))


def welch_dof(a: Statistic, b: Statistic) -> float:
    """Welch–Satterthwaite degrees of freedom (Welch 1947)."""
    var_a, var_b, n_a, n_b = a.variance, b.variance, a.n, b.n
    if n_a <= 1 or n_b <= 1 or var_a == 0 or var_b == 0:
        return 1.0
    numerator = (var_b / n_b + var_a / n_a) ** 2
    denominator = var_b**2 / (n_b**2 * (n_b - 1)) + var_a**2 / (n_a**2 * (n_a - 1))
    return numerator / denominator
