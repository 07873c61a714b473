"""Churn: how risk is spread over customers, who is most at risk and why, and how good the model is.

Risk and reasons are the computed traits ``cxlens churn score`` writes (``churn_risk``, and
``churn_reasons``: decile and the model's reasons in words); whether a person may be contacted is
their current marketing consent, read live the way ``score_churn`` reads it. The model report is
the latest training run (``predict.churn_report.latest_report``): holdout AUC and PR-AUC, lift
by decile, reliability, and the comparison with the RFM-only baseline. Training and scoring do not
change the data stamp, so the cached view is keyed on the model version and latest score time too.
"""

from __future__ import annotations

from typing import Any

import altair as alt
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import NotFoundError
from cxlens.predict.churn_report import latest_report
from cxlens.store import Store
from cxlens.web import charts, summary
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Churn", "/churn", order=55),)
TOP = 25
BINS = 10
# ``churn_risk`` is a plain number with the reasons in ``churn_reasons``; stores scored before that
# change hold one object with both (``{"score", "decile", "reasons"}``), so either shape is read.
_SCORED = """SELECT t.customer_id,
    coalesce(TRY_CAST(t.value::VARCHAR AS DOUBLE),
             TRY_CAST(json_extract_string(t.value, '$.score') AS DOUBLE)) AS risk,
    coalesce(w.value, t.value) AS why
  FROM computed_traits t
  LEFT JOIN computed_traits w ON w.customer_id = t.customer_id AND w.name = 'churn_reasons'
  WHERE t.name = 'churn_risk'"""


def _risk(store: Store) -> dict[str, Any]:
    """Customers per tenth of risk, and the most at-risk customers with reasons and contactability."""
    counts = dict(store.fetchall(
        f"SELECT least(CAST(floor(risk * {BINS}) AS INT), {BINS - 1}), count(*) FROM ({_SCORED}) "
        "WHERE risk IS NOT NULL GROUP BY 1"))
    scored, mean = store.fetchone(f"SELECT count(risk), avg(risk) FROM ({_SCORED})") or (0, None)
    top = store.records(f"""
        SELECT s.customer_id, s.risk, json_extract_string(s.why, '$.decile') AS decile,
               CAST(json_extract(s.why, '$.reasons') AS VARCHAR[]) AS reasons,
               coalesce(c.granted, false) AS contactable
        FROM ({_SCORED}) s
        LEFT JOIN consent_current c ON c.customer_id = s.customer_id AND c.purpose = 'marketing'
        WHERE s.risk IS NOT NULL ORDER BY s.risk DESC, s.customer_id LIMIT ?""", [TOP])
    histogram = [{"risk": f"{b / BINS:.1f}–{(b + 1) / BINS:.1f}", "customers": counts.get(b, 0)}
                 for b in range(BINS)]
    return {"scored": scored, "mean": mean, "top": top,
            "risk_chart": charts.columns("Customers by churn risk", histogram, "risk", "customers",
                                         "customers")}


def _compare_shape(x: str, y: str, x_title: str, y_title: str, diagonal: bool) -> alt.LayerChart | alt.Chart:
    lines = (
        alt.Chart(charts._EMPTY)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title),
            y=alt.Y(f"{y}:Q", title=y_title),
            color=alt.Color("model:N", title="model", scale=alt.Scale(range=charts.PALETTE)),
            tooltip=["model:N", alt.Tooltip(f"{x}:Q", format=".2f"), alt.Tooltip(f"{y}:Q", format=".2f")],
        )
        .properties(width="container", height=240)
    )
    if not diagonal:
        return lines
    # the perfectly calibrated diagonal, in constants: both layers share the (top-level) data
    perfect = alt.Chart(charts._EMPTY).mark_rule(color="#9aa5b4", strokeDash=[4, 4]).encode(
        x=alt.datum(0), y=alt.datum(0), x2=alt.datum(1), y2=alt.datum(1))
    return perfect + lines


def _compare(title: str, report: dict[str, Any], table: str, x: str, y: str, titles: tuple[str, str],
             diagonal: bool = False) -> charts.Chart:
    """One line per model (churn model, RFM baseline) from the same table of both reports."""
    models = (("churn model", report["metrics"]), ("RFM baseline", report["baseline"]["metrics"]))
    data = [{**row, "model": name} for name, metrics in models for row in metrics[table]]
    keys = ("model", x, y)
    spec = charts._spec(_compare_shape, title,
                        (x, y, *titles, diagonal), data, keys)
    return charts.Chart(title, spec, ("model", *titles), charts._rows(data, keys))


def _model(store: Store) -> dict[str, Any] | None:
    try:
        report = latest_report(store)
    except NotFoundError:
        return None
    return {
        "report": report,
        "lift_chart": _compare("Lift by risk decile", report, "lift_by_decile", "decile", "lift",
                               ("decile (1 = highest risk)", "lift")),
        "reliability_chart": _compare("Reliability: predicted vs observed churn", report, "reliability",
                                      "mean_predicted", "observed_rate",
                                      ("mean predicted risk", "observed churn rate"), diagonal=True),
    }


def _view(store: Store) -> dict[str, Any]:
    return {"model": _model(store), **_risk(store)}


def _version_key(store: Store) -> Any:
    return store.fetchone(
        "SELECT (SELECT max(trained_at) FROM model_runs), "
        "(SELECT max(computed_at) FROM computed_traits WHERE name IN ('churn_risk', 'churn_reasons'))")


@router.get("/churn", response_class=HTMLResponse)
def churn(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    view, computed_at = summary.summary_of(store).memo(("churn", _version_key(store)), lambda: _view(store))
    return page(request, "churn.html", title="Churn", v=view, computed_at=computed_at)
