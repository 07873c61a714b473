"""Data preparation for lifetime-value models: pure functions from transactions to per-customer summaries.

Conventions (those of Fader, Hardie & Lee 2005 and the CDNOW data set):

* purchases on the same calendar day (UTC) count as one transaction, their amounts summed;
* ``frequency`` is the number of *repeat* purchase days (the first purchase is not counted);
* ``recency`` is the time from the first to the last purchase, ``T`` the time from the first purchase
  to the end of the (calibration) period, both in fractional periods of 1, 7 or 30.4375 days;
* ``monetary_value`` is the mean amount of the repeat purchase days (0 for one-time buyers), the
  quantity the Gamma-Gamma spend model describes.

Nothing here reads files or keeps state; every function returns new frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError

Period = Literal["day", "week", "month"]
DAYS_PER_PERIOD: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
SUMMARY_COLUMNS = ("frequency", "recency", "T")


def days_per_period(period: str) -> float:
    """Length of one model time unit in days; rejects unknown names with the valid choices."""
    try:
        return DAYS_PER_PERIOD[period]
    except KeyError:
        raise InvalidInputError(
            f"unknown period {period!r}: use one of {', '.join(DAYS_PER_PERIOD)}", period=period
        ) from None


def _row(frame: pd.DataFrame, position: int) -> str:
    """How a row is named in messages: the 1-based data row (header excluded) and its index label."""
    return f"row {position + 1} (index {shown_value(frame.index[position])})"


def shown_value(value: object) -> str:
    """A cell as messages quote it: numpy scalars as their plain value (``5``, not ``np.int64(5)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raw = frame[column].iloc[bad[0]]
        raise InvalidInputError(
            f"column {column!r}, {_row(frame, bad[0])}: {shown_value(raw)} is not a number; "
            f"{bad.size} row(s) affected — fix or drop them",
            column=column, row=int(bad[0]) + 1,
        )
    return values


def validate_summary(frame: pd.DataFrame, *, monetary: bool = False) -> pd.DataFrame:
    """Check a per-customer summary and return it with clean float columns.

    Raises :class:`InvalidInputError` naming the row and column of the first problem: missing
    columns, empty input, non-numbers, non-integer or negative frequency, negative recency,
    ``T`` not positive, ``recency > T``, a one-time buyer with a recency, negative spend.
    """
    required = [*SUMMARY_COLUMNS, *(["monetary_value"] if monetary else [])]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"summary lacks column(s) {', '.join(missing)}; expected {', '.join(required)} "
            f"(found {', '.join(map(str, frame.columns)) or 'none'})",
            missing=missing,
        )
    if len(frame) == 0:
        raise InvalidInputError("the summary has no rows: give at least one customer")
    out = frame.copy()
    for column in required:
        out[column] = _numeric(frame, column)
    freq, rec, t = (out[c].to_numpy() for c in SUMMARY_COLUMNS)
    checks = [
        (freq != np.round(freq), "frequency", "is not a whole number (count repeat purchase days)"),
        (freq < 0, "frequency", "is negative"),
        (rec < 0, "recency", "is negative"),
        (t <= 0, "T", "must be positive (time since the first purchase)"),
        (rec > t + 1e-9, "recency", "is larger than T: the last purchase cannot come after the "
         "end of the observation"),
        ((freq == 0) & (rec > 0), "recency", "is positive for a customer with frequency 0 "
         "(no repeat purchase means recency 0)"),
    ]
    if monetary:
        checks.append((out["monetary_value"].to_numpy() < 0, "monetary_value",
                       "is negative: remove refunds or net them per purchase first"))
    for mask, column, what in checks:
        bad = np.flatnonzero(mask)
        if bad.size:
            raise InvalidInputError(
                f"column {column!r}, {_row(frame, bad[0])}: {shown_value(frame[column].iloc[bad[0]])} {what}"
                f" ({bad.size} row(s) affected)",
                column=column, row=int(bad[0]) + 1,
            )
    return out


@dataclass(frozen=True)
class Compressed:
    """Distinct rows of some columns, how many customers share each, and the map back."""

    columns: dict[str, np.ndarray]
    weights: np.ndarray
    inverse: np.ndarray


def compress(**columns: np.ndarray) -> Compressed:
    """Collapse identical rows into one row with a weight.

    Likelihoods are sums over customers, so customers with identical sufficient statistics can be
    evaluated once and weighted: this is what makes fitting a million customers cheap. Each column
    is hashed to integer codes on its own (an order of magnitude faster than hashing tuples of
    floats); the codes are packed into one integer key while the product of the level counts fits
    in 62 bits (three columns of up to a million rows always do), so one more hash finds the
    distinct rows, whose values are decoded from the key instead of searched for.
    """
    arrays = [np.asarray(v, dtype=float) for v in columns.values()]
    factorized = [pd.factorize(values, sort=False) for values in arrays]
    codes = np.zeros(arrays[0].shape[0], dtype=np.int64)
    size = 1
    # per distinct row so far: its code in each column already folded into ``codes``
    row_codes: list[np.ndarray] = []
    pending = list(range(len(arrays)))
    while pending:
        key, group = codes, []
        while pending and size * max(len(factorized[pending[0]][1]), 1) < 2**62:
            i = pending.pop(0)
            n_levels = max(len(factorized[i][1]), 1)
            key, size = key * n_levels + factorized[i][0], size * n_levels
            group.append((i, n_levels))
        codes, uniques = pd.factorize(key, sort=False)
        rest = np.asarray(uniques, dtype=np.int64)
        decoded = []
        for _, n_levels in reversed(group):
            decoded.append(rest % n_levels)
            rest = rest // n_levels
        row_codes = [c[rest] for c in row_codes] + decoded[::-1]
        size = len(uniques)
    distinct = {name: np.asarray(uniques, dtype=float)[level_codes]
                for name, level_codes, (_, uniques) in zip(columns, row_codes, factorized, strict=True)}
    weights = np.bincount(codes, minlength=size).astype(float)
    return Compressed(distinct, weights, codes)


@dataclass(frozen=True)
class Levels:
    """A column with few distinct values: functions of it are evaluated once per distinct value.

    Frequency takes a few hundred values and recency and T (day-resolution) a few thousand even
    among a million customers, so ``gammaln(r + x)`` and friends cost almost nothing this way.
    """

    values: np.ndarray
    uniques: np.ndarray
    inverse: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Levels:
        inverse, uniques = pd.factorize(np.asarray(values, dtype=float), sort=False)
        return cls(np.asarray(values, dtype=float), np.asarray(uniques, dtype=float), inverse)

    def sums(self, weights: np.ndarray) -> np.ndarray:
        """Total weight of the rows at each distinct value.

        ``Σ_rows w·f(v) = Σ_levels sums(w)·f(u)``: a weighted likelihood term that depends on this
        column alone is then a dot product over the levels, with no per-row work at all.
        """
        return np.bincount(self.inverse, weights=weights, minlength=self.uniques.size)


def by_level(fn: Callable[[np.ndarray], np.ndarray], column: np.ndarray | Levels) -> np.ndarray:
    """``fn(column)``, computed per distinct value when the column is :class:`Levels`."""
    if isinstance(column, Levels):
        return np.asarray(fn(column.uniques))[column.inverse]
    return fn(column)


def _parse_transactions(
    transactions: pd.DataFrame, customer_col: str, date_col: str, amount_col: str | None
) -> pd.DataFrame:
    needed = [customer_col, date_col, *([amount_col] if amount_col else [])]
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise InvalidInputError(
            f"transactions lack column(s) {', '.join(missing)} "
            f"(found {', '.join(map(str, transactions.columns)) or 'none'}); "
            "name the right ones with --customer-col/--date-col/--amount-col",
            missing=missing,
        )
    if len(transactions) == 0:
        raise InvalidInputError("the transaction file has no rows: give at least one purchase")
    ids = transactions[customer_col]
    bad = np.flatnonzero(ids.isna().to_numpy())
    if bad.size:
        raise InvalidInputError(
            f"column {customer_col!r}, {_row(transactions, bad[0])}: customer id is empty "
            f"({bad.size} row(s) affected)", column=customer_col, row=int(bad[0]) + 1,
        )
    raw_dates = transactions[date_col]
    if pd.api.types.is_numeric_dtype(raw_dates):
        # integer dates such as 19970101 (the CDNOW files) are read as YYYYMMDD
        dates = pd.to_datetime(raw_dates.astype("Int64").astype(str), format="%Y%m%d", errors="coerce",
                               utc=True)
    else:
        dates = pd.to_datetime(raw_dates, errors="coerce", utc=True, format="mixed")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        raise InvalidInputError(
            f"column {date_col!r}, {_row(transactions, bad[0])}: "
            f"cannot read {shown_value(raw_dates.iloc[bad[0]])} as a date "
            f"(use ISO 8601, e.g. 2024-03-31; {bad.size} row(s) affected)",
            column=date_col, row=int(bad[0]) + 1,
        )
    out = pd.DataFrame({"customer_id": ids.astype(str).to_numpy(),
                        "day": dates.dt.floor("D").to_numpy()})
    if amount_col:
        amounts = _numeric(transactions, amount_col)
        bad = np.flatnonzero(amounts < 0)
        if bad.size:
            raise InvalidInputError(
                f"column {amount_col!r}, {_row(transactions, bad[0])}: amount {amounts[bad[0]]} is "
                f"negative; remove refunds or net them per order first ({bad.size} row(s) affected)",
                column=amount_col, row=int(bad[0]) + 1,
            )
        out["amount"] = amounts
    return out


def _to_timestamp(value: str | pd.Timestamp | None, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InvalidInputError(f"{what} {value!r} is not a date (use ISO 8601, e.g. 2024-03-31)") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class SummaryResult:
    """A calibration summary, and the holdout facts when a calibration end was given."""

    summary: pd.DataFrame
    period: str
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    holdout_length: float | None


def summarize_transactions(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    period: Period = "week",
    calibration_end: str | pd.Timestamp | None = None,
    observation_end: str | pd.Timestamp | None = None,
) -> SummaryResult:
    """Turn a transaction log into the per-customer summary the models fit on.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase with a customer id, a date and optionally an amount.
    period : {"day", "week", "month"}
        Time unit of ``recency``, ``T`` and of every forecast horizon.
    calibration_end : date, optional
        Last day of the fitting window. Customers whose first purchase comes later are left out;
        purchases after it and up to ``observation_end`` are counted as ``holdout_frequency``.
    observation_end : date, optional
        End of the data (default: the last purchase date).

    Returns
    -------
    SummaryResult
        ``summary`` is indexed by customer id with ``frequency, recency, T`` (and
        ``monetary_value`` when amounts are given; ``holdout_frequency`` with a calibration end).
    """
    unit = days_per_period(period)
    parsed = _parse_transactions(transactions, customer_col, date_col, amount_col)
    agg = {"amount": ("amount", "sum")} if amount_col else {}
    daily = parsed.groupby(["customer_id", "day"], sort=True).agg(**agg) if agg else (
        parsed.drop_duplicates().set_index(["customer_id", "day"]).sort_index()
    )
    daily = daily.reset_index()
    last_day = daily["day"].max()
    obs_end = _to_timestamp(observation_end, "observation end") or last_day
    cal_end = _to_timestamp(calibration_end, "calibration end") or obs_end
    if cal_end > obs_end:
        raise InvalidInputError(
            f"calibration end {cal_end.date()} is after the observation end {obs_end.date()}: "
            "choose a calibration end inside the data"
        )
    cal = daily[daily["day"] <= cal_end]
    if cal.empty:
        raise InvalidInputError(
            f"no purchase falls on or before the calibration end {cal_end.date()} "
            f"(first purchase {daily['day'].min().date()}): choose a later calibration end"
        )
    grouped = cal.groupby("customer_id", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    days = pd.Timedelta(days=1)
    summary = pd.DataFrame({
        "frequency": (grouped.size() - 1).astype(float),
        "recency": (last - first) / days / unit,
        "T": (cal_end - first) / days / unit,
    })
    # a customer whose only purchase is on the calibration end has T == 0: give them one day
    summary["T"] = np.maximum(summary["T"], 1.0 / unit)
    if amount_col:
        is_first = cal["day"].to_numpy() == first.reindex(cal["customer_id"]).to_numpy()
        repeat = cal.loc[~is_first].groupby("customer_id")["amount"].mean()
        summary["monetary_value"] = repeat.reindex(summary.index).fillna(0.0)
    holdout_length = None
    if calibration_end is not None:
        hold = daily[(daily["day"] > cal_end) & (daily["day"] <= obs_end)]
        counts = hold.groupby("customer_id").size()
        summary["holdout_frequency"] = counts.reindex(summary.index).fillna(0).astype(float)
        holdout_length = (obs_end - cal_end) / days / unit
    summary.index.name = "customer_id"
    return SummaryResult(summary, period, cal_end, obs_end, holdout_length)
