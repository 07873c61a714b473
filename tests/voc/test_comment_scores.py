"""Comment scores persist, are replaced on rescoring, and feed the per-customer sentiment trait."""

from __future__ import annotations

from cxlens.voc.comment_scores import label_shares, score_comments, write_sentiment_traits


def _feedback(store) -> None:
    store.executemany(
        "INSERT INTO feedback (message_id, customer_id, timestamp, metric, score, comment) "
        "VALUES (?, ?, ?, 'nps', ?, ?)",
        [("m1", "c1", "2026-01-01T10:00:00Z", 10, "Love it, fast delivery and friendly staff!"),
         ("m2", "c1", "2026-02-01T10:00:00Z", 9, "Great service again."),
         ("m3", "c2", "2026-01-02T10:00:00Z", 2, "On hold for an hour, furious."),
         ("m4", "c3", "2026-01-03T10:00:00Z", 7, None)],
    )


def test_scores_are_stored_and_rescoring_replaces_them(store) -> None:
    _feedback(store)
    assert score_comments(store) == 3
    assert score_comments(store) == 3
    rows = dict(store.fetchall("SELECT message_id, label FROM comment_scores"))
    assert rows == {"m1": "positive", "m2": "positive", "m3": "negative"}
    assert label_shares(store) == {"positive": round(2 / 3, 4), "negative": round(1 / 3, 4)}


def test_sentiment_trait_is_the_mean_per_customer(store) -> None:
    _feedback(store)
    score_comments(store)
    assert write_sentiment_traits(store) == 2
    traits = {c: v for c, v in store.fetchall(
        "SELECT customer_id, value FROM computed_traits WHERE name = 'sentiment'")}
    import json

    c1, c2 = json.loads(traits["c1"]), json.loads(traits["c2"])
    assert c1["comments"] == 2 and c1["mean"] > 0.5
    assert c2["comments"] == 1 and c2["mean"] < -0.3
