"""Score queries over the store's ``feedback`` table.

The database does the heavy part in one pass — per group and period it returns the tallies (n, sum,
sum of squares, high and low counts) plus a count of answers off the scale — and the statistics are
computed in Python from those sufficient statistics (``voc.calendar.score_report``), so ten million
answers cost one aggregate query. Periods are calendar periods in UTC:
``make_timestamp(epoch_us(timestamp))`` is the UTC wall clock without a time-zone lookup per row
(three times faster than ``timezone(...)`` on DuckDB).

Grouping columns are ``touchpoint``, ``channel``, ``survey_id``, or ``properties.KEY`` for a field of
the answer's JSON properties (a segment, a plan, a region ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from cxlens.errors import InvalidInputError
from cxlens.store import Store
from cxlens.voc.calendar import CompareMode, check_period, score_report
from cxlens.voc.scores import scale_for

GROUP_COLUMNS = ("touchpoint", "channel", "survey_id")
_PROPERTY = re.compile(r"^properties\.([A-Za-z_][A-Za-z0-9_]*)$")
_PERIOD_SQL = {
    "month": "month(ts)",
    "quarter": "quarter(ts)",
    "half": "(month(ts) + 5) // 6",
    "year": "1",
}


def _group_sql(column: str) -> str:
    if column in GROUP_COLUMNS:
        return f"coalesce({column}, '(none)')"
    match = _PROPERTY.match(column)
    if match:
        return f"coalesce(json_extract_string(properties, '$.{match.group(1)}'), '(none)')"
    raise InvalidInputError(
        f"unknown group column {column!r}: use {', '.join(GROUP_COLUMNS)} or properties.<key>",
        column=column,
    )


def tallies_from_store(
    store: Store,
    metric: str,
    *,
    by: Sequence[str] = (),
    period: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Tallies of ``metric`` answers in ``feedback`` per group and period (one aggregate query).

    Raises :class:`InvalidInputError` naming a ``message_id`` when stored scores are off the scale.
    """
    check_period(period)
    scale = scale_for(metric)
    groups = [f"{_group_sql(c)} AS g{i}" for i, c in enumerate(by)]
    keys = [f"g{i}" for i in range(len(by))]
    if period:
        groups += ["year(ts) AS year", f"{_PERIOD_SQL[period]} AS sub"]
        keys += ["year", "sub"]
    low_to = scale.low_to if scale.low_to is not None else scale.low - 1
    bad = f"(score < {scale.low} OR score > {scale.high} OR score <> floor(score))"
    where = ["metric = ?", "score IS NOT NULL"]
    params: list[Any] = [metric]
    if since is not None:
        where.append("timestamp >= ?")
        params.append(since)
    if until is not None:
        where.append("timestamp < ?")
        params.append(until)
    select = ", ".join(
        [
            *groups,
            "count(*) AS n",
            "sum(score) AS total",
            "sum(score * score) AS total_sq",
            f"count_if(score >= {scale.high_from}) AS high",
            f"count_if(score <= {low_to}) AS low",
            f"count_if({bad}) AS bad",
        ]
    )
    group_by = f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}" if keys else ""
    sql = (
        f"SELECT {select} FROM (SELECT *, make_timestamp(epoch_us(timestamp)) AS ts FROM feedback "
        f"WHERE {' AND '.join(where)}){group_by}"
    )
    # Store.records, not Store.arrow: one row per group and period is small, and Store.arrow does not
    # work with DuckDB 2 yet (its cursor has to_arrow_table, not fetch_arrow_table/arrow).
    columns = [*(k for k in keys), "n", "total", "total_sq", "high", "low", "bad"]
    frame = pd.DataFrame(store.records(sql, params), columns=columns)
    frame = frame[frame["n"] > 0] if not keys else frame
    n_bad = int(frame["bad"].sum()) if len(frame) else 0
    if n_bad:
        # A second query names an offender only when there is one: reading message_id in the main
        # aggregate would triple its cost.
        first = store.scalar(
            f"SELECT min(message_id) FROM feedback WHERE {' AND '.join(where)} AND {bad}", params
        )
        raise InvalidInputError(
            f"{n_bad} stored {metric} answers are off the {scale.low}–{scale.high} scale (for example "
            f"message_id {first}); correct or delete them",
            metric=metric,
            message_id=first,
            count=n_bad,
        )
    frame = frame.rename(columns={f"g{i}": c for i, c in enumerate(by)}).drop(columns=["bad"])
    return frame.fillna({"total": 0.0, "total_sq": 0.0})


def report_from_store(
    store: Store,
    metric: str,
    *,
    by: Sequence[str] = (),
    period: str | None = None,
    compare_to: CompareMode | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """:func:`cxlens.voc.calendar.score_report` of the answers in the store."""
    tallies = tallies_from_store(store, metric, by=by, period=period, since=since, until=until)
    if tallies.empty or int(tallies["n"].sum()) == 0:
        raise InvalidInputError(
            f"the store has no {metric} answers{' in that time range' if since or until else ''}"
        )
    return score_report(
        tallies, metric, by=by, period=period, compare_to=compare_to, confidence=confidence, alpha=alpha
    )
