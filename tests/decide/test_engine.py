"""The decision pipeline's guarantees: consent, eligibility, rules, diversity, fatigue, next best action."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from cxlens.decide.engine import DecisionEngine
from cxlens.decide.request import DecideRequest, FeedbackRequest
from cxlens.decide.service import parse
from cxlens.errors import InvalidInputError, NotFoundError
from cxlens.recommend.service import train

from .conftest import NOW, grant, insert

CONSENTED = "cus_0001"  # c % 3 != 0 → personalization granted
REFUSED = "cus_0003"


def ask(engine: DecisionEngine, placement: str = "home", who: str | None = CONSENTED, now=None, **context):
    return engine.decide(DecideRequest(identifier=who, placement=placement, context=context, k=5), now=now)


def bought(store, customer: str) -> set[str]:
    return {r[0] for r in store.fetchall(
        "SELECT product_id FROM order_items JOIN orders USING (order_id) WHERE customer_id = ?", [customer])}


def test_no_personalized_result_without_consent(engine, shop) -> None:
    refused = ask(engine, who=REFUSED)
    assert refused["personalized"] is False and "consent:non_personalized" in refused["rules"]
    assert refused["items"], "non-personalized answers are still useful"
    assert all(i["reason"].startswith("popular") for i in refused["items"])
    assert not any("because you" in i["reason"] for i in refused["items"])
    consented = ask(engine)
    assert consented["personalized"] is True
    assert any("because you bought" in i["reason"] for i in consented["items"])


def test_without_consent_only_the_request_shapes_the_answer(shop, settings) -> None:
    """Stored profile data (the city trait, churn risk, value, purchases) is personalization: a person
    who refused it gets what the request's own context allows, and the bandit sees no profile data."""
    everyone = [f"cus_{c:04d}" for c in range(60)]
    insert(shop, "traits", [(c, "city", '"Berlin"', "test", NOW) for c in everyone])
    insert(shop, "computed_traits", [(c, name, value, "test", "1", NOW) for c in everyone
                                     for name, value in (("churn_risk", "0.9"), ("clv", "800"))])
    shop.execute("INSERT INTO decide_offers VALUES "
                 "('ten-off', '10% off', 'Take 10% off', 20, NULL, NULL, true)")
    train(shop, settings.data_dir)
    engine = DecisionEngine.open(shop, settings)
    try:
        refused = ask(engine, who=REFUSED)
        assert refused["personalized"] is False
        assert not any("Berlin" in i["reason"] for i in refused["items"])
        located = ask(engine, who=REFUSED, location="Berlin")
        assert any(i["reason"] == "popular in Berlin" for i in located["items"])
        engine.journal.flush()
        features = shop.records("SELECT features FROM decide_log WHERE decision_id IN (?, ?)",
                                [refused["decision_id"], located["decision_id"]])
        vectors = [json.loads(r["features"]) for r in features]
        assert vectors and all(v is not None and 0.9 not in v and 0.8 not in v for v in vectors)
        consented = ask(engine, who="cus_0001")
        engine.journal.flush()
        vector = json.loads(shop.scalar("SELECT features FROM decide_log WHERE decision_id = ?",
                                        [consented["decision_id"]]))
        assert 0.9 in vector and 0.8 in vector  # with consent the same facts do reach the bandit
    finally:
        engine.stop()


def test_withdrawn_consent_takes_effect_on_refresh(engine, shop) -> None:
    assert ask(engine)["personalized"] is True
    grant(shop, CONSENTED, "personalization", False, datetime.now(UTC))
    engine.state.refresh(facts=False)
    assert ask(engine)["personalized"] is False
    # a refusal in the request wins at once, whatever the store says
    assert ask(engine, who="cus_0002", consent={"personalization": False})["personalized"] is False


def test_already_purchased_items_are_not_recommended(engine, shop) -> None:
    answer = ask(engine)
    assert "eligibility:already_purchased" in answer["rules"]
    assert not {i["item_id"] for i in answer["items"]} & bought(shop, CONSENTED)


def test_business_rules_and_diversity(shop, settings) -> None:
    shop.execute("INSERT INTO decide_rules VALUES ('pin-p23', 'pin', 'item', 'P23', 1, NULL, true), "
                 "('no-books', 'exclude', 'category', 'books', 1, '[\"home\"]', true)")
    engine = DecisionEngine.open(shop, settings, max_per_category=1)
    try:
        answer = ask(engine, who=REFUSED)
        assert answer["items"][0]["item_id"] == "P23"
        categories = [i["category"] for i in answer["items"]]
        assert "books" not in categories[1:]
        assert len(set(categories[1:])) == len(categories[1:])  # one per category
        assert "pin:pin-p23" in answer["rules"] and "exclude:no-books" in answer["rules"]
    finally:
        engine.stop()


def test_quiet_hours_in_local_time(engine) -> None:
    late = ask(engine, "email", local_time=datetime(2025, 6, 1, 23, 30, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Berlin")), now=NOW.replace(hour=21, minute=30))
    assert late["action"] == "suppressed" and late["rules"][-1].startswith("quiet_hours")
    # 12:00 UTC is 21:00 in Tokyo (quiet from 21:00) but 14:00 in Berlin
    assert ask(engine, "email", now=NOW, timezone="Asia/Tokyo")["action"] == "suppressed"
    assert ask(engine, "email", now=NOW, timezone="Europe/Berlin")["action"] != "suppressed"


def test_frequency_cap_holds_under_concurrent_requests(engine) -> None:
    results: list[dict] = []
    lock = threading.Lock()

    def one() -> None:
        answer = ask(engine, "email", now=NOW, timezone="Europe/Berlin")
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [r for r in results if r["action"] not in ("suppressed", "nothing")]
    assert len(sent) == 1  # email: at most 1 per day
    assert len(results) == 16
    assert all(r["action"] == "nothing" or r["rules"][-1].startswith("frequency_cap") for r in results
               if r not in sent)  # fatigue makes a second e-mail worth nothing, or the cap refuses it
    later = ask(engine, "email", now=NOW + timedelta(days=1, minutes=1), timezone="Europe/Berlin")
    assert later["action"] != "suppressed"


def test_caps_survive_a_restart(engine, shop, settings) -> None:
    assert ask(engine, "email", now=NOW, timezone="Europe/Berlin")["action"] != "suppressed"
    engine.journal.flush()
    again = DecisionEngine.open(shop, settings)
    again.ledger = type(again.ledger).from_store(shop, NOW)
    try:
        later = NOW + timedelta(hours=1)
        assert again.ledger.count(CONSENTED, "email", 86_400, later) == 1
        assert ask(again, "email", now=later, timezone="Europe/Berlin")["action"] in ("suppressed", "nothing")
        full = again.ledger.reserve(CONSENTED, "email", later)
        assert full is not None and full.max_contacts == 1
    finally:
        again.stop()


def test_outbound_needs_marketing_consent(engine, shop) -> None:
    grant(shop, CONSENTED, "marketing", False, datetime.now(UTC))
    engine.state.refresh(facts=False)
    answer = ask(engine, "email", now=NOW, timezone="Europe/Berlin")
    assert answer["action"] == "suppressed" and "consent:no_marketing" in answer["rules"]


def test_detractor_gets_service_follow_up_not_promotion(shop, settings) -> None:
    shop.execute("INSERT INTO decide_offers VALUES "
                 "('ten-off', '10% off', 'Take 10% off', 20, NULL, NULL, true)")
    shop.execute("INSERT INTO feedback VALUES "
                 "('f1', ?, ?, 'nps', 'nps', 2, 'awful', 'delivery', 'web', NULL)",
                 [CONSENTED, datetime.now(UTC) - timedelta(days=2)])
    engine = DecisionEngine.open(shop, settings)
    try:
        answer = ask(engine)
        assert answer["action"] == "service_follow_up"
        assert answer["items"][0]["kind"] == "service" and "unhappy" in answer["items"][0]["reason"]
        assert not any(i["kind"] == "offer" for i in answer["items"])
        assert ask(engine, who="cus_0002")["action"] in ("offer", "recommend")
    finally:
        engine.stop()


def test_every_decision_is_logged_with_models_and_rules(engine, shop) -> None:
    answer = ask(engine, who=REFUSED)
    engine.journal.flush()
    row = shop.records("SELECT * FROM decide_log WHERE decision_id = ?", [answer["decision_id"]])[0]
    assert row["customer_id"] == REFUSED and row["personalized"] is False
    assert "consent:non_personalized" in row["rules"] and answer["models"]["recommend"] in row["models"]


def test_bad_input_is_a_clear_error(engine) -> None:
    with pytest.raises(InvalidInputError, match="valid placements: home, product_page"):
        parse(DecideRequest, {"placement": "billboard"})
    with pytest.raises(InvalidInputError, match="localTime needs a UTC offset"):
        parse(DecideRequest, {"placement": "home", "context": {"localTime": "2025-06-01T10:00:00"}})
    with pytest.raises(InvalidInputError, match="unknown time zone"):
        parse(DecideRequest, {"placement": "email", "context": {"timezone": "Mars/Olympus"}})
    # a misspelt purpose was ignored, so a refusal the page knew of did not count
    with pytest.raises(InvalidInputError, match="context.consent: .*unknown purpose 'personalisation'"):
        parse(DecideRequest, {"placement": "home", "context": {"consent": {"personalisation": False}}})
    with pytest.raises(NotFoundError):
        engine.feedback(FeedbackRequest(decision_id="dec_nope", item_id="x", event="click"))


def test_unknown_people_and_products_fall_back_safely(engine) -> None:
    answer = ask(engine, "product_page", who="email:nobody@example.org", product_id="NOT-A-PRODUCT")
    assert answer["personalized"] is False and answer["items"]
    assert "identity:unknown_person" in answer["rules"]
    assert "context:unknown_product_ignored" in answer["rules"]
    page = ask(engine, "product_page", who=None, product_id="P00")
    assert "P00" not in {i["item_id"] for i in page["items"]}


def test_a_preview_reserves_no_contact_and_is_not_logged(engine, shop) -> None:
    shown = engine.decide(DecideRequest(identifier=CONSENTED, placement="email",
                                        context={"timezone": "Europe/Berlin"}), now=NOW, preview=True)
    assert shown["preview"] is True and shown["action"] not in ("suppressed", "nothing")
    assert engine.ledger.count(CONSENTED, "email", 86_400, NOW) == 0
    # the real decision after it is still free to contact: the preview did not use the cap
    real = ask(engine, "email", now=NOW, timezone="Europe/Berlin")
    assert real["action"] == shown["action"] and "preview" not in real
    assert engine.ledger.count(CONSENTED, "email", 86_400, NOW) == 1
    # once the cap is full a preview says so, still without recording anything
    later = engine.decide(DecideRequest(identifier=CONSENTED, placement="email",
                                        context={"timezone": "Europe/Berlin"}), now=NOW, preview=True)
    assert later["action"] in ("suppressed", "nothing")
    assert engine.ledger.count(CONSENTED, "email", 86_400, NOW) == 1
    engine.journal.flush()
    logged = {r[0] for r in shop.fetchall("SELECT decision_id FROM decide_log")}
    assert logged == {real["decision_id"]}
    assert shop.scalar("SELECT count(*) FROM decide_contacts") == 1
    with pytest.raises(NotFoundError):  # a preview cannot be given feedback: it never happened
        engine.feedback(FeedbackRequest(decision_id=shown["decision_id"], item_id="x", event="click"))


def test_scratch_set_operations_match_numpy() -> None:
    """The per-thread scratch arrays answer like ``np.isin`` and a dict lookup, and stay clean."""
    import numpy as np

    from cxlens.decide.engine import _Scratch

    rng = np.random.default_rng(7)
    scratch = _Scratch(500)
    for _ in range(200):
        values = rng.integers(0, 500, rng.integers(0, 60))
        among = rng.integers(0, 500, rng.integers(0, 60))
        assert np.array_equal(scratch.member(values, among), np.isin(values, among))
        keys = np.unique(rng.integers(0, 500, rng.integers(1, 40)))
        found = rng.random(len(keys))
        table = dict(zip(keys.tolist(), found.tolist(), strict=True))
        expected = [table.get(v, 0.0) for v in values.tolist()]
        assert np.array_equal(scratch.lookup(values, keys, found), expected)
    assert not scratch.marks.any() and not scratch.values.any()
