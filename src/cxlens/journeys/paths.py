"""Customer paths for attribution: parsing the paths file, aggregating raw journeys, reading spend.

A path is the ordered list of channels a person touched (``email>search>direct``) with how many
such journeys ended in a conversion and how many did not ("nulls"), and optionally the conversion
value. Identical paths are merged, so the models work on unique paths however many journeys there are.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError

SEPARATOR = ">"
REQUIRED = ("path", "conversions", "nulls")


@dataclass(frozen=True)
class PathTable:
    """Unique paths with their conversions, non-conversions and conversion value."""

    paths: tuple[tuple[str, ...], ...]
    conversions: np.ndarray
    nulls: np.ndarray
    values: np.ndarray

    @property
    def channels(self) -> list[str]:
        return sorted({c for path in self.paths for c in path})

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.values.sum())


def split_path(text: str, where: str) -> tuple[str, ...]:
    """``"a > b>c"`` → ``("a", "b", "c")``; an empty path or an empty step is an error."""
    steps = tuple(step.strip() for step in text.split(SEPARATOR))
    if not text.strip():
        raise InvalidInputError(f"{where}: the path is empty; list channels joined by '>'", field="path")
    if any(not step for step in steps):
        raise InvalidInputError(f"{where}: path {text!r} has an empty channel (two '>' in a row or a '>' "
                                "at an end); write channels joined by single '>'", field="path")
    return steps


def _count(raw: str | None, column: str, where: str, *, optional: bool = False) -> float:
    if raw is None or raw.strip() == "":
        if optional:
            return 0.0
        raise InvalidInputError(f"{where}: {column} is empty; give a number (0 if none)", field=column)
    try:
        value = float(raw)
    except ValueError as exc:
        raise InvalidInputError(f"{where}: {column} {raw!r} is not a number", field=column) from exc
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(f"{where}: {column} must be a non-negative number, got {raw!r}", field=column)
    return value


def _merge(paths: list[tuple[str, ...]], conversions: list[float], nulls: list[float],
           values: list[float]) -> PathTable:
    merged: dict[tuple[str, ...], list[float]] = {}
    for path, conv, null, value in zip(paths, conversions, nulls, values, strict=True):
        row = merged.setdefault(path, [0.0, 0.0, 0.0])
        row[0] += conv
        row[1] += null
        row[2] += value
    numbers = np.array(list(merged.values()), dtype=float).reshape(-1, 3)
    return PathTable(tuple(merged), numbers[:, 0], numbers[:, 1], numbers[:, 2])


def read_paths(source: Path | str) -> PathTable:
    """Read a paths CSV (columns ``path``, ``conversions``, ``nulls``, optional ``value``).

    ``source`` is a file path, or the CSV text itself when it contains a newline. Errors name the
    line number (the header is line 1).
    """
    text = _read_text(source, "--paths")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInputError(f"paths file: missing column(s) {', '.join(missing)}; the header must have "
                                "path, conversions, nulls (and optionally value)", field=missing[0])
    reader.fieldnames = header
    paths, conversions, nulls, values = [], [], [], []
    for row in reader:
        where = f"paths file line {reader.line_num}"
        paths.append(split_path(row.get("path") or "", where))
        conversions.append(_count(row.get("conversions"), "conversions", where))
        nulls.append(_count(row.get("nulls"), "nulls", where))
        values.append(_count(row.get("value"), "value", where, optional=True))
    if not paths:
        raise InvalidInputError("paths file: no rows after the header", field="path")
    return _merge(paths, conversions, nulls, values)


def aggregate_journeys(paths: Sequence[str] | np.ndarray, converted: Sequence[bool] | np.ndarray,
                       values: Sequence[float] | np.ndarray | None = None) -> PathTable:
    """Merge raw journeys (one ``a>b>c`` string each, converted or not) into unique paths."""
    frame = pd.DataFrame({"path": np.asarray(paths, dtype=object),
                          "conversions": np.asarray(converted, dtype=float)})
    frame["nulls"] = 1.0 - frame["conversions"]
    frame["value"] = 0.0 if values is None else np.asarray(values, dtype=float)
    grouped = frame.groupby("path", sort=False)[["conversions", "nulls", "value"]].sum()
    split = tuple(split_path(str(p), f"journey path {p!r}") for p in grouped.index)
    return PathTable(split, grouped["conversions"].to_numpy(), grouped["nulls"].to_numpy(),
                     grouped["value"].to_numpy())


def read_spend(source: Path | str) -> dict[str, float]:
    """Read a spend CSV (columns ``channel``, ``spend``) into ``{channel: spend}``."""
    text = _read_text(source, "--spend")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "channel" not in header or "spend" not in header:
        raise InvalidInputError("spend file: the header must have the columns channel, spend", field="spend")
    reader.fieldnames = header
    spend: dict[str, float] = {}
    for row in reader:
        where = f"spend file line {reader.line_num}"
        channel = (row.get("channel") or "").strip()
        if not channel:
            raise InvalidInputError(f"{where}: channel is empty", field="channel")
        if channel in spend:
            raise InvalidInputError(f"{where}: channel {channel!r} appears twice; give one row per channel",
                                    field="channel")
        spend[channel] = _count(row.get("spend"), "spend", where)
    return spend


def _read_text(source: Path | str, option: str) -> str:
    if isinstance(source, str) and "\n" in source:
        return source
    try:
        return Path(source).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{option} {source}: no such file", field=option.strip("-")) from exc
