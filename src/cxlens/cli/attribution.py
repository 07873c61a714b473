"""CLI commands: attribution — who gets credit for conversions, per channel and model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from cxlens.cli.common import JsonOption, emit, table
from cxlens.journeys.attribution import attribution_report

BAR_WIDTH = 30


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of eighth-blocks proportional to ``value / largest``."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = round(value / largest * width * 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def _money(x: float | None) -> str:
    return "" if x is None else f"{x:,.2f}"


def _render(result: dict[str, Any]) -> Group:
    parts: list[Any] = []
    total = result["total_conversions"]
    if result["model"] == "all":
        models = result["models"]
        rows = [[row["channel"], *(f"{row[m]:,.2f}" for m in models)] for row in result["channels"]]
        parts.append(table(rows, ["channel", *models], title=f"attributed conversions (total {total:,.2f})"))
        top = max((row["markov"] for row in result["channels"]), default=0.0)
        parts.append(table([[row["channel"], bar(row["markov"], top)] for row in result["channels"]],
                           ["channel", "markov"]))
    else:
        markov = result["model"] == "markov"
        top = max((row["conversions"] for row in result["channels"]), default=0.0)
        rows = [[row["channel"], f"{row['conversions']:,.2f}", f"{row['share']:.1%}",
                 *([f"{row['removal_effect']:.3f}"] if markov else []),
                 *([_money(row["value"])] if result["total_value"] else []),
                 bar(row["conversions"], top)] for row in result["channels"]]
        columns = ["channel", "conversions", "share", *(["removal effect"] if markov else []),
                   *(["value"] if result["total_value"] else []), ""]
        parts.append(table(rows, columns, title=f"{result['model']} attribution (total {total:,.2f})"))
    roi = result.get("roi")
    if roi:
        rows = [[r["channel"], _money(r["spend"]), _money(r["return"]), _money(r["roas"]),
                 "" if r["roi"] is None else f"{r['roi']:+.1%}", _money(r["cpa"]),
                 _money(r.get("suggested_spend")), "" if "change" not in r else f"{r['change']:+,.2f}"]
                for r in roi["channels"]]
        parts.append(table(rows, ["channel", "spend", f"return ({roi['metric']})", "ROAS", "ROI", "CPA",
                                  "suggested spend", "change"], title="return on spend"))
        parts.append(Text(f"budget reallocation: {roi['current_return']:,.2f} → "
                          f"{roi['expected_return']:,.2f} expected return at the same budget; "
                          f"assumption: {roi['assumption']}", style="dim"))
    return Group(*parts)


def attribution_command(
    paths: Annotated[Path, typer.Option("--paths", help="CSV with path (channels joined by '>'), "
                                        "conversions, nulls, optional value.")],
    model: Annotated[str, typer.Option(help="markov | shapley | first | last | linear | time_decay | "
                                       "position | all")] = "markov",
    spend: Annotated[Path | None, typer.Option("--spend", help="CSV with channel, spend: adds ROAS/ROI "
                                               "and a budget suggestion.")] = None,
    order: Annotated[int, typer.Option(help="Markov order (states are the last k channels).")] = 1,
    half_life: Annotated[float, typer.Option(help="Time decay: half-life in touches.")] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Attribute conversions to channels; attributed conversions sum to the total conversions."""
    result = attribution_report(paths, model, spend, order=order, half_life=half_life)
    emit(result, as_json=as_json, render=_render)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("attribution")(attribution_command)
