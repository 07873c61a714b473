"""`cxlens voc surveys ...` and `cxlens voc loop ...` on a real store, with --json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from surveys_support import CASES, answer  # noqa: E402

from cxlens.cli.main import run  # noqa: E402
from cxlens.store import Store  # noqa: E402
from cxlens.voc import surveys  # noqa: E402


def _json(capsys, *argv: str) -> object:
    assert run(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_surveys_and_the_loop_from_the_command_line(settings, capsys):
    d = ["--data-dir", str(settings.data_dir)]
    created = _json(capsys, "voc", "surveys", "create", str(CASES / "checkout.yaml"), "--json", *d)
    assert created["survey_id"] == "checkout-nps" and created["version"] == 1
    assert [s["survey_id"] for s in _json(capsys, "voc", "surveys", "list", "--json", *d)] == ["checkout-nps"]
    assert run(["voc", "surveys", "show", "nope", *d]) == 4  # not found: exit code 4, no traceback
    rules = _json(capsys, "voc", "loop", "rules", "--file", str(CASES / "rules.json"), "--json", *d)
    assert [r["id"] for r in rules] == ["angry", "delivery", "detractor", "unhappy-csat"]
    with Store(settings.store_path) as store:
        answer(store, settings, surveys.get_survey(store, "checkout-nps"), {"nps": 4}, "u1")
    [task] = _json(capsys, "voc", "loop", "tasks", "--status", "open", "--json", *d)
    assert run(["voc", "loop", "close", task["task_id"], *d]) == 2  # an outcome is required
    closed = _json(capsys, "voc", "loop", "close", task["task_id"], "--outcome", "called", "--json", *d)
    assert closed["status"] == "closed" and closed["contacted"] is True
    assert _json(capsys, "voc", "loop", "run", "--json", *d)["created"] == 0
    assert _json(capsys, "voc", "loop", "report", "--json", *d)["contacted"]["responses"] == 1


def test_show_titles_a_survey_without_touchpoint_or_stage_plainly(settings, capsys, tmp_path):
    definition = tmp_path / "quick.json"
    definition.write_text(json.dumps({"id": "quick", "title": "Quick one",
                                      "questions": [{"id": "q", "kind": "yesno", "label": "Helpful?"}]}))
    d = ["--data-dir", str(settings.data_dir)]
    assert run(["voc", "surveys", "create", str(definition), *d]) == 0
    capsys.readouterr()
    assert run(["voc", "surveys", "show", "quick", *d]) == 0
    out = capsys.readouterr().out
    assert "quick v1 — Quick one" in out and "None" not in out
