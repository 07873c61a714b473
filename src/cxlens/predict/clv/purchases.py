"""Shared shape of the continuous-time "buy till you die" models (BG/NBD, MBG/NBD, Pareto/NBD).

They all read the sufficient statistics (frequency x, recency t_x, age T) of each customer, fit by
maximum likelihood on the distinct rows, and answer the same questions: is the customer still
alive, and how many purchases will they make in the next t periods. Predictions are computed once
per distinct (x, t_x, T) row and mapped back, as the fit is.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.base import MaximumLikelihoodModel, Totals
from cxlens.predict.summary import Compressed, Levels, compress, validate_summary


def _stats(X: pd.DataFrame) -> Compressed:
    clean = validate_summary(X)
    return compress(x=clean["frequency"].to_numpy(), tx=clean["recency"].to_numpy(),
                    T=clean["T"].to_numpy())


class RepeatPurchaseModel(MaximumLikelihoodModel):
    """Base for models of repeat-purchase counts in continuous time.

    Subclasses whose formulas accept :class:`~cxlens.predict.summary.Levels` columns set
    ``uses_levels`` so the fit evaluates per-value functions once per distinct value.
    Subclasses implement ``_loglik(params, x, tx, T)``, ``_log_p_alive(params, x, tx, T)`` and
    ``_expected(params, t, x, tx, T)``, each vectorised over rows.
    """

    uses_levels: ClassVar[bool] = False

    def fit(self, X: pd.DataFrame, y: Any = None, sample_weight: np.ndarray | None = None
            ) -> RepeatPurchaseModel:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        X : DataFrame
            Columns ``frequency``, ``recency``, ``T`` (see :mod:`cxlens.predict.summary`).
        y : ignored
        sample_weight : array, optional
            Number of customers each row stands for (for data already aggregated).

        Returns
        -------
        self
        """
        stats = _stats(X)
        weights = stats.weights
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=float)
            if w.shape != (len(X),) or np.any(~np.isfinite(w)) or np.any(w < 0):
                raise InvalidInputError("sample_weight needs one non-negative number per row of X")
            weights = np.bincount(stats.inverse, weights=w, minlength=weights.size)
        if not np.any((stats.columns["x"] > 0) & (weights > 0)):
            raise InvalidInputError(
                f"{self.model_name} needs repeat customers, but every customer bought only once "
                "(frequency 0 everywhere): collect a longer history or use a longer calibration window"
            )
        # Plain columns, or Levels (distinct values + codes) for models that sum per distinct value.
        x: Any = stats.columns["x"]
        tx: Any = stats.columns["tx"]
        T: Any = stats.columns["T"]
        if self.uses_levels:
            x, tx, T = Levels.of(x), Levels.of(tx), Levels.of(T)
        self._maximize(lambda p: self._loglik(p, x, tx, T), weights, self._totals(weights, x, tx, T))
        return self

    # -- predictions -----------------------------------------------------------------------------
    def _per_row(self, X: pd.DataFrame, fn: Any) -> np.ndarray:
        stats = _stats(X)
        c = stats.columns
        return np.asarray(fn(c["x"], c["tx"], c["T"]))[stats.inverse]

    def predict_probability_alive(self, X: pd.DataFrame) -> np.ndarray:
        """P(customer is still active at the end of their observation window)."""
        params = self._p()
        return self._per_row(X, lambda x, tx, T: np.exp(self._log_p_alive(params, x, tx, T)))

    def predict_purchases(self, X: pd.DataFrame, t: float) -> np.ndarray:
        """Expected number of purchases in the next ``t`` periods, given each customer's history."""
        if not np.isfinite(t) or t < 0:
            raise InvalidInputError(f"horizon must be a non-negative number of periods, got {t}")
        params = self._p()
        return self._per_row(X, lambda x, tx, T: self._expected(params, t, x, tx, T))

    def predict_purchases_path(self, X: pd.DataFrame, times: np.ndarray) -> np.ndarray:
        """Expected cumulative purchases at each of ``times`` (rows: customers, columns: times)."""
        path, inverse = self._distinct_path(X, times)
        return path[inverse]

    def _distinct_path(self, X: pd.DataFrame, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The purchase path per distinct (x, t_x, T) row and each customer's row in it, so that
        callers reducing the path (CLV) do so before broadcasting to every customer."""
        params = self._p()
        stats = _stats(X)
        c = stats.columns
        times = np.asarray(times, dtype=float)
        return self._expected_path(params, times, c["x"], c["tx"], c["T"]), stats.inverse

    def log_likelihood_rows(self, X: pd.DataFrame) -> np.ndarray:
        """Each customer's log-likelihood under the fitted parameters (for diagnostics)."""
        params = np.asarray(self._p())
        return self._per_row(X, lambda x, tx, T: self._loglik(params, x, tx, T))

    # -- the model-specific formulas -------------------------------------------------------------
    def _totals(self, weights: np.ndarray, x: Any, tx: Any, T: Any) -> Totals | None:
        """The one-pass weighted log-likelihood and gradient, for models with an analytic gradient."""
        return None

    def _loglik(self, params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _log_p_alive(self, params: Any, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _expected(self, params: Any, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray
                  ) -> np.ndarray:
        raise NotImplementedError

    def _expected_path(self, params: Any, times: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
                       ) -> np.ndarray:
        """``_expected`` at each of ``times`` (columns); models override it to share work across t."""
        return np.column_stack([self._expected(params, float(t), x, tx, T) for t in times])
