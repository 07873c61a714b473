"""The canonical constrained union: evidence (identifiers and links) → customers.

Pure arrays in, arrays out; no store. Nodes are numbered in strength order (priority of their kind,
then value), so "the strongest identifier of a group" is simply its smallest number. The answer
depends only on the evidence, never on the order it arrived in:

1. *Hubs*: an identifier directly linked to more identifiers of one kind than a customer may hold
   of that kind (a shared kiosk anonymous id seen with many user ids) is ambiguous; it keeps its own
   customer and links nothing. Once a hub, always a hub (evidence only grows).
2. *Clusters*: connected components over the links between non-hub identifiers
   (scipy.sparse.csgraph). A cluster is the unit of incremental work.
3. *Customers*: a cluster that respects every per-kind limit is one customer (the fast path, almost
   every cluster). Otherwise links are unioned Kruskal-style in canonical order — earliest first
   seen, then identifier order — and a link whose union would exceed a limit is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

NO_LIMIT = np.iinfo(np.int64).max


@dataclass
class Partition:
    hub: np.ndarray          # bool per node
    cluster: np.ndarray      # per node: smallest node number of its cluster
    customer: np.ndarray     # per node: smallest node number (the anchor) of its customer
    refused: np.ndarray      # indices of links refused because of a limit
    refused_kind: np.ndarray  # per refused link: the kind whose limit it would have broken


def _group_min(labels: np.ndarray, n: int) -> np.ndarray:
    """Per node, the smallest node number carrying the same label."""
    smallest = np.full(labels.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n, dtype=np.int64))
    return smallest[labels]


def partition(
    kind: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    first_seen: np.ndarray,
    limits: np.ndarray,
    hub: np.ndarray | None = None,
) -> Partition:
    """Partition nodes ``0..n-1`` (``kind[i]`` a small int) linked by edges ``a[j]–b[j]``.

    ``limits[k]`` is the most identifiers of kind ``k`` one customer may hold; ``hub`` marks nodes
    already known to be hubs. Edges must be distinct pairs.
    """
    n = len(kind)
    n_kinds = len(limits)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Partition(np.zeros(0, dtype=bool), empty, empty, empty, empty)
    kind = kind.astype(np.int64)
    degree = np.bincount(np.concatenate([a * n_kinds + kind[b], b * n_kinds + kind[a]]),
                         minlength=n * n_kinds).reshape(n, n_kinds)
    # asarray: numpy's stubs type a reduction along an axis as "scalar or array"; here it is an array.
    is_hub = np.asarray((degree > limits[None, :]).any(axis=1))
    if hub is not None:
        is_hub |= hub
    keep = ~(is_hub[a] | is_hub[b])
    graph = coo_matrix((np.ones(int(keep.sum()), dtype=np.int8), (a[keep], b[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    cluster = _group_min(labels, n)

    counts = np.bincount(cluster * n_kinds + kind, minlength=n * n_kinds).reshape(n, n_kinds)
    conflicted = np.asarray((counts > limits[None, :]).any(axis=1))  # indexed by cluster representative
    customer = cluster.copy()
    refused: list[tuple[int, int]] = []
    if conflicted.any():
        in_conflict = keep & conflicted[cluster[a]]
        edges = np.flatnonzero(in_conflict)
        order = np.lexsort((b[edges], a[edges], first_seen[edges]))
        refused = _kruskal(edges[order], a, b, kind, limits, conflicted[cluster], customer)
    refused.sort()
    return Partition(hub=is_hub, cluster=cluster, customer=customer,
                     refused=np.array([e for e, _ in refused], dtype=np.int64),
                     refused_kind=np.array([k for _, k in refused], dtype=np.int64))


def _kruskal(edges: np.ndarray, a: np.ndarray, b: np.ndarray, kind: np.ndarray, limits: np.ndarray,
             involved: np.ndarray, customer: np.ndarray) -> list[tuple[int, int]]:
    """Union ``edges`` in the given order unless a limit breaks; fills ``customer`` for ``involved``.

    Written by hand (no library offers a constrained union-find); it only ever sees the rare
    clusters that break a limit, and tests check its invariants against brute force.
    """
    parent: dict[int, int] = {}
    counts: dict[int, np.ndarray] = {}
    n_kinds = len(limits)

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def count(root: int) -> np.ndarray:
        if root not in counts:
            counts[root] = np.bincount([kind[root]], minlength=n_kinds)
        return counts[root]

    refused = []
    for e in edges.tolist():
        ra, rb = find(int(a[e])), find(int(b[e]))
        if ra == rb:
            continue
        joined = count(ra) + count(rb)
        broken = np.flatnonzero(joined > limits)
        if len(broken):
            refused.append((e, int(broken[0])))
            continue
        root, child = (ra, rb) if ra < rb else (rb, ra)  # the smaller number is the anchor
        parent[child] = root
        counts[root] = joined
    for node in np.flatnonzero(involved).tolist():
        customer[node] = find(node)
    return refused
