"""PLS path modelling of the ECSI mobile-phone survey, against the R package plspm's published output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.pls import PLSPathModel

CASES = Path(__file__).resolve().parents[1] / "cases" / "voc"
REF = json.loads((CASES / "plspm_satisfaction.json").read_text())
SPEC = (CASES / "ecsi.spec").read_text()


@pytest.fixture(scope="module")
def ecsi() -> pd.DataFrame:
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "surveys" / "ecsi_satisfaction.csv"
    if not path.is_file():
        pytest.skip(f"reference data not found at {path} (../shared/data beside the checkout)")
    return pd.read_csv(path, index_col=0)


def _by_indicator(model: PLSPathModel, column: str) -> pd.Series:
    return model.outer_model_.set_index("indicator")[column]


def test_centroid_unscaled_reproduces_plspm(ecsi: pd.DataFrame) -> None:
    ref = REF["centroid"]
    model = PLSPathModel(SPEC, scheme="centroid", scaled=False).fit(ecsi)
    paths = dict(
        zip(model.paths_["from"] + " -> " + model.paths_["to"], model.paths_["estimate"], strict=True)
    )
    assert paths == pytest.approx(ref["paths"], abs=1e-5)
    assert model.r2_.to_dict() == pytest.approx(ref["r2"], abs=1e-5)
    assert model.gof_ == pytest.approx(ref["gof"], abs=1e-6)
    weights, loadings = _by_indicator(model, "weight"), _by_indicator(model, "loading")
    for item, value in ref["weights"].items():
        assert weights[item] == pytest.approx(value, abs=1e-5), item
    for item, value in ref["loadings"].items():
        assert loadings[item] == pytest.approx(value, abs=1e-5), item
    for item, value in ref["redundancy"].items():
        assert _by_indicator(model, "redundancy")[item] == pytest.approx(value, abs=1e-5), item
    assert model.quality_["reliability"]["ave"].to_dict() == pytest.approx(ref["ave"], abs=1e-5)


def test_path_scheme_reproduces_plspm(ecsi: pd.DataFrame) -> None:
    model = PLSPathModel(SPEC, scheme="path", scaled=False).fit(ecsi)
    for column in ("weights", "loadings"):
        got = _by_indicator(model, column[:-1])
        for item, value in REF["path"][column].items():
            assert got[item] == pytest.approx(value, abs=1e-5), item


def test_standardized_path_model_with_bootstrap(ecsi: pd.DataFrame) -> None:
    model = PLSPathModel(SPEC, n_bootstrap=60, random_state=0).fit(ecsi)
    paths = model.paths_.set_index(["from", "to"])
    # Standardizing items that share one 0-10 scale moves the paths only a little from plspm's.
    assert paths.loc[("VAL", "SAT"), "estimate"] == pytest.approx(
        REF["centroid"]["paths"]["VAL -> SAT"], abs=0.03
    )
    assert (paths["ci_low"] <= paths["estimate"]).all() and (paths["estimate"] <= paths["ci_high"]).all()
    assert paths.loc[("VAL", "SAT"), "ci_low"] > 0  # the strongest path is clearly positive
    assert (
        paths.loc[("EXPE", "SAT"), "ci_low"] < 0 < paths.loc[("EXPE", "SAT"), "ci_high"]
    )  # and this one is not
    assert set(model.bootstrap_["kind"]) == {"path", "loading", "weight", "r2"}
    scores = model.scores_
    assert np.allclose(scores.mean(), 0, atol=1e-10) and np.allclose(scores.std(), 1)
    summary = model.summary()
    assert summary["fit"]["gof"] == pytest.approx(model.gof_) and len(summary["paths"]) == 10


def test_pls_refuses_bad_models(ecsi: pd.DataFrame) -> None:
    with pytest.raises(ModelNotFittedError):
        PLSPathModel(SPEC).summary()
    with pytest.raises(InvalidInputError, match="'SAT' .* no measurement line"):
        PLSPathModel("IMAG =~ imag1 + imag2\nIMAG ~ SAT").fit(ecsi)
    with pytest.raises(InvalidInputError, match="cycle"):
        PLSPathModel("A =~ imag1 + imag2\nB =~ sat1 + sat2\nA ~ B\nB ~ A").fit(ecsi)
    with pytest.raises(InvalidInputError, match="unknown column 'sat9'"):
        PLSPathModel("A =~ imag1 + imag2\nB =~ sat1 + sat9\nB ~ A").fit(ecsi)
    with pytest.raises(InvalidInputError, match="too few respondents"):
        PLSPathModel("A =~ imag1 + imag2\nB =~ sat1 + sat2\nB ~ A").fit(ecsi.head(5))


def test_a_text_answer_among_the_items_is_named_by_column_and_row() -> None:
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.normal(size=(40, 4)), columns=["a1", "a2", "b1", "b2"]).astype(object)
    data.loc[7, "b2"] = "male"
    with pytest.raises(InvalidInputError, match="model item 'b2' holds 'male' in row 7, not a number"):
        PLSPathModel("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A").fit(data)
