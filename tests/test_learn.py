"""The learning job over a real demo store, and over an empty one (every stage says why it skipped)."""

from __future__ import annotations

from cxlens.demo.run import build_demo
from cxlens.learn import STAGES, run_learning
from cxlens.segments.audiences import preview


def test_every_stage_runs_on_the_demo_and_fills_computed_traits(settings, store) -> None:
    store.close()
    build_demo(settings, customers=400, seed=5, create_keys=False)
    from cxlens.store import Store

    with Store(settings.store_path) as demo_store:
        results = run_learning(demo_store, settings)
        names = {n for (n,) in demo_store.fetchall("SELECT DISTINCT name FROM computed_traits")}
        # The issue's own example audience works on what the job wrote, and counts what SQL counts.
        selected = preview(demo_store, "clv_12m > 200 and churn_risk >= 0.7 and consent.marketing")
        expected = demo_store.scalar("""
            SELECT count(*) FROM (
                SELECT customer_id FROM computed_traits WHERE name = 'clv_12m' AND value::DOUBLE > 200
                INTERSECT SELECT customer_id FROM computed_traits
                          WHERE name = 'churn_risk' AND value::DOUBLE >= 0.7
                INTERSECT SELECT customer_id FROM consent_current WHERE purpose = 'marketing' AND granted)""")
    assert [r.name for r in results] == [name for name, _ in STAGES]
    assert {r.name: r.status for r in results if r.status != "ok"} == {}
    assert {"clv_12m", "p_alive", "churn_risk", "churn_reasons", "rfm_segment", "sentiment"} <= names
    assert selected["size"] == expected


def test_an_empty_store_skips_with_reasons(settings, store) -> None:
    results = {r.name: r for r in run_learning(store, settings)}
    skipped = {name: r.reason for name, r in results.items() if r.status == "skipped"}
    assert {"clv", "churn", "segments", "recommend"} <= set(skipped)
    assert all(reason for reason in skipped.values())
