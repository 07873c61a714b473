"""`cxlens voc nps|csat|ces|sample-size|model|drivers`: scores, planning, measurement models, drivers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Group
from rich.text import Text

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.errors import InvalidInputError
from cxlens.voc.measurement import fit_measurement_model

if TYPE_CHECKING:
    from cxlens.voc.calendar import CompareMode

DataFile = Annotated[Path | None, typer.Option("--data", help="CSV, Parquet or JSONL file of answers.")]
ByOption = Annotated[
    list[str] | None,
    typer.Option(
        "--by",
        help="Group by these columns (repeat or comma-separate); from the store: touchpoint, channel, "
        "survey_id or properties.<key>.",
    ),
]
PeriodOption = Annotated[str | None, typer.Option("--period", help="month, quarter, half or year (UTC).")]
CompareOption = Annotated[
    str | None, typer.Option("--compare", help="previous or yoy: test each period's change.")
]
ConfidenceOption = Annotated[float, typer.Option("--confidence", help="Confidence level of intervals.")]
ScoreColOption = Annotated[
    str, typer.Option("--score-col", help="Column with the answers: NPS 0–10, CSAT 1–5, CES 1–7.")
]
TimestampOption = Annotated[str, typer.Option("--timestamp-col", help="Column with answer times.")]
BAR_WIDTH = 32


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _score_report(
    metric: str,
    data: Path | None,
    score_col: str,
    by: list[str] | None,
    period: str | None,
    timestamp_col: str,
    compare: str | None,
    confidence: float,
    data_dir: Path | None,
) -> dict:
    groups = _split(by)
    if data is not None:
        from cxlens.voc.calendar import report_from_frame
        from cxlens.voc.tables import read_table

        return report_from_frame(
            read_table(data),
            metric,
            score_col=score_col,
            by=groups,
            period=period,
            timestamp_col=timestamp_col,
            compare_to=cast("CompareMode | None", compare),  # report_from_frame checks it
            confidence=confidence,
        )
    from cxlens.store import Store
    from cxlens.voc.score_store import report_from_store

    settings = settings_for(data_dir)
    if not settings.store_path.exists():
        raise InvalidInputError(
            f"no store at {settings.store_path}: give --data FILE or the right --data-dir"
        )
    with Store(settings.store_path, read_only=True) as store:
        return report_from_store(
            store, metric, by=groups, period=period, confidence=confidence,
            compare_to=cast("CompareMode | None", compare),  # report_from_store checks it
        )


def _bars(report: dict[str, Any]) -> Text:
    """Each row's score as ● with its confidence interval as ├──┤, on one axis; │ marks zero."""
    rows = report["rows"]
    low = min(min(r["ci_low"] for r in rows), 0.0)
    high = max(max(r["ci_high"] for r in rows), 0.0)
    span = (high - low) or 1.0

    def pos(value: float) -> int:
        return max(0, min(BAR_WIDTH, round((value - low) / span * BAR_WIDTH)))

    out = Text()
    for r in rows:
        label = " ".join(str(r[c]) for c in report["by"]) + (f" {r['period']}" if report["period"] else "")
        line = [" "] * (BAR_WIDTH + 1)
        line[pos(0.0)] = "│"
        lo, hi = pos(r["ci_low"]), pos(r["ci_high"])
        for i in range(lo, hi + 1):
            line[i] = "─"
        line[lo], line[hi] = "├", "┤"
        line[pos(r["score"])] = "●"
        out.append(f"{label.strip()[:16] or 'all':>16} ")
        out.append("".join(line), style="cyan")
        out.append(f" {r['score']:6.1f} ±{r['margin']:.1f} n={r['n']}\n")
    return out


def _render_scores(report: dict[str, Any]) -> Group:
    cols = [
        *report["by"],
        *(["period"] if report["period"] else []),
        "n",
        "score",
        "margin",
        "ci_low",
        "ci_high",
        "mean",
        "high_share",
    ] + (["low_share"] if report["metric"] == "nps" else [])
    parts: list[Any] = [
        table(
            report["rows"], cols, title=f"{report['metric'].upper()} ({report['confidence']:.0%} intervals)"
        )
    ]
    if report["period"] or report["by"]:
        parts.append(_bars(report))
    if report["changes"]:
        parts.append(
            table(
                report["changes"],
                [*report["by"], "period", "versus", "difference", "p_value", "verdict"],
                title=f"change vs {report['compare']} ({report['changes'][0]['test']})",
            )
        )
    return Group(*parts)


def _score_command(metric: str):
    def command(
        data: DataFile = None,
        score_col: ScoreColOption = "score",
        by: ByOption = None,
        period: PeriodOption = None,
        timestamp_col: TimestampOption = "timestamp",
        compare: CompareOption = None,
        confidence: ConfidenceOption = 0.95,
        data_dir: DataDirOption = None,
        as_json: JsonOption = False,
    ) -> None:
        report = _score_report(
            metric, data, score_col, by, period, timestamp_col, compare, confidence, data_dir
        )
        emit(report, as_json=as_json, render=_render_scores)

    command.__doc__ = (
        f"{metric.upper()} with confidence intervals, per group and period, from a file or "
        "the store; --compare tests each change (significant or noise)."
    )
    return command


def sample_size_command(
    population: Annotated[int | None, typer.Option("--population", help="People you could survey.")] = None,
    margin: Annotated[
        float, typer.Option("--margin", help="Wanted margin, a fraction: 0.05 = ±5 points.")
    ] = 0.05,
    confidence: ConfidenceOption = 0.95,
    metric: Annotated[
        str, typer.Option("--metric", help="proportion (CSAT, top-box) or nps.")
    ] = "proportion",
    as_json: JsonOption = False,
) -> None:
    """Answers needed for a margin of error (Cochran, with finite-population correction)."""
    from cxlens.voc.sampling import sample_size

    emit(sample_size(margin, confidence, population, metric).to_dict(), as_json=as_json)  # type: ignore[arg-type]


def _render_model(summary: dict[str, Any]) -> Group:
    parts: list[Any] = [
        table(
            summary["reliability"],
            ["latent", "items", "alpha", "rho_c", "rho_a", "ave"],
            title="reliability and convergent validity",
        ),
        table(
            [
                {
                    "latent": k,
                    "fornell_larcker_ok": v,
                    **{f"htmt {o}": summary["htmt"][o][k] for o in summary["htmt"]},
                }
                for k, v in summary["discriminant_ok"].items()
            ],
            ["latent", "fornell_larcker_ok", *[f"htmt {o}" for o in summary["htmt"]]],
            title="discriminant validity",
        ),
    ]
    if summary["method"] == "pls":
        parts.append(
            table(
                summary["loadings"],
                ["latent", "indicator", "weight", "loading", "communality"],
                title="outer model",
            )
        )
        cols = ["from", "to", "estimate"] + (["se", "ci_low", "ci_high"] if summary["bootstrap"] else [])
        parts.append(
            table(
                summary["paths"],
                cols,
                title="paths"
                + (f" ({summary['bootstrap']} bootstrap resamples)" if summary["bootstrap"] else ""),
            )
        )
        parts.append(
            table(
                [{"latent": k, "r2": v} for k, v in summary["r2"].items()],
                ["latent", "r2"],
                title=f"R² (GoF {summary['fit']['gof']:.3f})",
            )
        )
    else:
        parts.append(
            table(
                summary["loadings"],
                ["latent", "indicator", "estimate", "std_estimate", "se", "p_value"],
                title="loadings",
            )
        )
        if summary["paths"]:
            parts.append(
                table(
                    summary["paths"],
                    ["from", "to", "estimate", "std_estimate", "ci_low", "ci_high", "p_value"],
                    title="paths (95 % Wald CI)",
                )
            )
        parts.append(table(summary["fit"].items(), ["fit", "value"], title="fit"))
    return Group(*parts)


def model_command(
    data: Annotated[Path, typer.Option("--data", help="CSV, Parquet or JSONL, one row per respondent.")],
    spec: Annotated[Path, typer.Option("--spec", help="lavaan-style model file (=~ and ~ lines).")],
    method: Annotated[str, typer.Option("--method", help="sem (covariance-based, semopy) or pls.")] = "pls",
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="PLS bootstrap resamples for CIs.")] = 0,
    scheme: Annotated[
        str, typer.Option("--scheme", help="PLS inner scheme: path, centroid, factorial.")
    ] = "path",
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Fit a measurement + structural model: reliability, validity, loadings, paths (with CIs), fit."""
    from cxlens.voc.tables import read_table

    if not spec.is_file():
        raise InvalidInputError(f"no such model file: {spec}")
    summary = fit_measurement_model(spec.read_text(), read_table(data), method=method, scheme=scheme,
                                    n_bootstrap=bootstrap, random_state=seed)
    emit(summary, as_json=as_json, render=_render_model)


def _quadrant_view(summary: dict[str, Any]) -> Group:
    """Importance (up) × performance (right), split at the means, each driver placed in its quadrant."""
    width, height = 60, 16
    rows = summary["drivers"]
    imp = [r["lmg_share"] for r in rows]
    perf = [r["performance"] for r in rows]
    i_lo, i_hi = min(imp), max(imp)
    p_lo, p_hi = min(perf), max(perf)
    grid = [[" "] * width for _ in range(height)]

    def xy(p: float, i: float) -> tuple[int, int]:
        x = round((p - p_lo) / ((p_hi - p_lo) or 1) * (width - 12))
        y = height - 1 - round((i - i_lo) / ((i_hi - i_lo) or 1) * (height - 1))
        return x, y

    cx, cy = xy(summary["cutoffs"]["performance"], summary["cutoffs"]["importance"])
    for y in range(height):
        grid[y][cx] = "│"
    for x in range(width):
        grid[cy][x] = "┼" if x == cx else "─"
    for r in rows:
        x, y = xy(r["performance"], r["lmg_share"])
        for k, ch in enumerate(("●" + r["driver"])[: width - x]):
            grid[y][x + k] = ch
    art = Text("FIX FIRST".ljust(cx + 1) + "KEEP UP\n", style="bold")
    art.append("\n".join("".join(line) for line in grid) + "\n")
    art.append("LOW PRIORITY".ljust(cx + 1) + "MAINTAIN\n", style="bold")
    art.append(f"up: importance (% of R² = {summary['r2']:.3f}); right: performance (0–100)\n", style="dim")
    return Group(
        table(
            rows,
            ["driver", "lmg_share", "rw_share", "beta", "performance", "quadrant"],
            title=f"key drivers (n={summary['n']}, R²={summary['r2']:.3f})",
        ),
        art,
    )


def drivers_command(
    data: Annotated[Path, typer.Option("--data", help="CSV, Parquet or JSONL, one row per respondent.")],
    target: Annotated[str, typer.Option("--target", help="The outcome column (e.g. overall satisfaction).")],
    drivers: Annotated[
        list[str] | None, typer.Option("--drivers", help="Driver columns (default: all other numeric).")
    ] = None,
    scale: Annotated[
        str | None, typer.Option("--scale", help="Answer scale LOW,HIGH for performance, e.g. 1,10.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Key drivers (Shapley/LMG, relative weights, betas) and the importance × performance quadrants."""
    from cxlens.voc.drivers import driver_analysis
    from cxlens.voc.tables import read_table

    bounds = None
    if scale:
        try:
            low, high = (float(v) for v in scale.split(","))
        except ValueError:
            raise InvalidInputError(f"--scale must be LOW,HIGH (e.g. 1,10), got {scale!r}") from None
        bounds = (low, high)
    summary = driver_analysis(read_table(data), target, _split(drivers) or None, scale=bounds).summary()
    emit(summary, as_json=as_json, render=_quadrant_view)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    for metric in ("nps", "csat", "ces"):
        app.command(metric)(_score_command(metric))
    app.command("sample-size")(sample_size_command)
    app.command("model")(model_command)
    app.command("drivers")(drivers_command)
