"""CLI commands: stats — compare experiment arms from their sufficient statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from cxlens import jsonutil
from cxlens.cli.common import JsonOption, emit, table
from cxlens.errors import InvalidInputError
from cxlens.experiments.stats import compare

stats_app = typer.Typer(help="Experiment statistics (GrowthBook-compatible engine).", no_args_is_help=True)

BAR_WIDTH = 25


def _read_json(path: Path) -> Any:
    try:
        return jsonutil.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise InvalidInputError(f"--input {path}: no such file", field="input") from exc
    except jsonutil.JSONDecodeError as exc:
        raise InvalidInputError(f"--input {path}: not valid JSON ({exc})", field="input") from exc


def ci_bar(lo: float, hi: float, estimate: float, low: float, high: float, width: int = BAR_WIDTH) -> str:
    """The interval drawn on a shared axis [low, high]: ─ the interval, ● the estimate, │ zero."""
    span = (high - low) or 1.0

    def pos(x: float) -> int:
        return min(width - 1, max(0, round((x - low) / span * (width - 1))))

    cells = [" "] * width
    for i in range(pos(lo), pos(hi) + 1):
        cells[i] = "─"
    if low <= 0 <= high:
        cells[pos(0)] = "│"
    cells[pos(estimate)] = "●"
    return "".join(cells)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:+.2%}"


def _render(result: dict[str, Any]) -> Group:
    parts: list[Any] = []
    bayes = result["method"] == "bayesian"
    for metric in result["metrics"]:
        rels = [r["relative"] for r in metric["results"] if r["relative"]["error"] is None]
        low = min([r["ci"][0] for r in rels] + [0.0])
        high = max([r["ci"][1] for r in rels] + [0.0])
        rows = [[metric["control"]["variant"], f"{metric['control']['n']:,.0f}",
                 f"{metric['control']['mean']:.4g}", "(control)", "", "", "", "", ""][:9 if bayes else 8]]
        for r in metric["results"]:
            rel, ab = r["relative"], r["absolute"]
            if rel["error"]:
                rows.append([r["variant"], f"{r['n']:,.0f}", f"{r['mean']:.4g}", f"n/a ({rel['error']})",
                             "", "", "", "", ""][:9 if bayes else 8])
                continue
            verdict = ("harm" if r["harm"] else "significant" if r["significant"] else "")
            score = (f"{rel['chance_to_win']:.1%}" if bayes
                     else f"{r.get('p_value_adjusted', rel['p_value']):.4f}")
            risk = [f"{rel['risk'][1]:.3%}"] if bayes else []
            rows.append([r["variant"], f"{r['n']:,.0f}", f"{r['mean']:.4g}",
                         f"{_pct(rel['expected'])} [{_pct(rel['ci'][0])}, {_pct(rel['ci'][1])}]",
                         ci_bar(rel["ci"][0], rel["ci"][1], rel["expected"], low, high),
                         f"{ab['expected']:+.4g} [{ab['ci'][0]:+.4g}, {ab['ci'][1]:+.4g}]", score, *risk,
                         verdict])
        title = f"{metric['name']} ({metric['type']}{', guardrail' if metric['guardrail'] else ''})"
        columns = ["variant", "units", "mean", "relative lift [CI]", "CI", "absolute [CI]",
                   *(["chance to win", "risk"] if bayes else ["p-value"]), "verdict"]
        parts.append(table(rows, columns, title=title))
    srm = result["srm"]
    if srm is not None:
        style = "bold red" if srm["mismatch"] else "green"
        word = "MISMATCH — do not trust these results" if srm["mismatch"] else "ok"
        parts.append(Text(f"sample ratio check: p = {srm['p_value']:.4g} ({word})", style=style))
    for breach in result["guardrail_breaches"]:
        parts.append(Text(f"guardrail breached: {breach['variant']} harms {breach['metric']} "
                          f"({breach['expected']:+.2%})", style="bold red"))
    return Group(*parts)


@stats_app.command("compare")
def compare_command(
    input: Annotated[Path, typer.Option("--input", "-i", help="JSON: metric, variants (control first), "
                                        "optional weights; see docs/experiments.md.")],
    method: Annotated[str, typer.Option(help="frequentist | bayesian | sequential")] = "frequentist",
    alpha: Annotated[float, typer.Option(help="Significance level / 1 − credible level.")] = 0.05,
    correction: Annotated[str, typer.Option(help="Across metrics × treatments: none | holm | bh")] = "holm",
    tuning: Annotated[float, typer.Option(help="Sequential: expected total units (N*).")] = 5000.0,
    as_json: JsonOption = False,
) -> None:
    """Compare every treatment with the control: lift, interval, p-value or chance to win, SRM."""
    result = compare(_read_json(input), method=method, alpha=alpha, correction=correction, tuning=tuning)
    emit(result, as_json=as_json, render=_render)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.add_typer(stats_app, name="stats")
