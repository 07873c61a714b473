"""CLI commands: ``cxlens clv fit`` and ``cxlens clv score`` (customer lifetime value)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group

from cxlens.cli.common import JsonOption, console, emit, table
from cxlens.predict.clv import workflow

clv_app = typer.Typer(help="Customer lifetime value: fit BG/NBD, Pareto/NBD, Gamma-Gamma, BG/BB, sBG; "
                      "score customers.", no_args_is_help=True)

TransactionsOption = Annotated[Path | None, typer.Option(
    "--transactions", help="Transaction log (CSV or Parquet), one row per purchase.")]
SummaryOption = Annotated[Path | None, typer.Option(
    "--summary", help="Per-customer summary: frequency,recency,T[,monetary_value] "
    "(BG/BB: frequency,recency,n_periods[,weight]; sBG: survivors).")]
CustomerCol = Annotated[str, typer.Option("--customer-col", help="Customer id column.")]
DateCol = Annotated[str, typer.Option("--date-col", help="Purchase date column.")]
AmountCol = Annotated[str | None, typer.Option("--amount-col", help="Purchase amount column (enables "
                                               "spend and CLV).")]
PeriodOption = Annotated[str, typer.Option("--period", help="Time unit: day, week or month.")]


def _spec(transactions: Path | None, summary: Path | None, customer_col: str, date_col: str,
          amount_col: str | None, period: str, calibration_end: str | None = None,
          observation_end: str | None = None) -> workflow.DataSpec:
    return workflow.DataSpec(transactions=transactions, summary=summary, customer_col=customer_col,
                             date_col=date_col, amount_col=amount_col, period=period,
                             calibration_end=calibration_end, observation_end=observation_end)


def _bar(value: float, scale: float, width: int = 24) -> str:
    return "█" * int(round(width * value / scale)) if scale > 0 else ""


def _render_fit(report: dict[str, Any]) -> Group:
    parts: list[Any] = []
    for key in (None, "spend"):
        part = report if key is None else report.get(key)
        if not part:
            continue
        rows = [{"parameter": k, "estimate": v, "std_error": part["standard_errors"].get(k)}
                for k, v in part["params"].items()]
        parts.append(table(rows, ["parameter", "estimate", "std_error"],
                           title=f"{part['model']}: log-likelihood {part['log_likelihood']:.2f}, "
                           f"n={part['n_observations']:.0f}, converged={part['converged']}"))
    validation = report.get("validation")
    if validation:
        scale = max(max(r["actual_mean"], r["predicted_mean"]) for r in validation["by_frequency"])
        rows = [{**r, "actual": _bar(r["actual_mean"], scale), "predicted": _bar(r["predicted_mean"], scale)}
                for r in validation["by_frequency"]]
        parts.append(table(rows, ["frequency", "customers", "actual_mean", "predicted_mean", "actual",
                                  "predicted"],
                           title=f"holdout ({validation['holdout_length']:.1f} {validation['period']}s): "
                           f"actual {validation['actual_total']:.0f} vs predicted "
                           f"{validation['predicted_total']:.1f} purchases; MAE {validation['mae']:.3f} "
                           f"(naive {validation['naive_mae']:.3f}), RMSE {validation['rmse']:.3f}"))
    return Group(*parts)


@clv_app.command("fit")
def fit_command(
    model: Annotated[str, typer.Option("--model", help=f"One of: {', '.join(workflow.MODELS)}.")] = "bgnbd",
    transactions: TransactionsOption = None,
    summary: SummaryOption = None,
    customer_col: CustomerCol = "customer_id",
    date_col: DateCol = "date",
    amount_col: AmountCol = None,
    period: PeriodOption = "week",
    calibration_end: Annotated[str | None, typer.Option(
        "--calibration-end", help="Fit on purchases up to this date; validate on the rest.")] = None,
    observation_end: Annotated[str | None, typer.Option(
        "--observation-end", help="End of the data (default: last purchase).")] = None,
    penalizer: Annotated[float, typer.Option("--penalizer", help="L2 penalizer coefficient.")] = 0.0,
    save: Annotated[Path | None, typer.Option("--save", help="Write the fitted model as JSON.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a lifetime-value model and report parameters, fit quality and holdout validation."""
    spec = _spec(transactions, summary, customer_col, date_col, amount_col, period, calibration_end,
                 observation_end)
    result = workflow.fit(model, spec, penalizer_coef=penalizer)
    if save is not None:
        workflow.save_bundle(result["bundle"], save)
    emit(result["report"], as_json=as_json, render=_render_fit)


@clv_app.command("score")
def score_command(
    model_file: Annotated[Path, typer.Option("--model-file", help="A model saved by `clv fit --save`.")],
    transactions: TransactionsOption = None,
    summary: SummaryOption = None,
    customer_col: CustomerCol = "customer_id",
    date_col: DateCol = "date",
    amount_col: AmountCol = None,
    horizon: Annotated[int, typer.Option("--horizon", help="Months ahead (BG/BB: opportunities; sBG: "
                                         "periods).")] = 12,
    discount_rate: Annotated[float, typer.Option("--discount-rate", help="Monthly discount rate.")] = 0.01,
    out: Annotated[Path | None, typer.Option("--out", help="Write all rows to CSV or Parquet.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (table only).")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Score customers: P(alive), expected purchases, expected spend and discounted CLV."""
    needs_data = model_file is not None and (transactions is not None or summary is not None)
    spec = _spec(transactions, summary, customer_col, date_col, amount_col, "week") if needs_data \
        else workflow.DataSpec()
    scores = workflow.score(model_file, spec, horizon=horizon, discount_rate=discount_rate)
    if out is not None:
        workflow.write_table(scores, out)
    rows = scores.reset_index().to_dict(orient="records")
    if as_json:
        emit(rows, as_json=True)
    else:
        shown = rows[:limit]
        emit(shown, as_json=False)
        if len(rows) > len(shown):
            console.print(f"[dim]{len(rows) - len(shown)} more rows; use --out FILE or --json for all[/dim]")


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.add_typer(clv_app, name="clv")
