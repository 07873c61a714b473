"""Key drivers of NPS: which touchpoints matter most for how likely customers are to recommend, and
which of those perform worst ("fix first").

The store's feedback has one metric per answer (NPS, CSAT or CES), each at a touchpoint — no
respondent answers several driver items in one survey. So the page builds one row per customer who
gave an NPS answer: the outcome is their mean 0–10 answer, the drivers their mean CSAT/CES rating
per touchpoint, rescaled to 0–100 (CSAT 1–5, CES 1–7 where 7 is easiest). A touchpoint a customer
did not rate gets that touchpoint's mean (which weakens its measured importance rather than invent
one); touchpoints rated by fewer than ``MIN_RATERS`` of these customers are left out. The voc room's
``DriverAnalysis`` then gives LMG shares of R², relative weights and the importance × performance
quadrants. The page says all this in words, next to the result.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import InvalidInputError
from cxlens.store import Store
from cxlens.voc.drivers import QUADRANTS, DriverAnalysis
from cxlens.web import charts, summary
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Drivers", "/voc/drivers", order=62),)
MIN_RATERS = 5
QUADRANT_COLOURS = ("#b91c1c", "#15803d", "#1f5fa8", "#9aa5b4")  # fix first stands out in red
_RATINGS_SQL = """
    WITH nps AS (SELECT customer_id, avg(score) AS nps FROM feedback
                 WHERE metric = 'nps' AND customer_id IS NOT NULL AND score IS NOT NULL GROUP BY 1),
         rated AS (SELECT customer_id, touchpoint,
                          100 * avg(CASE metric WHEN 'csat' THEN (score - 1) / 4 ELSE (score - 1) / 6 END)
                            AS rating
                   FROM feedback WHERE metric IN ('csat', 'ces') AND customer_id IS NOT NULL
                     AND touchpoint IS NOT NULL AND score IS NOT NULL GROUP BY ALL)
    SELECT n.customer_id, n.nps, r.touchpoint, r.rating FROM nps n LEFT JOIN rated r USING (customer_id)"""


def driver_frame(store: Store) -> tuple[pd.DataFrame, pd.Series, dict[str, int]]:
    """(drivers, outcome, raters per touchpoint): one row per NPS respondent who rated a touchpoint."""
    long = pd.DataFrame(store.records(_RATINGS_SQL), columns=["customer_id", "nps", "touchpoint", "rating"])
    rated = long.dropna(subset=["touchpoint"])
    wide = rated.pivot_table(index="customer_id", columns="touchpoint", values="rating", aggfunc="mean")
    raters = wide.notna().sum()
    wide = wide[raters[raters >= MIN_RATERS].index]
    wide = wide[wide.notna().any(axis=1)]
    outcome = long.drop_duplicates("customer_id").set_index("customer_id")["nps"].reindex(wide.index)
    return wide.fillna(wide.mean()), outcome, {str(k): int(v) for k, v in raters.items()}


def _matrix_shape(imp_cut: float, perf_cut: float) -> alt.LayerChart:
    base = alt.Chart(charts._EMPTY)
    points = base.mark_point(filled=True, size=140).encode(
        x=alt.X("importance:Q", title="importance (% of R², LMG)"),
        y=alt.Y("performance:Q", title="performance (0–100)", scale=alt.Scale(zero=False)),
        color=alt.Color("quadrant:N", scale=alt.Scale(domain=list(QUADRANTS), range=list(QUADRANT_COLOURS))),
        shape=alt.Shape("quadrant:N", scale=alt.Scale(domain=list(QUADRANTS))),
        tooltip=["driver:N", "quadrant:N", alt.Tooltip("importance:Q", format=".1f"),
                 alt.Tooltip("performance:Q", format=".1f")],
    )
    labels = base.mark_text(align="left", dx=9).encode(x="importance:Q", y="performance:Q", text="driver:N")
    cut = base.mark_rule(color="#9aa5b4", strokeDash=[4, 4])
    layers = cut.encode(x=alt.datum(imp_cut)) + cut.encode(y=alt.datum(perf_cut)) + points + labels
    return layers.properties(width="container", height=300)


def _analyse(store: Store) -> dict[str, Any]:
    answers = store.scalar("SELECT count(*) FROM feedback WHERE score IS NOT NULL")
    if not answers:
        return {"answers": 0}
    drivers, outcome, raters = driver_frame(store)
    view: dict[str, Any] = {"answers": answers, "raters": raters, "min_raters": MIN_RATERS,
                            "respondents": len(drivers)}
    try:
        fitted = DriverAnalysis(scale=(0, 100)).fit(drivers, outcome)
    except InvalidInputError as exc:
        return {**view, "error": exc.message}
    result = fitted.summary()
    rows = [{"driver": d["driver"], "importance": d["lmg_share"], "performance": d["performance"],
             "quadrant": d["quadrant"], "relative_weight": d["rw_share"], "beta": d["beta"]}
            for d in result["drivers"]]
    cut = result["cutoffs"]
    keys = ("driver", "importance", "performance", "quadrant")
    spec = charts._spec(_matrix_shape,
                        "Importance and performance of each touchpoint for NPS",
                        (round(cut["importance"], 6), round(cut["performance"], 6)), rows, keys)
    return {**view, **result, "rows": rows,
            "matrix": charts.Chart("Importance × performance", spec,
                                   ("touchpoint", "importance (% of R²)", "performance", "quadrant"),
                                   charts._rows(rows, keys))}


@router.get("/voc/drivers", response_class=HTMLResponse)
def drivers(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    view, analysed_at = summary.summary_of(store).memo("voc-drivers", lambda: _analyse(store))
    return page(request, "drivers.html", title="Drivers", v=view, analysed_at=analysed_at)
