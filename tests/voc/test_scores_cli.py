"""The `cxlens voc` measurement commands, end to end through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlens.cli.main import run
from cxlens.store import Store

CASES = Path(__file__).resolve().parents[1] / "cases" / "voc"


@pytest.fixture
def answers_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    n = 300
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 366, n), unit="D")
    path = tmp_path / "answers.csv"
    pd.DataFrame(
        {"timestamp": ts, "likely": rng.integers(0, 11, n), "channel": rng.choice(["web", "app"], n)}
    ).to_csv(path, index=False)
    return path


def test_nps_from_a_file_as_json_and_table(answers_csv: Path, capsys) -> None:
    code = run(
        [
            "voc",
            "nps",
            "--data",
            str(answers_csv),
            "--score-col",
            "likely",
            "--by",
            "channel",
            "--period",
            "quarter",
            "--compare",
            "previous",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["channel"] for r in report["rows"]} == {"web", "app"} and len(report["rows"]) == 8
    assert len(report["changes"]) == 6 and {c["verdict"] for c in report["changes"]} <= {
        "significant",
        "noise",
    }
    assert run(["voc", "nps", "--data", str(answers_csv), "--score-col", "likely", "--period", "half"]) == 0
    out = capsys.readouterr().out
    assert "2024-H1" in out and "●" in out


def test_scores_from_the_store(settings, capsys) -> None:
    with Store(settings.store_path) as store:
        store.executemany(
            "INSERT INTO feedback (message_id, timestamp, metric, score, channel) VALUES "
            "(?, TIMESTAMPTZ '2024-05-01 10:00:00+00', 'ces', ?, 'web')",
            [(f"m{i}", float(1 + i % 7)) for i in range(50)],
        )
    assert run(["voc", "ces", "--data-dir", str(settings.data_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"][0]["n"] == 50 and report["rows"][0]["score"] == pytest.approx(
        197 / 50
    )  # seven 1..7 cycles + one 1


def test_sample_size_and_errors(answers_csv: Path, capsys) -> None:
    assert run(["voc", "sample-size", "--population", "1000", "--margin", "0.05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_required"] == 278
    assert run(["voc", "csat", "--data", str(answers_csv), "--score-col", "likely"]) == 2
    assert "not a whole number from 1 to 5" in capsys.readouterr().err
    assert run(["voc", "nps", "--data", str(answers_csv), "--score-col", "likely", "--by", "region"]) == 2
    assert "unknown column 'region'" in capsys.readouterr().err


def test_model_and_drivers_commands(shared_data: Path, tmp_path: Path, capsys) -> None:
    data = shared_data / "surveys" / "ecsi_satisfaction.csv"
    assert (
        run(
            [
                "voc",
                "model",
                "--data",
                str(data),
                "--spec",
                str(CASES / "ecsi.spec"),
                "--bootstrap",
                "20",
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["paths"]) == 10 and all("ci_low" in p for p in summary["paths"])
    bad = tmp_path / "bad.spec"
    bad.write_text("SAT =~ sat1 + sat2\nSAT ~ IMAG +\n")
    assert run(["voc", "model", "--data", str(data), "--spec", str(bad)]) == 2
    assert "model line 2" in capsys.readouterr().err
    assert (
        run(
            [
                "voc",
                "drivers",
                "--data",
                str(data),
                "--target",
                "sat1",
                "--drivers",
                "val1,qual1,imag1",
                "--scale",
                "0,10",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "FIX FIRST" in out and "val1" in out
