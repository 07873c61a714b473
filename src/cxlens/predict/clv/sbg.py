"""Shifted-beta-geometric retention model for subscriptions (Fader & Hardie 2007)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, hyp2f1

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.base import MaximumLikelihoodModel


def validate_survivors(X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Check a survivor curve: the cohort size, then how many are still subscribed after each period.

    Accepts a DataFrame with a ``survivors`` column (one row per period, starting at period 0) or a
    plain sequence of counts. Counts must be whole, non-negative and never increase.
    """
    if isinstance(X, pd.DataFrame):
        if "survivors" not in X.columns:
            raise InvalidInputError(
                "sBG input lacks the column 'survivors': give one row per period, the first being "
                "the cohort size and each next one the customers still subscribed"
            )
        raw = pd.to_numeric(X["survivors"], errors="coerce").to_numpy(dtype=float)
    else:
        raw = np.asarray(X, dtype=float)
    if raw.size < 2:
        raise InvalidInputError("the survivor curve needs the cohort size and at least one more period")
    bad = np.flatnonzero(~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw)))
    if bad.size:
        raise InvalidInputError(f"survivors, row {bad[0] + 1}: {raw[bad[0]]} is not a whole "
                                "non-negative count", row=int(bad[0]) + 1)
    if raw[0] <= 0:
        raise InvalidInputError("survivors, row 1: the cohort size must be positive")
    rising = np.flatnonzero(np.diff(raw) > 0)
    if rising.size:
        raise InvalidInputError(
            f"survivors, row {rising[0] + 2}: {raw[rising[0] + 1]:.0f} is more than the "
            f"{raw[rising[0]]:.0f} before it; a cohort can only shrink", row=int(rising[0]) + 2,
        )
    return raw


class ShiftedBetaGeoModel(MaximumLikelihoodModel):
    """sBG model: each subscriber churns at the end of every period with their own probability θ,
    and θ is beta(alpha, beta)-distributed across the cohort.

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty on the parameters.
    period : str, default "month"
        Length of one contract period (informational).

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta``.
    log_likelihood_, standard_errors_, n_observations_, converged_, n_iter_

    Notes
    -----
    ``P(T = t) = B(α+1, β+t−1)/B(α,β)`` and ``S(t) = B(α, β+t)/B(α,β)``; with n_t customers lost in
    period t and S_k still subscribed after the last period k, ``LL = Σ n_t ln P(T=t) + S_k ln S(k)``.
    Because churn-prone customers leave first, retention ``r_t = (β+t−1)/(α+β+t−1)`` rises with
    tenure.

    References
    ----------
    Fader, P. S., & Hardie, B. G. S. (2007). How to project customer retention. Journal of
    Interactive Marketing, 21(1), 76-90.

    Fader, P. S., & Hardie, B. G. S. (2010). Customer-base valuation in a contractual setting:
    The perils of ignoring heterogeneity. Marketing Science, 29(1), 85-93.
    """

    model_name: ClassVar[str] = "sbg"
    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")

    def __init__(self, penalizer_coef: float = 0.0, period: str = "month") -> None:
        super().__init__(penalizer_coef=penalizer_coef, period=period)

    def fit(self, X: pd.DataFrame | np.ndarray, y: Any = None) -> ShiftedBetaGeoModel:
        """Estimate ``alpha, beta`` from a survivor curve (see :func:`validate_survivors`).

        Returns
        -------
        self
        """
        survivors = validate_survivors(X)
        lost = -np.diff(survivors)
        t = np.arange(1, survivors.size, dtype=float)
        k = float(survivors.size - 1)
        # rows: churn in period t (weight n_t), then "still subscribed after k" (weight S_k)
        is_churn = np.append(np.ones_like(t, dtype=bool), False)
        times = np.append(t, k)
        weights = np.append(lost, survivors[-1])
        if weights[:-1].sum() == 0:
            raise InvalidInputError("nobody churned in the survivor curve: the churn rate cannot be "
                                    "estimated")

        def loglik(params: np.ndarray) -> np.ndarray:
            a, b = params
            churn = betaln(a + 1, b + times - 1) - betaln(a, b)
            survive = betaln(a, b + times) - betaln(a, b)
            return np.where(is_churn, churn, survive)

        self._maximize(loglik, weights)
        self.cohort_size_ = float(survivors[0])
        return self

    def survival(self, periods: np.ndarray | int) -> np.ndarray:
        """S(t): share of the cohort still subscribed after t periods, for t = 0..periods."""
        a, b = self._p()
        t = (np.arange(int(periods) + 1, dtype=float) if np.ndim(periods) == 0
             else np.asarray(periods, float))
        return np.exp(betaln(a, b + t) - betaln(a, b))

    def retention_rate(self, periods: np.ndarray | int) -> np.ndarray:
        """r_t = S(t)/S(t−1) for t = 1..periods: the share of period t−1's survivors who renew."""
        a, b = self._p()
        t = (np.arange(1, int(periods) + 1, dtype=float) if np.ndim(periods) == 0
             else np.asarray(periods, float))
        return (b + t - 1) / (a + b + t - 1)

    def discounted_expected_residual_lifetime(self, renewals: int, discount_rate: float) -> float:
        """DERL (Fader & Hardie 2010): the expected discounted number of future renewals of a
        subscriber who has renewed ``renewals`` times so far, the next renewal undiscounted::

            DERL = Σ_{τ≥1} S(n+τ)/S(n) · (1+d)^−(τ−1)
                 = (β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d)),   n = renewals.

        Multiplied by the margin per period this is the subscriber's residual lifetime value.
        """
        if discount_rate <= 0:
            raise InvalidInputError("discount_rate must be positive for the residual lifetime to be finite")
        a, b = self._p()
        n = float(renewals)
        return float((b + n) / (a + b + n) * hyp2f1(1.0, b + n + 1, a + b + n + 1, 1 / (1 + discount_rate)))
