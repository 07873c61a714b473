"""Snapshot columns built in slices answer like the ones built whole (``decide.state``)."""

from __future__ import annotations

from cxlens.decide import state
from cxlens.decide.identities import IdentityMap
from cxlens.decide.state import Column, CustomerState, fetch_in_slices
from cxlens.store import Store


def test_column_from_ordered_slices_matches_a_column_built_whole() -> None:
    pairs = [(f"cus_{n:04d}", None if n % 7 == 0 else n * 1.5) for n in range(50)] + [(None, 3.0)]
    whole = Column(list(reversed(pairs)))
    ordered = sorted((p for p in pairs if p[0] is not None), key=lambda p: str(p[0]))
    sliced = Column.from_slices(ordered[i:i + 8] for i in range(0, len(ordered), 8))
    assert len(sliced) == len(whole) == 50 - 8  # rows without a value (or an id) are left out
    for n in range(-1, 52):
        key = f"cus_{n:04d}"
        assert sliced.get(key) == whole.get(key)
        assert (key in sliced) == (whole.get(key) is not None)
    assert len(Column.from_slices([])) == 0 and Column.from_slices([]).get("cus_0001") is None


def test_fetch_in_slices_reads_every_row_in_bounded_slices(store: Store) -> None:
    store.execute("CREATE TABLE sliced AS SELECT range AS n FROM range(23)")
    slices = list(fetch_in_slices(store, "SELECT n FROM sliced WHERE n < ? ORDER BY n", [23], size=5))
    assert [len(s) for s in slices] == [5, 5, 5, 5, 3]
    assert [n for s in slices for (n,) in s] == list(range(23))


def test_snapshots_rebuilt_in_many_slices_answer_the_same(shop: Store, settings, monkeypatch) -> None:
    whole_ids, whole_state = IdentityMap(shop, settings), CustomerState(shop, settings)
    whole_ids.refresh()
    whole_state.refresh(facts=False)
    monkeypatch.setattr(state, "SLICE_ROWS", 3)  # 60 customers: twenty slices and more
    sliced_ids, sliced_state = IdentityMap(shop, settings), CustomerState(shop, settings)
    sliced_ids.refresh()
    sliced_state.refresh(facts=False)
    assert len(sliced_ids) == len(whole_ids) >= 60
    for c in range(-1, 62):
        for identifier in (f"user_id:u{c}", f"cus_{c:04d}", f"u{c}"):
            assert sliced_ids.resolve(identifier) == whole_ids.resolve(identifier)
        assert sliced_ids.resolve(f"user_id:u{c}") == (f"cus_{c:04d}" if 0 <= c < 60 else None)
        for purpose in ("personalization", "marketing"):
            customer = f"cus_{c:04d}"
            assert sliced_state.granted(purpose, customer) == whole_state.granted(purpose, customer)
