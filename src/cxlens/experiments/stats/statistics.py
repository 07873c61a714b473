"""Sufficient statistics for one experiment arm: the only thing the stats engine ever sees.

Every metric reduces to sums a database can compute in one pass (``n``, ``sum``, ``sum_squares`` and,
for ratio and CUPED metrics, cross-products). The classes mirror GrowthBook's ``gbstats`` statistic
types (``SampleMeanStatistic``, ``ProportionStatistic``, ``RatioStatistic``, ``RegressionAdjusted*``)
so that results can be checked number for number against that engine's published test cases.

References
----------
GrowthBook, *gbstats* (packages/stats/gbstats/models/statistics.py), MIT licensed.
Deng, Xu, Kohavi, Walker (2013). Improving the sensitivity of online controlled experiments by
utilizing pre-experiment data (CUPED). WSDM.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from cxlens.errors import InvalidInputError


class _Spread(Protocol):
    @property
    def n(self) -> float: ...

    @property
    def mean(self) -> float: ...

    @property
    def variance(self) -> float: ...


class _Checks:
    """What the engine asks of every statistic; CUPED statistics override ``unadjusted_mean``."""

    @property
    def unadjusted_mean(self: _Spread) -> float:
        """The mean before any regression adjustment (the base of a relative lift)."""
        return self.mean

    def has_zero_variance(self: _Spread) -> bool:
        return self.n <= 1 or self.variance <= 0


@dataclass(frozen=True)
class SampleMean(_Checks):
    """A numeric metric per unit: count ``n``, Σx and Σx²."""

    n: float
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Unbiased sample variance from the sums (n − 1 denominator)."""
        if self.n <= 1:
            return 0.0
        return (self.sum_squares - self.sum**2 / self.n) / (self.n - 1)


@dataclass(frozen=True)
class Proportion(_Checks):
    """A 0/1 metric per unit (conversion): ``sum`` is the number of units that converted."""

    n: float
    sum: float

    @property
    def sum_squares(self) -> float:
        return self.sum

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Bernoulli variance p(1 − p), as gbstats uses (not the n − 1 sample variance)."""
        return self.mean * (1 - self.mean)


Moment = SampleMean | Proportion


def covariance(n: float, a: Moment, b: Moment, sum_of_products: float) -> float:
    """Sample covariance of two per-unit quantities from their sums and Σab."""
    if n <= 1:
        return 0.0
    if isinstance(a, Proportion) and isinstance(b, Proportion):
        return sum_of_products / n - a.sum * b.sum / n**2
    return (sum_of_products - a.sum * b.sum / n) / (n - 1)


def variance_of_ratio(mean_m: float, var_m: float, mean_d: float, var_d: float, cov_md: float) -> float:
    """Delta-method variance of M/D (Casella & Berger, *Statistical Inference*, §5.5.4)."""
    if mean_d == 0:
        return 0.0
    return var_m / mean_d**2 + var_d * mean_m**2 / mean_d**4 - 2 * cov_md * mean_m / mean_d**3


@dataclass(frozen=True)
class Ratio(_Checks):
    """A ratio metric Σm / Σd over units (e.g. revenue per order), by the delta method."""

    n: float
    m: Moment
    d: Moment
    m_d_sum_of_products: float

    @property
    def mean(self) -> float:
        return self.m.sum / self.d.sum if self.d.sum else 0.0

    @property
    def covariance(self) -> float:
        return covariance(self.n, self.m, self.d, self.m_d_sum_of_products)

    @property
    def variance(self) -> float:
        if self.d.mean == 0 or self.n <= 1:
            return 0.0
        return variance_of_ratio(self.m.mean, self.m.variance, self.d.mean, self.d.variance, self.covariance)


@dataclass(frozen=True)
class RegressionAdjusted(_Checks):
    """CUPED: the post-period metric adjusted by θ times its pre-period covariate."""

    n: float
    post: Moment
    pre: Moment
    post_pre_sum_of_products: float
    theta: float | None = None

    @property
    def covariance(self) -> float:
        return covariance(self.n, self.post, self.pre, self.post_pre_sum_of_products)

    @property
    def mean(self) -> float:
        return self.post.mean - (self.theta or 0.0) * self.pre.mean

    @property
    def unadjusted_mean(self) -> float:
        return self.post.mean

    @property
    def variance(self) -> float:
        if self.n <= 1:
            return 0.0
        theta = self.theta or 0.0
        return self.post.variance + theta**2 * self.pre.variance - 2 * theta * self.covariance


@dataclass(frozen=True)
class RegressionAdjustedRatio(_Checks):
    """CUPED for a ratio metric: post M/D adjusted by θ times pre M/D (4-moment delta method)."""

    n: float
    m_post: Moment
    d_post: Moment
    m_pre: Moment
    d_pre: Moment
    m_post_m_pre_sum_of_products: float
    d_post_d_pre_sum_of_products: float
    m_pre_d_pre_sum_of_products: float
    m_post_d_post_sum_of_products: float
    m_post_d_pre_sum_of_products: float
    m_pre_d_post_sum_of_products: float
    theta: float | None = None

    @property
    def mean_post(self) -> float:
        return self.m_post.sum / self.d_post.sum if self.d_post.sum else 0.0

    @property
    def mean_pre(self) -> float:
        return self.m_pre.sum / self.d_pre.sum if self.d_pre.sum else 0.0

    @property
    def mean(self) -> float:
        if self.d_post.sum == 0 or self.d_pre.sum == 0:
            return 0.0
        return self.mean_post - (self.theta or 0.0) * self.mean_pre

    @property
    def unadjusted_mean(self) -> float:
        return self.mean_post

    @property
    def betahat(self) -> np.ndarray:
        return np.array([self.m_post.mean, self.d_post.mean, self.m_pre.mean, self.d_pre.mean])

    @property
    def lambda_matrix(self) -> np.ndarray:
        """Covariance matrix of (m_post, d_post, m_pre, d_pre) per unit."""
        n = self.n
        stats = (self.m_post, self.d_post, self.m_pre, self.d_pre)
        products = {
            (0, 1): self.m_post_d_post_sum_of_products,
            (0, 2): self.m_post_m_pre_sum_of_products,
            (0, 3): self.m_post_d_pre_sum_of_products,
            (1, 2): self.m_pre_d_post_sum_of_products,
            (1, 3): self.d_post_d_pre_sum_of_products,
            (2, 3): self.m_pre_d_pre_sum_of_products,
        }
        out = np.diag([s.variance for s in stats])
        for (i, j), sop in products.items():
            out[i, j] = out[j, i] = covariance(n, stats[i], stats[j], sop)
        return out

    @property
    def nabla(self) -> np.ndarray:
        """Gradient of m_post/d_post − θ·m_pre/d_pre with respect to the four means."""
        theta = self.theta or 0.0
        b = self.betahat
        if b[1] == 0:
            return np.zeros(4)
        pre = [-theta / b[3], theta * b[2] / b[3] ** 2] if b[3] != 0 else [0.0, 0.0]
        return np.array([1 / b[1], -b[0] / b[1] ** 2, *pre])

    @property
    def variance(self) -> float:
        nabla = self.nabla
        return float(nabla @ self.lambda_matrix @ nabla)

    def pre_variance_and_covariance(self) -> tuple[float, float]:
        """Var of the pre-period ratio and its covariance with the post ratio (at θ = 1)."""
        one = replace(self, theta=1.0)
        nabla, lam = one.nabla, one.lambda_matrix
        return float(nabla[2:] @ lam[2:, 2:] @ nabla[2:]), float(nabla[2:] @ lam[2:, :2] @ nabla[:2])

    def has_zero_variance(self) -> bool:
        return self.n <= 1 or self.m_post.variance <= 0 or self.d_post.variance <= 0


Statistic = SampleMean | Proportion | Ratio | RegressionAdjusted | RegressionAdjustedRatio


def _pooled_variance(a: Moment, b: Moment, n: float) -> float:
    total = a.sum + b.sum
    if isinstance(a, Proportion):
        p = total / n
        return p * (1 - p)
    return (a.sum_squares + b.sum_squares - total**2 / n) / (n - 1)


def cuped_theta(a: RegressionAdjusted, b: RegressionAdjusted) -> float:
    """θ = Cov(post, pre) / Var(pre), pooled over both arms (Deng et al. 2013, eq. 3)."""
    n = a.n + b.n
    var_pre, var_post = _pooled_variance(a.pre, b.pre, n), _pooled_variance(a.post, b.post, n)
    if var_pre == 0 or var_post == 0:
        return 0.0
    sop = a.post_pre_sum_of_products + b.post_pre_sum_of_products
    cov = (sop - (a.post.sum + b.post.sum) * (a.pre.sum + b.pre.sum) / n) / (n - 1)
    return cov / var_pre


def with_theta(a: Statistic, b: Statistic) -> tuple[Statistic, Statistic]:
    """Set the pooled CUPED θ on a CUPED pair; fall back to the plain metric when θ is 0."""
    if isinstance(a, RegressionAdjusted) and isinstance(b, RegressionAdjusted):
        theta = cuped_theta(a, b)
        if theta == 0:
            return a.post, b.post
        return replace(a, theta=theta), replace(b, theta=theta)
    if isinstance(a, RegressionAdjustedRatio) and isinstance(b, RegressionAdjustedRatio):
        (var_a, cov_a), (var_b, cov_b) = a.pre_variance_and_covariance(), b.pre_variance_and_covariance()
        theta = -(cov_a + cov_b) / (var_a + var_b) if var_a + var_b else 0.0
        if abs(theta) < 1e-8:
            return (Ratio(a.n, a.m_post, a.d_post, a.m_post_d_post_sum_of_products),
                    Ratio(b.n, b.m_post, b.d_post, b.m_post_d_post_sum_of_products))
        return replace(a, theta=theta), replace(b, theta=theta)
    return a, b


# --- building statistics from plain records (JSON input, SQL rows) -----------------------------

METRIC_TYPES = ("mean", "proportion", "ratio", "mean_cuped", "ratio_cuped")


def _number(record: dict[str, Any], field: str, where: str, *, default: float | None = None) -> float:
    value = record.get(field, default)
    if value is None:
        raise InvalidInputError(f"{where}: missing field {field!r}; add it (a number)", field=field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{where}: field {field!r} must be a number, got {value!r}", field=field)
    if not np.isfinite(value):
        raise InvalidInputError(f"{where}: field {field!r} must be finite, got {value!r}", field=field)
    return float(value)


def _moment(record: dict[str, Any], prefix: str, n: float, where: str, binary: bool) -> Moment:
    total = _number(record, f"{prefix}sum", where)
    if total < 0 and binary:
        raise InvalidInputError(f"{where}: {prefix}sum must not be negative for a proportion",
                                field=f"{prefix}sum")
    if binary:
        if total > n:
            raise InvalidInputError(f"{where}: {prefix}sum ({total:g}) exceeds n ({n:g}) for a proportion; "
                                    "sum counts converted units", field=f"{prefix}sum")
        return Proportion(n=n, sum=total)
    squares = _number(record, f"{prefix}sum_squares", where)
    if squares < 0:
        raise InvalidInputError(f"{where}: {prefix}sum_squares must not be negative (it is a sum of squares)",
                                field=f"{prefix}sum_squares")
    return SampleMean(n=n, sum=total, sum_squares=squares)


def statistic_from_record(metric: str, record: dict[str, Any], where: str = "variant") -> Statistic:
    """Build a statistic of type ``metric`` from a flat record of sums.

    Field names: ``n``, ``sum``, ``sum_squares``; ratio metrics add ``denominator_sum``,
    ``denominator_sum_squares`` and ``sum_products`` (Σ m·d); CUPED adds ``pre_sum``,
    ``pre_sum_squares`` and ``post_pre_sum_products``; CUPED ratio adds the pre-period denominator
    and the remaining cross-products (see docs/experiments.md).
    """
    if metric not in METRIC_TYPES:
        raise InvalidInputError(f"unknown metric type {metric!r}; use one of {', '.join(METRIC_TYPES)}",
                                field="metric")
    if not isinstance(record, dict):
        raise InvalidInputError(f"{where}: expected an object with n, sum, sum_squares, got {record!r}")
    n = _number(record, "n", where)
    if n <= 0 or n != int(n):
        raise InvalidInputError(f"{where}: n must be a positive whole number of units, got {n:g}; "
                                "an arm without units cannot be analysed", field="n")
    if metric in ("mean", "proportion"):
        return _moment(record, "", n, where, binary=metric == "proportion")
    if metric == "mean_cuped":
        return RegressionAdjusted(n=n, post=_moment(record, "", n, where, False),
                                  pre=_moment(record, "pre_", n, where, False),
                                  post_pre_sum_of_products=_number(record, "post_pre_sum_products", where))
    m, d = _moment(record, "", n, where, False), _moment(record, "denominator_", n, where, False)
    if metric == "ratio":
        return Ratio(n=n, m=m, d=d, m_d_sum_of_products=_number(record, "sum_products", where))
    return RegressionAdjustedRatio(
        n=n, m_post=m, d_post=d,
        m_pre=_moment(record, "pre_", n, where, False),
        d_pre=_moment(record, "pre_denominator_", n, where, False),
        m_post_m_pre_sum_of_products=_number(record, "post_pre_sum_products", where),
        d_post_d_pre_sum_of_products=_number(record, "denominator_post_pre_sum_products", where),
        m_pre_d_pre_sum_of_products=_number(record, "pre_sum_products", where),
        m_post_d_post_sum_of_products=_number(record, "sum_products", where),
        m_post_d_pre_sum_of_products=_number(record, "post_pre_denominator_sum_products", where),
        m_pre_d_post_sum_of_products=_number(record, "pre_post_denominator_sum_products", where),
    )
