"""The synthetic business: deterministic per seed, its latent structure visible, and end to end."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cxlens.cli.main import app
from cxlens.demo.generate import KINDS, generate
from cxlens.store import Store


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """3,000 customers: enough for segment differences to be unmistakable, small enough to be quick."""
    files = generate(tmp_path_factory.mktemp("demo"), 3_000, seed=11)
    return {k: pq.read_table(p) for k, p in {**files.files, **{f"truth_{k}": p
                                                              for k, p in files.truth.items()}}.items()}


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    a = generate(tmp_path / "a", 400, seed=3)
    b = generate(tmp_path / "b", 400, seed=3)
    c = generate(tmp_path / "c", 400, seed=4)
    for kind in KINDS:
        assert pq.read_table(a.files[kind]).equals(pq.read_table(b.files[kind])), kind
    assert not pq.read_table(a.files["orders"]).equals(pq.read_table(c.files["orders"]))


def test_segments_differ_as_designed(world):
    truth = world["truth_customers"].to_pandas()
    by = truth.groupby("segment")
    rate, dropout, alive = by["lam"].mean(), by["p"].mean(), by["alive_at_end"].mean()
    assert rate["loyal_premium"] > rate["bargain_hunter"] > rate["occasional"]
    assert dropout["at_risk"] > dropout["occasional"] > dropout["loyal_premium"]
    assert alive["loyal_premium"] > alive["at_risk"]
    orders = by["orders"].mean()
    assert orders["loyal_premium"] > 2 * orders["occasional"]
    items = world["orders"].to_pandas()
    revenue = items.groupby("order_id").agg(user_id=("user_id", "first"), revenue=("price", "sum"))
    revenue = revenue.merge(truth[["user_id", "segment", "expected_order_value"]], on="user_id")
    mean_value = revenue.groupby("segment")["revenue"].mean()
    assert mean_value["loyal_premium"] > 2 * mean_value["bargain_hunter"]
    # the Gamma-Gamma mean per customer drives what they actually spend per order
    assert revenue[["revenue", "expected_order_value"]].corr().iloc[0, 1] > 0.5


def test_comments_follow_the_experience(world):
    comments = world["truth_comments"].to_pandas()
    late = comments[comments["late_delivery"]]
    on_time = comments[~comments["late_delivery"]]
    assert (late["sentiment"] == "negative").mean() > 2 * (on_time["sentiment"] == "negative").mean()
    assert (late["theme"] == "delivery").mean() > 0.8
    nps = comments[comments["metric"] == "nps"]
    means = nps.groupby("sentiment")["score"].mean()
    assert means["negative"] < means["neutral"] < means["positive"]
    feedback = world["feedback"]
    assert feedback.num_rows == len(comments)
    assert 0.6 < pc.mean(pc.is_valid(feedback["comment"]).cast("int8")).as_py() < 0.9


def test_identity_consent_and_campaigns_are_present(world):
    identifies = world["customers"]
    assert identifies.num_rows > 3_000  # several devices per person
    assert pc.count_distinct(identifies["user_id"]).as_py() == 3_000
    marketing = pc.mean(world["truth_customers"]["consent_marketing"].cast("int8")).as_py()
    analytics = pc.mean(world["truth_customers"]["consent_analytics"].cast("int8")).as_py()
    assert 0.3 < marketing < 0.5 and 0.9 < analytics < 0.99
    assert pc.count(world["orders"]["utm_campaign"]).as_py() > 0
    channels = set(world["orders"]["channel"].to_pylist()) | set(world["events"]["channel"].to_pylist())
    assert {"web", "app", "email", "store", "call_center", "social"} <= channels


def test_cli_demo_end_to_end_matches_the_store(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--customers", "300", "--data-dir",
                                      str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    summary = body["summary"]
    assert body["keys"]["write"].startswith("wk_") and body["keys"]["admin"].startswith("ak_")
    truth = pq.read_table(tmp_path / "demo" / "ground_truth" / "customers.parquet")
    assert truth.num_rows == 300
    with Store(tmp_path / "cxlens.duckdb") as store:
        def one(sql):
            return store.fetchall(sql)[0][0]
        assert summary["orders"] == one("SELECT count(*) FROM orders") == sum(truth["orders"].to_pylist())
        responses = one("SELECT count(*) FROM feedback")
        assert summary["survey_responses"] == responses == body["files"]["feedback"]
        assert summary["events"] == one("SELECT count(*) FROM events")
        assert summary["products"] == 200
        assert summary["rejected"] == 0
        assert abs(summary["revenue"] - float(one("SELECT sum(revenue) FROM orders"))) < 0.01
        assert sum(summary["events_by_channel"].values()) == summary["events"]
    assert 0 < summary["identified_share"] < 1


def test_a_business_too_small_for_a_survey_still_builds(settings):
    """`cxlens demo --customers 1 --seed 2` simulates no survey answer, and the import of the empty
    feedback file stopped the demo: "error: feedback.parquet has no rows to import"."""
    from cxlens.demo.run import build_demo

    result = build_demo(settings, customers=1, seed=2, create_keys=False)
    assert result.files["feedback"] == 0
    assert result.summary["survey_responses"] == 0 and result.summary["profiles"] >= 1


def test_demo_json_that_goes_on_to_serve_prints_only_json(tmp_path, monkeypatch, capsys):
    """`cxlens demo --json` printed the JSON and then "cxlens serving ... on http://..." on stdout,
    so `cxlens demo --json | jq` failed on the banner."""
    import uvicorn

    from cxlens.cli.main import run

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    assert run(["demo", "--customers", "1", "--seed", "3", "--json", "--data-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["customers"] == 1
    assert "cxlens serving" in err
