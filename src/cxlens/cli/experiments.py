"""CLI commands: experiments — register, list and analyse experiments from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.cli.stats import _render as render_comparison
from cxlens.errors import InvalidInputError
from cxlens.experiments.analyze import analyze
from cxlens.experiments.registry import create_experiment, list_experiments
from cxlens.journeys.stages import read_config_file
from cxlens.store import Store

experiments_app = typer.Typer(
    help="Experiments from the store: registry, assignment, analysis.", no_args_is_help=True
)


@experiments_app.command("create")
def create_command(
    definition: Annotated[
        Path,
        typer.Option(
            "--definition",
            "-d",
            help="JSON or TOML experiment definition "
            "(key, variants, weights, coverage, segment, namespace, holdout, "
            "metrics).",
        ),
    ],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an experiment; client apps then ask GET /v1/experiments/assign for a unit's variant."""
    raw = read_config_file(definition, "experiment definition")
    with Store(settings_for(data_dir).store_path) as store:
        created = create_experiment(store, raw)
    emit(created.model_dump(), as_json=as_json)


@experiments_app.command("list")
def list_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Registered experiments with status, variants and exposed units."""
    with Store(settings_for(data_dir).store_path, read_only=True) as store:
        rows = list_experiments(store)
    columns = ["key", "status", "variants", "coverage", "segment", "units", "rollout_units"]
    emit(
        rows,
        as_json=as_json,
        render=lambda r: table(r, columns) if r else Text("no experiments registered yet"),
    )


@experiments_app.command("analyze")
def analyze_command(
    key: Annotated[str, typer.Argument(help="Experiment key.")],
    phase: Annotated[str, typer.Option(help="pilot | rollout")] = "pilot",
    method: Annotated[str, typer.Option(help="frequentist | bayesian | sequential")] = "frequentist",
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    correction: Annotated[str, typer.Option(help="none | holm | bh")] = "holm",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per-variant results with intervals, SRM check, corrected p-values, guardrails and the verdict."""
    if phase not in ("pilot", "rollout"):
        raise InvalidInputError(f"unknown phase {phase!r}; use pilot or rollout", field="phase")
    with Store(settings_for(data_dir).store_path) as store:
        result = analyze(store, key, phase=phase, method=method, alpha=alpha, correction=correction)  # type: ignore[arg-type]

    def render(r: dict[str, Any]) -> Group:
        style = {"ship": "bold green", "harmful": "bold red", "invalid": "bold red"}.get(
            r["verdict"], "yellow"
        )
        return Group(render_comparison(r), Text(f"verdict: {r['verdict']} — {r['reason']}", style=style))

    emit(result, as_json=as_json, render=render)


def register(app: typer.Typer) -> None:
    """Add ``experiments`` to ``app``."""
    app.add_typer(experiments_app, name="experiments")
