"""BG/BB: repeat transactions at discrete opportunities (Fader, Hardie & Shang 2010)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, logsumexp

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.base import MaximumLikelihoodModel
from cxlens.predict.summary import compress, shown_value

BGBB_COLUMNS = ("frequency", "recency", "n_periods")


def validate_bgbb(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check a discrete-opportunity summary and return (x, t_x, n, weight).

    ``frequency`` x is the number of opportunities with a transaction (after the first, which
    defines the cohort), ``recency`` t_x the opportunity of the last one (0 if none), ``n_periods``
    n the number of opportunities observed, and an optional ``weight`` the number of customers
    sharing the row (the published donation data come in this form).
    """
    missing = [c for c in BGBB_COLUMNS if c not in X.columns]
    if missing:
        raise InvalidInputError(
            f"BG/BB input lacks column(s) {', '.join(missing)}: give frequency, recency, n_periods "
            "and optionally weight (one row per customer or per group of identical customers)"
        )
    if len(X) == 0:
        raise InvalidInputError("the BG/BB input has no rows")
    cols = {}
    for name in (*BGBB_COLUMNS, *(["weight"] if "weight" in X.columns else [])):
        values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0) | (values != np.round(values)))
        if bad.size:
            raise InvalidInputError(
                f"column {name!r}, row {bad[0] + 1}: {shown_value(X[name].iloc[bad[0]])} is not a whole "
                "non-negative number", column=name, row=int(bad[0]) + 1,
            )
        cols[name] = values
    x, tx, n = cols["frequency"], cols["recency"], cols["n_periods"]
    weight = cols.get("weight", np.ones_like(x))
    for mask, what in (
        (n < 1, "n_periods must be at least 1"),
        (tx > n, "recency is larger than n_periods"),
        (x > tx, "frequency is larger than recency (at most one transaction per opportunity)"),
        ((x == 0) & (tx > 0), "recency must be 0 when frequency is 0"),
        ((x > 0) & (tx == 0), "recency must be positive when frequency is positive"),
    ):
        bad = np.flatnonzero(mask)
        if bad.size:
            raise InvalidInputError(f"row {bad[0] + 1}: {what}", row=int(bad[0]) + 1)
    return x, tx, n, weight


class BetaGeoBetaBinomModel(MaximumLikelihoodModel):
    """BG/BB model: at each opportunity an alive customer transacts with probability p
    (beta(alpha, beta) across customers) and then stays alive with probability 1 − θ
    (θ beta(gamma, delta) across customers).

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty on the parameters (as in ``lifetimes``).
    period : str, default "week"
        Informational: the length of one opportunity.

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta``, ``gamma``, ``delta``.
    log_likelihood_, standard_errors_, n_observations_, converged_, n_iter_

    Notes
    -----
    ``L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)``, summed in log space.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Customer-base analysis in a discrete-time
    noncontractual setting. Marketing Science, 29(6), 1086-1108.
    """

    model_name: ClassVar[str] = "bgbb"
    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
        alpha, beta, gamma, delta = params
        base = betaln(alpha, beta) + betaln(gamma, delta)
        survived = betaln(alpha + x, beta + n - x) + betaln(gamma, delta + n)
        width = int(np.max(n - tx)) if x.size else 0
        i = np.arange(width)[None, :]
        died = (betaln(alpha + x[:, None], beta + tx[:, None] - x[:, None] + i)
                + betaln(gamma + 1, delta + tx[:, None] + i))
        died = np.where(i < (n - tx)[:, None], died, -np.inf)
        return logsumexp(np.column_stack([survived, died]), axis=1) - base

    def fit(self, X: pd.DataFrame, y: Any = None) -> BetaGeoBetaBinomModel:
        """Estimate ``alpha, beta, gamma, delta``.

        Parameters
        ----------
        X : DataFrame
            ``frequency``, ``recency``, ``n_periods`` and optionally ``weight`` (see
            :func:`validate_bgbb`).
        y : ignored

        Returns
        -------
        self
        """
        x, tx, n, weight = validate_bgbb(X)
        if not np.any((x > 0) & (weight > 0)):
            raise InvalidInputError("BG/BB needs some customers with repeat transactions (frequency > 0)")
        stats = compress(x=x, tx=tx, n=n)
        weights = np.bincount(stats.inverse, weights=weight, minlength=stats.weights.size)
        c = stats.columns
        self._maximize(lambda p: self._loglik(p, c["x"], c["tx"], c["n"]), weights)
        return self

    def predict_probability_alive(self, X: pd.DataFrame) -> np.ndarray:
        """P(alive at opportunity n+1 | x, t_x, n)."""
        alpha, beta, gamma, delta = params = np.array(self._p())
        x, tx, n, _ = validate_bgbb(X)
        log_num = (betaln(alpha + x, beta + n - x) - betaln(alpha, beta)
                   + betaln(gamma, delta + n + 1) - betaln(gamma, delta))
        return np.exp(log_num - self._loglik(params, x, tx, n))

    def predict_purchases(self, X: pd.DataFrame, periods: float) -> np.ndarray:
        """Expected transactions in the next ``periods`` opportunities (FHS 2010, eq. 13)."""
        alpha, beta, gamma, delta = params = np.array(self._p())
        x, tx, n, _ = validate_bgbb(X)
        log_a = (betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta)
                 + gammaln(gamma + delta) - gammaln(1 + delta) - self._loglik(params, x, tx, n))
        now = np.exp(gammaln(1 + delta + n) - gammaln(gamma + delta + n))
        later = np.exp(gammaln(1 + delta + n + periods) - gammaln(gamma + delta + n + periods))
        return np.exp(log_a) * delta / (gamma - 1) * (now - later)
