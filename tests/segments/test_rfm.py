"""RFM scores and named segments: quintiles, ties, the published rule table."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cxlens.errors import InvalidInputError
from cxlens.segments.rfm import (
    SEGMENT_NAMES,
    SEGMENT_RULES,
    assign_segments,
    fm_score,
    quintile_scores,
    rfm_report,
    score_rfm,
    slug,
)


def test_quintiles_of_distinct_values_are_even() -> None:
    scores = quintile_scores(np.arange(10.0))
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(np.arange(10.0), higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_equal_values_share_a_score_whatever_their_order() -> None:
    values = np.array([1, 1, 1, 1, 1, 1, 2, 3, 3, 9], dtype=float)
    scores = quintile_scores(values)
    assert scores.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 4, 5]
    shuffled = np.random.default_rng(3).permutation(len(values))
    assert quintile_scores(values[shuffled]).tolist() == scores[shuffled].tolist()


def test_quintiles_reject_missing_values() -> None:
    with pytest.raises(InvalidInputError, match="missing"):
        quintile_scores(np.array([1.0, np.nan]))


def test_rules_partition_the_recency_by_fm_grid() -> None:
    """Every (R, FM) cell matches at least one rule, and the first match is the segment."""
    for r, fm in itertools.product(range(1, 6), repeat=2):
        matching = [rule.name for rule in SEGMENT_RULES if rule.matches(np.array([r]), np.array([fm]))[0]]
        assert matching, (r, fm)
        f = m = fm  # F = M = FM gives that FM exactly
        assert assign_segments(np.array([r]), np.array([f]), np.array([m]))[0] == matching[0]
    every = [assign_segments(np.array([r]), np.array([f]), np.array([m]))[0]
             for r, f, m in itertools.product(range(1, 6), repeat=3)]
    assert set(every) == set(SEGMENT_NAMES) and len(SEGMENT_NAMES) == 11


@pytest.mark.parametrize(("r", "f", "m", "segment"), [
    (5, 5, 5, "Champions"), (4, 4, 4, "Champions"), (3, 5, 4, "Loyal customers"),
    (1, 5, 5, "Can't lose them"), (2, 4, 5, "At risk"), (1, 3, 3, "At risk"),
    (5, 1, 1, "New customers"), (5, 2, 2, "Potential loyalists"), (4, 1, 1, "Promising"),
    (3, 2, 2, "Need attention"), (3, 1, 1, "About to sleep"), (2, 1, 2, "Hibernating"),
    (1, 1, 1, "Lost"), (4, 1, 2, "Potential loyalists"),  # FM = (1 + 2) / 2 rounded half up = 2
])
def test_published_examples(r: int, f: int, m: int, segment: str) -> None:
    assert assign_segments(np.array([r]), np.array([f]), np.array([m]))[0] == segment


def test_fm_rounds_half_up() -> None:
    assert fm_score(np.array([1, 2, 4]), np.array([2, 3, 5])).tolist() == [2, 3, 5]


def test_score_rfm_scores_buyers_only_and_reports() -> None:
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({
        "recency_days": rng.uniform(1, 365, n), "frequency": rng.integers(0, 12, n).astype(float),
        "monetary": rng.gamma(2.0, 50.0, n)}, index=[f"c{i}" for i in range(n)])
    scored = score_rfm(frame)
    buyers = frame[frame["frequency"] > 0]
    assert list(scored.index) == list(buyers.index)
    best = buyers["monetary"].idxmax()
    assert scored.loc[best, "m"] == 5
    most_recent = buyers["recency_days"].idxmin()
    assert scored.loc[most_recent, "r"] == 5
    assert scored["rfm_score"].str.fullmatch(r"[1-5]{3}").all()
    report = rfm_report(scored, len(frame))
    assert sum(s["customers"] for s in report["segments"]) == len(buyers) == report["buyers"]
    assert sum(c["customers"] for c in report["grid"]) == len(buyers)
    assert report["non_buyers"] == n - len(buyers)
    champions = next(s for s in report["segments"] if s["name"] == "Champions")
    members = scored[scored["rfm_segment"] == "Champions"]
    assert champions["customers"] == len(members)
    assert champions["mean_monetary"] == pytest.approx(members["monetary"].mean(), abs=0.01)


def test_score_rfm_names_missing_columns() -> None:
    with pytest.raises(InvalidInputError, match="monetary"):
        score_rfm(pd.DataFrame({"recency_days": [1.0], "frequency": [1.0]}))


def test_slugs() -> None:
    assert [slug(n) for n in ("Can't lose them", "At risk")] == ["cant_lose_them", "at_risk"]
