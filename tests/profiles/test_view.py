"""The profile read: same answer as the rules it restates, typed values, every customer-id form."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.identity.support import T0, event, load, mapping

from cxlens.privacy.consent import consent_state
from cxlens.profiles.view import get_profile


def _choice(n: int, minute: int, **purposes: bool) -> dict:
    return event(n, user_id="u1", timestamp=T0 + timedelta(minutes=minute), context={"consent": purposes})


def test_current_consent_follows_the_privacy_rule(store, settings) -> None:
    # marketing: granted, then refused and granted at the same later time (a refusal wins a tie);
    # personalization: refused, then granted later (the latest wins); analytics: the default.
    load(store, settings, [_choice(1, 1, marketing=True, personalization=False),
                           _choice(2, 5, marketing=False), _choice(3, 5, marketing=True),
                           _choice(4, 9, personalization=True)])
    customer = mapping(store)[("user_id", "u1")]
    consent = get_profile(store, settings, "u1")["consent"]
    assert consent["current"] == consent_state(store, customer, settings)
    assert consent["current"]["marketing"] is False and consent["current"]["personalization"] is True
    assert [h["decided_at"] for h in consent["history"]] == sorted(
        (h["decided_at"] for h in consent["history"]), reverse=True)
    assert len(consent["history"]) == 5


def test_values_keep_their_types(store, settings) -> None:
    load(store, settings, [event(1, type="identify", user_id="u1", channel="app",
                                 traits={"plan": {"tier": "gold", "seats": 3}, "vip": True})])
    profile = get_profile(store, settings, "u1")
    assert profile["first_seen"] == T0 + timedelta(minutes=1)
    for value in (profile["first_seen"], profile["last_seen"], profile["identities"][0]["first_seen"],
                  profile["traits"]["plan"]["updated_at"]):
        assert isinstance(value, datetime) and value.utcoffset() == timedelta(0)
    assert profile["traits"]["plan"]["value"] == {"tier": "gold", "seats": 3}
    assert profile["traits"]["vip"]["value"] is True
    assert profile["events_by_channel"] == {"app": 1}
    assert profile["identities"][0]["hub"] is False


def test_customer_id_forms(store, settings) -> None:
    load(store, settings, [event(1, anonymous_id="a1")])
    load(store, settings, [event(2, type="identify", user_id="u1", anonymous_id="a1")])
    customer = mapping(store)[("user_id", "u1")]
    old = store.scalar("SELECT from_customer_id FROM merges")
    for ident in (customer, f"  {customer} ", old, f" {old}"):
        profile = get_profile(store, settings, ident)
        assert profile["customer_id"] == customer, ident
        assert profile["merges"][0]["from_customer_id"] == old


def test_every_read_is_an_index_point_read(store, settings) -> None:
    # An equality on a column without its own ART index (or an OR) makes DuckDB scan the table:
    # at a million customers that is the difference between ~0.05 ms and ~10 ms per part.
    from cxlens.profiles.view import _PROFILE_SQL

    load(store, settings, [event(1, anonymous_id="a1", context={"consent": {"marketing": True}})])
    load(store, settings, [event(2, type="identify", user_id="u1", anonymous_id="a1", traits={"plan": "x"})])
    customer = mapping(store)[("user_id", "u1")]
    store.execute("INSERT INTO computed_traits VALUES (?, 'clv', '1', 'm', '1', now())", [customer])
    # Other people's merges, with ids spread like real ones, so no merges branch is pruned by zone maps.
    store.execute("""INSERT INTO merges SELECT now(), 'cus_' || md5('f' || i)[:24],
                     'cus_' || md5('i' || i)[:24], 'r', '[]', 'moved' FROM range(1000) t(i)""")
    # ANALYZE: DuckDB picks an index scan when the scan starts (plain EXPLAIN shows a sequential one);
    # tables without a matching row are pruned to an empty result and show no scan at all.
    plan = store.fetchall("EXPLAIN ANALYZE " + _PROFILE_SQL, {"c": customer})[0][1]
    assert plan.count("Table Scan") >= 7 and plan.count("Index Scan") == plan.count("Table Scan")
    lookup = store.fetchall("EXPLAIN ANALYZE SELECT kind, customer_id FROM identities WHERE value = ?",
                            ["u1"])[0][1]
    assert "Index Scan" in lookup


def test_profile_show_prints_each_merges_evidence(store, settings, capsys, monkeypatch) -> None:
    """docs/identity.md: `cxlens profile show` shows merges with their evidence matched back to the
    customer's identifiers; the table printed only the reason, never which message linked what."""
    from cxlens.cli.common import console
    from cxlens.cli.main import run

    monkeypatch.setattr(console, "width", 300)  # one line per row

    load(store, settings, [event(1, anonymous_id="a1")])
    load(store, settings, [event(3, type="identify", anonymous_id="a1", user_id="u1")])
    store.close()
    assert run(["profile", "show", "u1", "--data-dir", str(settings.data_dir)]) == 0
    assert "message m3 linked user_id:u1 and anonymous_id:a1" in capsys.readouterr().out
