"""CLI commands: program — CX initiatives (pilot → decision → staged rollout), playbooks, KPIs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from cxlens.api.journeys import score_source
from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.errors import InvalidInputError
from cxlens.experiments import program, program_kpis
from cxlens.journeys.stages import read_config_file
from cxlens.store import Store

program_app = typer.Typer(
    help="The CX program: initiatives, decisions, rollouts, playbooks, KPIs.", no_args_is_help=True
)
initiatives_app = typer.Typer(
    help="Initiatives: pilot, decide, roll out, search the log.", no_args_is_help=True
)
playbooks_app = typer.Typer(
    help="Playbooks: successful initiatives to reuse on other segments.", no_args_is_help=True
)
kpis_app = typer.Typer(
    help="KPIs and OKR key results with targets on the measurement calendar.", no_args_is_help=True
)
program_app.add_typer(initiatives_app, name="initiatives")
program_app.add_typer(playbooks_app, name="playbooks")
program_app.add_typer(kpis_app, name="kpis")

INITIATIVE_COLUMNS = [
    "initiative_id",
    "title",
    "status",
    "segment",
    "experiment_key",
    "rollout_stage",
    "stages",
]


def _store(data_dir: Path | None, read_only: bool = False) -> Store:
    return Store(settings_for(data_dir).store_path, read_only=read_only)


def _stages(text: str) -> list[float]:
    """``--stages 0.1,0.5,1`` as numbers; a part that is not one is named (the range is checked later)."""
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise InvalidInputError(f"rollout stage {part!r} is not a number: write shares such as "
                                    "0.1,0.5,1", field="stages") from None
    return values


def _initiative(r: dict[str, Any]) -> Group:
    parts: list[Any] = [
        Text(f"{r['title']} [{r['status']}] — {r['objective']}", style="bold"),
        Text(
            f"pilot {r['experiment_key']}, segment {r['segment'] or 'all'}, rollout stage "
            f"{r['rollout_stage']}/{len(r['rollout_stages'])} {r['rollout_stages']}"
        ),
    ]
    if r["decisions"]:
        parts.append(
            table(
                [
                    [d["decided_at"], d["decision"], d["rationale"], d["evidence"]["verdict"]]
                    for d in r["decisions"]
                ],
                ["when", "decision", "rationale", "evidence verdict"],
            )
        )
    if r["rollouts"]:
        parts.append(
            table(
                [
                    [
                        x["stage"],
                        f"{x['coverage']:.0%}",
                        "passed" if x["passed"] else "REFUSED",
                        x["checks"]["reason"],
                    ]
                    for x in r["rollouts"]
                ],
                ["stage", "coverage", "check", "why"],
            )
        )
    return Group(*parts)


@initiatives_app.command("create")
def initiatives_create(
    title: Annotated[str, typer.Option(help="Short name.")],
    objective: Annotated[str, typer.Option(help="What should change for customers, and why.")],
    pilot: Annotated[
        Path, typer.Option(help="Pilot experiment definition (JSON/TOML, as experiments create).")
    ],
    kpi: Annotated[str | None, typer.Option(help="KPI key the initiative should move.")] = None,
    kpi_target: Annotated[float | None, typer.Option(help="Target value of that KPI.")] = None,
    segment: Annotated[str | None, typer.Option(help="Target segment: NAME=VALUE or audience:NAME.")] = None,
    stages: Annotated[str, typer.Option(help="Rollout stages, comma-separated shares.")] = "0.1,0.5,1",
    tags: Annotated[str, typer.Option(help="Words to find it by.")] = "",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an initiative with its pilot experiment (a 10% holdout is added if the pilot has none)."""
    with _store(data_dir) as store:
        result = program.create_initiative(
            store,
            title=title,
            objective=objective,
            pilot=read_config_file(pilot, "pilot definition"),
            kpi_key=kpi,
            kpi_target=kpi_target,
            segment=segment,
            stages=_stages(stages),
            tags=tags,
        )
    emit(result, as_json=as_json, render=_initiative)


@initiatives_app.command("list")
def initiatives_list(
    status: Annotated[
        str | None, typer.Option(help=f"Only this status ({', '.join(program.STATUSES)}).")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Initiatives, most recently changed first."""
    with _store(data_dir, read_only=True) as store:
        rows = program.list_initiatives(store, status)
    emit(rows, as_json=as_json, render=lambda r: table(r, INITIATIVE_COLUMNS))


@initiatives_app.command("show")
def initiatives_show(initiative_id: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """One initiative with its decisions (and their evidence) and rollout checks."""
    with _store(data_dir, read_only=True) as store:
        emit(program.get_initiative(store, initiative_id), as_json=as_json, render=_initiative)


@initiatives_app.command("decide")
def initiatives_decide(
    initiative_id: str,
    decision: Annotated[str, typer.Option(help="scale | iterate | stop")],
    rationale: Annotated[str, typer.Option(help="Why (the team's memory).")],
    by: Annotated[str | None, typer.Option(help="Who decided.")] = None,
    variant: Annotated[
        str | None, typer.Option(help="Scale: the treatment to roll out (default the winner).")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a decision with the pilot's analysis as evidence (scaling a harmful pilot is refused)."""
    with _store(data_dir) as store:
        emit(
            program.decide(store, initiative_id, decision, rationale, decided_by=by, variant=variant),
            as_json=as_json,
            render=_initiative,
        )


@initiatives_app.command("advance")
def initiatives_advance(
    initiative_id: str, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """Check guardrails, then open the next rollout stage (e.g. 10% → 50% → 100%)."""
    with _store(data_dir) as store:
        result = program.advance_rollout(store, initiative_id)
    emit(
        result,
        as_json=as_json,
        render=lambda r: Group(
            Text(
                f"stage {r['stage']} ({r['coverage']:.0%}): "
                f"{'opened' if r['passed'] else 'REFUSED'} — {r['reason']}",
                style="green" if r["passed"] else "bold red",
            ),
            _initiative(r["initiative"]),
        ),
    )


@initiatives_app.command("search")
def initiatives_search(query: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Search the initiative log: titles, objectives, notes, tags, segments and decision rationales."""
    with _store(data_dir, read_only=True) as store:
        rows = program.search_initiatives(store, query)
    emit(
        rows,
        as_json=as_json,
        render=lambda r: (
            table(r, ["initiative_id", "title", "status", "segment"]) if r else Text("nothing found")
        ),
    )


@playbooks_app.command("save")
def playbooks_save(
    initiative_id: str,
    name: Annotated[str, typer.Option(help="Playbook name.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save a scaled initiative as a playbook."""
    with _store(data_dir) as store:
        emit(program.save_playbook(store, initiative_id, name), as_json=as_json)


@playbooks_app.command("list")
def playbooks_list(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    with _store(data_dir, read_only=True) as store:
        rows = program.list_playbooks(store)
    emit(
        rows,
        as_json=as_json,
        render=lambda r: table(
            [[p["playbook_id"], p["name"], p["definition"]["objective"], p["source_initiative"]] for p in r],
            ["playbook", "name", "objective", "from initiative"],
        ),
    )


@playbooks_app.command("apply")
def playbooks_apply(
    playbook_id: str,
    segment: Annotated[str, typer.Option(help="NAME=VALUE or audience:NAME.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a new initiative from a playbook for another segment."""
    with _store(data_dir) as store:
        emit(program.apply_playbook(store, playbook_id, segment), as_json=as_json, render=_initiative)


@kpis_app.command("create")
def kpis_create(
    key: str,
    name: Annotated[str, typer.Option(help="Readable name.")],
    measure: Annotated[str, typer.Option(help=" | ".join(program_kpis.MEASURES))],
    target: Annotated[float, typer.Option(help="Target value per period.")],
    direction: Annotated[str, typer.Option(help="up (higher is better) | down")] = "up",
    period: Annotated[str, typer.Option(help="month | quarter | half | year")] = "quarter",
    objective: Annotated[str | None, typer.Option(help="The OKR objective it is a key result of.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns it.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Define a KPI / key result with a target."""
    with _store(data_dir) as store:
        emit(
            program_kpis.create_kpi(
                store,
                key=key,
                name=name,
                measure=measure,
                target=target,
                direction=direction,
                period=period,
                objective=objective,
                owner=owner,
            ),
            as_json=as_json,
        )


@kpis_app.command("list")
def kpis_list(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    with _store(data_dir, read_only=True) as store:
        emit(program_kpis.list_kpis(store), as_json=as_json)


@kpis_app.command("progress")
def kpis_progress(
    key: str,
    period: Annotated[str | None, typer.Option(help="Override the KPI's period.")] = None,
    last: Annotated[int, typer.Option(help="Periods shown.")] = 8,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The KPI per period against its target, with change vs the previous period and year on year."""
    with _store(data_dir, read_only=True) as store:
        result = program_kpis.kpi_progress(store, key, period=period, last=last, scores=score_source(store))

    def num(x: float | None) -> str:
        return "" if x is None else f"{x:+,.3g}" if abs(x) < 1000 else f"{x:+,.0f}"

    emit(
        result,
        as_json=as_json,
        render=lambda r: table(
            [
                [
                    x["period"],
                    f"{x['value']:,.4g}",
                    f"{x['target']:,.4g}",
                    "✓" if x["met"] else "✗",
                    "" if x["progress"] is None else f"{x['progress']:.0%}",
                    num(x["change_previous"]),
                    num(x["change_yoy"]),
                ]
                for x in r["rows"]
            ],
            ["period", "value", "target", "met", "progress", "vs previous", "year on year"],
            title=f"{r['name']} ({r['measure']}, {r['direction']})",
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``program`` to ``app``."""
    app.add_typer(program_app, name="program")
