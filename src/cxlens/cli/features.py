"""CLI: ``cxlens features build`` — the per-customer feature table, on DuckDB or Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.errors import InvalidInputError
from cxlens.features import ENGINES, build_features, open_engine
from cxlens.store import Store

features_app = typer.Typer(help="Per-customer features (RFM, rhythm, mix, engagement, feedback, consent).",
                           no_args_is_help=True)

AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Describe customers as of this date: only earlier events count "
    "(default: just after the latest event).")]
EngineOption = Annotated[str, typer.Option("--engine", help=f"Where the query runs: {', '.join(ENGINES)}.")]


def _render(result: dict[str, Any]) -> Any:
    return table(result["summary"], ["feature", "customers_with_value", "mean", "median", "max"],
                 title=f"{result['customers']} customers as of {result['as_of']} ({result['engine']})"
                 + (f" → {result['out']}" if result.get("out") else ""))


@features_app.command("build")
def build(
    as_of: AsOfOption = None,
    engine: EngineOption = "duckdb",
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the table to this file (.parquet, else CSV).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build every customer's features; print a summary (or, with --json and no --out, every row)."""
    if engine not in ENGINES:
        raise InvalidInputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store, open_engine(store, engine) as eng:
        fs = build_features(eng, as_of, consent_defaults=settings.consent_defaults)
    if out is not None:
        if out.suffix.lower() in (".parquet", ".pq"):
            fs.frame.to_parquet(out)
        else:
            fs.frame.to_csv(out)
    if as_json and out is None:
        emit(fs.to_dict(), as_json=True)
        return
    stats = fs.frame.describe().T
    summary = [{"feature": name, "customers_with_value": int(row["count"]), "mean": row["mean"],
                "median": row["50%"], "max": row["max"]} for name, row in stats.iterrows()]
    emit({"as_of": fs.as_of, "engine": fs.engine, "customers": len(fs.frame), "out": out,
          "summary": summary}, as_json=as_json, render=_render)


def register(app: typer.Typer) -> None:
    app.add_typer(features_app, name="features")
