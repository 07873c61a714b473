"""Gamma-Gamma model of spend per transaction (Colombo & Jiang 1999; Fader, Hardie & Lee 2005)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.base import MaximumLikelihoodModel, Totals, weighted_sum
from cxlens.predict.summary import Levels, by_level, compress, validate_summary


def _spend_stats(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    clean = validate_summary(X, monetary=True)
    return clean["frequency"].to_numpy(), clean["monetary_value"].to_numpy()


def _weighted_correlation(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """Pearson correlation of rows that stand for ``weights`` customers each (compressed data)."""
    share = weights / weights.sum()
    dx, dy = x - weighted_sum(share, x), y - weighted_sum(share, y)
    return float(weighted_sum(share, dx * dy)
                 / np.sqrt(weighted_sum(share, dx * dx) * weighted_sum(share, dy * dy)))


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
    def _totals(weights: np.ndarray, x: Levels, m: np.ndarray) -> Totals:
        """Weighted log-likelihood and gradient in one pass.

        Functions of x alone are summed per level, ``ln m_x`` does not involve the parameters and
        is summed once per fit; only ``ln(γ + x m_x)`` is evaluated per row and iteration.
        """
        xv, u = x.values, x.uniques
        n, w_x = float(weights.sum()), x.sums(weights)
        log_m = np.log(m)
        wx = weights * xv
        s_log_m, s_x_log_m = weighted_sum(weights, log_m), weighted_sum(wx, log_m)

        def totals(params: np.ndarray) -> tuple[float, np.ndarray]:
            p, q, gamma = params
            spent = gamma + xv * m
            log_spent = np.log(spent)
            psi_pxq = digamma(p * u + q)
            loglik = (weighted_sum(w_x, gammaln(p * u + q) - gammaln(p * u) + p * u * np.log(u))
                      + n * (q * np.log(gamma) - gammaln(q)) + p * s_x_log_m - s_log_m
                      - weighted_sum(p * wx + q * weights, log_spent))
            gradient = np.array([
                weighted_sum(w_x, u * (psi_pxq - digamma(p * u) + np.log(u))) + s_x_log_m
                - weighted_sum(wx, log_spent),
                weighted_sum(w_x, psi_pxq) + n * (np.log(gamma) - digamma(q))
                - weighted_sum(weights, log_spent),
                n * q / gamma - weighted_sum(p * wx + q * weights, 1 / spent),
            ])
            return float(loglik), gradient

        return totals

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
                       self._totals(stats.weights, xs, ms))
        self.frequency_spend_correlation_ = _weighted_correlation(stats.columns["x"], ms, stats.weights) \
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
