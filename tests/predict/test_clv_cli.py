"""`cxlens clv fit` and `cxlens clv score` end to end, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cxlens.cli.main import run

CASES = Path(__file__).resolve().parents[1] / "cases" / "clv"


@pytest.fixture
def cdnow_csv(tmp_path: Path, cdnow_transactions: pd.DataFrame) -> Path:
    path = tmp_path / "cdnow.parquet"
    cdnow_transactions[["customer_id", "date", "amount"]].to_parquet(path)
    return path


def test_fit_json_then_score(tmp_path: Path, cdnow_csv: Path, capsys) -> None:
    model_file = tmp_path / "model.json"
    code = run(["clv", "fit", "--transactions", str(cdnow_csv), "--amount-col", "amount",
                "--calibration-end", "1997-09-30", "--observation-end", "1998-06-30",
                "--save", str(model_file), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert {k: round(v, 3) for k, v in report["params"].items()} == {
        "r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(report["log_likelihood"], 1) == -9582.4
    assert {k: round(v, 2) for k, v in report["spend"]["params"].items()} == {
        "p": 6.25, "q": 3.74, "gamma": 15.44}
    assert report["validation"]["customers"] == 2357

    out = tmp_path / "scores.csv"
    code = run(["clv", "score", "--model-file", str(model_file), "--transactions", str(cdnow_csv),
                "--amount-col", "amount", "--horizon", "12", "--discount-rate", "0.01",
                "--out", str(out), "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    scores = pd.read_csv(out)
    assert len(rows) == len(scores) == 2357
    assert {"p_alive", "expected_purchases", "expected_spend", "clv"} <= set(scores.columns)
    assert scores["p_alive"].between(0, 1).all() and (scores["clv"] >= 0).all()


def test_summary_input_and_table_output(tmp_path: Path, cdnow_published_summary, capsys) -> None:
    path = tmp_path / "summary.csv"
    cdnow_published_summary.to_csv(path)
    assert run(["clv", "fit", "--summary", str(path), "--model", "pareto"]) == 0
    out = capsys.readouterr().out
    assert "pareto" in out and "beta" in out


def test_bgbb_and_sbg_from_their_own_shapes(tmp_path: Path, donations, capsys) -> None:
    path = tmp_path / "donations.csv"
    donations.to_csv(path, index=False)
    saved = tmp_path / "bgbb.json"
    assert run(["clv", "fit", "--model", "bgbb", "--summary", str(path), "--save", str(saved), "--json"]) == 0
    assert round(json.loads(capsys.readouterr().out)["params"]["delta"], 3) == 2.783
    assert run(["clv", "score", "--model-file", str(saved), "--summary", str(path), "--horizon", "5",
                "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(donations)

    curve = pd.read_csv(CASES / "sbg_fader_hardie_2007.csv")
    survivors = tmp_path / "survivors.csv"
    pd.DataFrame({"survivors": curve["high_end"][:8]}).to_csv(survivors, index=False)
    saved = tmp_path / "sbg.json"
    assert run(["clv", "fit", "--model", "sbg", "--summary", str(survivors), "--save", str(saved),
                "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == pytest.approx({"alpha": 0.668, "beta": 3.806},
                                                                          abs=5e-4)
    assert run(["clv", "score", "--model-file", str(saved), "--horizon", "12", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 13


def test_csv_customer_ids_keep_their_leading_zeros(tmp_path: Path, capsys) -> None:
    """CSV ids such as CDNOW's ``00004`` are text: read as numbers they came back as ``4``,
    and the scores could not be joined to the customers they belong to."""
    path = tmp_path / "tx.csv"
    path.write_text("customer,date,amount\n00004,2024-01-01,10\n00004,2024-02-01,12\n"
                    "00017,2024-01-05,5\n00017,2024-03-01,8\n00042,2024-02-10,7\n")
    model_file = tmp_path / "model.json"
    assert run(["clv", "fit", "--transactions", str(path), "--customer-col", "customer",
                "--amount-col", "amount", "--period", "day", "--save", str(model_file)]) == 0
    capsys.readouterr()
    assert run(["clv", "score", "--model-file", str(model_file), "--transactions", str(path),
                "--customer-col", "customer", "--amount-col", "amount", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(row["customer_id"] for row in rows) == ["00004", "00017", "00042"]


@pytest.mark.parametrize(("args", "message"), [
    (["--transactions", str(CASES / "bad_transactions.csv")], "not-a-date"),
    (["--transactions", str(CASES / "missing.csv")], "file not found"),
    (["--summary", str(CASES / "sbg_fader_hardie_2007.csv")], "lacks column"),
    (["--model", "nope", "--summary", str(CASES / "sbg_fader_hardie_2007.csv")], "unknown model"),
    ([], "exactly one"),
])
def test_errors_are_messages_not_tracebacks(args: list[str], message: str, capsys) -> None:
    code = run(["clv", "fit", *args])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err and "Traceback" not in err


def test_a_negative_horizon_is_refused_for_every_model(tmp_path: Path, donations, capsys) -> None:
    """--horizon -1 crashed sBG scoring ("unexpected error: ValueError"), gave BG/BB negative
    expected purchases and reported purchase models' horizon in weeks the user never typed."""
    survivors = tmp_path / "survivors.csv"
    pd.DataFrame({"survivors": [1000, 631, 468, 382]}).to_csv(survivors, index=False)
    summary = tmp_path / "donations.csv"
    donations.to_csv(summary, index=False)
    for model, data in (("sbg", ["--summary", str(survivors)]), ("bgbb", ["--summary", str(summary)])):
        saved = tmp_path / f"{model}.json"
        assert run(["clv", "fit", "--model", model, *data, "--save", str(saved)]) == 0
        score_data = data if model == "bgbb" else []
        capsys.readouterr()
        assert run(["clv", "score", "--model-file", str(saved), *score_data, "--horizon", "-1"]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "--horizon must be 0 or more" in err and "got -1" in err and "unexpected" not in err

