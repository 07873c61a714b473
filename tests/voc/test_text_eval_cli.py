"""The `cxlens voc` text commands, end to end through the real CLI entry point."""

from __future__ import annotations

import json

import pandas as pd

from cxlens.cli.main import run


def test_sentiment_of_one_text_shows_label_and_drivers(capsys) -> None:
    assert run(["voc", "sentiment", "--text", "The courier was rude and the parcel was late.", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["label"] == "negative" and row["model"] == "vader"
    assert any(d["word"].startswith("rude") for d in row["drivers"])


def test_sentiment_of_a_file_renders_a_table(tmp_path, capsys) -> None:
    path = tmp_path / "comments.csv"
    pd.DataFrame({"comment": ["Great help, thanks!", "Awful. Never again.", "It is a box."]}).to_csv(path)
    assert run(["voc", "sentiment", "--data", str(path), "--column", "comment"]) == 0
    out = capsys.readouterr().out
    assert "positive" in out and "negative" in out and "neutral" in out


def test_input_mistakes_are_messages_and_exit_codes(tmp_path, capsys) -> None:
    path = tmp_path / "comments.csv"
    pd.DataFrame({"comment": ["fine", ""]}).to_csv(path, index=False)
    assert run(["voc", "sentiment", "--data", str(path), "--column", "text"]) == 2
    assert "no column 'text'" in capsys.readouterr().err
    assert run(["voc", "sentiment", "--data", str(path), "--column", "comment"]) == 2
    assert "row 2 is empty" in capsys.readouterr().err
    assert run(["voc", "sentiment"]) == 2
    assert "exactly one of --text" in capsys.readouterr().err


def test_emotions_command(capsys) -> None:
    assert run(["voc", "emotions", "--text", "On hold for an hour, not happy", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["triggers"] == {"frustration": ["On hold"], "sadness": ["not happy"]}


def test_themes_command_with_seeds_and_times(tmp_path, capsys) -> None:
    rows = []
    for week in range(6):
        for i in range(40):
            text = ["parcel arrived late, courier lost it", "app keeps crashing at login",
                    "friendly agent solved my issue", "prices too high, hidden fees"][i % 4]
            rows.append({"text": text, "at": f"2026-02-{2 + week * 4:02d}"})
    data = tmp_path / "comments.jsonl"
    pd.DataFrame(rows).to_json(data, orient="records", lines=True)
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps({"delivery": ["late", "courier"]}))
    args = ["voc", "themes", "--data", str(data), "--time-column", "at", "--n-themes", "4",
            "--seeds", str(seeds)]
    assert run([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "delivery" in {t["name"] for t in report["themes"]} and len(report["emerging"]) == 4
    assert run(args) == 0
    assert "delivery" in capsys.readouterr().out


def test_evaluate_sentiment_prints_the_table(shared_data, capsys) -> None:
    code = run(["voc", "evaluate-sentiment", "--corpora", str(shared_data / "sentiment"), "--models", "vader",
                "--limit", "300", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["corpus"] for r in rows] == ["tweets", "movies", "amazon", "nyt"]
    assert all(-1 <= r["vader_r"] <= 1 and r["vader_published_r"] > 0 for r in rows)
