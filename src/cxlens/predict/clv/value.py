"""Discounted customer lifetime value from a purchase model and a spend model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.gammagamma import GammaGammaModel
from cxlens.predict.clv.purchases import RepeatPurchaseModel
from cxlens.predict.summary import DAYS_PER_PERIOD, days_per_period


def _monthly_distinct(model: RepeatPurchaseModel, X: pd.DataFrame, months: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases per month for each distinct (x, t_x, T) row, and each customer's row."""
    if months < 1:
        raise InvalidInputError(f"horizon must be at least 1 month, got {months}")
    per_month = DAYS_PER_PERIOD["month"] / days_per_period(model.period)
    cumulative, inverse = model._distinct_path(X, per_month * np.arange(1, months + 1))
    return np.diff(cumulative, axis=1, prepend=0.0), inverse


def expected_purchases_by_month(model: RepeatPurchaseModel, X: pd.DataFrame, months: int) -> np.ndarray:
    """Expected purchases in each of the next ``months`` months (rows: customers).

    Months are converted to the model's time unit (a month is 365.25/12 days).
    """
    monthly, inverse = _monthly_distinct(model, X, months)
    return monthly[inverse]


def customer_lifetime_value(
    purchases: RepeatPurchaseModel,
    spend: GammaGammaModel,
    X: pd.DataFrame,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
) -> np.ndarray:
    """Discounted CLV over the next ``months`` months.

    ``CLV = Σ_{m=1..months} E[spend] · E[purchases in month m] / (1 + d)^m`` with ``d`` the monthly
    discount rate: purchases come from the purchase model given each customer's history, spend
    per purchase from the Gamma-Gamma conditional expectation (FHL 2005, "RFM and CLV"), assumed
    independent of the purchase process as that model requires. The discounted purchase sum is
    formed per distinct (x, t_x, T) row and only then spread to the customers.
    """
    if not np.isfinite(discount_rate) or discount_rate < 0:
        raise InvalidInputError(f"discount rate must be a non-negative monthly rate such as 0.01, got "
                                f"{discount_rate}")
    monthly, inverse = _monthly_distinct(purchases, X, months)
    factors = (1.0 + discount_rate) ** -np.arange(1, months + 1)
    return spend.predict_spend(X) * np.einsum("ij,j->i", monthly, factors)[inverse]
