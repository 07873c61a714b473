"""Reading a survey table from a file (CSV, Parquet or JSON lines), with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxlens.errors import InvalidInputError


def read_table(path: Path | str) -> pd.DataFrame:
    """One row per respondent. CSV row labels are the file's data line numbers (first data row = 1)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"no such data file: {path}", path=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_csv(path)
            frame.index = pd.RangeIndex(1, len(frame) + 1)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}", path=str(path)) from exc
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed: ")]
    if unnamed and suffix not in (".parquet", ".jsonl", ".ndjson"):
        frame = frame.drop(columns=unnamed)  # an R-style row-name column
    if frame.empty:
        raise InvalidInputError(f"{path} has no rows", path=str(path))
    return frame
