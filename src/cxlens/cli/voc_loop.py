"""`cxlens voc surveys ...` and `cxlens voc loop ...`: survey definitions and the closed loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.store import Store
from cxlens.voc import loop, loop_rules, responses, surveys, webhooks

surveys_app = typer.Typer(
    help="Survey definitions: create (from JSON/YAML), list, show, link.", no_args_is_help=True
)
loop_app = typer.Typer(
    help="Closed loop: rules, follow-up tasks, escalation, webhooks, recovery.", no_args_is_help=True
)
TASK_COLUMNS = [
    "task_id",
    "rule_id",
    "status",
    "owner",
    "due_at",
    "customer_id",
    "metric",
    "score",
    "touchpoint",
]


@contextmanager
def _store(data_dir: Path | None) -> Iterator[Store]:
    with Store(settings_for(data_dir).store_path) as store:
        yield store


@surveys_app.command("create")
def create(
    file: Annotated[Path, typer.Argument(help="A .json, .yaml or .yml survey definition.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save a survey definition (a new version when it changed)."""
    with _store(data_dir) as store:
        survey = surveys.save_survey(store, surveys.read_definition_file(file))
    emit(
        survey.to_dict(),
        as_json=as_json,
        render=lambda s: (
            f"survey [bold]{s['survey_id']}[/bold] version {s['version']}: "
            f"{len(s['questions'])} question(s); hosted at /s/{s['survey_id']}"
        ),
    )


@surveys_app.command("list")
def list_(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every survey (latest version) with its answer count."""
    with _store(data_dir) as store:
        rows = surveys.list_surveys(store)
    emit(
        rows,
        as_json=as_json,
        render=lambda r: (
            table(r, ["survey_id", "version", "title", "touchpoint", "stage", "questions", "answers"])
            if r
            else "no surveys yet: `cxlens voc surveys create FILE`"
        ),
    )


@surveys_app.command("show")
def show(
    survey_id: str,
    version: Annotated[int | None, typer.Option(help="A past version.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One survey's definition."""
    with _store(data_dir) as store:
        survey = surveys.get_survey(store, survey_id, version).to_dict()
    emit(
        survey,
        as_json=as_json,
        render=lambda s: table(
            s["questions"],
            ["id", "kind", "label", "required", "scale"],
            title=f"{s['survey_id']} v{s['version']} — {s['title']}{_where(s)}",
        ),
    )


def _where(survey: dict) -> str:
    """`` (checkout, purchase)``; touchpoint and stage are optional, so either may be left out."""
    place = ", ".join(p for p in (survey["touchpoint"], survey["stage"]) if p)
    return f" ({place})" if place else ""


@surveys_app.command("link")
def link(
    survey_id: str,
    customer: Annotated[str, typer.Option("--customer", help="Customer id.")],
    days: Annotated[float, typer.Option(help="Days the link stays valid.")] = responses.DEFAULT_LINK_DAYS,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """A personal (signed, expiring) link to the hosted survey for one customer."""
    settings = settings_for(data_dir)
    with _store(data_dir) as store:
        surveys.get_survey(store, survey_id)
        responses.respondent_for(store, customer)
    token = responses.sign_link(responses.link_key(settings.data_dir), survey_id, customer, days=days)
    emit(
        {"survey_id": survey_id, "url": f"/s/{survey_id}?t={token}"},
        as_json=as_json,
        render=lambda v: v["url"],
    )


@loop_app.command("rules")
def rules(
    file: Annotated[
        Path | None, typer.Option("--file", help="Replace the rules with this JSON/YAML list.")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the closed-loop rules, or replace them from --file."""
    with _store(data_dir) as store:
        if file is not None:
            loop.save_rules(store, loop_rules.parse_rules(surveys.read_definition_file(file)))
        current = [r.to_dict() for r in loop.load_rules(store)]
    emit(
        current,
        as_json=as_json,
        render=lambda rs: (
            table(
                [{**r, "when": r["when"], "owners": ", ".join(r["owners"])} for r in rs],
                ["id", "when", "owners", "sla_hours", "escalate_to", "enabled"],
            )
            if rs
            else "no rules yet"
        ),
    )


@loop_app.command("tasks")
def tasks(
    status: Annotated[str | None, typer.Option(help="open, in_progress, resolved or closed.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner's tasks.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The follow-up queue, most urgent first."""
    with _store(data_dir) as store:
        rows = loop.list_tasks(store, status=status, owner=owner)
    emit(rows, as_json=as_json, render=lambda r: table(r, TASK_COLUMNS) if r else "no follow-up tasks")


@loop_app.command("assign")
def assign(task_id: str, owner: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Give a task to an owner."""
    with _store(data_dir) as store:
        task = loop.assign(store, task_id, owner, "cli")
    emit(task, as_json=as_json, render=lambda t: f"{t['task_id']} → {t['owner']}")


@loop_app.command("close")
def close(
    task_id: str,
    outcome: Annotated[str, typer.Option(help="What happened (required to resolve or close).")] = "",
    status: Annotated[str, typer.Option(help="resolved, closed or in_progress.")] = "closed",
    contacted: Annotated[
        bool, typer.Option("--contacted/--not-contacted", help="Was the customer reached?")
    ] = True,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a task's outcome and move it on (closed by default)."""
    with _store(data_dir) as store:
        task = loop.set_status(store, task_id, status, "cli", outcome=outcome or None, contacted=contacted)
        webhooks.deliver_due(store)
    emit(task, as_json=as_json, render=lambda t: f"{t['task_id']} is {t['status']}: {t['outcome']}")


@loop_app.command("escalate")
def escalate(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Escalate every overdue open task now (and notify webhooks)."""
    with _store(data_dir) as store:
        done = loop.escalate_overdue(store)
        webhooks.deliver_due(store)
    emit(done, as_json=as_json, render=lambda r: table(r, TASK_COLUMNS) if r else "nothing overdue")


@loop_app.command("run")
def run(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """One pass of the loop: evaluate new answers, escalate overdue tasks, send due webhooks."""
    with _store(data_dir) as store:
        result = loop.run_loop(store)
    emit(result, as_json=as_json)


@loop_app.command("report")
def report(
    metric: Annotated[str, typer.Option(help="nps, csat or ces.")] = "nps",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Did recovery work? Next scores of contacted vs not-contacted customers."""
    with _store(data_dir) as store:
        result = loop.recovery_report(store, metric)

    def render(r: dict[str, Any]) -> Any:
        rows = [{"group": g, **r[g]} for g in ("contacted", "not_contacted")]
        return table(
            rows,
            ["group", "responses", "with_next_score", "mean_score", "mean_next_score", "mean_change"],
            title=f"{metric}: Welch p = {r['welch_p_value']}",
        )

    emit(result, as_json=as_json, render=render)


@loop_app.command("webhook")
def webhook(
    url: Annotated[str | None, typer.Option(help="Subscribe this URL.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Subscribe a webhook (its secret is shown once), or list webhooks and recent deliveries."""
    with _store(data_dir) as store:
        if url:
            result: Any = webhooks.add_webhook(store, url)
        else:
            result = {"webhooks": webhooks.list_webhooks(store), "deliveries": webhooks.delivery_log(store)}
    emit(result, as_json=as_json)


def register(voc_app: typer.Typer) -> None:
    voc_app.add_typer(surveys_app, name="surveys")
    voc_app.add_typer(loop_app, name="loop")
