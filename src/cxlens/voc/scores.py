"""Customer scores — NPS, CSAT, CES — from sufficient statistics, with confidence intervals and tests.

Every score here is computed from a :class:`Tally` (n, sum, sum of squares, count of "high" answers,
count of "low" answers). A tally can be built from raw answers (:func:`tally`) or aggregated by the
database (``voc.score_store``), so the statistics are the same whether the data is a CSV of 250
answers or ten million rows in the store.

Scales and definitions
----------------------
* **NPS** (0–10): promoters answer 9–10, detractors 0–6; NPS = 100 × (P − D) / n. Coding each answer
  +1 / 0 / −1, the NPS is the mean of the codes and its variance is ``p_P + p_D − (p_P − p_D)²``; the
  standard error is ``sqrt(var / n)`` (Rocks 2016).
* **CSAT** (1–5): the headline score is the top-2-box share (answers 4–5) in %, with the Wald interval
  ``p ± z sqrt(p(1 − p)/n)``; the mean is reported beside it.
* **CES** (1–7): the headline score is the mean effort answer, with ``mean ± t s/sqrt(n)``; the share
  agreeing (answers 5–7) is reported beside it.

A change between two periods is tested with the statistic that matches the headline score: a z-test
on the NPS difference using each period's NPS variance, a two-proportion z-test (pooled) for CSAT,
Welch's t-test for the CES mean.

References
----------
Reichheld, F. (2003). The one number you need to grow. Harvard Business Review 81(12).
Rocks, B. (2016). Interval estimation for the "net promoter score". The American Statistician 70(4).
Welch, B. L. (1947). The generalization of "Student's" problem when several different population
variances are involved. Biometrika 34.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from cxlens.errors import InvalidInputError

Metric = Literal["nps", "csat", "ces"]


@dataclass(frozen=True)
class Scale:
    """Answer range of a metric and the thresholds that define its shares."""

    low: int
    high: int
    high_from: int  # answers >= this count as "high" (promoters, top-2-box, agreeing)
    low_to: int | None  # answers <= this count as "low" (detractors); None when unused


SCALES: dict[str, Scale] = {
    "nps": Scale(0, 10, 9, 6),
    "csat": Scale(1, 5, 4, None),
    "ces": Scale(1, 7, 5, None),
}


def scale_for(metric: str) -> Scale:
    try:
        return SCALES[metric]
    except KeyError:
        raise InvalidInputError(
            f"unknown metric {metric!r}: use one of {', '.join(SCALES)}", metric=metric
        ) from None


def _refuse_non_numbers(values: Any, metric: str, labels: Sequence[Any] | None) -> None:
    """Name the first answer that is text rather than a number (as off-scale answers are named)."""
    raw = pd.Series(list(values), dtype=object)
    bad = (pd.to_numeric(raw, errors="coerce").isna() & raw.notna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = labels[i] if labels is not None else i
        raise InvalidInputError(
            f"{metric} score {raw.iloc[i]!r} in row {row} is not a number ({int(bad.sum())} such rows "
            "in all); fix or drop them",
            metric=metric,
            row=row if isinstance(row, int | str) else str(row),
            count=int(bad.sum()),
        )


def validate_scores(values: Any, metric: str, *, labels: Sequence[Any] | None = None) -> np.ndarray:
    """Return ``values`` as floats, or raise naming the first row that is missing or off the scale.

    ``labels`` names the rows in the message (for example a DataFrame index or CSV line numbers).
    """
    scale = scale_for(metric)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        _refuse_non_numbers(values, metric, labels)
        raise InvalidInputError(f"{metric} scores must be numbers: {exc}", metric=metric) from exc
    if arr.ndim != 1:
        raise InvalidInputError(f"{metric} scores must be one column, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < scale.low) | (arr > scale.high) | (arr != np.round(arr))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = labels[i] if labels is not None else i
        raise InvalidInputError(
            f"{metric} score {arr[i]:g} in row {row} is not a whole number from {scale.low} to "
            f"{scale.high} ({int(bad.sum())} such rows in all); fix or drop them",
            metric=metric,
            row=row if isinstance(row, int | str) else str(row),
            count=int(bad.sum()),
        )
    return arr


@dataclass(frozen=True)
class Tally:
    """Sufficient statistics of one group of answers."""

    n: int
    total: float
    total_sq: float
    high: int
    low: int

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def sd(self) -> float:
        """Sample standard deviation (n − 1)."""
        if self.n < 2:
            return math.nan
        var = (self.total_sq - self.total**2 / self.n) / (self.n - 1)
        return math.sqrt(max(var, 0.0))


def tally(values: Any, metric: str, *, labels: Sequence[Any] | None = None) -> Tally:
    """Validate raw answers and reduce them to a :class:`Tally`."""
    arr = validate_scores(values, metric, labels=labels)
    scale = scale_for(metric)
    low = int((arr <= scale.low_to).sum()) if scale.low_to is not None else 0
    return Tally(
        n=int(arr.size),
        total=float(arr.sum()),
        total_sq=float((arr**2).sum()),
        high=int((arr >= scale.high_from).sum()),
        low=low,
    )


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def nps_variance(t: Tally) -> float:
    """Variance of the +1/0/−1 codes (population form), on the −1..1 scale."""
    p, d = t.high / t.n, t.low / t.n
    return p + d - (p - d) ** 2


@dataclass(frozen=True)
class ScoreResult:
    """One score with its uncertainty. ``score``, ``ci_*`` and ``margin`` share the headline unit."""

    metric: str
    n: int
    score: float
    se: float
    ci_low: float
    ci_high: float
    margin: float
    confidence: float
    mean: float
    sd: float
    high_share: float  # promoters / top-2-box / agreeing, in %
    low_share: float | None  # detractors, in % (NPS only)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(t: Tally, metric: str, confidence: float = 0.95) -> ScoreResult:
    """The headline score of ``metric`` for one tally, with its confidence interval."""
    scale = scale_for(metric)
    z = _z(confidence)
    if t.n == 0:
        raise InvalidInputError(f"no {metric} answers to score")
    if metric == "nps":
        value = 100.0 * (t.high - t.low) / t.n
        se = 100.0 * math.sqrt(nps_variance(t) / t.n)
        margin = z * se
    elif metric == "csat":
        p = t.high / t.n
        value, se = 100.0 * p, 100.0 * math.sqrt(p * (1 - p) / t.n)
        margin = z * se
    else:  # ces: mean with a t interval
        value = t.mean
        se = t.sd / math.sqrt(t.n) if t.n > 1 else math.nan
        margin = float(stats.t.ppf(0.5 + confidence / 2, t.n - 1)) * se if t.n > 1 else math.nan
    return ScoreResult(
        metric=metric,
        n=t.n,
        score=value,
        se=se,
        ci_low=value - margin,
        ci_high=value + margin,
        margin=margin,
        confidence=confidence,
        mean=t.mean,
        sd=t.sd,
        high_share=100.0 * t.high / t.n,
        low_share=100.0 * t.low / t.n if scale.low_to is not None else None,
    )


def nps(values: Any, confidence: float = 0.95) -> ScoreResult:
    """Net Promoter Score of raw 0–10 answers."""
    return score(tally(values, "nps"), "nps", confidence)


def csat(values: Any, confidence: float = 0.95) -> ScoreResult:
    """CSAT (top-2-box %, and mean) of raw 1–5 answers."""
    return score(tally(values, "csat"), "csat", confidence)


def ces(values: Any, confidence: float = 0.95) -> ScoreResult:
    """Customer Effort Score (mean, and % agreeing) of raw 1–7 answers."""
    return score(tally(values, "ces"), "ces", confidence)


@dataclass(frozen=True)
class Change:
    """Whether a score moved between two periods more than sampling noise explains."""

    metric: str
    before: float
    after: float
    difference: float
    statistic: float
    p_value: float
    test: str
    significant: bool
    verdict: str  # "significant" or "noise"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(before: Tally, after: Tally, metric: str, alpha: float = 0.05) -> Change:
    """Test the change of the headline score from ``before`` to ``after`` (two-sided)."""
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be between 0 and 1, got {alpha}")
    if before.n < 2 or after.n < 2:
        raise InvalidInputError(
            f"too few answers to compare {metric}: {before.n} before and {after.n} after (need 2 each)"
        )
    a, b = score(before, metric), score(after, metric)
    if metric == "nps":
        se = 100.0 * math.sqrt(nps_variance(before) / before.n + nps_variance(after) / after.n)
        stat = (b.score - a.score) / se if se > 0 else 0.0
        p_value = float(2 * stats.norm.sf(abs(stat)))
        test = "z-test on the NPS difference (NPS variance)"
    elif metric == "csat":
        if before.high + after.high in (0, before.n + after.n):  # both all-or-nothing: no variance
            stat, p_value = 0.0, 1.0
        else:
            zs, pv = proportions_ztest([after.high, before.high], [after.n, before.n])
            stat, p_value = float(zs), float(pv)
        test = "two-proportion z-test (top-2-box)"
    else:
        res = stats.ttest_ind_from_stats(
            after.mean, after.sd, after.n, before.mean, before.sd, before.n, equal_var=False
        )
        stat, p_value = float(res.statistic), float(res.pvalue)
        if math.isnan(p_value):  # both groups constant
            stat, p_value = 0.0, 1.0 if after.mean == before.mean else 0.0
        test = "Welch t-test (mean)"
    significant = p_value < alpha
    return Change(
        metric=metric,
        before=a.score,
        after=b.score,
        difference=b.score - a.score,
        statistic=stat,
        p_value=p_value,
        test=test,
        significant=significant,
        verdict="significant" if significant else "noise",
    )
