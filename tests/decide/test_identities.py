"""The decision path's in-memory identity map answers like ``find_customer`` and follows the store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cxlens.config import Settings
from cxlens.decide.identities import IdentityMap
from cxlens.decide.request import DecideRequest
from cxlens.errors import NotFoundError
from cxlens.identity.lookup import find_customer
from cxlens.privacy.dsar import erase_person
from cxlens.store import Store

from .conftest import NOW, build_shop


@pytest.fixture
def people(store: Store, settings: Settings) -> Store:
    build_shop(store, settings, n_customers=6)
    store.executemany("INSERT INTO identities VALUES (?, ?, ?, ?, ?, ?, false)", [
        ("email", "ada@example.com", "cus_0001", "cus_0001", NOW, NOW),
        ("anonymous_id", "anon-7", "cus_0002", "cus_0002", NOW, NOW),
        ("external_id", "crm:42", "cus_0003", "cus_0003", NOW, NOW),
    ])
    # cus_0099 was merged into cus_0098, which was merged into cus_0004: a chain to the survivor
    store.executemany("INSERT INTO merges VALUES (?, ?, ?, 'test', NULL, ?)", [
        (NOW, "cus_0099", "cus_0098", "merged"), (NOW, "cus_0098", "cus_0004", "identified"),
        (NOW, "cus_0097", "cus_0005", "refused"),
    ])
    return store


FORMS = ["cus_0001", "u1", "user_id:u2", "email:Ada@Example.com", "ADA@example.com", "anon-7",
         "anonymous_id:anon-7", "external_id:crm:42", "cus_0099", "cus_0098", "cus_0097", "u404",
         "nobody@example.com", "user_id:", "+4915112345678", "cus_9999", "  u3  "]


@pytest.mark.parametrize("identifier", FORMS)
def test_resolves_every_form_like_find_customer(people: Store, settings: Settings, identifier: str) -> None:
    ids = IdentityMap(people, settings)
    assert ids.refresh() is True
    try:
        expected: str | None = find_customer(people, settings, identifier)
    except NotFoundError:
        expected = None
    assert ids.resolve(identifier) == expected


def test_refresh_sees_new_identifiers_and_erasure(people: Store, settings: Settings) -> None:
    ids = IdentityMap(people, settings)
    ids.refresh()
    assert ids.refresh() is False, "nothing changed: no rebuild"
    assert ids.resolve("email:new@example.com") is None
    people.execute("INSERT INTO identities VALUES ('email', 'new@example.com', 'cus_0002', 'cus_0002', ?, ?, "
                   "false)", [NOW, NOW])
    assert ids.resolve("email:new@example.com") is None, "a snapshot until the next refresh"
    assert ids.refresh() is True
    assert ids.resolve("email:new@example.com") == "cus_0002"
    erase_person(people, settings, "email:ada@example.com", actor="test")
    assert ids.refresh() is True
    for form in ("cus_0001", "u1", "email:ada@example.com"):
        assert ids.resolve(form) is None, form


def test_engine_resolves_from_the_map_and_forgets_the_erased(engine, shop: Store, settings: Settings) -> None:
    ask = DecideRequest(identifier="user_id:u1", placement="home")
    assert engine.decide(ask)["customer_id"] == "cus_0001"
    erase_person(shop, settings, "cus_0001", actor="test")
    engine.identities.refresh()  # what the engine's refresh thread does every refresh_seconds
    for who in ("user_id:u1", "cus_0001"):  # a customer id the models still know no longer resolves
        answer = engine.decide(DecideRequest(identifier=who, placement="home"), now=datetime.now(UTC))
        assert answer["customer_id"] is None and answer["personalized"] is False
        assert "identity:unknown_person" in answer["rules"]
