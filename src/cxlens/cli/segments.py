"""CLI: ``cxlens segments build|list|show``; ``cxlens audiences create|list|show|preview|refresh|export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.privacy.audit import audit
from cxlens.privacy.consent import sync_defaults
from cxlens.profiles.computed import write_computed_traits
from cxlens.segments import audiences
from cxlens.segments.build import BuildOptions, build_segments, get_segment, grid_matrix, list_segments
from cxlens.segments.export import export_audience
from cxlens.store import Store

segments_app = typer.Typer(help="Customer segments: RFM and behavioural clusters with personas.",
                           no_args_is_help=True)
audiences_app = typer.Typer(help="Saved audiences: rules over traits, computed traits, features and "
                            "consent; membership history; consented exports.", no_args_is_help=True)

SHADES = " ░▒▓█"


def _grid(report: dict[str, Any]) -> Any:
    """The recency × frequency heat map as a table of counts with a shade per cell."""
    matrix = grid_matrix(report)
    top = max(int(matrix.max()), 1)
    rows = [[f"R{5 - i}", *(f"{SHADES[min(4, round(4 * v / top))] * 2} {v}" for v in row)]
            for i, row in enumerate(matrix)]
    return table(rows, ["", "F1", "F2", "F3", "F4", "F5"], title="RFM grid: customers by recency × frequency")


def _render_build(report: dict[str, Any]) -> Group:
    rfm = report["rfm"]
    parts: list[Any] = [table(rfm["segments"], ["name", "customers", "share_of_buyers", "recency", "fm",
                                                 "mean_recency_days", "mean_frequency", "mean_monetary"],
                              title=f"RFM segments as of {report['as_of']:%Y-%m-%d %H:%M} UTC: "
                              f"{rfm['buyers']} buyers of {rfm['customers']} customers"),
                        _grid(rfm)]
    clusters = report.get("clusters")
    if clusters:
        parts.append(table(clusters["clusters"], ["cluster", "customers", "share", "persona"],
                           title=f"{clusters['n_clusters']} clusters (silhouette "
                           f"{clusters['chosen_silhouette']:.3f}; tried {clusters['silhouette']})"))
    return Group(*parts)


@segments_app.command("build")
def build_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Describe customers as of this date "
                                              "(default: just after the latest event).")] = None,
    engine: Annotated[str, typer.Option("--engine", help="Feature engine: duckdb or spark.")] = "duckdb",
    clusters: Annotated[bool, typer.Option("--clusters/--no-clusters", help="Cluster behaviour too.")] = True,
    k_min: Annotated[int, typer.Option("--k-min", help="Fewest clusters tried.")] = 2,
    k_max: Annotated[int, typer.Option("--k-max", help="Most clusters tried.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the clustering.")] = 0,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score RFM and cluster behaviour; write rfm_score, rfm_segment, cluster and persona onto profiles."""
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        report = build_segments(store, write_computed_traits, as_of=as_of, engine=engine,
                                consent_defaults=settings.consent_defaults,
                                options=BuildOptions(clusters, k_min, k_max, seed))
    emit(report, as_json=as_json, render=_render_build)


@segments_app.command("list")
def list_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every segment of the latest build with its size."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        result = list_segments(store)
    emit(result, as_json=as_json, render=lambda r: table(
        r["segments"], ["name", "kind", "customers", "share", "title", "description"], title="Segments"))


@segments_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A name from `segments list` (champions, cluster_0 ...).")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One segment: its rule or persona, size, and the audience expression selecting it."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        result = get_segment(store, name)
    emit(result, as_json=as_json, render=lambda r: table(
        [(k, v) for k, v in r.items() if k != "grid"], ["field", "value"], title=name))


def _render_audience(result: dict[str, Any]) -> Group:
    head = [(k, result.get(k)) for k in ("name", "purpose", "expression", "description", "size",
                                         "refreshed_at", "refresh")]
    return Group(table([r for r in head if r[1] is not None], ["field", "value"], title="Audience"),
                 table(result["sizes"], ["refreshed_at", "size", "joined", "left", "consented"],
                       title="Size over time"))


PurposeOption = Annotated[str, typer.Option(
    "--purpose", help="What the audience is for: marketing, personalization or analytics; exports keep "
    "only people who consent to it.")]


@audiences_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="Audience name (lower-case, digits, - and _).")],
    expression: Annotated[str, typer.Argument(help='Rule, e.g. \'clv_12m > 200 and consent.marketing\'.')],
    description: Annotated[str | None, typer.Option("--description", help="What it is for.")] = None,
    purpose: PurposeOption = "marketing",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save an audience and take its first membership snapshot."""
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        sync_defaults(store, settings)
        result = audiences.create_audience(store, name, expression, description=description, purpose=purpose)
    emit(result, as_json=as_json, render=_render_audience)


@audiences_app.command("refresh")
def refresh_command(name: Annotated[str, typer.Argument(help="Audience name.")],
                    data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Re-evaluate an audience: record who joined and left, and the new size."""
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        sync_defaults(store, settings)
        result = audiences.refresh_audience(store, name)
    emit(result, as_json=as_json, render=_render_audience)


@audiences_app.command("list")
def list_audiences_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every saved audience with its latest size."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        rows = audiences.list_audiences(store)
    emit(rows, as_json=as_json, render=lambda r: table(
        r, ["name", "purpose", "size", "consented", "refreshed_at", "expression"], title="Audiences"))


@audiences_app.command("show")
def show_audience_command(
    name: Annotated[str, typer.Argument(help="Audience name.")],
    changes: Annotated[int, typer.Option("--changes", help="Latest joins/leaves to list.")] = 10,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """An audience with its size over time and the latest joins and leaves."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        result = {**audiences.get_audience(store, name),
                  "changes": audiences.membership_changes(store, name, limit=changes)}
    emit(result, as_json=as_json, render=lambda r: Group(
        _render_audience(r), table(r["changes"], ["changed_at", "change", "customer_id"], title="Changes")))


@audiences_app.command("preview")
def preview_command(
    expression: Annotated[str, typer.Argument(help="Rule to try, e.g. 'rfm_segment = \"At risk\"'.")],
    purpose: PurposeOption = "marketing",
    limit: Annotated[int, typer.Option("--limit", help="Sample customer ids to show.")] = 10,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """How many people a rule selects now (and how many consent to the purpose), without saving it."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        result = audiences.preview(store, expression, purpose=purpose, limit=limit)
    emit(result, as_json=as_json, render=lambda r: table(
        [(k, v) for k, v in r.items()], ["field", "value"], title="Preview"))


@audiences_app.command("export")
def export_command(
    name: Annotated[str, typer.Argument(help="Audience name.")],
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv or .json).")],
    identifiers: Annotated[str, typer.Option("--identifiers", help="Comma-separated identifier kinds to "
                                             "include besides customer_id: email, phone, user_id, "
                                             "external_id; '' for none.")] = "email",
    fmt: Annotated[str | None, typer.Option("--format", help="csv or json (default: from --out).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the members who consent to the audience's purpose; the rest are withheld and counted."""
    settings = settings_for(data_dir)
    kinds = tuple(k.strip() for k in identifiers.split(",") if k.strip())
    with Store(settings.store_path) as store:
        sync_defaults(store, settings)
        result = export_audience(store, name, out, fmt=fmt, identifiers=kinds)
        audit(store, "cli", "audience_export", name, {k: result[k] for k in (
            "purpose", "exported", "withheld_without_consent", "identifiers", "format")})
    emit(result, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add ``segments`` and ``audiences`` to ``app``."""
    app.add_typer(segments_app, name="segments")
    app.add_typer(audiences_app, name="audiences")
