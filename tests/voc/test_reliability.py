"""Reliability and validity measures, against plspm's published values and known population values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from cxlens.errors import InvalidInputError
from cxlens.voc import reliability as rel

CASES = Path(__file__).resolve().parents[1] / "cases" / "voc"
REF = json.loads((CASES / "plspm_satisfaction.json").read_text())["unidimensionality"]
BLOCKS = {"IMAG": "imag", "EXPE": "expe", "QUAL": "qual", "VAL": "val", "SAT": "sat", "LOY": "loy"}


def _block(data: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return data[[c for c in data.columns if c.startswith(prefix)]]


def test_alpha_and_dillon_goldstein_rho_match_plspm(shared_data: Path) -> None:
    data = pd.read_csv(shared_data / "surveys" / "ecsi_satisfaction.csv", index_col=0)
    for block, prefix in BLOCKS.items():
        items = _block(data, prefix)
        # plspm reports alpha of the standardized items and rho from first-principal-component loadings
        assert rel.cronbach_alpha(items, standardized=True) == pytest.approx(
            REF["cronbach_alpha"][block], abs=1e-9
        )
        rho = rel.composite_reliability(rel.first_component_loadings(items))
        assert rho == pytest.approx(REF["dillon_goldstein_rho"][block], abs=1e-9)


def test_raw_alpha_equals_the_anova_consistency_coefficient() -> None:
    # Cronbach's alpha = 1 - MS_residual / MS_person in a two-way person x item ANOVA (Hoyt 1941).
    rng = np.random.default_rng(1)
    items = pd.DataFrame(
        rng.normal(size=(80, 1)) + rng.normal(scale=0.8, size=(80, 4)) + [0, 0.5, 1, 0], columns=list("abcd")
    )
    long = items.reset_index(names="person").melt(id_vars="person", var_name="item", value_name="y")
    table = anova_lm(smf.ols("y ~ C(person) + C(item)", data=long).fit())
    ms = table["sum_sq"] / table["df"]
    assert rel.cronbach_alpha(items) == pytest.approx(1 - ms["Residual"] / ms["C(person)"])
    dropped = rel.alpha_if_deleted(items)
    assert dropped["a"] == pytest.approx(rel.cronbach_alpha(items[["b", "c", "d"]]))


def _congeneric(loadings: np.ndarray, n: int, seed: int, factor_corr: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.multivariate_normal([0, 0], [[1, factor_corr], [factor_corr, 1]], size=n)
    cols = {}
    for b in range(2):
        for i, lam in enumerate(loadings):
            cols[f"f{b}_{i}"] = lam * f[:, b] + np.sqrt(1 - lam**2) * rng.normal(size=n)
    return pd.DataFrame(cols)


def test_rho_a_and_htmt_recover_population_values() -> None:
    lam = np.array([0.9, 0.8, 0.7, 0.6])
    data = _congeneric(lam, 40_000, seed=2, factor_corr=0.5)
    block = data[[f"f0_{i}" for i in range(4)]]
    # With Mode A weights (∝ loadings) rho_A is the reliability of the weighted composite:
    # (λ'λ)² / ((λ'λ)² + λ'Θλ) (Dijkstra & Henseler 2015).
    theta = 1 - lam**2
    expected = (lam @ lam) ** 2 / ((lam @ lam) ** 2 + lam @ (theta * lam))
    assert rel.rho_a(block, lam) == pytest.approx(expected, abs=0.01)
    # rho_c of the true loadings, and AVE, from their definitions
    assert rel.composite_reliability(lam) == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()))
    assert rel.ave(lam) == pytest.approx((lam**2).mean())
    # HTMT estimates the factor correlation for tau-equivalent-ish blocks; here it is close to 0.5
    blocks = {"A": list(block.columns), "B": [f"f1_{i}" for i in range(4)]}
    assert rel.htmt(data, blocks).loc["A", "B"] == pytest.approx(0.5, abs=0.03)


def test_fornell_larcker_flags_constructs_that_correlate_too_much() -> None:
    corr = pd.DataFrame([[1, 0.9], [0.9, 1]], index=["A", "B"], columns=["A", "B"])
    table = rel.fornell_larcker({"A": 0.7, "B": 0.85}, corr)
    assert table.loc["A", "A"] == pytest.approx(np.sqrt(0.7))
    assert rel.fornell_larcker_ok(table) == {"A": False, "B": True}


def test_reliability_input_problems() -> None:
    with pytest.raises(InvalidInputError, match="at least two items"):
        rel.cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(InvalidInputError, match="too few respondents"):
        rel.cronbach_alpha(pd.DataFrame({"a": [1, 2], "b": [2, 1]}))
    with pytest.raises(InvalidInputError, match="'b' has missing"):
        rel.cronbach_alpha(pd.DataFrame({"a": [1, 2, 3], "b": [2, None, 1]}))
