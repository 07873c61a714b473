"""The ``cxlens`` entry point itself: a mistyped command line is a usage error, never "a bug"."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlens.cli.main import run

EVENTS = Path(__file__).resolve().parent / "cases" / "import" / "events.csv"


@pytest.mark.parametrize(("argv", "says"), [
    (["import", "events", str(EVENTS), "--chunk-rows", "0"], "--chunk-rows"),
    (["churn", "score", "--top", "many"], "--top"),
    (["profile", "show", "--bogus"], "No such option: --bogus"),
    (["profile", "show", "u1", "--events", "-1"], "--events"),
])
def test_usage_errors_name_the_option_and_exit_2(tmp_path, capsys, argv, says) -> None:
    assert run([*argv, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "bug" not in err


def test_help_exits_0(capsys) -> None:
    assert run(["--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_cxlens_debug_is_not_read_as_a_setting(tmp_path, monkeypatch, capsys) -> None:
    """The crash message says "set CXLENS_DEBUG=1 for the traceback"; doing so made every command
    fail with "invalid settings: debug: Extra inputs are not permitted"."""
    from cxlens.store import Store

    Store(tmp_path / "cxlens.duckdb").close()
    monkeypatch.setenv("CXLENS_DEBUG", "1")
    assert run(["experiments", "list", "--data-dir", str(tmp_path)]) == 0
    assert "invalid settings" not in capsys.readouterr().err


@pytest.mark.parametrize("column", ["[/red]", "rating [stars]"])
def test_error_messages_are_printed_as_text_not_markup(tmp_path, capsys, column) -> None:
    """A message quotes what the user typed; brackets in it are text, not Rich styling tags."""
    answers = tmp_path / "answers.csv"
    answers.write_text("score\n5\n")
    assert run(["voc", "csat", "--data", str(answers), "--score-col", column]) == 2
    err = capsys.readouterr().err
    assert f"unknown column '{column}'" in err.replace("\n", " ")
    assert "bug" not in err


def test_table_cells_are_printed_as_text_not_markup(tmp_path, capsys) -> None:
    """Comments, titles and ids are the customer's text: '[/b]' in one must print, not crash the table."""
    comments = tmp_path / "comments.csv"
    comments.write_text('comment\n"great [/b] stuff"\n"ok [red]bad[/red]"\n')
    assert run(["voc", "sentiment", "--data", str(comments), "--column", "comment"]) == 0
    out = capsys.readouterr().out
    assert "[/b]" in out
    assert "[red]bad[/red]" in out


@pytest.mark.parametrize(("name", "says"), [
    ("x" * 101, "a key name is at most 100 characters, not 101"),
    ("web\nadmin", "a key name must be printable characters"),
    ("tab\there", "a key name must be printable characters"),
    ("   ", "a key needs a non-empty name"),
])
def test_key_names_are_short_printable_text(tmp_path, capsys, name, says) -> None:
    """A key's name is its events' source and shows in every key list: any length or a newline went."""
    assert run(["keys", "create", "--name", name, "--data-dir", str(tmp_path)]) == 2
    assert says in " ".join(capsys.readouterr().err.split())
    assert run(["keys", "create", "--name", "web shop – café " + "x" * 84, "--data-dir", str(tmp_path)]) == 0


def test_serve_on_a_store_another_process_holds_says_so_without_a_traceback(tmp_path, capsys) -> None:
    """uvicorn reported the busy store as a page of lifespan traceback and exited 3."""
    import subprocess
    import sys

    from cxlens.api.background import free_port

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cxlens.store import Store; "
         f"s = Store({str(tmp_path / 'cxlens.duckdb')!r}); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert run(["serve", "--data-dir", str(tmp_path), "--port", str(free_port())]) == 75
    finally:
        holder.communicate("")
    err = capsys.readouterr().err
    assert "is in use by another process" in err
    assert "Traceback" not in err
