"""`cxlens stats compare`: JSON carries the engine's numbers; bad input is an error, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxlens.cli import common
from cxlens.cli.main import run
from cxlens.cli.stats import ci_bar

INPUT = Path(__file__).resolve().parents[1] / "cases" / "experiments" / "compare_input.json"



@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Render tables as on a wide terminal, so the assertions do not depend on wrapping."""
    monkeypatch.setattr(common.console, "width", 200)
    monkeypatch.setattr(common.err_console, "width", 200)

@pytest.mark.parametrize("method", ["frequentist", "bayesian", "sequential"])
def test_compare_json(method: str, capsys) -> None:
    assert run(["stats", "compare", "--input", str(INPUT), "--method", method, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rel = out["metrics"][0]["results"][0]["relative"]
    assert rel["method"] == method
    assert round(rel["expected"], 5) == 0.70732  # gbstats test_two_sided_ttest inputs
    if method == "frequentist":
        assert [round(x, 5) for x in rel["ci"]] == [-0.03526, 1.44989]
    assert out["srm"]["users"] == [3407, 3461]


def test_compare_table_draws_interval_and_srm(capsys) -> None:
    assert run(["stats", "compare", "--input", str(INPUT)]) == 0
    out = capsys.readouterr().out
    assert "treatment" in out and "+70.73%" in out and "sample ratio check" in out and "●" in out


def test_compare_errors_are_clean(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"metric": "mean", "variants": [{"name": "a", "n": 0, "sum": 0,
                                                                "sum_squares": 0}]}))
    assert run(["stats", "compare", "--input", str(bad)]) == 2
    assert "at least two arms" in capsys.readouterr().err
    assert run(["stats", "compare", "--input", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_ci_bar_marks_zero_and_estimate() -> None:
    assert ci_bar(-1.0, 1.0, 0.5, -1.0, 1.0, width=5) == "──│●─"
