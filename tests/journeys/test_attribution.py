"""Attribution: hand-solved Markov chains, exact Shapley, heuristics, totals, ROI, file errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxlens.errors import InvalidInputError
from cxlens.journeys.attribution import (
    MODELS,
    attribute,
    attribution_report,
    compare_models,
    position_weights,
    removal_effects,
    roi_and_budget,
    shapley_values,
)
from cxlens.journeys.paths import aggregate_journeys, read_paths, read_spend

CASES = Path(__file__).resolve().parents[1] / "cases" / "attribution"


def _by_channel(result: dict, field: str = "conversions") -> dict[str, float]:
    return {row["channel"]: row[field] for row in result["channels"]}


def test_markov_removal_effects_solved_by_hand() -> None:
    """Paths: A>B (1 conv), A (1 null), B (1 conv, 1 null).

    Transitions: start→A 2/4, start→B 2/4; A→B 1/2, A→null 1/2; B→conv 2/3, B→null 1/3.
    P(conv|B) = 2/3, P(conv|A) = ½·⅔ = ⅓, P(conv) = ½·⅓ + ½·⅔ = ½.
    Without A (start→A is lost): P = ½·⅔ = ⅓ → RE_A = 1 − (⅓)/(½) = ⅓.
    Without B: nothing reaches conversion → RE_B = 1.
    2 conversions split ⅓ : 1 → A = 2·(⅓)/(4/3) = 0.5, B = 1.5.
    """
    table = read_paths("path,conversions,nulls\nA>B,1,0\nA,0,1\nB,1,1\n")
    assert removal_effects(table) == pytest.approx({"A": 1 / 3, "B": 1.0})
    assert _by_channel(attribute(table, "markov")) == pytest.approx({"A": 0.5, "B": 1.5})


def test_markov_with_a_cycle_needs_the_linear_solve() -> None:
    """Paths: A>B>A (1 conv), B>A (1 null).

    Transitions: start→A ½, start→B ½; A→B ⅓, A→conv ⅓, A→null ⅓; B→A 1.
    x_A = ⅓·x_B + ⅓ and x_B = x_A  ⇒  x_A = x_B = ½, P(conv) = ½.
    Without A: x_B = 0 ⇒ P = 0 ⇒ RE_A = 1.  Without B: x_A = ⅓, P = ½·⅓ = ⅙ ⇒ RE_B = 1 − (⅙)/(½) = ⅔.
    1 conversion split 1 : ⅔ → A = 0.6, B = 0.4.
    """
    table = read_paths("path,conversions,nulls\nA>B>A,1,0\nB>A,0,1\n")
    assert removal_effects(table) == pytest.approx({"A": 1.0, "B": 2 / 3})
    assert _by_channel(attribute(table, "markov")) == pytest.approx({"A": 0.6, "B": 0.4})


def test_second_order_markov_by_hand() -> None:
    """Order 2 on A>B (1 conv), A (1 null), B (1 conv, 1 null): states (A), (B), (A,B).

    start→(A) ½, start→(B) ½; (A)→(A,B) ½, (A)→null ½; (A,B)→conv 1; (B)→conv ½, (B)→null ½.
    P = ½·½·1 + ½·½ = ½. Without A (drop (A), (A,B)): P = ¼ ⇒ RE_A = ½.
    Without B (drop (B), (A,B)): P = 0 ⇒ RE_B = 1.
    """
    table = read_paths("path,conversions,nulls\nA>B,1,0\nA,0,1\nB,1,1\n")
    assert removal_effects(table, order=2) == pytest.approx({"A": 0.5, "B": 1.0})


def test_exact_shapley_by_hand_and_equal_split_identity() -> None:
    """Paths A>B (2 conv), A (1), B>C (3). v(S) = conversions of paths with channels ⊆ S:
    v(A)=1, v(B)=v(C)=0, v(AB)=3, v(AC)=1, v(BC)=3, v(ABC)=6.
    φ_A = ⅓[v(A)] + ⅙[v(AB)−v(B)] + ⅙[v(AC)−v(C)] + ⅓[v(ABC)−v(BC)] = ⅓ + ½ + ⅙ + 1 = 2,
    φ_B = ⅓·0 + ⅙·2 + ⅙·3 + ⅓·5 = 2.5, φ_C = ⅓·0 + ⅙·0 + ⅙·3 + ⅓·3 = 1.5.
    Zhao et al. (2018): for this v the Shapley value equals an equal split of each path among its
    distinct channels: A = 2/2 + 1 = 2, B = 2/2 + 3/2 = 2.5, C = 3/2.
    """
    table = read_paths("path,conversions,nulls\nA>B,2,0\nA,1,0\nB>C,3,1\n")
    assert _by_channel(attribute(table, "shapley")) == pytest.approx({"A": 2.0, "B": 2.5, "C": 1.5})


def test_shapley_equals_equal_split_on_random_paths() -> None:
    rng = np.random.default_rng(3)
    channels = list("abcdefgh")
    paths = [">".join(rng.choice(channels, size=rng.integers(1, 6))) for _ in range(300)]
    table = aggregate_journeys(paths, rng.random(300) < 0.3)
    expected = dict.fromkeys(table.channels, 0.0)
    for path, conv in zip(table.paths, table.conversions, strict=True):
        for channel in set(path):
            expected[channel] += conv / len(set(path))
    got = shapley_values(table, table.conversions)
    assert dict(zip(table.channels, got, strict=True)) == pytest.approx(expected)


@pytest.mark.parametrize(("model", "length", "expected"), [
    ("first", 3, [1, 0, 0]), ("last", 3, [0, 0, 1]), ("linear", 4, [0.25] * 4),
    ("position", 1, [1.0]), ("position", 2, [0.5, 0.5]), ("position", 4, [0.4, 0.1, 0.1, 0.4]),
    # half-life 1 touch: weights 1/4, 1/2, 1 normalised by 7/4
    ("time_decay", 3, [1 / 7, 2 / 7, 4 / 7]),
])
def test_heuristic_weights(model: str, length: int, expected: list[float]) -> None:
    assert position_weights(length, model=model) == pytest.approx(expected)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_sums_to_total_conversions_and_value(model: str) -> None:
    table = read_paths(CASES / "paths_small.csv")
    result = attribute(table, model)
    assert sum(_by_channel(result).values()) == pytest.approx(table.total_conversions)
    assert sum(_by_channel(result, "value").values()) == pytest.approx(table.total_value)


def test_compare_models_side_by_side() -> None:
    table = read_paths(CASES / "paths_small.csv")
    result = compare_models(table)
    assert result["models"] == list(MODELS)
    for model in MODELS:
        assert sum(row[model] for row in result["channels"]) == pytest.approx(68.0)


def test_duplicate_paths_are_merged_and_whitespace_ignored() -> None:
    table = read_paths("path,conversions,nulls\na > b,1,2\na>b,3,4\n")
    assert table.paths == (("a", "b"),)
    assert list(table.conversions) == [4.0] and list(table.nulls) == [6.0]


@pytest.mark.parametrize(("text", "message"), [
    ("path,conversions,nulls\nemail>search,1,0\nsearch,2,1\nemail>>search,1,0\n", "line 4: path"),
    ("path,conversions,nulls\n,1,0\n", "line 2: the path is empty"),
    ("path,conversions,nulls\na>,1,0\n", "line 2: path 'a>'"),
    ("path,conversions,nulls\na,-1,0\n", "line 2: conversions must be a non-negative"),
    ("path,conversions,nulls\na,x,0\n", "line 2: conversions 'x' is not a number"),
    ("path,conversions\na,1\n", "missing column"),
    ("path,conversions,nulls\n", "no rows"),
])
def test_malformed_paths_are_named_by_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        read_paths(text)


def test_malformed_case_file_names_the_line() -> None:
    with pytest.raises(InvalidInputError, match="line 4"):
        read_paths(CASES / "malformed_paths.csv")


def test_roi_and_budget_reallocation() -> None:
    """Return = k·s^½: s_c ∝ k_c², so a channel with twice the k gets four times the budget."""
    result = {"total_value": 30.0, "channels": [
        {"channel": "a", "conversions": 1.0, "value": 20.0},
        {"channel": "b", "conversions": 1.0, "value": 10.0}]}
    plan = roi_and_budget(result, {"a": 100.0, "b": 100.0})
    rows = {r["channel"]: r for r in plan["channels"]}
    assert rows["a"]["roas"] == 0.2 and rows["a"]["roi"] == pytest.approx(-0.8)
    assert rows["a"]["suggested_spend"] == pytest.approx(160.0)
    assert rows["b"]["suggested_spend"] == pytest.approx(40.0)
    assert plan["expected_return"] > plan["current_return"]


def test_unknown_channel_in_spend_is_refused() -> None:
    table = read_paths(CASES / "paths_small.csv")
    with pytest.raises(InvalidInputError, match="tv"):
        roi_and_budget(attribute(table, "linear"), {"tv": 10.0, "email": 5.0})


def test_report_reads_files_and_adds_roi() -> None:
    report = attribution_report(CASES / "paths_small.csv", "markov", CASES / "spend_small.csv")
    assert {r["channel"] for r in report["roi"]["channels"]} == {"email", "search", "social", "display"}
    assert sum(r["suggested_spend"] for r in report["roi"]["channels"]) == pytest.approx(5800.0)


def test_spend_file_errors() -> None:
    with pytest.raises(InvalidInputError, match="line 3: channel 'a' appears twice"):
        read_spend("channel,spend\na,1\na,2\n")
    with pytest.raises(InvalidInputError, match="no such file"):
        read_spend(CASES / "missing.csv")


def test_unknown_model_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown attribution model"):
        attribute(read_paths(CASES / "paths_small.csv"), "magic")
