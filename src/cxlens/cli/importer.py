"""`cxlens import KIND FILE`: bulk import of events, orders, customers, products or feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.text import Text

from cxlens.cli.common import DataDirOption, JsonOption, emit, progress, settings_for, table
from cxlens.collect.importer import DEFAULT_CHUNK_ROWS, ImportReport, import_file
from cxlens.collect.mapping import FILE_KINDS, load_mapping_file, parse_map_options
from cxlens.store import Store

SHOWN_REJECTS = 20
# Events the pipeline kept out: without these lines "events built" and "events loaded" differ unexplained.
WITHHELD = {"dropped_suppressed": "withheld (erased people)",
            "dropped_refused": "withheld (refused analytics, consent_policy drop)"}


def render(report: ImportReport) -> Group:
    counts = [("rows read", report.rows_read), ("accepted", report.rows_accepted),
              ("rejected", report.rows_rejected)]
    if report.kind == "products":
        counts.append(("products upserted", report.products_upserted))
    else:
        counts += [("events built", report.events_built), ("events loaded", report.events_loaded),
                   ("already loaded (duplicates)", report.duplicates)]
        counts += [(WITHHELD[k], v) for k, v in report.load.items() if k in WITHHELD and v]
        counts += [(k.replace("_", " "), v) for k, v in report.load.items()
                   if k in ("orders", "order_items", "feedback", "anonymized", "merges") and v]
    parts: list = [Text(f"{report.kind} from {report.path} ({report.format}) as source {report.source}",
                        style="bold"), table(counts, ["", "count"])]
    if report.by_reason:
        parts.append(table(sorted(report.by_reason.items(), key=lambda kv: -kv[1]), ["reason", "rows"],
                           title="rejected by reason"))
        shown = report.rejected[:SHOWN_REJECTS]
        parts.append(table([(r.row, r.field, r.reason, r.detail) for r in shown],
                           ["row", "field", "reason", "detail"], title="rejected rows"))
        if report.rows_rejected > len(shown):
            parts.append(Text(f"… and {report.rows_rejected - len(shown)} more: --json lists "
                              f"{len(report.rejected)}, the rejected_events table keeps all", style="dim"))
    return Group(*parts)


def import_command(
    kind: Annotated[str, typer.Argument(help=f"What the file holds: {' | '.join(FILE_KINDS)}.")],
    file: Annotated[Path, typer.Argument(help="A .csv, .jsonl or .parquet file (.gz works for text).")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv | jsonl | parquet (default: from the "
                                            "extension).")] = None,
    maps: Annotated[list[str] | None, typer.Option("--map", help="COLUMN=FIELD, repeatable "
                                                   "(FIELD may be properties.NAME or ignore).")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="JSON file of column → field.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Source name recorded on every event "
                                               "(default: import:<file name>).")] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows read, checked and loaded "
                                            "at a time: more is faster, and needs more memory.")
                          ] = DEFAULT_CHUNK_ROWS,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a file: map its columns, validate every row, load the good ones, report the bad ones."""
    columns = load_mapping_file(mapping) if mapping else {}
    columns.update(parse_map_options(maps or []))
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store, progress(transient=True) as bar:
        task = bar.add_task(f"importing {file.name}", total=100)
        report = import_file(store, settings, kind, file, fmt=fmt, columns=columns, source=source,
                             chunk_rows=chunk_rows,
                             on_progress=lambda done: bar.update(task, completed=round(done * 100)))
    emit(report.to_dict() if as_json else report, as_json=as_json, render=render)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
