"""The measurement calendar: scores per group and period, and period-over-period changes.

Answers are reduced to tallies (sufficient statistics) per group and calendar period — month,
quarter, half-year or year, in UTC — by pandas here or by the database in ``voc.score_store``; the
report computes each score with its interval from the tallies and compares each period with the
one before it (``previous``) or with the same period a year earlier (``yoy``), calling each change
"significant" or "noise" (see :func:`cxlens.voc.scores.compare`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError
from cxlens.voc.scores import Tally, compare, scale_for, score, validate_scores

log = logging.getLogger(__name__)

Period = Literal["month", "quarter", "half", "year"]
CompareMode = Literal["previous", "yoy"]

# Sub-periods per year; a period's ordinal is ``year * PER_YEAR + sub - 1``.
PER_YEAR: dict[str, int] = {"month": 12, "quarter": 4, "half": 2, "year": 1}
TALLY_COLUMNS = ["n", "total", "total_sq", "high", "low"]


def check_period(period: str | None) -> None:
    if period is not None and period not in PER_YEAR:
        raise InvalidInputError(f"unknown period {period!r}: use one of {', '.join(PER_YEAR)}")


def period_label(year: int, sub: int, period: str) -> str:
    """``2024-03``, ``2024-Q1``, ``2024-H2`` or ``2024``."""
    if period == "month":
        return f"{year:04d}-{sub:02d}"
    if period == "quarter":
        return f"{year:04d}-Q{sub}"
    if period == "half":
        return f"{year:04d}-H{sub}"
    return f"{year:04d}"


def _sub_period(ts: pd.Series, period: str) -> pd.Series:
    if period == "month":
        return ts.dt.month
    if period == "quarter":
        return ts.dt.quarter
    if period == "half":
        return (ts.dt.month - 1) // 6 + 1
    return pd.Series(1, index=ts.index)


def _timestamps(frame: pd.DataFrame, column: str) -> pd.Series:
    parsed = pd.to_datetime(frame[column], utc=True, errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        row = frame.index[int(np.flatnonzero(bad.to_numpy())[0])]
        raise InvalidInputError(
            f"timestamp {frame[column].loc[row]!r} in row {row} of column {column!r} is not a date/time",
            row=str(row),
            column=column,
        )
    return parsed


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"unknown column {missing[0]!r}; the data has: {', '.join(map(str, frame.columns))}",
            column=missing[0],
        )


def tallies_from_frame(
    frame: pd.DataFrame,
    metric: str,
    *,
    score_col: str = "score",
    by: Sequence[str] = (),
    period: str | None = None,
    timestamp_col: str = "timestamp",
) -> pd.DataFrame:
    """Tallies of ``metric`` per ``by`` group and ``period`` from a table of answers.

    Rows are validated first: a score off the metric's scale or a bad timestamp is named by row.
    """
    check_period(period)
    by = list(by)
    require_columns(frame, [score_col, *by, *([timestamp_col] if period else [])])
    scale = scale_for(metric)
    values = validate_scores(frame[score_col].to_numpy(), metric, labels=list(frame.index))
    work = pd.DataFrame({c: frame[c].astype("string").fillna("(none)") for c in by}, index=frame.index)
    work["total"] = values
    work["total_sq"] = values**2
    work["high"] = (values >= scale.high_from).astype(np.int64)
    work["low"] = (values <= scale.low_to).astype(np.int64) if scale.low_to is not None else 0
    work["n"] = 1
    keys = list(by)
    if period:
        ts = _timestamps(frame, timestamp_col)
        work["year"] = ts.dt.year
        work["sub"] = _sub_period(ts, period)
        keys += ["year", "sub"]
    if not keys:
        return work[TALLY_COLUMNS].sum().to_frame().T
    return work.groupby(keys, sort=True, observed=True)[TALLY_COLUMNS].sum().reset_index()


def _tally(row: dict[str, Any]) -> Tally:
    return Tally(
        n=int(row["n"]),
        total=float(row["total"]),
        total_sq=float(row["total_sq"]),
        high=int(row["high"]),
        low=int(row["low"]),
    )


def score_report(
    tallies: pd.DataFrame,
    metric: str,
    *,
    by: Sequence[str] = (),
    period: str | None = None,
    compare_to: CompareMode | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Scores per group/period from ``tallies``; with ``compare_to``, the tested change of each period.

    Returns ``{"metric", "by", "period", "rows": [...], "changes": [...]}`` where each row carries the
    group values, the period label and the score with its interval.
    """
    check_period(period)
    if compare_to is not None and compare_to not in ("previous", "yoy"):
        raise InvalidInputError(f"unknown comparison {compare_to!r}: use previous or yoy")
    if compare_to is not None and period is None:
        raise InvalidInputError("a comparison needs a --period (month, quarter, half or year)")
    if compare_to == "yoy" and period == "year":
        compare_to = "previous"  # the year before *is* the same period a year earlier
    by = list(by)
    rows: list[dict[str, Any]] = []
    index: dict[tuple, tuple[Tally, str]] = {}
    for rec in tallies.to_dict("records"):
        t = _tally(rec)
        if t.n == 0:
            continue
        groups = {c: rec[c] for c in by}
        row: dict[str, Any] = dict(groups)
        if period:
            year, sub = int(rec["year"]), int(rec["sub"])
            row["period"] = period_label(year, sub, period)
            index[(*groups.values(), year * PER_YEAR[period] + sub - 1)] = (t, row["period"])
        row.update({k: v for k, v in score(t, metric, confidence).to_dict().items() if k != "metric"})
        rows.append(row)
    changes: list[dict[str, Any]] = []
    if compare_to and period:
        step = 1 if compare_to == "previous" else PER_YEAR[period]
        for key, (after, label) in index.items():
            found = index.get((*key[:-1], key[-1] - step))
            if found is None:
                continue
            before, before_label = found
            if before.n < 2 or after.n < 2:
                log.info("skipping %s vs %s: fewer than 2 answers", label, before_label)
                continue
            change = compare(before, after, metric, alpha).to_dict()
            changes.append(
                {
                    **dict(zip(by, key[:-1], strict=True)),
                    "period": label,
                    "versus": before_label,
                    **{k: v for k, v in change.items() if k != "metric"},
                }
            )
    return {
        "metric": metric,
        "by": by,
        "period": period,
        "compare": compare_to,
        "confidence": confidence,
        "rows": rows,
        "changes": changes,
    }


def report_from_frame(
    frame: pd.DataFrame,
    metric: str,
    *,
    score_col: str = "score",
    by: Sequence[str] = (),
    period: str | None = None,
    timestamp_col: str = "timestamp",
    compare_to: CompareMode | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """:func:`score_report` of a table of answers (one row per answer)."""
    tallies = tallies_from_frame(
        frame, metric, score_col=score_col, by=by, period=period, timestamp_col=timestamp_col
    )
    return score_report(
        tallies, metric, by=by, period=period, compare_to=compare_to, confidence=confidence, alpha=alpha
    )
