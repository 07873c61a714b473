"""`cxlens attribution`: totals, removal effects, all models, spend, and clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxlens.cli import common
from cxlens.cli.attribution import bar
from cxlens.cli.main import run

CASES = Path(__file__).resolve().parents[1] / "cases" / "attribution"
PATHS = str(CASES / "paths_small.csv")



@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Render tables as on a wide terminal, so the assertions do not depend on wrapping."""
    monkeypatch.setattr(common.console, "width", 200)
    monkeypatch.setattr(common.err_console, "width", 200)

@pytest.mark.parametrize("model", ["markov", "shapley", "first", "last", "linear", "time_decay", "position"])
def test_attribution_json_sums_to_total(model: str, capsys) -> None:
    assert run(["attribution", "--paths", PATHS, "--model", model, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sum(row["conversions"] for row in out["channels"]) == pytest.approx(out["total_conversions"])
    assert ("removal_effect" in out["channels"][0]) is (model == "markov")


def test_attribution_all_models_and_spend_table(capsys) -> None:
    assert run(["attribution", "--paths", PATHS, "--model", "all",
                "--spend", str(CASES / "spend_small.csv")]) == 0
    out = capsys.readouterr().out
    assert "shapley" in out and "suggested spend" in out and "█" in out


def test_attribution_errors_name_the_line(capsys) -> None:
    assert run(["attribution", "--paths", str(CASES / "malformed_paths.csv")]) == 2
    assert "line 4" in capsys.readouterr().err
    assert run(["attribution", "--paths", PATHS, "--model", "magic"]) == 2
    assert "unknown attribution model" in capsys.readouterr().err


def test_bar_scales_to_the_largest() -> None:
    assert bar(10, 10, width=4) == "████"
    assert bar(5, 10, width=4) == "██"
    assert bar(0, 10) == ""
