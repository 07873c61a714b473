"""Model specifications in lavaan-style text, shared by the SEM and PLS estimators.

One statement per line (or separated by ``;``); ``#`` starts a comment::

    IMAG =~ imag1 + imag2 + imag3      # measurement: a construct and its indicators
    SAT  ~  IMAG + EXPE                # structural: an outcome and its predictors
    IMAG ~~ EXPE                       # covariance (SEM only)

A malformed statement raises :class:`InvalidInputError` naming the line and the offending token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from cxlens.errors import InvalidInputError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_OPERATORS = ("=~", "~~", "~")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed specification: measurement blocks, regressions and covariances, in the order given."""

    measurement: dict[str, list[str]] = field(default_factory=dict)
    structural: dict[str, list[str]] = field(default_factory=dict)
    covariances: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""

    @property
    def latents(self) -> list[str]:
        return list(self.measurement)

    @property
    def indicators(self) -> list[str]:
        return [mv for mvs in self.measurement.values() for mv in mvs]

    def check_columns(self, columns: list[str] | pd.Index) -> None:
        """Every indicator (and observed variable in a regression) must be a column of the data."""
        have = set(map(str, columns))
        observed = self.indicators + [
            v for lhs, rhs in self.structural.items() for v in (lhs, *rhs) if v not in self.measurement
        ]
        for name in observed:
            if name not in have:
                raise InvalidInputError(
                    f"unknown column {name!r} in the model; the data has: {', '.join(sorted(have))}",
                    column=name,
                )


def _split_terms(rhs: str, line_no: int, line: str) -> list[str]:
    terms = [t.strip() for t in rhs.split("+")]
    for term in terms:
        if not _NAME.match(term):
            shown = term or "(nothing)"
            raise InvalidInputError(
                f"model line {line_no}: unexpected token {shown!r} in {line.strip()!r}; "
                "expected variable names joined by '+'",
                line=line_no,
                token=shown,
            )
    return terms


def parse_spec(text: str) -> ModelSpec:
    """Parse lavaan-style model text into a :class:`ModelSpec`."""
    measurement: dict[str, list[str]] = {}
    structural: dict[str, list[str]] = {}
    covariances: list[tuple[str, str]] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        for statement in raw.split("#", 1)[0].split(";"):
            if not statement.strip():
                continue
            op = next((o for o in _OPERATORS if o in statement), None)
            if op is None:
                raise InvalidInputError(
                    f"model line {line_no}: no operator in {statement.strip()!r}; use '=~' for a "
                    "measurement, '~' for a regression or '~~' for a covariance",
                    line=line_no,
                    token=statement.strip(),
                )
            lhs, rhs = statement.split(op, 1)
            lhs = lhs.strip()
            if not _NAME.match(lhs):
                raise InvalidInputError(
                    f"model line {line_no}: {lhs or '(nothing)'!r} before {op!r} is not a variable name",
                    line=line_no,
                    token=lhs,
                )
            if any(o in rhs for o in _OPERATORS) or "=" in rhs:
                token = next(o for o in (*_OPERATORS, "=") if o in rhs)
                raise InvalidInputError(
                    f"model line {line_no}: a second operator {token!r} in {statement.strip()!r}",
                    line=line_no,
                    token=token,
                )
            terms = _split_terms(rhs, line_no, statement)
            if op == "=~":
                measurement.setdefault(lhs, []).extend(t for t in terms if t not in measurement.get(lhs, []))
            elif op == "~":
                structural.setdefault(lhs, []).extend(t for t in terms if t not in structural.get(lhs, []))
            else:
                covariances.extend((lhs, t) for t in terms)
    if not measurement and not structural:
        raise InvalidInputError("the model is empty: give at least one 'LATENT =~ item1 + item2' line")
    return ModelSpec(measurement=measurement, structural=structural, covariances=covariances, text=text)
