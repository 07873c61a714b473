"""Deterministic, sticky experiment assignment compatible with GrowthBook's SDKs.

A unit's bucket is a pure function of (seed, unit id): the same unit lands in the same variant in
every process, after every restart, in every GrowthBook SDK, without storing anything. Hashing is
FNV-1a 32-bit over the characters' code points, as GrowthBook's SDK spec defines:

* version 1: ``(fnv1a(unit + seed) mod 1000) / 1000``
* version 2 (default): ``(fnv1a(str(fnv1a(seed + unit))) mod 10000) / 10000`` — the double hash
  removes the correlation between experiments with similar seeds.

On top of the bucket: coverage (share of traffic in the experiment), variant weights as contiguous
ranges of [0, 1), namespaces (mutually exclusive layers: an experiment owns a range of a layer's own
hash), and holdouts (a fixed share of units kept out of every experiment that names the holdout).

The bulk path hashes a numpy array of ids column by column (every unit advances one character per
step), because a per-unit Python loop cannot reach a million units per second.

References
----------
Fowler, Noll, Vo. FNV hash (http://www.isthe.com/chongo/tech/comp/fnv/).
GrowthBook SDK specification and its test cases (growthbook/growthbook packages/sdk-js/test/cases.json).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from cxlens.errors import InvalidInputError
from cxlens.experiments.units import record_first_exposures
from cxlens.store import Store

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
MASK32 = 0xFFFFFFFF
HASH_VERSIONS = (1, 2)


def fnv1a32(text: str) -> int:
    """FNV-1a 32-bit over the code points of ``text`` (as GrowthBook's SDKs hash)."""
    h = FNV_OFFSET
    for ch in text:
        h = ((h ^ ord(ch)) * FNV_PRIME) & MASK32
    return h


def hash_unit(seed: str, value: str, version: int = 2) -> float:
    """The unit's bucket in [0, 1) for this seed (GrowthBook ``hash``)."""
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    if version == 1:
        return (fnv1a32(value + seed) % 1000) / 1000
    raise InvalidInputError(f"hash version {version} is not supported; use 1 or 2", field="hash_version")


def _fnv_columns(h: np.ndarray, codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Continue FNV-1a states ``h`` (in place) over each row of ``codes`` up to that row's length."""
    prime = np.uint32(FNV_PRIME)
    step = np.empty_like(h)
    for j in range(codes.shape[1]):
        np.bitwise_xor(h, codes[:, j], out=step)
        np.multiply(step, prime, out=step)
        live = lengths > j
        if live.all():
            h, step = step, h
        else:
            np.copyto(h, step, where=live)
    return h


def _as_codes(values: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code points (N × max_len, uint32) and lengths of a batch of strings."""
    arr = np.asarray(values)
    if arr.dtype.kind != "U":
        arr = arr.astype(str)
    width = max(arr.dtype.itemsize // 4, 1)
    codes = np.ascontiguousarray(arr).view(np.uint32).reshape(len(arr), width)
    return codes, np.char.str_len(arr)


def _fnv_prefixed(prefix: str, codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    start = np.full(len(codes), fnv1a32(prefix), dtype=np.uint32)
    return _fnv_columns(start, codes, lengths)


def _fnv_decimal(n: np.ndarray) -> np.ndarray:
    """FNV-1a of ``str(n)`` for uint32 values, digit by digit, without building strings."""
    n64 = n.astype(np.int64)
    n_digits = np.floor(np.log10(np.maximum(n64, 1))).astype(np.int64) + 1
    h = np.full(len(n), FNV_OFFSET, dtype=np.uint32)
    step = np.empty_like(h)
    prime = np.uint32(FNV_PRIME)
    for position in range(9, -1, -1):  # most significant digit first; skip leading zeros
        digit = ((n64 // 10**position) % 10 + ord("0")).astype(np.uint32)
        np.bitwise_xor(h, digit, out=step)
        np.multiply(step, prime, out=step)
        np.copyto(h, step, where=n_digits > position)
    return h


def hash_units(seed: str, values: Sequence[str] | np.ndarray, version: int = 2) -> np.ndarray:
    """Vectorised :func:`hash_unit` over many unit ids; returns float64 buckets."""
    codes, lengths = _as_codes(values)
    if version == 2:
        outer = _fnv_decimal(_fnv_prefixed(seed, codes, lengths))
        return (outer % np.uint32(10000)).astype(np.float64) / 10000
    if version == 1:
        h = _fnv_prefixed("", codes, lengths)
        seed_codes = np.frombuffer(seed.encode("utf-32-le"), dtype=np.uint32)
        if len(seed_codes):
            h = _fnv_columns(h, np.broadcast_to(seed_codes, (len(h), len(seed_codes))),
                             np.full(len(h), len(seed_codes)))
        return (h % np.uint32(1000)).astype(np.float64) / 1000
    raise InvalidInputError(f"hash version {version} is not supported; use 1 or 2", field="hash_version")


def bucket_ranges(n_variations: int, coverage: float = 1.0,
                  weights: Sequence[float] | None = None) -> list[tuple[float, float]]:
    """Each variant's [start, end) of the unit interval (GrowthBook ``getBucketRanges``).

    Coverage is clamped to [0, 1]; weights that do not match the variant count or do not sum to 1
    (±0.01) fall back to equal weights, as the SDK spec requires.
    """
    coverage = min(max(coverage, 0.0), 1.0)
    equal = [1.0 / n_variations] * n_variations
    if weights is None or len(weights) != n_variations or not 0.99 <= sum(weights) <= 1.01:
        weights = equal
    ranges, cumulative = [], 0.0
    for w in weights:
        ranges.append((cumulative, cumulative + coverage * w))
        cumulative += w
    return ranges


def choose_variation(bucket: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Index of the range holding ``bucket``, or −1 when it falls in a gap (not in the experiment)."""
    for i, (start, end) in enumerate(ranges):
        if start <= bucket < end:
            return i
    return -1


@dataclass(frozen=True)
class Namespace:
    """A mutual-exclusion layer: experiments in one layer own disjoint [start, end) ranges of it."""

    name: str
    start: float
    end: float

    def contains(self, unit_id: str) -> bool:
        return self.start <= hash_unit("__" + self.name, unit_id, 1) < self.end

    def contains_many(self, unit_ids: Sequence[str] | np.ndarray) -> np.ndarray:
        bucket = hash_units("__" + self.name, unit_ids, 1)
        return (bucket >= self.start) & (bucket < self.end)


@dataclass(frozen=True)
class Holdout:
    """A share of units kept out of every experiment that names this holdout (long-term control)."""

    key: str
    fraction: float

    def holds(self, unit_id: str) -> bool:
        return hash_unit(self.key, unit_id, 2) < self.fraction

    def holds_many(self, unit_ids: Sequence[str] | np.ndarray) -> np.ndarray:
        return hash_units(self.key, unit_ids, 2) < self.fraction


@dataclass(frozen=True)
class Experiment:
    """What decides a unit's variant: key, variants, weights, coverage, layer, holdout, hash."""

    key: str
    variants: tuple[str, ...] = ("control", "treatment")
    weights: tuple[float, ...] | None = None
    coverage: float = 1.0
    namespace: Namespace | None = None
    holdout: Holdout | None = None
    seed: str | None = None
    hash_version: int = 2
    ranges: tuple[tuple[float, float], ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.key:
            raise InvalidInputError("experiment key must not be empty", field="key")
        if len(self.variants) < 2:
            raise InvalidInputError(f"experiment {self.key!r} needs at least two variants", field="variants")
        if self.weights is not None and (len(self.weights) != len(self.variants)
                                         or any(w < 0 for w in self.weights)
                                         or not 0.99 <= sum(self.weights) <= 1.01):
            raise InvalidInputError(f"experiment {self.key!r}: weights must be one non-negative number per "
                                    "variant summing to 1", field="weights")
        if not 0 <= self.coverage <= 1:
            raise InvalidInputError(f"experiment {self.key!r}: coverage must be in [0, 1]", field="coverage")
        if self.hash_version not in HASH_VERSIONS:
            raise InvalidInputError(f"hash version {self.hash_version} is not supported; use 1 or 2",
                                    field="hash_version")
        object.__setattr__(self, "ranges", tuple(bucket_ranges(len(self.variants), self.coverage,
                                                               self.weights)))

    @property
    def hash_seed(self) -> str:
        return self.seed or self.key

    def assign(self, unit_id: str) -> str | None:
        """The unit's variant name, or ``None`` when it is not in the experiment."""
        if not unit_id:
            return None
        if self.holdout is not None and self.holdout.holds(unit_id):
            return None
        if self.namespace is not None and not self.namespace.contains(unit_id):
            return None
        index = choose_variation(hash_unit(self.hash_seed, unit_id, self.hash_version), self.ranges)
        return None if index < 0 else self.variants[index]

    def assign_many(self, unit_ids: Sequence[str] | np.ndarray) -> np.ndarray:
        """Variant index per unit (−1 = not in the experiment), vectorised."""
        ids = np.asarray(unit_ids)
        if ids.dtype.kind != "U":
            ids = ids.astype(str)
        bucket = hash_units(self.hash_seed, ids, self.hash_version)
        index = np.full(len(bucket), -1, dtype=np.int8)
        for i, (start, end) in enumerate(self.ranges):
            index[(bucket >= start) & (bucket < end) & (index < 0)] = i
        index[ids == ""] = -1  # no id, no assignment (as the scalar path and GrowthBook's SDKs)
        if self.holdout is not None:
            index[self.holdout.holds_many(ids)] = -1
        if self.namespace is not None:
            index[~self.namespace.contains_many(ids)] = -1
        return index


def check_layer(experiments: Iterable[Experiment]) -> None:
    """Refuse experiments of one namespace whose ranges overlap (they would not be exclusive)."""
    by_layer: dict[str, list[Experiment]] = {}
    for exp in experiments:
        if exp.namespace is not None:
            by_layer.setdefault(exp.namespace.name, []).append(exp)
    for name, members in by_layer.items():
        members.sort(key=lambda e: e.namespace.start if e.namespace else 0.0)
        for left, right in zip(members, members[1:], strict=False):
            if left.namespace and right.namespace and right.namespace.start < left.namespace.end:
                raise InvalidInputError(f"namespace {name!r}: experiments {left.key!r} and {right.key!r} "
                                        "overlap; give them disjoint ranges", field="namespace")


EXPOSURE_SCHEMA = pa.schema([("experiment_key", pa.string()), ("variant", pa.string()),
                             ("unit_id", pa.string()), ("exposed_at", pa.timestamp("us", tz="UTC"))])


def exposures(experiment: Experiment, unit_ids: Sequence[str] | np.ndarray,
              exposed_at: datetime | None = None) -> pa.Table:
    """Exposure records (one row per unit that is in the experiment) as an Arrow table."""
    when = exposed_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise InvalidInputError("exposed_at must be timezone-aware (UTC)", field="exposed_at")
    ids = np.asarray(unit_ids).astype(str)
    index = experiment.assign_many(ids)
    keep = index >= 0
    count = int(keep.sum())
    names = np.asarray(experiment.variants, dtype=object)[index[keep]]
    stamp = np.datetime64(when.astimezone(UTC).replace(tzinfo=None), "us")
    return pa.table([pa.array([experiment.key] * count, pa.string()), pa.array(names, pa.string()),
                     pa.array(ids[keep], pa.string()),
                     pa.array(np.full(count, stamp), pa.timestamp("us", tz="UTC"))], schema=EXPOSURE_SCHEMA)


def record_exposures(store: Store, table: pa.Table) -> int:
    """Append exposure records to the store's ``exposures`` table; returns the rows written.

    Each unit's first exposure is folded into ``experiment_units`` in the same step, so analyses read
    one row per unit (:mod:`cxlens.experiments.units`).
    """
    missing = [name for name in EXPOSURE_SCHEMA.names if name not in table.column_names]
    if missing:
        raise InvalidInputError(f"exposure records lack columns {missing}", field=missing[0])
    store.register("_cx_new_exposures", table.select(EXPOSURE_SCHEMA.names))
    try:
        store.execute("INSERT INTO exposures SELECT experiment_key, variant, unit_id, exposed_at "
                      "FROM _cx_new_exposures")
        record_first_exposures(store, "_cx_new_exposures")
    finally:
        store.unregister("_cx_new_exposures")
    return table.num_rows
