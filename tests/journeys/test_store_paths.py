"""Conversion paths built from the store's events, fed to the landed attribution models; the demo's
channel mix and newsletter campaign are recovered."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_stages import add_events  # noqa: E402

from cxlens.cli.main import run  # noqa: E402
from cxlens.config import load_settings  # noqa: E402
from cxlens.demo import business as biz  # noqa: E402
from cxlens.demo.run import build_demo  # noqa: E402
from cxlens.errors import InvalidInputError  # noqa: E402
from cxlens.journeys.store_paths import build_paths, store_attribution  # noqa: E402
from cxlens.store import Store  # noqa: E402

DAY = 1440
NEWSLETTER = '{"campaign": {"source": "newsletter", "medium": "email", "name": "nl-1"}}'


def paths_of(table) -> dict[str, tuple[float, float, float]]:
    return {
        ">".join(p): (c, n, v)
        for p, c, n, v in zip(table.paths, table.conversions, table.nulls, table.values, strict=True)
    }


@pytest.fixture
def journeys(store):
    add_events(
        store,
        [
            # a: e-mail click, web visits (collapse), order on the web; later a social visit: a null
            {"cid": "a", "t": 0, "event": "Email Clicked", "channel": "email", "context": NEWSLETTER},
            {"cid": "a", "t": 1, "event": "/", "type": "page"},
            {"cid": "a", "t": 2, "event": "/cart", "type": "page"},
            {"cid": "a", "t": 3, "event": "Order Completed", "properties": '{"revenue": 40.0}'},
            {"cid": "a", "t": 50 * DAY, "event": "/", "type": "page", "channel": "social"},
            # b: a web visit 40 days before a store order (outside a 30-day lookback), then the order
            {"cid": "b", "t": 0, "event": "/", "type": "page"},
            {
                "cid": "b",
                "t": 40 * DAY,
                "event": "Order Completed",
                "channel": "store",
                "properties": '{"revenue": 100.0}',
            },
            # c: two orders; the second journey starts after the first order
            {"cid": "c", "t": 0, "event": "/", "type": "screen", "channel": "app"},
            {
                "cid": "c",
                "t": 1,
                "event": "Order Completed",
                "channel": "app",
                "properties": '{"revenue": 10}',
            },
            {"cid": "c", "t": 2 * DAY, "event": "Email Opened", "channel": "email"},
            {
                "cid": "c",
                "t": 2 * DAY + 5,
                "event": "Order Completed",
                "channel": "app",
                "properties": '{"revenue": 20}',
            },
            # d: never converts
            {"cid": "d", "t": 0, "event": "/", "type": "page"},
            {"cid": "d", "t": 1, "event": None, "type": "identify"},  # identify calls are not touches
        ],
    )
    return store


def test_paths_per_conversion_with_lookback_collapse_and_nulls(journeys):
    assert paths_of(build_paths(journeys, lookback_days=30)) == {
        "newsletter / email>web": (1, 0, 40.0),
        "store": (1, 0, 100.0),
        "app": (1, 0, 10.0),
        "email>app": (1, 0, 20.0),
        "social": (0, 1, 0.0),
        "web": (0, 1, 0.0),
    }


def test_a_longer_lookback_and_channel_labels(journeys):
    table = paths_of(build_paths(journeys, lookback_days=60, touch="channel", collapse=False))
    assert table["web>store"] == (1, 0, 100.0)
    assert table["email>web>web>web"] == (1, 0, 40.0)


def test_store_attribution_runs_the_landed_models(journeys):
    result = store_attribution(journeys, "last", lookback_days=30)
    credit = {c["channel"]: c["conversions"] for c in result["channels"]}
    assert credit == {
        "app": 2.0,
        "email": 0.0,
        "newsletter / email": 0.0,
        "social": 0.0,
        "store": 1.0,
        "web": 1.0,
    }
    assert result["paths"]["journeys"] == 6 and result["paths"]["nulls"] == 2
    markov = store_attribution(journeys, "markov", lookback_days=30)
    assert sum(c["conversions"] for c in markov["channels"]) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lookback_days": 0}, "lookback_days"),
        ({"touch": "utm"}, "unknown touch label"),
    ],
)
def test_bad_arguments(journeys, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        build_paths(journeys, **kwargs)


def test_an_empty_store_says_what_to_do(store):
    with pytest.raises(InvalidInputError, match="no customer journeys"):
        build_paths(store)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = load_settings(tmp_path_factory.mktemp("demo-journeys") / "data")
    build_demo(settings, customers=1500, seed=11)
    return settings


@pytest.mark.slow
def test_the_demo_channel_mix_and_campaign_are_recovered(demo):
    truth = pq.read_table(demo.data_dir / "demo" / "ground_truth" / "customers.parquet").to_pandas()
    with Store(demo.store_path, read_only=True) as store:
        last = store_attribution(store, "last", touch="channel")
        by_medium = store_attribution(store, "last", touch="source_medium")
        orders = store.records(
            "SELECT i.value AS user_id, e.channel FROM events e JOIN identities i ON "
            "i.customer_id = e.customer_id AND i.kind = 'user_id' WHERE e.event = 'Order Completed'"
        )
    share = {c["channel"]: c["share"] for c in last["channels"]}
    # expected order-channel mix: each segment's channel weights, weighted by its simulated orders
    weights = np.array([s.channels for s in biz.SEGMENTS])
    orders_by_segment = truth.groupby("segment")["orders"].sum()
    mix = sum(orders_by_segment[s.name] * weights[i] for i, s in enumerate(biz.SEGMENTS))
    mix = mix / mix.sum()
    for channel, expected in zip(biz.ORDER_CHANNELS, mix, strict=True):
        assert share[channel] == pytest.approx(expected, abs=0.03), channel
    # the newsletter: 30% of online orders of marketing-consenting customers end with its click
    consent = dict(zip(truth["user_id"], truth["consent_marketing"], strict=True))
    online = sum(1 for o in orders if o["channel"] in ("web", "app", "social") and consent.get(o["user_id"]))
    newsletter = next(c["conversions"] for c in by_medium["channels"] if c["channel"] == "newsletter / email")
    assert newsletter / online == pytest.approx(biz.CAMPAIGN_SHARE, abs=0.03)


@pytest.mark.slow
def test_cli_journeys_attribution_json(demo, capsys):
    assert (
        run(
            [
                "journeys",
                "attribution",
                "--model",
                "all",
                "--lookback-days",
                "14",
                "--json",
                "--data-dir",
                str(demo.data_dir),
            ]
        )
        == 0
    )
    import json

    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "all" and "markov" in result["models"]
    assert any(c["channel"] == "newsletter / email" for c in result["channels"])
    assert sum(c["markov"] for c in result["channels"]) == pytest.approx(result["total_conversions"])
    assert run(["journeys", "attribution", "--model", "nope", "--data-dir", str(demo.data_dir)]) == 2
