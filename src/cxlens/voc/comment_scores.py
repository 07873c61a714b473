"""Keep every feedback comment's sentiment and emotion in the store, for features and the console.

Scoring is a pure function of the store (``voc.sentiment.score_feedback``); this module persists
its result in ``comment_scores`` so the feature layer's ``sentiment`` features and per-customer
computed traits can use it. The table has a ``customer_id`` column, so identity merges move its
rows and erasure removes them like any other personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from cxlens.profiles.computed import write_computed_traits
from cxlens.store import Store
from cxlens.voc.sentiment import score_feedback

MODEL_NAME = "voc.sentiment"


def score_comments(store: Store, model: str = "vader") -> int:
    """Score every commented feedback row and replace ``comment_scores``; returns rows scored."""
    scores = score_feedback(store, model)
    table = pa.table({
        "message_id": scores.column("message_id"),
        "customer_id": scores.column("customer_id"),
        "sentiment": scores.column("score"),
        "label": scores.column("label"),
        "dominant_emotion": scores.column("dominant_emotion"),
        "model": scores.column("model"),
        "scored_at": pa.array([datetime.now(UTC)] * scores.num_rows, type=pa.timestamp("us", tz="UTC")),
    })
    with store.transaction():
        store.execute("DELETE FROM comment_scores")
        store.register("_comment_scores", table)
        try:
            store.execute("INSERT INTO comment_scores SELECT * FROM _comment_scores")
        finally:
            store.unregister("_comment_scores")
    return table.num_rows


def write_sentiment_traits(store: Store) -> int:
    """Each customer's mean comment sentiment and comment count as the ``sentiment`` trait."""
    rows = store.records(
        "SELECT customer_id, avg(sentiment) AS mean, count(*) AS comments, any_value(model) AS model "
        "FROM comment_scores WHERE customer_id IS NOT NULL GROUP BY customer_id"
    )
    version = datetime.now(UTC).strftime("%Y-%m-%d")
    return write_computed_traits(store, (
        {"customer_id": r["customer_id"], "name": "sentiment",
         "value": {"mean": round(float(r["mean"]), 4), "comments": int(r["comments"])},
         "model": f"{MODEL_NAME}.{r['model']}", "model_version": version}
        for r in rows
    ))


def label_shares(store: Store) -> dict[str, float]:
    """Share of scored comments per sentiment label (for summaries)."""
    labels = store.arrow("SELECT label FROM comment_scores").column("label")
    if len(labels) == 0:
        return {}
    counts = pc.value_counts(labels).to_pylist()
    return {c["values"]: round(c["counts"] / len(labels), 4) for c in counts}
