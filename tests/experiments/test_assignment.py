"""Assignment reproduces GrowthBook's SDK spec cases, scalar and vectorised, and is deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from cxlens.errors import InvalidInputError
from cxlens.experiments.assignment import (
    Experiment,
    Holdout,
    Namespace,
    bucket_ranges,
    check_layer,
    choose_variation,
    exposures,
    fnv1a32,
    hash_unit,
    hash_units,
    record_exposures,
)

SPEC = json.loads((Path(__file__).resolve().parents[1] / "cases" / "experiments"
                   / "growthbook_sdk_cases.json").read_text())


def test_fnv1a_reference_vectors() -> None:
    """Offset basis and published FNV-1a 32 values (Noll's FNV test suite: "", "a", "foobar")."""
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


@pytest.mark.parametrize(("seed", "value", "version", "expected"), SPEC["hash"])
def test_hash_matches_growthbook(seed: str, value: str, version: int, expected: float) -> None:
    assert hash_unit(seed, value, version) == expected
    assert hash_units(seed, [value, "other"], version)[0] == expected


def test_vectorised_hash_equals_scalar_on_mixed_ids() -> None:
    ids = [f"u{i}" for i in range(500)] + ["", "ünïcødé-✓", "0", "x" * 40]
    for version in (1, 2):
        assert list(hash_units("exp-1", ids, version)) == [hash_unit("exp-1", u, version) for u in ids]


def test_unsupported_hash_version_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="hash version 99"):
        hash_unit("abc", "def", 99)


@pytest.mark.parametrize("case", SPEC["getBucketRange"], ids=lambda c: c[0])
def test_bucket_ranges_match_growthbook(case: list) -> None:
    _, (n, coverage, weights), expected = case
    got = bucket_ranges(n, coverage, weights)
    assert np.allclose(np.array(got, dtype=float).reshape(-1, 2), np.array(expected, dtype=float))


@pytest.mark.parametrize("case", SPEC["chooseVariation"], ids=lambda c: c[0])
def test_choose_variation_matches_growthbook(case: list) -> None:
    _, bucket, ranges, expected = case
    assert choose_variation(bucket, [tuple(r) for r in ranges]) == expected


@pytest.mark.parametrize("case", SPEC["inNamespace"])
def test_in_namespace_matches_growthbook(case: list) -> None:
    unit, (name, start, end), expected = case
    assert Namespace(name, start, end).contains(unit) is expected
    assert bool(Namespace(name, start, end).contains_many([unit])[0]) is expected


@pytest.mark.parametrize("scenario", ["default weights", "uneven weights", "coverage"])
def test_run_matches_growthbook(scenario: str) -> None:
    run = SPEC["run"]
    case = run[scenario]
    weights = tuple(case["weights"]) if case["weights"] else None
    exp = Experiment(run["key"], ("0", "1"), weights=weights, coverage=case["coverage"],
                     hash_version=run["hash_version"])
    got = {unit: exp.assign(unit) for unit in case["expected"]}
    assert got == {u: None if v is None else str(v) for u, v in case["expected"].items()}
    index = exp.assign_many(list(case["expected"]))
    assert [None if i < 0 else str(i) for i in index] == list(got.values())


@pytest.mark.parametrize("case", SPEC["feature_buckets"], ids=lambda c: c["id"])
def test_feature_rule_buckets(case: dict) -> None:
    bucket = hash_unit(case["seed"], case["id"], case["version"])
    assert bucket == case["bucket"]
    assert choose_variation(bucket, bucket_ranges(case["n_variations"])) == case["variation"]


def test_empty_unit_id_is_not_assigned() -> None:
    exp = Experiment("checkout")
    assert exp.assign("") is None
    assert list(exp.assign_many(["", "user-1"]))[0] == -1


def test_assignment_is_stable_across_processes() -> None:
    code = ("from cxlens.experiments.assignment import Experiment;"
            "print([Experiment('checkout').assign(f'user-{i}') for i in range(50)])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == str([Experiment("checkout").assign(f"user-{i}") for i in range(50)])


def test_weights_coverage_and_holdout_shares() -> None:
    ids = np.array([f"user-{i}" for i in range(40_000)])
    exp = Experiment("pricing", ("a", "b", "c"), weights=(0.5, 0.25, 0.25), coverage=0.8,
                     holdout=Holdout("global-holdout", 0.1))
    index = exp.assign_many(ids)
    share = np.bincount(index + 1, minlength=4) / len(ids)
    in_exp = 0.8 * 0.9
    assert share[1:] == pytest.approx([0.5 * in_exp, 0.25 * in_exp, 0.25 * in_exp], abs=0.01)
    held = Holdout("global-holdout", 0.1).holds_many(ids)
    assert (index[held] == -1).all()


def test_namespaces_make_experiments_mutually_exclusive() -> None:
    ids = np.array([f"user-{i}" for i in range(20_000)])
    left = Experiment("left", namespace=Namespace("checkout", 0.0, 0.5))
    right = Experiment("right", namespace=Namespace("checkout", 0.5, 1.0))
    check_layer([left, right])
    a, b = left.assign_many(ids) >= 0, right.assign_many(ids) >= 0
    assert not (a & b).any() and (a | b).all()
    with pytest.raises(InvalidInputError, match="overlap"):
        check_layer([left, Experiment("third", namespace=Namespace("checkout", 0.4, 0.6))])


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"key": ""}, "key"), ({"key": "k", "variants": ("only",)}, "two variants"),
    ({"key": "k", "weights": (0.9, 0.3)}, "weights"), ({"key": "k", "coverage": 1.5}, "coverage"),
])
def test_experiment_validates(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        Experiment(**kwargs)


def test_exposures_are_recorded_in_the_store(store) -> None:
    exp = Experiment("banner")
    table = exposures(exp, [f"c{i}" for i in range(100)], datetime(2026, 1, 1, tzinfo=UTC))
    assert record_exposures(store, table) == 100
    rows = dict(store.fetchall("SELECT variant, count(*) FROM exposures GROUP BY variant"))
    assert sum(rows.values()) == 100
    assert rows == {v: sum(exp.assign(f"c{i}") == v for i in range(100)) for v in rows}
