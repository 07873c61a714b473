"""Key-driver analysis: how much of an outcome each driver explains, and where to act first.

Three importance measures of a linear model of the outcome on the drivers:

* **LMG / Shapley value** of R² (Lindeman, Merenda & Gold 1980; Grömping 2006): each driver's
  marginal R² gain averaged over all orders of entry, computed exactly over the 2^p subsets —
  ``LMG_j = Σ_{S ∌ j} |S|! (p − |S| − 1)! / p! · (R²(S ∪ j) − R²(S))`` — with each subset's R² from
  the correlation matrix. The shares add up to the full R².
* **Relative weights** (Johnson 2000): regress the outcome on the orthogonal counterpart
  ``Z = X R^{-1/2}`` of the drivers, then share each Z's contribution back by the squared
  correlations ``Λ = R^{1/2}``: ``ε_j = Σ_k Λ_jk² β_k²``. Also adds up to R²; close to LMG and
  cheap for many drivers.
* **Standardized betas**, for reference (they are not shares and mislead with correlated drivers).

The importance × performance matrix puts each driver's importance (its share of R²) against its
performance (its mean, rescaled to 0–100 on the answer scale) and splits at the means of both:
*fix first* (important, performing below par), *keep up* (important, performing well), *maintain*
(less important, performing well), *low priority* (less important, performing below par).

Hand-written: statsmodels and scikit-learn have no LMG or relative weights (R's relaimpo does). LMG is
tested against a brute-force average over all orderings with statsmodels OLS fits.

References
----------
Lindeman, R. H., Merenda, P. F. & Gold, R. Z. (1980). Introduction to Bivariate and Multivariate
Analysis. Scott, Foresman.
Grömping, U. (2006). Relative importance for linear regression in R: the package relaimpo. Journal of
Statistical Software 17(1).
Johnson, J. W. (2000). A heuristic method for estimating the relative weight of predictor variables in
multiple regression. Multivariate Behavioral Research 35(1), 1–19.
Martilla, J. A. & James, J. C. (1977). Importance-performance analysis. Journal of Marketing 41(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.tables import numeric_columns

MAX_EXACT_DRIVERS = 15  # 2^15 subsets; beyond that use relative weights
QUADRANTS = ("fix first", "keep up", "maintain", "low priority")


def _r2_from_corr(corr: np.ndarray, subset: Sequence[int], target: int) -> float:
    if not subset:
        return 0.0
    idx = list(subset)
    r_xy = corr[idx, target]
    return float(r_xy @ np.linalg.solve(corr[np.ix_(idx, idx)], r_xy))


def lmg(corr: np.ndarray) -> np.ndarray:
    """Exact LMG shares of R² from the correlation matrix of ``[drivers..., outcome]``."""
    p = corr.shape[0] - 1
    target = p
    r2: dict[frozenset[int], float] = {}
    for size in range(p + 1):
        for members in combinations(range(p), size):
            r2[frozenset(members)] = _r2_from_corr(corr, members, target)
    weight = [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)]
    shares = np.zeros(p)
    for subset, value in r2.items():
        for j in range(p):
            if j not in subset:
                shares[j] += weight[len(subset)] * (r2[subset | {j}] - value)
    return shares


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights from the correlation matrix of ``[drivers..., outcome]``."""
    rxx, rxy = corr[:-1, :-1], corr[:-1, -1]
    values, vectors = np.linalg.eigh(rxx)
    if values.min() <= 1e-10:
        raise InvalidInputError("the drivers are perfectly collinear; drop a redundant driver")
    lam = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    beta = np.linalg.solve(lam, rxy)
    return (lam**2) @ (beta**2)


class DriverAnalysis:
    """Importance of drivers for an outcome (LMG, relative weights, betas) and the IPA quadrants.

    Parameters
    ----------
    scale : tuple of (low, high) or None
        The answer scale of the drivers, to rescale performance to 0–100; None uses the observed
        minimum and maximum of all drivers.

    Attributes
    ----------
    r2_ : float                 R² of the outcome on all drivers
    importance_ : DataFrame     per driver: lmg, lmg_share (% of R²), relative_weight, rw_share, beta,
                                performance (0–100), quadrant
    n_ : int                    respondents used

    References
    ----------
    Grömping (2006), J. Stat. Software 17(1); Johnson (2000), Multivariate Behavioral Research 35(1);
    Martilla & James (1977), Journal of Marketing 41(1).
    """

    def __init__(self, scale: tuple[float, float] | None = None) -> None:
        self.scale = scale

    def fit(self, drivers: pd.DataFrame, outcome: pd.Series | Sequence[float]) -> DriverAnalysis:
        """Estimate importances of the columns of ``drivers`` for ``outcome``."""
        x = drivers.apply(pd.to_numeric, errors="coerce")
        bad = [c for c in x if x[c].isna().any() and not drivers[c].isna().any()]
        if bad:
            raise InvalidInputError(f"driver column {bad[0]!r} is not numeric", column=bad[0])
        y_raw = pd.Series(outcome, index=drivers.index)
        y = numeric_columns(y_raw.to_frame(y_raw.name if y_raw.name is not None else "outcome"), "target")
        y = y.iloc[:, 0]
        keep = x.notna().all(axis=1) & y.notna()
        x, y = x[keep], y[keep]
        p = x.shape[1]
        if p < 1:
            raise InvalidInputError("give at least one driver")
        if p > MAX_EXACT_DRIVERS:
            raise InvalidInputError(f"{p} drivers: exact LMG is limited to {MAX_EXACT_DRIVERS}; pick fewer")
        if len(x) < p + 3:
            raise InvalidInputError(
                f"too few respondents for {p} drivers: {len(x)} complete rows (need at least {p + 3})"
            )
        constant = [c for c in x if x[c].std() == 0]
        if constant or y.std() == 0:
            name = constant[0] if constant else "the outcome"
            raise InvalidInputError(f"{name!r} has no variance, so it cannot explain or be explained")
        corr = np.corrcoef(np.column_stack([x.to_numpy(dtype=float), y.to_numpy(dtype=float)]), rowvar=False)
        shares = lmg(corr)
        weights = relative_weights(corr)
        betas = np.linalg.solve(corr[:-1, :-1], corr[:-1, -1])
        self.n_ = int(len(x))
        self.r2_ = float(_r2_from_corr(corr, range(p), p))
        low, high = self.scale if self.scale is not None else (float(x.min().min()), float(x.max().max()))
        if high <= low:
            raise InvalidInputError(f"the scale ({low}, {high}) must go from low to high")
        performance = (x.mean() - low) / (high - low) * 100
        table = pd.DataFrame(
            {
                "lmg": shares,
                "lmg_share": 100 * shares / self.r2_,
                "relative_weight": weights,
                "rw_share": 100 * weights / self.r2_,
                "beta": betas,
                "performance": performance.to_numpy(),
            },
            index=x.columns,
        )
        imp_cut, perf_cut = table["lmg_share"].mean(), table["performance"].mean()
        table["quadrant"] = [
            ("fix first" if perf < perf_cut else "keep up")
            if imp >= imp_cut
            else ("maintain" if perf >= perf_cut else "low priority")
            for imp, perf in zip(table["lmg_share"], table["performance"], strict=True)
        ]
        self.importance_ = table.sort_values("lmg", ascending=False)
        self.cutoffs_ = {"importance": float(imp_cut), "performance": float(perf_cut)}
        return self

    def summary(self) -> dict[str, Any]:
        """A JSON-ready report."""
        if not hasattr(self, "importance_"):
            raise ModelNotFittedError("this DriverAnalysis is not fitted yet: call fit(drivers, outcome)")
        return {
            "n": self.n_,
            "r2": self.r2_,
            "cutoffs": self.cutoffs_,
            "drivers": self.importance_.reset_index(names="driver").to_dict("records"),
        }


def driver_analysis(
    data: pd.DataFrame,
    target: str,
    drivers: Sequence[str] | None = None,
    scale: tuple[float, float] | None = None,
) -> DriverAnalysis:
    """Fit :class:`DriverAnalysis` of ``target`` on ``drivers`` (default: every other numeric column)."""
    if target not in data.columns:
        raise InvalidInputError(
            f"unknown column {target!r}; the data has: {', '.join(map(str, data.columns))}", column=target
        )
    if drivers is None:
        drivers = [c for c in data.select_dtypes("number").columns if c != target]
    missing = [d for d in drivers if d not in data.columns]
    if missing:
        raise InvalidInputError(
            f"unknown column {missing[0]!r}; the data has: {', '.join(map(str, data.columns))}",
            column=missing[0],
        )
    if target in drivers:
        raise InvalidInputError(f"the target {target!r} cannot also be a driver")
    return DriverAnalysis(scale=scale).fit(data[list(drivers)], data[target])
