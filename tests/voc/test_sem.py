"""CFA / SEM via semopy: the lavaan tutorial's Holzinger–Swineford CFA, and the model-text parser."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import semopy
from semopy.examples import holzinger39

from cxlens.errors import InvalidInputError, ModelNotFittedError
from cxlens.voc.sem import StructuralEquationModel
from cxlens.voc.spec import parse_spec

CASES = Path(__file__).resolve().parents[1] / "cases" / "voc"
HS_SPEC = (CASES / "holzinger.spec").read_text()


@pytest.fixture(scope="module")
def hs_model() -> StructuralEquationModel:
    return StructuralEquationModel(HS_SPEC).fit(holzinger39.get_data())


def test_holzinger_swineford_cfa_matches_lavaan(hs_model: StructuralEquationModel) -> None:
    # lavaan tutorial, "A first example: confirmatory factor analysis" (lavaan.ugent.be/tutorial/cfa.html):
    # chi-square 85.306 on 24 df, CFI 0.931, TLI 0.896, RMSEA 0.092, SRMR 0.065; loadings x2 0.554,
    # x3 0.729, x5 1.113, x6 0.926, x8 1.180, x9 1.082; std.all x1 0.772 ... x9 0.665.
    fit = hs_model.fit_indices_
    assert fit["chi2"] == pytest.approx(85.306, abs=0.005)
    assert fit["df"] == 24
    assert fit["cfi"] == pytest.approx(0.931, abs=0.0005)
    assert fit["tli"] == pytest.approx(0.896, abs=0.0005)
    assert fit["rmsea"] == pytest.approx(0.092, abs=0.0005)
    assert fit["srmr"] == pytest.approx(0.065, abs=0.0005)
    est = hs_model.loadings_.set_index("indicator")
    lavaan = {"x2": 0.554, "x3": 0.729, "x5": 1.113, "x6": 0.926, "x8": 1.180, "x9": 1.082}
    for item, value in lavaan.items():
        assert est.loc[item, "estimate"] == pytest.approx(value, abs=0.002), item
    std = {
        "x1": 0.772,
        "x2": 0.424,
        "x3": 0.582,
        "x4": 0.852,
        "x5": 0.855,
        "x6": 0.838,
        "x7": 0.570,
        "x8": 0.723,
        "x9": 0.665,
    }
    for item, value in std.items():
        assert est.loc[item, "std_estimate"] == pytest.approx(value, abs=0.002), item
    # lavaan std.all factor correlations: visual~~textual 0.459, visual~~speed 0.471, textual~~speed 0.283
    corr = hs_model.latent_corr_
    assert corr.loc["visual", "textual"] == pytest.approx(0.459, abs=0.002)
    assert corr.loc["visual", "speed"] == pytest.approx(0.471, abs=0.002)
    assert corr.loc["textual", "speed"] == pytest.approx(0.283, abs=0.002)


def test_sem_paths_agree_with_semopy_run_directly() -> None:
    data = holzinger39.get_data()
    text = HS_SPEC + "textual ~ visual\n"
    ours = StructuralEquationModel(text).fit(data)
    ref = semopy.Model(text)
    ref.fit(data)
    table = ref.inspect(std_est=True)
    row = table[(table.lval == "textual") & (table.op == "~") & (table.rval == "visual")].iloc[0]
    path = ours.paths_.iloc[0]
    assert (path["from"], path["to"]) == ("visual", "textual")
    assert path["estimate"] == pytest.approx(row["Estimate"], rel=1e-6)
    assert path["std_estimate"] == pytest.approx(row["Est. Std"], rel=1e-6)
    assert path["ci_low"] < path["estimate"] < path["ci_high"]
    rel = ours.quality_["reliability"]
    assert rel.loc["textual", "rho_c"] > 0.85 and rel.loc["visual", "ave"] < 0.5
    assert ours.summary()["fit"]["chi2"] == pytest.approx(ours.fit_indices_["chi2"])


def test_sem_input_problems() -> None:
    data = holzinger39.get_data()
    with pytest.raises(ModelNotFittedError):
        StructuralEquationModel(HS_SPEC).summary()
    with pytest.raises(InvalidInputError, match="unknown column 'x10'"):
        StructuralEquationModel("visual =~ x1 + x2 + x10").fit(data)
    with pytest.raises(InvalidInputError, match="too few respondents"):
        StructuralEquationModel(HS_SPEC).fit(data.head(10))
    holes = data.astype({"x3": float})
    holes.loc[5, "x3"] = None
    with pytest.raises(InvalidInputError, match="'x3' has missing"):
        StructuralEquationModel(HS_SPEC).fit(holes)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("visual =~ x1 + + x2", "line 1: unexpected token '\\(nothing\\)'"),
        ("a =~ x1\nb =~ x1 + 2x", "line 2: unexpected token '2x'"),
        ("a =~ x1\n\nvisual x1 x2", "line 3: no operator"),
        ("a b =~ x1", "'a b' before '=~'"),
        ("a =~ x1 ~ x2", "a second operator '~'"),
        ("# only a comment", "the model is empty"),
    ],
)
def test_malformed_model_text_names_line_and_token(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        parse_spec(text)


def test_parser_reads_all_three_operators() -> None:
    spec = parse_spec("A =~ a1 + a2  # comment\nB =~ b1; B ~ A\nA ~~ B\nB ~ c")
    assert spec.measurement == {"A": ["a1", "a2"], "B": ["b1"]}
    assert spec.structural == {"B": ["A", "c"]}
    assert spec.covariances == [("A", "B")]
    with pytest.raises(InvalidInputError, match="unknown column 'c'"):
        spec.check_columns(pd.Index(["a1", "a2", "b1"]))


def test_a_text_answer_among_the_items_is_named_by_column_and_row() -> None:
    """A stray 'n/a' in one item must be a clear input error, not semopy's float conversion failure."""
    data = holzinger39.get_data().astype({"x2": object})
    data.loc[data.index[3], "x2"] = "n/a"
    with pytest.raises(InvalidInputError, match=r"model item 'x2' holds 'n/a' in row \d+, not a number"):
        StructuralEquationModel(HS_SPEC).fit(data)
