"""BG/NBD (Fader, Hardie & Lee 2005) and its modification MBG/NBD (Batislam, Denizel & Filiztekin 2007).

Both assume purchases follow a Poisson process with gamma(r, alpha)-distributed rates while the
customer is alive, and that after each purchase the customer drops out with a probability that is
beta(a, b)-distributed across customers. They differ in one detail: in the BG/NBD a customer can
only drop out *after a repeat purchase*, so a one-time buyer is always alive; the MBG/NBD lets
customers drop out right after their first purchase as well. In formulas this is a shift of the
beta-function arguments by ``k`` (0 for BG/NBD, 1 for MBG/NBD), which is why one class serves both.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from cxlens.predict.clv.base import Totals, weighted_sum
from cxlens.predict.clv.purchases import RepeatPurchaseModel
from cxlens.predict.summary import Levels, by_level, compress

Column = np.ndarray | Levels


def _values(column: Column) -> np.ndarray:
    return column.values if isinstance(column, Levels) else column


class BetaGeoModel(RepeatPurchaseModel):
    """BG/NBD model of repeat purchasing in continuous time.

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty on the parameters, added to the mean negative log-likelihood (as in the
        ``lifetimes`` package); helps when the data barely identify the parameters.
    period : {"day", "week", "month"}, default "week"
        The time unit of ``recency``, ``T`` and horizons; stored for scoring and CLV.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha`` (gamma purchase-rate heterogeneity), ``a``, ``b`` (beta dropout).
    log_likelihood_, standard_errors_, n_observations_, converged_, n_iter_

    Notes
    -----
    Log-likelihood of a customer with ``x`` repeat purchases, last at ``t_x``, observed for ``T``::

        ln L = ln Γ(r+x) − ln Γ(r) + r ln α
               + ln[ B(a, b+x)/B(a,b) (α+T)^−(r+x) + 1{x>0} B(a+1, b+x−1)/B(a,b) (α+t_x)^−(r+x) ]

    evaluated with ``logaddexp`` so neither term under- nor overflows for large ``x``. The
    conditional expectation uses the Euler-transformed 2F1 (see :meth:`_expected`).

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy way:
    An alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.

    Batislam, E. P., Denizel, M., & Filiztekin, A. (2007). Empirical validation and comparison of
    models for customer base analysis. International Journal of Research in Marketing, 24(3), 201-209.
    """

    model_name: ClassVar[str] = "bgnbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    # 0: dropout only after repeat purchases (BG/NBD); 1: also after the first (MBG/NBD)
    shift: ClassVar[int] = 0
    uses_levels: ClassVar[bool] = True

    def _log_odds_dead(self, params: np.ndarray, x: Column, tx: Column, T: Column) -> np.ndarray:
        """ln of (P(dead)/P(alive)); -inf where the customer cannot have dropped out."""
        r, alpha, a, b = params
        xv = _values(x)
        applies = np.ones_like(xv, dtype=bool) if self.shift else xv > 0
        log_denom = by_level(lambda v: np.log(np.maximum(b + v + self.shift - 1, 1e-300)), x)
        log_ratio = by_level(lambda v: np.log(alpha + v), T) - by_level(lambda v: np.log(alpha + v), tx)
        value = np.log(a) - log_denom + (r + xv) * log_ratio
        return np.where(applies, value, -np.inf)

    def _loglik(self, params: np.ndarray, x: Column, tx: Column, T: Column) -> np.ndarray:
        r, alpha, a, b = params
        k = self.shift
        per_x = by_level(lambda v: gammaln(r + v) + betaln(a, b + v + k), x)
        alive = (per_x - gammaln(r) + r * np.log(alpha) - betaln(a, b)
                 - (r + _values(x)) * by_level(lambda v: np.log(alpha + v), T))
        return alive + np.logaddexp(0.0, self._log_odds_dead(params, x, tx, T))

    def _totals(self, weights: np.ndarray, x: Levels, tx: Levels, T: Levels) -> Totals:
        """Weighted log-likelihood and gradient in one pass (see :data:`~cxlens.predict.clv.base.Totals`).

        Every term but the dropout one depends on x alone or on (x, T) linearly in x, so it is
        summed per level with weight totals fixed for the fit; only ``ln(1 + odds(dead))`` and its
        derivative, ``P(dead | data)``, need the rows, and only the rows that can have dropped out.
        """
        k = self.shift
        xv = x.values
        n, w_x, w_T, wx_T = float(weights.sum()), x.sums(weights), T.sums(weights), T.sums(weights * xv)
        rows = np.flatnonzero(xv + k > 0)
        w_rows, x_rows = weights[rows], xv[rows]
        ix, itx, iT = x.inverse[rows], tx.inverse[rows], T.inverse[rows]

        def totals(params: np.ndarray) -> tuple[float, np.ndarray]:
            r, alpha, a, b = params
            u, uT = x.uniques, T.uniques
            log_T, log_tx = np.log(alpha + uT), np.log(alpha + tx.uniques)
            inv_T, inv_tx = 1 / (alpha + uT), 1 / (alpha + tx.uniques)
            # only rows that can have dropped out read this; at x = 0 (BG/NBD) it may be <= 0
            log_denom = np.log(np.maximum(b + u + k - 1, 1e-300))
            gap = log_T[iT] - log_tx[itx]
            odds = np.log(a) - log_denom[ix] + (r + x_rows) * gap
            w_dead = w_rows * expit(odds)  # weight × P(dead | data)
            psi_abxk = digamma(a + b + u + k)
            loglik = (weighted_sum(w_x, gammaln(r + u) + betaln(a, b + u + k))
                      + n * (r * np.log(alpha) - gammaln(r) - betaln(a, b))
                      - weighted_sum(r * w_T + wx_T, log_T) + weighted_sum(w_rows, np.logaddexp(0.0, odds)))
            gradient = np.array([
                weighted_sum(w_x, digamma(r + u)) + n * (np.log(alpha) - digamma(r))
                - weighted_sum(w_T, log_T) + weighted_sum(w_dead, gap),
                n * r / alpha - weighted_sum(r * w_T + wx_T, inv_T)
                + weighted_sum(w_dead * (r + x_rows), inv_T[iT] - inv_tx[itx]),
                n * digamma(a + b) - weighted_sum(w_x, psi_abxk) + w_dead.sum() / a,
                weighted_sum(w_x, digamma(b + u + k) - psi_abxk) + n * (digamma(a + b) - digamma(b))
                - weighted_sum(w_dead, 1 / (b + x_rows + k - 1)),
            ])
            return float(loglik), gradient

        return totals

    def _log_p_alive(self, params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
                     ) -> np.ndarray:
        return -np.logaddexp(0.0, self._log_odds_dead(params, x, tx, T))

    def _expected(self, params: np.ndarray, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray
                  ) -> np.ndarray:
        return self._expected_path(params, np.array([t]), x, tx, T)[:, 0]

    def _expected_path(self, params: np.ndarray, times: np.ndarray, x: np.ndarray, tx: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T] for each t in ``times`` (columns).

        The published form holds ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x+k; a+b+x+k−1; z), whose
        hypergeometric factor overflows for frequent buyers even though the product is below 1.
        Euler's transformation 2F1(A,B;C;z) = (1−z)^(C−A−B) 2F1(C−A, C−B; C; z) turns the product
        into (1−z)^(a−1) · 2F1(a+b+k−1−r, a−1; a+b+x+k−1; z), which stays bounded. P(alive) does
        not depend on t and the 2F1 factor depends on (x, T) only, far fewer distinct pairs than
        (x, t_x, T) rows, so both are computed once for the whole path.
        """
        r, alpha, a, b = params
        k = self.shift
        pairs = compress(x=x, T=T)
        xs, Ts = pairs.columns["x"], pairs.columns["T"]
        z = times[np.newaxis, :] / (alpha + Ts[:, np.newaxis] + times[np.newaxis, :])
        bounded = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b + k - 1 - r, a - 1,
                                                          (a + b + xs + k - 1)[:, np.newaxis], z)
        scale = (a + b + x + k - 1) / (a - 1) * np.exp(self._log_p_alive(params, x, tx, T))
        return scale[:, np.newaxis] * (1 - bounded[pairs.inverse])


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD: the BG/NBD in which customers may also drop out right after their first purchase.

    Same parameters (``r, alpha, a, b``), attributes and methods as :class:`BetaGeoModel`; a
    customer without repeat purchases is no longer certainly alive.

    Notes
    -----
    ``ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln[ B(a, b+x+1)/B(a,b) (α+T)^−(r+x)
    + B(a+1, b+x)/B(a,b) (α+t_x)^−(r+x) ]``.

    References
    ----------
    Batislam, E. P., Denizel, M., & Filiztekin, A. (2007). Empirical validation and comparison of
    models for customer base analysis. International Journal of Research in Marketing, 24(3), 201-209.
    """

    model_name: ClassVar[str] = "mbgnbd"
    shift: ClassVar[int] = 1
