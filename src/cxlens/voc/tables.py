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


def numeric_columns(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` as floats; a value that is there but is not a number is named by column and row.

    Missing values stay missing (each caller decides what they mean); text such as ``n/a`` or a
    ``gender`` column named as an item is a mistake in the data or the model, so it is refused here
    rather than surfacing as a float-conversion error deep inside an estimator.
    """
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    text = numbers.isna() & frame.notna()
    if text.to_numpy().any():
        column = text.columns[text.any()][0]
        row = text.index[text[column].to_numpy()][0]
        raise InvalidInputError(
            f"{what} {column!r} holds {frame.at[row, column]!r} in row {row}, not a number",
            column=str(column),
            row=str(row),
        )
    return numbers.astype(float)
