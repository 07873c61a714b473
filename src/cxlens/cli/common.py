"""What every command shares: the --data-dir and --json options, output, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from cxlens import jsonutil
from cxlens.config import Settings, load_settings

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: $CXLENS_DATA_DIR, else ./cxlens-data).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

console = Console()
err_console = Console(stderr=True)


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    return load_settings(data_dir, **overrides)


def print_json(value: Any) -> None:
    sys.stdout.write(jsonutil.dumps_str(value, indent=True) + "\n")


def table(
    rows: Iterable[Sequence[Any]] | Iterable[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
) -> Table:
    """A clean Rich table; dict rows are read by column name, and the title and cells are plain text."""
    out = Table(title=None if title is None else escape(title), header_style="bold", show_edge=False,
                pad_edge=False)
    for col in columns:
        out.add_column(col)
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, dict) else list(row)
        out.add_row(*("" if v is None else _cell(v) for v in values))
    return out


def _cell(value: Any) -> str:
    """The cell's text, markup-escaped: values are data (comments, titles, ids), never Rich styling."""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, dict | list):
        return escape(jsonutil.dumps_str(value))
    return escape(str(value))


def emit(value: Any, *, as_json: bool, render: Callable[[Any], Any] | None = None) -> None:
    """Print ``value`` as JSON, or as whatever ``render`` makes of it (a table by default)."""
    if as_json:
        print_json(value)
    elif render is not None:
        rendered = render(value)
        if rendered is not None:
            console.print(rendered)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        console.print(table(value, list(value[0].keys())))
    elif isinstance(value, dict):
        console.print(table(value.items(), ["field", "value"]))
    else:
        console.print(value)


def progress(*, transient: bool = False) -> Progress:
    """The progress bar every long operation uses (drawn on stderr, so --json stays clean)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )
