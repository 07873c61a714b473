"""Customer search: identifiers win outright, then name=value traits, then free text."""

from __future__ import annotations

import pytest
from tests.identity.support import event, load, mapping

from cxlens.errors import InvalidInputError
from cxlens.profiles.search import search_customers


@pytest.fixture
def people(store, settings):
    load(store, settings, [
        event(1, type="identify", user_id="u1", traits={"email": "ana@shop.io", "city": "Dublin"}),
        event(2, type="identify", user_id="u2", traits={"email": "ben@shop.io", "city": "dublin"}),
        event(3, type="identify", user_id="u3", traits={"email": "cleo@else.org", "city": "Paris",
                                                        "plan": "gold 50%"}),
    ])
    ids = mapping(store)
    return {u: ids[("user_id", u)] for u in ("u1", "u2", "u3")}


def _found(result) -> set[str]:
    return {r["customer_id"] for r in result["rows"]}


def test_an_identifier_finds_exactly_its_customer(store, settings, people) -> None:
    result = search_customers(store, settings, "ana@shop.io")
    assert _found(result) == {people["u1"]} and result["rows"][0]["matched"] == "identifier ana@shop.io"
    assert result["rows"][0]["email"] == "ana@shop.io"


def test_a_trait_equality_is_case_insensitive(store, settings, people) -> None:
    assert _found(search_customers(store, settings, "city=DUBLIN")) == {people["u1"], people["u2"]}
    assert search_customers(store, settings, "city=Rome")["total"] == 0


def test_free_text_matches_identifier_prefixes_and_trait_text(store, settings, people) -> None:
    # "shop" is inside the e-mail traits of two people; "be" starts one identifier (ben@…)
    assert _found(search_customers(store, settings, "shop")) == {people["u1"], people["u2"]}
    assert _found(search_customers(store, settings, "be")) == {people["u2"]}
    assert _found(search_customers(store, settings, "pari")) == {people["u3"]}
    # LIKE wildcards in the query are literal text
    assert _found(search_customers(store, settings, "50%")) == {people["u3"]}
    assert search_customers(store, settings, "5_%")["total"] == 0


def test_bad_queries_say_what_to_type(store, settings, people) -> None:
    with pytest.raises(InvalidInputError, match="at least 2 characters"):
        search_customers(store, settings, "x")
    with pytest.raises(InvalidInputError, match="type something"):
        search_customers(store, settings, "  ")
