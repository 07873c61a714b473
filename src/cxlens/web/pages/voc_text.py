"""What customers say: sentiment of feedback comments and the themes in them, with quotes.

Sentiment is the voc room's VADER scorer (``voc.sentiment.score_texts``), themes its NMF model
(``voc.themes.summarize_themes``), both run over the ``feedback`` table's comments. Themes take
seconds, so the result is kept until the data changes; stores with more comments than
``ON_DEMAND_MAX_COMMENTS`` get the most recent ones, and the page says so.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import InvalidInputError
from cxlens.store import Store
from cxlens.voc.sentiment import score_texts
from cxlens.voc.themes import summarize_themes
from cxlens.web import charts, summary
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("VoC text", "/voc/text", order=60),)
ON_DEMAND_MAX_COMMENTS = 20_000
LABELS = ("positive", "neutral", "negative")


def _analyse(store: Store) -> dict[str, Any]:
    total = store.scalar("SELECT count(*) FROM feedback WHERE comment IS NOT NULL AND trim(comment) <> ''")
    rows = store.records(
        "SELECT timestamp, metric, comment FROM (SELECT * FROM feedback WHERE comment IS NOT NULL "
        "AND trim(comment) <> '' ORDER BY timestamp DESC, message_id LIMIT ?) ORDER BY timestamp",
        [ON_DEMAND_MAX_COMMENTS])
    if not rows:
        return {"comments": 0}
    texts = [r["comment"] for r in rows]
    scored = score_texts(texts)
    labels = Counter(scored["label"].astype(str))
    by_metric: dict[str, Counter[str]] = {}
    for r, label in zip(rows, scored["label"].astype(str), strict=True):
        by_metric.setdefault(r["metric"] or "(none)", Counter())[label] += 1
    try:
        report = summarize_themes(texts, times=[r["timestamp"] for r in rows],
                                  sentiment=scored["score"].tolist())
        themes, emerging, theme_error = report.themes, [e for e in report.emerging if e["emerging"]], None
    except InvalidInputError as exc:
        themes, emerging, theme_error = [], [], exc.message
    return {
        "comments": len(rows), "total": total, "mean": float(scored["score"].mean()),
        "model": scored["model"][0],
        "sentiment_chart": charts.columns("Comments by sentiment",
                                          [{"sentiment": k, "comments": labels.get(k, 0)} for k in LABELS],
                                          "sentiment", "comments", "comments"),
        "by_metric": [(metric, [c.get(k, 0) for k in LABELS]) for metric, c in sorted(by_metric.items())],
        "themes": themes, "emerging": emerging, "theme_error": theme_error,
    }


@router.get("/voc/text", response_class=HTMLResponse)
def voc_text(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    view, analysed_at = summary.summary_of(store).memo("voc-text", lambda: _analyse(store))
    return page(request, "voc_text.html", title="VoC text", v=view, analysed_at=analysed_at, labels=LABELS)
