"""Sample-size planning and margins of error for proportions and the NPS.

Cochran's formula gives the answers needed for a margin ``e`` at confidence ``1 − α``:
``n0 = z² V / e²`` where ``V`` is the variance of one answer — ``p(1 − p)`` for a proportion (worst
case 0.25 at p = 0.5) and ``p_P + p_D − (p_P − p_D)²`` for the NPS on its −1..1 scale (worst case 1,
with half promoters and half detractors). For a finite population of ``N`` people the finite-population
correction gives ``n = n0 / (1 + (n0 − 1) / N)``, rounded up. The margin for a given ``n`` inverts it:
``e = z sqrt(V / n · (N − n) / (N − 1))``.

Margins are fractions of the scale: 0.05 is ±5 percentage points for a proportion and ±5 NPS points
(NPS on −100..100).

References
----------
Cochran, W. G. (1977). Sampling Techniques, 3rd ed., Wiley, §4.4 (eq. 4.2) and the finite-population
correction of §2.
Rocks, B. (2016). Interval estimation for the "net promoter score". The American Statistician 70(4).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import stats

from cxlens.errors import InvalidInputError

PlanMetric = Literal["proportion", "nps"]


@dataclass(frozen=True)
class SamplePlan:
    """How many answers are needed, and why."""

    metric: str
    margin: float
    confidence: float
    population: int | None
    variance: float
    n_infinite: float  # Cochran's n0 before rounding and correction
    n_required: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def answer_variance(metric: str, p: float = 0.5, promoters: float = 0.5, detractors: float = 0.5) -> float:
    """Variance of one answer: ``p(1 − p)`` for a proportion, the +1/0/−1 variance for the NPS."""
    if metric == "proportion":
        if not 0 <= p <= 1:
            raise InvalidInputError(f"expected proportion p must be between 0 and 1, got {p}")
        return p * (1 - p)
    if metric == "nps":
        if promoters < 0 or detractors < 0 or promoters + detractors > 1:
            raise InvalidInputError(
                f"expected promoter and detractor shares must be >= 0 and sum to at most 1, "
                f"got {promoters} and {detractors}"
            )
        return promoters + detractors - (promoters - detractors) ** 2
    raise InvalidInputError(f"unknown metric {metric!r} for sample size: use proportion or nps")


def _check_population(population: int | None) -> None:
    if population is not None and population < 1:
        raise InvalidInputError(f"population must be a positive whole number, got {population}")


def sample_size(
    margin: float,
    confidence: float = 0.95,
    population: int | None = None,
    metric: PlanMetric = "proportion",
    *,
    p: float = 0.5,
    promoters: float = 0.5,
    detractors: float = 0.5,
) -> SamplePlan:
    """Answers needed for ``margin`` at ``confidence`` (Cochran, with finite-population correction)."""
    if not 0 < margin < 1:
        raise InvalidInputError(f"margin must be a fraction between 0 and 1 (0.05 = ±5 points), got {margin}")
    _check_population(population)
    variance = answer_variance(metric, p, promoters, detractors)
    n0 = _z(confidence) ** 2 * variance / margin**2
    n = n0 if population is None else n0 / (1 + (n0 - 1) / population)
    return SamplePlan(
        metric=metric,
        margin=margin,
        confidence=confidence,
        population=population,
        variance=variance,
        n_infinite=n0,
        n_required=max(1, math.ceil(n - 1e-9)),
    )


def margin_of_error(
    n: int,
    confidence: float = 0.95,
    population: int | None = None,
    metric: PlanMetric = "proportion",
    *,
    p: float = 0.5,
    promoters: float = 0.5,
    detractors: float = 0.5,
) -> float:
    """Margin (fraction of the scale) that ``n`` answers give at ``confidence``."""
    if n < 1:
        raise InvalidInputError(f"need at least one answer, got n={n}")
    _check_population(population)
    if population is not None and n > population:
        raise InvalidInputError(f"n={n} answers exceed the population of {population}")
    variance = answer_variance(metric, p, promoters, detractors)
    fpc = 1.0 if population is None or population == 1 else (population - n) / (population - 1)
    return _z(confidence) * math.sqrt(variance / n * fpc)
