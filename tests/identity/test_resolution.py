"""Identity resolution: identify/alias, merges and their record, history moves, and the properties
that make it trustworthy (order independence, limits, idempotence)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from cxlens.identity.keyed import Hasher
from cxlens.profiles import unify as unify_module
from cxlens.store import Store

from .support import event, load, mapping, old_store


def _customers(store: Store) -> dict[str, set[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = {}
    for ident, customer in mapping(store).items():
        groups.setdefault(customer, set()).add(ident)
    return groups


def test_identify_joins_anonymous_history_and_records_why(store, settings) -> None:
    load(store, settings, [event(1, anonymous_id="a1"), event(2, anonymous_id="a1")])
    anon_customer = mapping(store)[("anonymous_id", "a1")]
    store.execute("INSERT INTO orders VALUES ('o1', 'm2', ?, now(), 10, 'USD', 'web', NULL)", [anon_customer])
    store.execute("INSERT INTO feedback (message_id, customer_id, timestamp, metric, score) "
                  "VALUES ('m1', ?, now(), 'nps', 9)", [anon_customer])
    load(store, settings, [event(3, type="identify", anonymous_id="a1", user_id="u1",
                                 traits={"email": "Ann@X.io"}, context={"consent": {"marketing": True}})])
    customer = mapping(store)[("user_id", "u1")]
    assert customer != anon_customer
    assert mapping(store)[("anonymous_id", "a1")] == customer
    assert mapping(store)[("email", "ann@x.io")] == customer
    for table in ("events", "orders", "feedback", "consent_events", "traits", "profiles"):
        ids = {r[0] for r in store.fetchall(f"SELECT DISTINCT customer_id FROM {table}")}
        assert ids == {customer}, table
    outcome, source, reason = store.fetchone("SELECT outcome, from_customer_id, reason FROM merges")
    assert (outcome, source) == ("identified", anon_customer)
    assert "anonymous profile identified" in reason


def test_alias_links_previous_id(store, settings) -> None:
    load(store, settings, [event(1, anonymous_id="old-anon"),
                           event(2, type="alias", user_id="u7", previous_id="old-anon")])
    assert mapping(store)[("anonymous_id", "old-anon")] == mapping(store)[("user_id", "u7")]


def test_never_two_user_ids_in_one_customer_and_refusal_is_recorded(store, settings) -> None:
    # u1 ~ a1 ~ e1 ~ u2 is one chain of evidence; the latest link would join two user ids.
    load(store, settings, [event(1, user_id="u1", anonymous_id="a1"),
                           event(2, anonymous_id="a1", traits={"email": "e1@x.io"}),
                           event(3, user_id="u2", traits={"email": "e1@x.io"})])
    ids = mapping(store)
    assert ids[("user_id", "u1")] != ids[("user_id", "u2")]
    assert ids[("email", "e1@x.io")] == ids[("user_id", "u1")]  # linked first
    reason = store.fetchone("SELECT reason FROM merges WHERE outcome = 'refused'")[0]
    assert "at most 1 user_id" in reason


def test_an_email_shared_by_two_user_ids_links_neither(store, settings) -> None:
    load(store, settings, [event(2, user_id="u2", traits={"email": "shared@x.io"}),
                           event(3, user_id="u1", traits={"email": "shared@x.io"})])
    ids = mapping(store)
    assert ids[("email", "shared@x.io")] not in (ids[("user_id", "u1")], ids[("user_id", "u2")])


def test_late_arriving_evidence_reassigns_by_time_not_arrival(store, settings) -> None:
    # a1 was seen with e1 (then u2 claimed e1); an earlier u1 ~ a1 link arrives last and wins.
    load(store, settings, [event(20, anonymous_id="a1", traits={"email": "e1@x.io"}),
                           event(30, user_id="u2", traits={"email": "e1@x.io"})])
    assert mapping(store)[("email", "e1@x.io")] == mapping(store)[("user_id", "u2")]
    load(store, settings, [event(10, user_id="u1", anonymous_id="a1")])
    ids = mapping(store)
    assert ids[("email", "e1@x.io")] == ids[("user_id", "u1")] != ids[("user_id", "u2")]
    moved = store.fetchall("SELECT customer_id FROM events WHERE message_id = 'm20'")
    assert moved == [(ids[("user_id", "u1")],)]


def test_older_trait_values_never_overwrite_newer_ones(store, settings) -> None:
    load(store, settings, [event(5, type="identify", user_id="u1", traits={"plan": "pro"})])
    load(store, settings, [event(1, type="identify", user_id="u1", traits={"plan": "free"})])
    assert store.fetchone("SELECT value FROM traits WHERE name = 'plan'")[0] == '"pro"'


def test_a_shared_kiosk_id_stops_linking(store, settings) -> None:
    load(store, settings, [event(i, user_id=f"u{i}", anonymous_id="kiosk") for i in range(5)])
    ids = mapping(store)
    assert len({ids[("user_id", f"u{i}")] for i in range(5)}) == 5
    assert store.fetchone("SELECT hub FROM identities WHERE value = 'kiosk'")[0]
    assert ids[("anonymous_id", "kiosk")] not in {ids[("user_id", f"u{i}")] for i in range(5)}


def test_known_identifiers_keep_their_customer_and_widen_their_times(store, settings) -> None:
    load(store, settings, [event(5, user_id="u1")])
    lone = Hasher.for_data_dir(settings.data_dir).customer_id("user_id", "u1")
    assert mapping(store) == {("user_id", "u1"): lone}  # a lone identifier is its own anchor
    load(store, settings, [event(1, user_id="u1"), event(9, user_id="u1"), event(7, user_id="u2")])
    rows = store.fetchall("SELECT customer_id, first_seen, last_seen, cluster_id FROM identities "
                          "WHERE value = 'u1'")
    assert rows == [(lone, event(1)["timestamp"], event(9)["timestamp"], "cl_" + lone[4:])]
    assert {r[0] for r in store.fetchall("SELECT customer_id FROM events WHERE user_id = 'u1'")} == {lone}


def test_a_link_seen_earlier_moves_its_time_and_stays_one_row(store, settings) -> None:
    load(store, settings, [event(5, user_id="u1", anonymous_id="a1")])
    load(store, settings, [event(8, user_id="u1", anonymous_id="a1")])  # nothing new: no graph work
    load(store, settings, [event(2, user_id="u1", anonymous_id="a1")])
    links = store.fetchall("SELECT first_seen, message_id FROM identity_edges")
    assert links == [(event(2)["timestamp"], "m2")]
    assert store.scalar("SELECT count(*) FROM identities") == 2


def test_a_link_between_two_hubs_seen_earlier_stays_one_row(store, settings) -> None:
    # k (anonymous) and s@x.io are both seen with two user ids: hubs; their own link has no cluster.
    load(store, settings, [event(1, user_id="u1", anonymous_id="k", traits={"email": "s@x.io"}),
                           event(2, user_id="u2", anonymous_id="k", traits={"email": "s@x.io"}),
                           event(9, anonymous_id="k", traits={"email": "s@x.io"})])
    assert store.fetchall("SELECT hub FROM identities WHERE value IN ('k', 's@x.io')") == [(True,), (True,)]
    load(store, settings, [event(0, anonymous_id="k", traits={"email": "s@x.io"})])
    links = store.fetchall("SELECT message_id, cluster_id FROM identity_edges WHERE b_value = 'k' "
                           "AND a_value = 's@x.io'")
    assert links == [("m0", None)]
    _evidence(store)


_KEYED_IDENTITIES = """
    CREATE TABLE identities (kind VARCHAR NOT NULL, value VARCHAR NOT NULL, customer_id VARCHAR NOT NULL,
        cluster_id VARCHAR NOT NULL, first_seen TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL,
        hub BOOLEAN NOT NULL DEFAULT false, PRIMARY KEY (kind, value))"""
_KEYED_EDGES = """
    CREATE TABLE identity_edges (a_kind VARCHAR NOT NULL, a_value VARCHAR NOT NULL, b_kind VARCHAR NOT NULL,
        b_value VARCHAR NOT NULL, first_seen TIMESTAMPTZ NOT NULL, message_id VARCHAR, via VARCHAR,
        cluster_id VARCHAR, PRIMARY KEY (a_kind, a_value, b_kind, b_value))"""


def test_a_store_made_with_primary_keys_loads_the_same(tmp_path, settings) -> None:
    """Stores created before ADR 0008 keep their composite keys; resolution must work on them."""
    batches = [[event(1, anonymous_id="a1"), event(2, anonymous_id="k"), event(3, user_id="u9")],
               [event(4, user_id="u1", anonymous_id="a1"), event(5, user_id="u1", anonymous_id="a1"),
                *[event(10 + i, user_id=f"v{i}", anonymous_id="k") for i in range(4)]],
               [event(0, user_id="u1", anonymous_id="a1", traits={"email": "e@x.io"}),
                event(20, user_id="u9"), event(21, user_id="u10")]]  # known, new: no graph work
    results = []
    for keyed in (False, True):
        path = tmp_path / f"{keyed}.duckdb"
        with (old_store(path, ["identities", "identity_edges"], [_KEYED_IDENTITIES, _KEYED_EDGES])
              if keyed else Store(path)) as s:
            for batch in batches:
                load(s, settings, batch)
            merges = s.fetchall("SELECT outcome, count(*) FROM merges GROUP BY 1 ORDER BY 1")
            results.append((_evidence(s), merges))
    assert results[0] == results[1]
    assert results[0][1]  # the batches did merge, so the slow path ran on the keyed tables


def _evidence(store: Store) -> tuple[list[tuple], list[tuple]]:
    """The identity tables in full, after checking each key is held once (no primary key does it)."""
    ids = store.fetchall("SELECT kind, value, customer_id, cluster_id, first_seen, last_seen, hub "
                         "FROM identities ORDER BY kind, value")
    edges = store.fetchall("SELECT * FROM identity_edges ORDER BY a_kind, a_value, b_kind, b_value")
    assert len({r[:2] for r in ids}) == len(ids), "an identifier is stored twice"
    assert len({r[:4] for r in edges}) == len(edges), "a link is stored twice"
    return ids, edges


# -- properties -------------------------------------------------------------------------------

def _events() -> st.SearchStrategy[list[dict]]:
    ident = st.fixed_dictionaries({
        "user_id": st.one_of(st.none(), st.sampled_from(["u1", "u2", "u3"])),
        "anonymous_id": st.sampled_from(["a1", "a2", "a3", "a4"]),
        "email": st.one_of(st.none(), st.sampled_from(["e1@x.io", "e2@x.io"])),
        "minute": st.integers(0, 5),
    })
    return st.lists(ident, min_size=1, max_size=8).map(lambda rows: [
        event(i, user_id=r["user_id"], anonymous_id=r["anonymous_id"], traits={"email": r["email"]},
              timestamp=event(r["minute"])["timestamp"]) for i, r in enumerate(rows)])


def _load_in(tmp_path, settings, batches: list[list[dict]]) -> dict:
    with Store(tmp_path / "p.duckdb") as s:
        for batch in batches:
            load(s, settings, batch)
        result = (_evidence(s), s.fetchall("SELECT message_id, customer_id FROM events ORDER BY 1"))
    (tmp_path / "p.duckdb").unlink()
    return result


@hyp_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_events(), data=st.data())
def test_order_and_batching_do_not_change_the_result(tmp_path, settings, events, data) -> None:
    reference = _load_in(tmp_path, settings, [events])
    shuffled = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(events)), max_size=3)))
    batches = [shuffled[i:j] for i, j in zip([0, *cuts], [*cuts, len(events)], strict=True) if shuffled[i:j]]
    assert _load_in(tmp_path, settings, batches) == reference


@hyp_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_events())
def test_limits_hold_and_reapplying_changes_nothing(tmp_path, settings, events) -> None:
    with Store(tmp_path / "q.duckdb") as s:
        load(s, settings, events)
        for members in _customers(s).values():
            for kind, limit in settings.identity.limits.items():
                assert sum(1 for k, _ in members if k == kind) <= limit
        before = (mapping(s), s.fetchall("SELECT count(*) FROM merges"))
        load(s, settings, events)
        assert (mapping(s), s.fetchall("SELECT count(*) FROM merges")) == before
    (tmp_path / "q.duckdb").unlink()


@hyp_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_events())
def test_grouping_events_by_identity_evidence_changes_nothing(tmp_path, settings, events) -> None:
    """Resolution runs once per distinct evidence (``unify._signatures``); when two evidences share
    a hash it falls back to one row per event. Both must give what the other gives."""
    grouped = _load_in(tmp_path, settings, [events])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(unify_module, "_SIGNATURE", "42::UBIGINT")  # every event "collides"
        per_event = _load_in(tmp_path, settings, [events])
    assert per_event == grouped


def test_a_hash_collision_falls_back_to_one_row_per_event(tmp_path, settings, caplog) -> None:
    events = [event(1, user_id="u1", anonymous_id="a1"), event(2, anonymous_id="a1"),
              event(3, user_id="u2"), event(4, user_id="u1", anonymous_id="a2")]
    grouped = _load_in(tmp_path, settings, [events])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(unify_module, "_SIGNATURE", "42::UBIGINT")
        per_event = _load_in(tmp_path, settings, [events])
    assert "share a hash" in caplog.text
    assert per_event == grouped
    assert len({customer for _, customer in grouped[1]}) == 2  # u1's history joined, u2 apart


def test_a_limits_setting_for_one_kind_keeps_the_other_limits(tmp_path, monkeypatch) -> None:
    """`[identity] limits = {email = 2}` replaced the whole table: user_id lost its limit of 1
    and two user ids sharing an e-mail became one customer."""
    from cxlens.config import load_settings

    monkeypatch.setenv("CXLENS_IDENTITY", '{"limits": {"email": 2}}')
    settings = load_settings(tmp_path / "data")
    assert settings.identity.limits["user_id"] == 1
    with Store(settings.store_path) as store:
        load(store, settings, [event(1, user_id="u1", traits={"email": "shared@x.io"}),
                               event(2, user_id="u2", traits={"email": "shared@x.io"})])
        ids = mapping(store)
    assert ids[("user_id", "u1")] != ids[("user_id", "u2")]
