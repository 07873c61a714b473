"""The store: transactions in one process take turns instead of failing each other at commit."""

from __future__ import annotations

import threading

import pytest

from cxlens.store import Store


def test_concurrent_transactions_upserting_the_same_row_both_commit(tmp_path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.execute("CREATE TABLE counters (name VARCHAR PRIMARY KEY, n INTEGER)")
        store.execute("INSERT INTO counters VALUES ('hits', 0)")
        errors: list[BaseException] = []

        def bump() -> None:
            try:
                for _ in range(20):
                    with store.transaction():
                        n = store.scalar("SELECT n FROM counters WHERE name = 'hits'")
                        store.execute("UPDATE counters SET n = ? WHERE name = 'hits'", [n + 1])
            except BaseException as exc:  # a conflict would land here
                errors.append(exc)

        threads = [threading.Thread(target=bump) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.scalar("SELECT n FROM counters WHERE name = 'hits'") == 80


def test_a_failed_transaction_rolls_back_and_frees_the_turn(tmp_path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.execute("CREATE TABLE t (x INTEGER)")
        try:
            with store.transaction():
                store.execute("INSERT INTO t VALUES (1)")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        with store.transaction():
            store.execute("INSERT INTO t VALUES (2)")
        assert store.fetchall("SELECT x FROM t") == [(2,)]


def test_a_parsed_statement_runs_again_with_new_parameters_in_every_thread(tmp_path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.execute("CREATE TABLE t AS SELECT i, 'v' || i AS v FROM range(1000) t(i)")
        store.execute("CREATE INDEX t_v ON t (v)")
        read = store.statement("SELECT i FROM t WHERE v = ?")
        assert store.statement("SELECT i FROM t WHERE v = ?") is read  # parsed once per store
        errors: list[BaseException] = []

        def reads(k: int) -> None:
            try:
                for j in range(k, 1000, 7):
                    assert store.fetchall(read, [f"v{j}"]) == [(j,)]
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=reads, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        store.execute("ALTER TABLE t ADD COLUMN w INTEGER")  # bound per run: schema changes are seen
        assert store.records(read, ["v5"]) == [{"i": 5}]
        with pytest.raises(ValueError, match="exactly one"):
            store.statement("SELECT 1; SELECT 2")


def test_reading_a_store_that_does_not_exist_says_so_not_that_it_is_busy(tmp_path) -> None:
    """A read-only command on a fresh data directory blamed a running `cxlens serve` that
    does not exist; the store is simply not there yet."""
    from cxlens.errors import NotFoundError

    path = tmp_path / "nowhere" / "cxlens.duckdb"
    with pytest.raises(NotFoundError, match=f"no store at {path}"):
        Store(path, read_only=True)
    assert not path.parent.exists()
