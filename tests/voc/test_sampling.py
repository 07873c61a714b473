"""Cochran sample sizes and margins of error."""

from __future__ import annotations

import pytest

from cxlens.errors import InvalidInputError
from cxlens.voc.sampling import margin_of_error, sample_size


def test_cochran_worst_case_proportion() -> None:
    # Cochran (1977): n0 = 1.96² · 0.25 / 0.05² = 384.16 -> 385 answers for ±5 points at 95 %.
    plan = sample_size(0.05, 0.95)
    assert plan.n_infinite == pytest.approx(384.146, abs=0.01)  # z = 1.959964, not the rounded 1.96
    assert plan.n_required == 385


def test_finite_population_correction() -> None:
    # n = n0 / (1 + (n0 - 1) / N): 384.15 / (1 + 383.15 / 1000) = 277.7 -> 278
    assert sample_size(0.05, 0.95, population=1000).n_required == 278
    assert sample_size(0.03, 0.99, population=10).n_required == 10  # never more than everyone


def test_nps_needs_four_times_the_answers_in_the_worst_case() -> None:
    # V = p_P + p_D - (p_P - p_D)² = 1 at p_P = p_D = 0.5, four times p(1-p) = 0.25.
    plan = sample_size(0.05, metric="nps")
    assert plan.variance == pytest.approx(1.0)
    assert plan.n_required == 1537
    realistic = sample_size(0.05, metric="nps", promoters=0.45, detractors=0.2)
    assert realistic.variance == pytest.approx(0.45 + 0.2 - 0.25**2)
    assert realistic.n_required < plan.n_required


def test_margin_inverts_the_sample_size() -> None:
    assert margin_of_error(385) == pytest.approx(0.04994, abs=1e-4)
    plan = sample_size(0.04, 0.9, population=5000, metric="nps")
    assert margin_of_error(plan.n_required, 0.9, population=5000, metric="nps") <= 0.04
    assert margin_of_error(plan.n_required - 1, 0.9, population=5000, metric="nps") > 0.04
    assert margin_of_error(1000, population=1000) == 0.0  # a census has no sampling error


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"margin": 5}, "margin must be a fraction"),
        ({"margin": 0.05, "confidence": 95}, "confidence"),
        ({"margin": 0.05, "population": 0}, "population"),
        ({"margin": 0.05, "metric": "csat"}, "unknown metric"),
    ],
)
def test_bad_plans_are_refused(kwargs, fragment) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        sample_size(**kwargs)
