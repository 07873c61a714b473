"""Reference data for the CLV tests: CDNOW and the donation data as shipped by ``lifetimes``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest


def _lifetimes_data(name: str) -> Path:
    # the files are read directly: lifetimes.datasets imports pkg_resources, gone from new setuptools
    pytest.importorskip("lifetimes")
    return Path(str(files("lifetimes") / "datasets" / name))


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW 1/10th sample: 2,357 customers, 6,919 purchases, Jan 1997 - Jun 1998."""
    return pd.read_csv(_lifetimes_data("CDNOW_sample.txt"), sep=r"\s+", header=None,
                       names=["new_id", "customer_id", "date", "cds", "amount"])


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_transactions: pd.DataFrame):
    """The 39-week calibration / 39-week holdout split used by Fader, Hardie & Lee (2005)."""
    from cxlens.predict.summary import summarize_transactions

    return summarize_transactions(cdnow_transactions, amount_col="amount", period="week",
                                  calibration_end="1997-09-30", observation_end="1998-06-30")


@pytest.fixture(scope="session")
def cdnow_published_summary() -> pd.DataFrame:
    frame = pd.read_csv(_lifetimes_data("cdnow_customers_summary_with_transactions.csv"), index_col=0)
    return frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="session")
def donations() -> pd.DataFrame:
    frame = pd.read_csv(_lifetimes_data("donations.csv"))
    return frame.rename(columns={"periods": "n_periods", "weights": "weight"})
