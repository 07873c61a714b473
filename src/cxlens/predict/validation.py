"""How good a purchase model is on data it did not see: predicted vs actual holdout purchases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.purchases import RepeatPurchaseModel

BUCKETS = 7  # calibration frequencies 0..6 each get a row, 7 and more share one


def holdout_report(model: RepeatPurchaseModel, summary: pd.DataFrame, holdout_length: float
                   ) -> dict[str, Any]:
    """Compare each customer's expected holdout purchases with the actual count.

    Parameters
    ----------
    model : fitted purchase model
    summary : DataFrame
        The calibration summary with a ``holdout_frequency`` column
        (:func:`cxlens.predict.summary.summarize_transactions` with a calibration end).
    holdout_length : float
        Holdout duration in the model's time unit.

    Returns
    -------
    dict
        ``mae``, ``rmse`` per customer, ``actual_total`` and ``predicted_total`` purchases, and
        ``by_frequency``: mean actual and predicted holdout purchases by calibration frequency
        (the conditional-expectations plot of Fader, Hardie & Lee 2005, Figure 4), plus the same
        numbers for a naive baseline that repeats each customer's calibration rate.
    """
    if "holdout_frequency" not in summary.columns:
        raise InvalidInputError("the summary has no holdout_frequency: give a calibration end")
    if holdout_length <= 0:
        raise InvalidInputError("the holdout period is empty: the calibration end must be before the "
                                "observation end")
    predicted = model.predict_purchases(summary, holdout_length)
    actual = summary["holdout_frequency"].to_numpy(dtype=float)
    # baseline: the customer keeps buying at their calibration rate (repeat purchases per period)
    naive = summary["frequency"].to_numpy(float) / summary["T"].to_numpy(float) * holdout_length
    error = predicted - actual
    freq = summary["frequency"].to_numpy()
    bucket = np.minimum(freq, BUCKETS).astype(int)
    rows = []
    for b in np.unique(bucket):
        sel = bucket == b
        rows.append({
            "frequency": f"{b}+" if b == BUCKETS else str(b),
            "customers": int(sel.sum()),
            "actual_mean": float(actual[sel].mean()),
            "predicted_mean": float(predicted[sel].mean()),
        })
    return {
        "customers": int(actual.size),
        "holdout_length": float(holdout_length),
        "period": model.period,
        "actual_total": float(actual.sum()),
        "predicted_total": float(predicted.sum()),
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "naive_mae": float(np.mean(np.abs(naive - actual))),
        "naive_rmse": float(np.sqrt(np.mean((naive - actual) ** 2))),
        "by_frequency": rows,
    }
