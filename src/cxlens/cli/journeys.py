"""CLI commands: journeys — stage model, journey maps, flows, funnels, cohorts, store attribution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from cxlens.api.journeys import experience_scores
from cxlens.cli.attribution import _render as render_attribution
from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.journeys.cohorts import retention
from cxlens.journeys.funnels import funnel
from cxlens.journeys.maps import journey_map, stage_flows
from cxlens.journeys.population import Population
from cxlens.journeys.store_paths import store_attribution
from cxlens.journeys.touchpoints import load_journey_config
from cxlens.store import Store

journeys_app = typer.Typer(
    help="Customer journeys: stages, maps, flows, funnels, cohorts, attribution.", no_args_is_help=True
)
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Journey config (JSON or TOML): stages, rules, touchpoints. Default: built-in e-commerce model.",
    ),
]
SegmentOption = Annotated[
    str | None,
    typer.Option("--segment", help="NAME=VALUE (computed trait) or audience:NAME; default everyone."),
]


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def _num(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:,.{digits}f}"


def _open(data_dir: Path | None) -> Store:
    return Store(settings_for(data_dir).store_path, read_only=True)


@journeys_app.command("config")
def config_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show the stage model and the touchpoint catalogue (owner: brand, partner, customer, external)."""
    cfg = load_journey_config(config)

    def render(value: dict[str, Any]) -> Group:
        rules = [
            [
                r["stage"],
                ", ".join(r["events"][:6]) + (" …" if len(r["events"]) > 6 else ""),
                ", ".join(r["types"]),
                ", ".join(r["channels"]),
            ]
            for r in value["rules"]
        ]
        tps = [
            [t["name"], t["owner"], t["stage"] or "(by event)", t["description"]]
            for t in value["touchpoints"]
        ]
        return Group(
            Text(" → ".join(value["stages"]), style="bold"),
            table(rules, ["stage", "events", "types", "channels"], title="stage rules (first match wins)"),
            table(tps, ["touchpoint", "owner", "stage", "description"], title="touchpoint catalogue"),
        )

    emit(cfg.to_dict(), as_json=as_json, render=render)


@journeys_app.command("map")
def map_command(
    config: ConfigOption = None,
    segment: SegmentOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reach, conversion, time in stage and drop-off per stage; touchpoints with experience scores."""
    with _open(data_dir) as store:
        pop = Population(segment=segment)
        result = journey_map(store, load_journey_config(config), pop, experience_scores(store, pop))

    def render(m: dict[str, Any]) -> Group:
        stages = [
            [
                s["stage"],
                f"{s['reach']:,}",
                _pct(s["reach_share"]),
                _pct(s["conversion"]),
                _pct(s["drop_off"]),
                _num(s["median_days_in_stage"]),
            ]
            for s in m["stages"]
        ]
        tps = [
            [
                t["touchpoint"],
                t["owner"],
                t["stage"] or "",
                f"{t['events']:,}",
                f"{t['reach']:,}",
                *(_num(t["experience"].get(k)) for k in ("csat", "nps", "ces")),
            ]
            for t in m["touchpoints"]
        ]
        return Group(
            table(
                stages,
                ["stage", "reach", "of all", "→ next", "drop-off", "median days"],
                title=f"journey map — {m['segment']} ({m['customers']:,} customers)",
            ),
            table(tps, ["touchpoint", "owner", "stage", "events", "reach", "CSAT", "NPS", "CES"]),
            Text(f"length: {m['length']}  quality: {m['quality']}", style="dim"),
        )

    emit(result, as_json=as_json, render=render)


@journeys_app.command("flows")
def flows_command(
    config: ConfigOption = None,
    segment: SegmentOption = None,
    max_steps: Annotated[int, typer.Option(help="Stage changes followed per customer.")] = 5,
    top: Annotated[int, typer.Option(help="Top paths shown.")] = 10,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Top stage paths and the step-to-step links a Sankey diagram draws."""
    with _open(data_dir) as store:
        result = stage_flows(
            store, load_journey_config(config), Population(segment=segment), max_steps=max_steps, top=top
        )
    emit(
        result,
        as_json=as_json,
        render=lambda r: Group(
            table(
                [
                    [p["path"].replace(">", " → "), f"{p['customers']:,}", _pct(p["share"])]
                    for p in r["paths"]
                ],
                ["path", "customers", "share"],
                title=f"top stage paths ({r['customers']:,} customers)",
            ),
            table(
                [[l_["step"], l_["source"], l_["target"], f"{l_['customers']:,}"] for l_ in r["links"]],
                ["step", "from", "to", "customers"],
                title="flow links",
            ),
        ),
    )


@journeys_app.command("funnel")
def funnel_command(
    step: Annotated[
        list[str],
        typer.Option("--step", help="A step (repeat, in order): an event name, optionally [key=value,...]."),
    ],
    window: Annotated[
        str, typer.Option(help="Conversion window from the first step: 30m, 24h, 7d, 2w.")
    ] = "7d",
    breakdown: Annotated[
        str | None, typer.Option(help="channel | type | properties.KEY | campaign.KEY | trait.NAME")
    ] = None,
    segment: SegmentOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ordered funnel: customers per step within the window, conversion, drop-off, time between steps."""
    with _open(data_dir) as store:
        result = funnel(store, step, window, breakdown=breakdown, population=Population(segment=segment))

    def rows(steps: list[dict]) -> list[list[str]]:
        return [
            [
                s["step"],
                s["event"],
                f"{s['customers']:,}",
                _pct(s["conversion"]),
                _pct(s["step_conversion"]),
                ""
                if s["median_seconds_from_previous"] is None
                else f"{s['median_seconds_from_previous'] / 60:,.1f}",
            ]
            for s in steps
        ]

    columns = ["#", "step", "customers", "of first", "of previous", "median minutes"]
    emit(
        result,
        as_json=as_json,
        render=lambda r: Group(
            table(rows(r["steps"]), columns, title=f"funnel (window {window})"),
            *(
                table(rows(g["steps"]), columns, title=f"{breakdown} = {g['value']}")
                for g in r.get("groups", [])
            ),
        ),
    )


@journeys_app.command("cohorts")
def cohorts_command(
    cohort_by: Annotated[str, typer.Option(help="first_purchase | first_seen")] = "first_purchase",
    period: Annotated[str, typer.Option(help="week | month")] = "month",
    return_event: Annotated[
        str | None, typer.Option(help="Event that counts as coming back (default any).")
    ] = None,
    periods: Annotated[int, typer.Option(help="Periods after the cohort's own.")] = 12,
    segment: SegmentOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cohort retention: share of each cohort active again 0, 1, 2 … periods later."""
    with _open(data_dir) as store:
        result = retention(
            store,
            cohort_by=cohort_by,
            period=period,
            return_event=return_event,
            periods=periods,
            population=Population(segment=segment),
        )
    columns = ["cohort", "size", *(str(k) for k in range(periods + 1))]
    emit(
        result,
        as_json=as_json,
        render=lambda r: table(
            [[c["cohort"], f"{c['size']:,}", *(_pct(x) for x in c["retention"])] for c in r["cohorts"]]
            + [["average", "", *(_pct(x) for x in r["average"])]],
            columns,
            title=f"retention by {period}",
        ),
    )


@journeys_app.command("attribution")
def attribution_command(
    model: Annotated[
        str, typer.Option(help="markov | shapley | first | last | linear | time_decay | position | all")
    ] = "markov",
    lookback_days: Annotated[
        float, typer.Option(help="Touches count this many days before a conversion.")
    ] = 30.0,
    touch: Annotated[str, typer.Option(help="channel | source_medium | campaign")] = "source_medium",
    order: Annotated[int, typer.Option(help="Markov order.")] = 1,
    segment: SegmentOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Attribute orders to channels/campaigns from the store's own events (landed models)."""
    with _open(data_dir) as store:
        result = store_attribution(
            store,
            model,
            lookback_days=lookback_days,
            touch=touch,
            population=Population(segment=segment),
            order=order,
        )
    emit(
        result,
        as_json=as_json,
        render=lambda r: Group(
            render_attribution(r),
            Text(
                f"{r['paths']['journeys']:,.0f} journeys ({r['paths']['nulls']:,.0f} without "
                f"conversion) in {r['paths']['unique']:,} unique paths",
                style="dim",
            ),
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``journeys`` to ``app``."""
    app.add_typer(journeys_app, name="journeys")
