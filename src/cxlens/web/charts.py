"""Vega-Lite specs built in Python (Altair), each paired with the table that says the same thing.

The browser renders the spec (vendored vega-embed); screen readers and people who prefer numbers
get the table. Specs are built without schema validation: the shapes here are fixed and tested, and
validation would cost more than the page's own queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
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


def _spec(chart: alt.Chart, description: str) -> str:
    spec = chart.properties(description=description).to_dict(validate=False)
    # Safe inside <script type="application/json">: no "</script>" can close the element early.
    return jsonutil.dumps_str(spec).replace("</", "<\\/")


def _rows(data: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[list[Any]]:
    return [[row.get(k) for k in keys] for row in data]


def _values(data: Sequence[dict[str, Any]], *keys: str) -> alt.Data:
    """Only the fields the chart encodes go to the browser (times as ISO text, numbers as floats)."""

    def plain(v: Any) -> Any:
        return v.isoformat() if hasattr(v, "isoformat") else float(v) if isinstance(v, Decimal) else v

    return alt.Data(values=[{k: plain(row.get(k)) for k in keys} for row in data])


def sparkline(title: str, data: Sequence[dict[str, Any]], x: str, y: str, y_label: str) -> Chart:
    """A small line without axes: the trend beside a headline number."""
    chart = (
        alt.Chart(_values(data, x, y))
        .mark_area(line={"color": PALETTE[0]}, color="#dbe7f5", interpolate="monotone")
        .encode(
            x=alt.X(f"{x}:T", axis=None),
            y=alt.Y(f"{y}:Q", axis=None),
            tooltip=[alt.Tooltip(f"{x}:T", title="date"), alt.Tooltip(f"{y}:Q", title=y_label)],
        )
        .properties(width="container", height=40)
        .configure_view(strokeWidth=0)
    )
    return Chart(
        title, _spec(chart, f"Trend of {title}"), ("date", y_label), _rows(data, (x, y)), "sparkline"
    )


def stacked_bars(
    title: str, data: Sequence[dict[str, Any]], x: str, y: str, color: str, y_label: str
) -> Chart:
    """Bars per day stacked by a category (for example events per day by channel)."""
    chart = (
        alt.Chart(_values(data, x, y, color))
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:T", title=None, timeUnit="yearmonthdate"),
            y=alt.Y(f"sum({y}):Q", title=y_label),
            color=alt.Color(f"{color}:N", title=color, scale=alt.Scale(range=PALETTE)),
            tooltip=[alt.Tooltip(f"{x}:T", title="date"), f"{color}:N", alt.Tooltip(f"{y}:Q", title=y_label)],
        )
        .properties(width="container", height=220)
    )
    return Chart(title, _spec(chart, title), (x, color, y_label), _rows(data, (x, color, y)))


def bars(title: str, data: Sequence[dict[str, Any]], category: str, value: str, value_label: str) -> Chart:
    """Horizontal bars, largest first (for example rejected events by reason)."""
    chart = (
        alt.Chart(_values(data, category, value))
        .mark_bar(color=PALETTE[0])
        .encode(
            y=alt.Y(f"{category}:N", sort="-x", title=None),
            x=alt.X(f"{value}:Q", title=value_label),
            tooltip=[f"{category}:N", alt.Tooltip(f"{value}:Q", title=value_label)],
        )
        .properties(width="container", height=max(60, 24 * len(data)))
    )
    return Chart(title, _spec(chart, title), (category, value_label), _rows(data, (category, value)))
