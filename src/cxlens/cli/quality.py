"""`cxlens quality`: volume, completeness, validity, freshness and tracking-plan violations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Group
from rich.text import Text

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.collect.quality import QualityReport, quality_report
from cxlens.errors import InvalidInputError
from cxlens.store import Store

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """Daily counts as one line of block characters (blank for an empty day)."""
    top = max(values, default=0)
    if top == 0:
        return " " * len(values)
    return "".join(" " if v == 0 else _BARS[min(len(_BARS) - 1, v * len(_BARS) // (top + 1))]
                   for v in values)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def render(report: QualityReport) -> Group:
    validity = "n/a" if report.validity is None else f"{report.validity:.2%}"
    parts: list = [Text(f"{report.since} … {report.until}: {report.events:,} events, {report.rejected:,} "
                        f"rejected, validity {validity}", style="bold")]
    rows = []
    for s in report.streams:
        worst = min(s.completeness.items(), key=lambda kv: kv[1], default=("", 1.0))
        rows.append((s.source, s.type, s.event, f"{s.events:,}", sparkline(s.daily),
                     f"{worst[0]} {worst[1]:.0%}" if worst[0] else "", _age(s.freshness_seconds)))
    streams = table(rows, ["source", "type", "event", "events", "per day", "least complete", "fresh"],
                    title="streams")
    streams.columns[4].no_wrap = True  # a sparkline must stay on one line
    parts.append(streams)
    if report.rejections:
        parts.append(table([(r.source, r.reason, r.field, r.count) for r in report.rejections],
                           ["source", "reason", "field", "rows"], title="rejected"))
    if report.plan is not None:
        parts.append(table([(v.event, v.rule, v.count, v.example) for v in report.plan.violations],
                           ["event", "rule", "events", "example"],
                           title=f"tracking plan: {report.plan.violating:,} violations in "
                                 f"{sum(report.plan.checked.values()):,} events checked"))
    parts.append(Text("duplicates: not persisted by the pipeline (see docs/quality.md)", style="dim"))
    return Group(*parts)


def quality(
    since: Annotated[str | None, typer.Option("--since", help="First day (YYYY-MM-DD); default: "
                                              "the 30 days up to the latest event.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """How healthy the collected data is, per source and event."""
    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        raise InvalidInputError(f"--since {since!r} is not a date; use YYYY-MM-DD", field="since") from None
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        report = quality_report(store, settings, since=day, now=datetime.now().astimezone())
    emit(report.to_dict() if as_json else report, as_json=as_json, render=render)


def register(app: typer.Typer) -> None:
    app.command("quality")(quality)
