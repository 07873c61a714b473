"""Profile upkeep at load time: channel counts, first/last seen and traits are one row per key
(kept by ``profiles.update``, not by a primary key), whatever the order and batching of events,
and stores created with the old composite keys load to the same result."""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from tests.identity.support import event, load, old_store

from cxlens.store import Store


def _profile_tables(store: Store) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """profiles, profile_channels and traits in full, after checking each key is held once."""
    profiles = store.fetchall("SELECT customer_id, first_seen, last_seen FROM profiles ORDER BY 1")
    channels = store.fetchall("SELECT customer_id, channel, events FROM profile_channels ORDER BY 1, 2")
    traits = store.fetchall("SELECT customer_id, name, value, source, updated_at FROM traits ORDER BY 1, 2")
    assert len({r[0] for r in profiles}) == len(profiles), "a profile is stored twice"
    assert len({r[:2] for r in channels}) == len(channels), "a channel count is stored twice"
    assert len({r[:2] for r in traits}) == len(traits), "a trait is stored twice"
    return profiles, channels, traits


def _events() -> st.SearchStrategy[list[dict]]:
    # Each anonymous id belongs to one person (a user id and an e-mail at most): customers merge
    # (their traits combine) but no identifier moves between people, which moves events, not traits.
    row = st.fixed_dictionaries({
        "anonymous_id": st.sampled_from(["a1", "a2", "a3"]),
        "known": st.booleans(),
        "with_email": st.booleans(),
        "plan": st.one_of(st.none(), st.sampled_from(["free", "pro", "team"])),
        "channel": st.sampled_from(["web", "app", None]),
        "minute": st.integers(0, 4),
    })

    def build(rows: list[dict]) -> list[dict]:
        out = []
        for i, r in enumerate(rows):
            person = {"a1": "1", "a2": "2", "a3": None}[r["anonymous_id"]]
            user_id = f"u{person}" if person and r["known"] else None
            traits = {"email": f"e{person}@x.io"} if person and r["with_email"] else {}
            if r["plan"] is not None:
                traits["plan"] = r["plan"]
            out.append(event(i, type="identify" if traits else "track", user_id=user_id,
                             anonymous_id=r["anonymous_id"], traits=traits or None, channel=r["channel"],
                             timestamp=event(r["minute"])["timestamp"]))
        return out

    return st.lists(row, min_size=1, max_size=10).map(build)


def _load_in(tmp_path, settings, batches: list[list[dict]]) -> tuple:
    with Store(tmp_path / "p.duckdb") as s:
        for batch in batches:
            load(s, settings, batch)
        result = _profile_tables(s)
    (tmp_path / "p.duckdb").unlink()
    return result


@hyp_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_events(), data=st.data())
def test_order_and_batching_do_not_change_profiles(tmp_path, settings, events, data) -> None:
    reference = _load_in(tmp_path, settings, [events])
    shuffled = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(events)), max_size=3)))
    batches = [shuffled[i:j] for i, j in zip([0, *cuts], [*cuts, len(events)], strict=True) if shuffled[i:j]]
    assert _load_in(tmp_path, settings, batches) == reference


def test_counts_add_up_and_the_newest_trait_wins_across_batches(store, settings) -> None:
    load(store, settings, [event(1, user_id="u1", channel="web"), event(2, user_id="u1", channel="app"),
                           event(3, type="identify", user_id="u1", traits={"plan": "pro"})])
    load(store, settings, [event(4, user_id="u1", channel="web"), event(5, user_id="u1", channel=None),
                           event(0, type="identify", user_id="u1", traits={"plan": "free", "seats": 3})])
    _, channels, traits = _profile_tables(store)
    assert [(c, n) for _, c, n in channels] == [("", 1), ("app", 1), ("web", 4)]
    assert [(name, value) for _, name, value, _, _ in traits] == [("plan", '"pro"'), ("seats", "3")]


_KEYED = (
    """CREATE TABLE profile_channels (customer_id VARCHAR NOT NULL, channel VARCHAR NOT NULL,
        events BIGINT NOT NULL, PRIMARY KEY (customer_id, channel))""",
    "CREATE INDEX profile_channels_customer ON profile_channels (customer_id)",
    """CREATE TABLE traits (customer_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value JSON,
        source VARCHAR, updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (customer_id, name))""",
    "CREATE INDEX traits_customer ON traits (customer_id)",
)


def test_a_store_made_with_composite_keys_loads_the_same(tmp_path, settings) -> None:
    """Stores created before the keys were dropped keep them; upkeep must work on them."""
    batches = [[event(1, anonymous_id="a1", channel="web", type="identify", traits={"plan": "free"}),
                event(2, user_id="u2", channel="app")],
               [event(3, user_id="u1", anonymous_id="a1", type="identify", traits={"plan": "pro"}),
                event(4, user_id="u2", channel="web", type="identify", traits={"plan": "team"})],
               [event(0, user_id="u1", type="identify", traits={"plan": "old", "seats": 2}),
                event(5, anonymous_id="a1", channel="web")]]
    results = []
    for keyed in (False, True):
        path = tmp_path / f"{keyed}.duckdb"
        with old_store(path, ["profile_channels", "traits"], _KEYED) if keyed else Store(path) as s:
            for batch in batches:
                load(s, settings, batch)
            results.append(_profile_tables(s))
        with Store(tmp_path / f"{keyed}.duckdb") as s:  # reopening keeps the old keys working
            load(s, settings, [event(6, user_id="u1", channel="web", type="identify", traits={"plan": "x"})])
            results.append(_profile_tables(s))
    assert results[0] == results[2] and results[1] == results[3]
    assert len(results[0][0]) == 2  # the anonymous profile merged into u1's
