"""Vega-Lite specs built in Python (Altair), each paired with the table that says the same thing.

The browser renders the spec (vendored vega-embed); screen readers and people who prefer numbers
get the table. Specs are built without schema validation: the shapes here are fixed and tested, and
validation would cost more than the page's own queries. Even so Altair takes ~15 ms to build a
spec, so each chart's shape (everything but its data) is built once and cached as JSON text with
a marker where the data goes; a page with ten charts then costs ten string joins, not 200 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import altair as alt

from cxlens import jsonutil

PALETTE = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#4b5563"]


@dataclass(frozen=True)
class Chart:
    """A rendered-by-the-browser chart and its accessible table alternative."""

    title: str
    spec_json: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]] = field(default_factory=list)
    kind: str = "chart"  # "sparkline" charts are small and sit beside a number


_DATA_MARK = "__cxlens_chart_data__"
_EMPTY = alt.Data(values=[])


@lru_cache(maxsize=512)
def _shape(build: Callable[..., alt.TopLevelMixin], description: str, *params: Any) -> tuple[str, str]:
    """``build(*params)``'s spec as JSON text, split where the data goes (cached per shape)."""
    spec = build(*params).properties(description=description).to_dict(validate=False)
    spec["data"] = _DATA_MARK
    before, after = jsonutil.dumps_str(spec).split(f'"{_DATA_MARK}"')
    return before, after


def _spec(build: Callable[..., alt.TopLevelMixin], description: str, params: tuple[Any, ...],
          data: Sequence[dict[str, Any]], keys: Sequence[str]) -> str:
    """The chart's spec with ``data`` in it: only the encoded fields go to the browser."""

    def plain(v: Any) -> Any:
        return v.isoformat() if hasattr(v, "isoformat") else float(v) if isinstance(v, Decimal) else v

    before, after = _shape(build, description, *params)
    values = jsonutil.dumps_str({"values": [{k: plain(row.get(k)) for k in keys} for row in data]})
    # Safe inside <script type="application/json">: no "</script>" can close the element early.
    return (before + values + after).replace("</", "<\\/")


def _rows(data: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[list[Any]]:
    return [[row.get(k) for k in keys] for row in data]


def sparkline(title: str, data: Sequence[dict[str, Any]], x: str, y: str, y_label: str) -> Chart:
    """A small line without axes: the trend beside a headline number."""
    spec = _spec(_sparkline, f"Trend of {title}", (x, y, y_label), data, (x, y))
    return Chart(title, spec, ("date", y_label), _rows(data, (x, y)), "sparkline")


def _sparkline(x: str, y: str, y_label: str) -> alt.Chart:
    return (
        alt.Chart(_EMPTY)
        .mark_area(line={"color": PALETTE[0]}, color="#dbe7f5", interpolate="monotone")
        .encode(
            x=alt.X(f"{x}:T", axis=None),
            y=alt.Y(f"{y}:Q", axis=None),
            tooltip=[alt.Tooltip(f"{x}:T", title="date"), alt.Tooltip(f"{y}:Q", title=y_label)],
        )
        .properties(width="container", height=40)
        .configure_view(strokeWidth=0)
    )


def stacked_bars(
    title: str, data: Sequence[dict[str, Any]], x: str, y: str, color: str, y_label: str
) -> Chart:
    """Bars per day stacked by a category (for example events per day by channel)."""
    spec = _spec(_stacked_bars, title, (x, y, color, y_label), data, (x, y, color))
    return Chart(title, spec, (x, color, y_label), _rows(data, (x, color, y)))


def _stacked_bars(x: str, y: str, color: str, y_label: str) -> alt.Chart:
    return (
        alt.Chart(_EMPTY)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:T", title=None, timeUnit="yearmonthdate"),
            y=alt.Y(f"sum({y}):Q", title=y_label),
            color=alt.Color(f"{color}:N", title=color, scale=alt.Scale(range=PALETTE)),
            tooltip=[alt.Tooltip(f"{x}:T", title="date"), f"{color}:N", alt.Tooltip(f"{y}:Q", title=y_label)],
        )
        .properties(width="container", height=220)
    )


def bars(title: str, data: Sequence[dict[str, Any]], category: str, value: str, value_label: str) -> Chart:
    """Horizontal bars, largest first (for example rejected events by reason)."""
    spec = _spec(_bars, title, (category, value, value_label, len(data)), data, (category, value))
    return Chart(title, spec, (category, value_label), _rows(data, (category, value)))


def _bars(category: str, value: str, value_label: str, n: int) -> alt.Chart:
    return (
        alt.Chart(_EMPTY)
        .mark_bar(color=PALETTE[0])
        .encode(
            y=alt.Y(f"{category}:N", sort="-x", title=None),
            x=alt.X(f"{value}:Q", title=value_label),
            tooltip=[f"{category}:N", alt.Tooltip(f"{value}:Q", title=value_label)],
        )
        .properties(width="container", height=max(60, 24 * n))
    )


def columns(title: str, data: Sequence[dict[str, Any]], category: str, value: str, value_label: str) -> Chart:
    """Vertical bars in the data's own order (for example a histogram's bins, low to high)."""
    order = tuple(row.get(category) for row in data)
    spec = _spec(_columns, title, (category, value, value_label, order), data, (category, value))
    return Chart(title, spec, (category, value_label), _rows(data, (category, value)))


def _columns(category: str, value: str, value_label: str, order: tuple[Any, ...]) -> alt.Chart:
    return (
        alt.Chart(_EMPTY)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X(f"{category}:O", sort=list(order), title=category, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{value}:Q", title=value_label),
            tooltip=[f"{category}:O", alt.Tooltip(f"{value}:Q", title=value_label)],
        )
        .properties(width="container", height=200)
    )
