"""Key-driver analysis: LMG against a brute-force Shapley average of statsmodels fits, relative weights,
and the importance x performance quadrants on the ECSI survey."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.drivers import DriverAnalysis, driver_analysis


def _correlated(n: int = 300, seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 1))
    x = pd.DataFrame(base * [0.8, 0.5, 0.0, 0.3] + rng.normal(size=(n, 4)), columns=list("abcd"))
    y = 0.6 * x.a + 0.3 * x.b + 0.4 * x.c + rng.normal(size=n)
    return x, pd.Series(y, name="y")


def _r2(x: pd.DataFrame, y: pd.Series, cols: list[str]) -> float:
    return sm.OLS(y, sm.add_constant(x[cols])).fit().rsquared if cols else 0.0


def test_lmg_equals_the_average_over_all_orderings() -> None:
    x, y = _correlated()
    analysis = DriverAnalysis().fit(x, y)
    brute = dict.fromkeys(x.columns, 0.0)
    orders = list(permutations(x.columns))
    for order in orders:
        for i, name in enumerate(order):
            brute[name] += (_r2(x, y, list(order[: i + 1])) - _r2(x, y, list(order[:i]))) / len(orders)
    got = analysis.importance_["lmg"]
    for name, value in brute.items():
        assert got[name] == pytest.approx(value, abs=1e-10)
    assert got.sum() == pytest.approx(_r2(x, y, list(x.columns)))
    assert analysis.r2_ == pytest.approx(_r2(x, y, list(x.columns)))
    ols = sm.OLS((y - y.mean()) / y.std(), sm.add_constant((x - x.mean()) / x.std())).fit()
    assert analysis.importance_["beta"].to_dict() == pytest.approx(ols.params.drop("const").to_dict())


def test_relative_weights_sum_to_r2_and_equal_r_squared_for_orthogonal_drivers() -> None:
    x, y = _correlated()
    analysis = DriverAnalysis().fit(x, y)
    weights = analysis.importance_["relative_weight"]
    assert weights.sum() == pytest.approx(analysis.r2_)
    assert np.corrcoef(weights, analysis.importance_["lmg"])[0, 1] > 0.95  # Johnson (2000): close to LMG
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(200, 3)))
    ortho = pd.DataFrame(q - q.mean(axis=0), columns=["p", "q", "r"])
    target = ortho @ [3.0, 1.0, 0.5] + rng.normal(scale=0.05, size=200)
    result = DriverAnalysis().fit(ortho, target).importance_
    r2 = ortho.apply(lambda col: np.corrcoef(col, target)[0, 1] ** 2)
    assert result["relative_weight"].to_dict() == pytest.approx(r2.to_dict(), abs=1e-3)
    assert result["lmg"].to_dict() == pytest.approx(r2.to_dict(), abs=1e-3)


def test_importance_performance_quadrants_on_ecsi(shared_data: Path) -> None:
    data = pd.read_csv(shared_data / "surveys" / "ecsi_satisfaction.csv", index_col=0)
    drivers = ["imag1", "expe1", "qual1", "qual2", "val1", "val2", "loy1"]
    analysis = driver_analysis(data, "sat1", drivers, scale=(0, 10))
    table = analysis.importance_
    assert table["lmg_share"].sum() == pytest.approx(100)
    assert (
        table.index[0] == "val1"
    )  # perceived value drives satisfaction most (cf. VAL -> SAT in the PLS model)
    assert table.loc["val1", "performance"] == pytest.approx(data["val1"].mean() * 10)
    cut_i, cut_p = analysis.cutoffs_["importance"], analysis.cutoffs_["performance"]
    for name, row in table.iterrows():
        important, good = row["lmg_share"] >= cut_i, row["performance"] >= cut_p
        expected = {
            (True, False): "fix first",
            (True, True): "keep up",
            (False, True): "maintain",
            (False, False): "low priority",
        }[(important, good)]
        assert row["quadrant"] == expected, name
    assert analysis.summary()["drivers"][0]["driver"] == "val1"


def test_driver_input_problems() -> None:
    x, y = _correlated(n=30)
    frame = x.assign(y=y)
    with pytest.raises(ModelNotFittedError):
        DriverAnalysis().summary()
    with pytest.raises(InvalidInputError, match="unknown column 'z'"):
        driver_analysis(frame, "y", ["a", "z"])
    with pytest.raises(InvalidInputError, match="unknown column 'nps'"):
        driver_analysis(frame, "nps")
    with pytest.raises(InvalidInputError, match="too few respondents"):
        driver_analysis(frame.head(5), "y")
    with pytest.raises(InvalidInputError, match="'k' has no variance"):
        driver_analysis(frame.assign(k=1.0), "y", ["a", "k"])
    with pytest.raises(InvalidInputError, match="'a' is not numeric"):
        driver_analysis(frame.assign(a="high"), "y", ["a", "b"])
    # a text target read as 'too few respondents: 0 complete rows'
    with pytest.raises(InvalidInputError, match="target 'y' holds 'male' in row 0, not a number"):
        driver_analysis(frame.assign(y="male"), "y", ["a", "b"])
