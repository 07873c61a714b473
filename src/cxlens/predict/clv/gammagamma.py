"""Gamma-Gamma model of spend per transaction (Colombo & Jiang 1999; Fader, Hardie & Lee 2005)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.base import MaximumLikelihoodModel
from cxlens.predict.summary import Levels, by_level, compress, validate_summary


def _spend_stats(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    clean = validate_summary(X, monetary=True)
    return clean["frequency"].to_numpy(), clean["monetary_value"].to_numpy()


class GammaGammaModel(MaximumLikelihoodModel):
    """Gamma-Gamma spend model: how much a customer spends per transaction.

    Each transaction's value is gamma(p, ν) for a customer-specific ν, and ν is gamma(q, γ) across
    customers, so the mean of a customer's ``x`` repeat transactions, ``m_x``, has a closed-form
    density. Only customers with at least one repeat purchase inform the fit.

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty on the parameters (as in ``lifetimes``).
    period : str, default "week"
        Carried along for CLV; spend does not depend on it.

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``gamma`` (called ``v`` in the ``lifetimes`` package).
    log_likelihood_, standard_errors_, n_observations_, converged_, n_iter_

    Notes
    -----
    ``ln f(m_x | x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m_x + px ln x
    − (px+q) ln(γ + x m_x)``. The model assumes spend is independent of purchase frequency; the fit
    report includes their correlation among repeat buyers so users can see whether that holds.

    References
    ----------
    Colombo, R., & Jiang, W. (1999). A stochastic RFM model. Journal of Interactive Marketing, 13(3), 2-12.

    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value curves for
    customer base analysis. Journal of Marketing Research, 42(4), 415-430.

    Fader, P. S., & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
    http://brucehardie.com/notes/025/
    """

    model_name: ClassVar[str] = "gammagamma"
    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray | Levels, m: np.ndarray) -> np.ndarray:
        p, q, gamma = params
        xv = x.values if isinstance(x, Levels) else x
        per_x = by_level(lambda v: gammaln(p * v + q) - gammaln(p * v) + p * v * np.log(v), x)
        return (per_x - gammaln(q) + q * np.log(gamma)
                + (p * xv - 1) * np.log(m) - (p * xv + q) * np.log(gamma + xv * m))

    @staticmethod
    def _loglik_gradient(params: np.ndarray, x: np.ndarray | Levels, m: np.ndarray) -> np.ndarray:
        """d ln f / d(p, q, gamma) per row; functions of x alone are computed per distinct x."""
        p, q, gamma = params
        xv = x.values if isinstance(x, Levels) else x
        common = by_level(lambda v: digamma(p * v + q), x)
        log_rest = np.log(gamma + xv * m)
        d_p = xv * (common - by_level(lambda v: digamma(p * v) - np.log(v), x) + np.log(m) - log_rest)
        d_q = common - digamma(q) + np.log(gamma) - log_rest
        d_gamma = q / gamma - (p * xv + q) / (gamma + xv * m)
        return np.column_stack([d_p, d_q, d_gamma])

    def fit(self, X: pd.DataFrame, y: Any = None) -> GammaGammaModel:
        """Estimate ``p, q, gamma`` from customers with repeat purchases.

        Parameters
        ----------
        X : DataFrame
            Columns ``frequency``, ``recency``, ``T``, ``monetary_value`` (mean repeat spend).
        y : ignored

        Returns
        -------
        self
        """
        x, m = _spend_stats(X)
        repeat = x > 0
        if not repeat.any():
            raise InvalidInputError(
                "the spend model needs customers with repeat purchases, but every customer bought "
                "only once (frequency 0 everywhere): use a longer history"
            )
        bad = np.flatnonzero(repeat & (m <= 0))
        if bad.size:
            raise InvalidInputError(
                f"column 'monetary_value', row {bad[0] + 1}: a repeat customer with spend "
                f"{m[bad[0]]} — the model needs positive amounts; drop zero-value orders",
                column="monetary_value", row=int(bad[0]) + 1,
            )
        stats = compress(x=x[repeat], m=m[repeat])
        xs, ms = Levels.of(stats.columns["x"]), stats.columns["m"]
        self._maximize(lambda prm: self._loglik(prm, xs, ms), stats.weights,
                       lambda prm: self._loglik_gradient(prm, xs, ms))
        self.frequency_spend_correlation_ = float(np.corrcoef(x[repeat], m[repeat])[0, 1]) \
            if repeat.sum() > 2 else float("nan")
        return self

    def predict_spend(self, X: pd.DataFrame) -> np.ndarray:
        """E[spend per transaction | x, m_x]: a credibility-weighted mix of the population mean
        ``pγ/(q−1)`` and the customer's own mean; one-time buyers get the population mean."""
        p, q, gamma = self._p()
        if q <= 1:
            raise InvalidInputError(
                f"q = {q:.3g} ≤ 1: the population mean spend is infinite under this fit; "
                "refit with more repeat customers or a penalizer"
            )
        x, m = _spend_stats(X)
        own = p * (gamma + x * m) / (p * x + q - 1)
        return np.where(x > 0, own, p * gamma / (q - 1))

    def population_mean_spend(self) -> float:
        """Mean spend per transaction across customers, ``pγ/(q−1)``."""
        p, q, gamma = self._p()
        return float(p * gamma / (q - 1)) if q > 1 else float("inf")

    def fit_report(self) -> dict[str, Any]:
        report = super().fit_report()
        report["population_mean_spend"] = self.population_mean_spend()
        corr = getattr(self, "frequency_spend_correlation_", None)
        if corr is not None:
            report["frequency_spend_correlation"] = corr
        return report
