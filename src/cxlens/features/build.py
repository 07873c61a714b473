"""Build the per-customer feature table: the one entry point the CLI, the API and the models call."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError
from cxlens.features.definitions import Levels, data_end, feature_query, levels_as_of
from cxlens.features.engine import Engine

log = logging.getLogger(__name__)

DEFAULT_CONSENT = {"analytics": True, "personalization": False, "marketing": False}


def to_utc(value: datetime | date | str | pd.Timestamp, what: str = "as-of date",
           field: str = "as_of") -> datetime:
    """A timezone-aware UTC datetime from a datetime, date or ISO string (naive means UTC).

    ``what`` names the value in the message; ``field`` is the parameter an error names in its
    details, as callers send it (``as_of``), so a client can tell which input to correct.
    """
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InvalidInputError(f"{what} {value!r} is not a date (use ISO 8601, e.g. 2025-03-31)",
                                field=field) from None
    if stamp is pd.NaT:
        raise InvalidInputError(f"{what} is empty: give a date such as 2025-03-31", field=field)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def default_as_of(engine: Engine) -> datetime:
    """Just after the latest recorded event or order, so features describe "now" for the data held."""
    end = data_end(engine)
    if end is None:
        raise InvalidInputError("the store holds no events or orders yet: load data first "
                                "(cxlens import FILE, or cxlens demo)")
    return datetime.fromtimestamp(np.floor(end) + 1, tz=UTC)


@dataclass
class FeatureSet:
    """Features of many customers as of one moment: ``frame`` is indexed by customer_id."""

    as_of: datetime
    engine: str
    frame: pd.DataFrame
    levels: Levels

    def to_dict(self) -> dict[str, Any]:
        records = self.frame.reset_index().to_dict(orient="records")
        clean = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                 for r in records]
        return {"as_of": self.as_of, "engine": self.engine, "customers": len(self.frame),
                "columns": list(self.frame.columns), "features": clean}


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes whatever the engine: integer counts stay int64, everything else is float64."""
    frame = frame.set_index("customer_id")
    frame.index = frame.index.astype(str)
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series):
            frame[col] = series.astype("int64")
        else:
            frame[col] = pd.to_numeric(series, errors="coerce").astype("float64")
    return frame


def build_features(
    engine: Engine,
    as_of: datetime | date | str | None = None,
    *,
    customers: Sequence[str] | None = None,
    levels: Levels | None = None,
    consent_defaults: Mapping[str, bool] | None = None,
) -> FeatureSet:
    """Per-customer features from everything recorded strictly before ``as_of``.

    Parameters
    ----------
    engine : Engine
        Where the query runs (:func:`cxlens.features.engine.open_engine`).
    as_of : datetime, date or ISO string, optional
        The moment the features describe; default just after the latest recorded event.
    customers : list of str, optional
        Only these customers (for one profile, or a batch to score).
    levels : Levels, optional
        Which categories and channels get share columns (default: the largest before ``as_of``).
        Models pass the levels they were trained with, so scoring sees the same columns.
    consent_defaults : mapping, optional
        Consent assumed per purpose before a choice (``settings.consent_defaults``).
    """
    moment = to_utc(as_of) if as_of is not None else default_as_of(engine)
    if customers is not None:
        customers = [str(c) for c in customers]
        if not customers:
            raise InvalidInputError("the customer list is empty: give at least one customer id")
    as_of_s = moment.timestamp()
    levels = levels if levels is not None else levels_as_of(engine, as_of_s)
    expr = feature_query(engine, as_of_s, levels=levels,
                         consent_defaults=consent_defaults or DEFAULT_CONSENT, customers=customers)
    frame = _tidy(engine.execute(expr))
    log.info("built %d features for %d customers as of %s on %s", frame.shape[1], len(frame),
             moment.isoformat(), engine.name)
    return FeatureSet(moment, engine.name, frame, levels)
