"""Incremental identity resolution against the store.

A batch only touches the clusters of its identifiers, and most of its identifiers touch none:
``known.split`` settles those set-based (known identifiers keep their customer, lone new ones are
their own), and only the rest — endpoints of new links and the clusters they join — is
recomputed: load those clusters' identities and links (small), add the batch's evidence, recompute
them canonically (``graph.partition``), and write back the difference. Because a cluster's result
depends only on its evidence, any order or batching of the same events ends in the same
identifier → customer mapping.

Uniqueness of ``identities`` (kind, value) and ``identity_edges`` (its endpoints) is kept by this
module, not by primary keys (ART upkeep was the largest single cost of a bulk load, ADR 0008): a
recomputed cluster's rows are deleted before they are written again, and the fast path inserts only
identifiers that were not stored.

Results are left in temp tables on the caller's cursor (the caller holds the transaction):
``_idr_assign`` (kind, value, customer_id) for every touched identifier, ``_idr_anchor_customer``
(rid, id_kind, id_value, customer_id) per row, ``_idr_moves`` (kind, value, old, new) and
``_idr_renames`` (old, new) — customer ids that disappeared, and where their history goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.config import Settings
from cxlens.identity.graph import NO_LIMIT, partition
from cxlens.identity.identifiers import rank_of
from cxlens.identity.keyed import Hasher
from cxlens.identity.known import same_link, split, write_fast
from cxlens.identity.merges import record_merges
from cxlens.store import Store

log = logging.getLogger(__name__)


@dataclass
class Resolution:
    identifiers: int      # identifiers touched (new or recomputed)
    merges: int           # customers that disappeared into another one
    moved: int            # identifiers that changed customer
    refused: int          # new links refused because of a limit


def rank_sql(settings: Settings, column: str = "kind") -> str:
    ranks = rank_of(settings)
    whens = " ".join(f"WHEN '{k}' THEN {r}" for k, r in ranks.items())
    return f"CASE {column} {whens} ELSE {len(ranks)} END"


def resolve(store: Store, settings: Settings, hasher: Hasher, ids: str, events: str) -> Resolution:
    """Resolve the identifiers in ``ids`` (rid, kind, value) of the rows in ``events`` (rid,
    message_id, type, first_seen, last_seen). A row is one event, or several with the same
    identifiers and type: then ``first_seen``/``last_seen`` span them and ``message_id`` is the
    earliest one's (smallest by time, then id), which is all that resolution reads of them."""
    rank = rank_sql(settings)
    store.execute(f"""
        CREATE OR REPLACE TEMP TABLE _idr_ids AS
        SELECT i.rid, i.kind, i.value, {rank} AS rank, e.first_seen, e.last_seen, e.message_id, e.type
        FROM (SELECT DISTINCT rid, kind, value FROM {ids}) i JOIN {events} e USING (rid)""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_anchor AS
        SELECT rid, arg_min(kind, (rank, value)) AS id_kind, arg_min(value, (rank, value)) AS id_value
        FROM _idr_ids GROUP BY rid""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_ball AS
        SELECT kind, value, min(first_seen) AS first_seen, max(last_seen) AS last_seen
        FROM _idr_ids GROUP BY kind, value""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_eall AS
        SELECT n.id_kind AS a_kind, n.id_value AS a_value, i.kind AS b_kind, i.value AS b_value,
               min(i.first_seen) AS first_seen,
               arg_min(i.message_id, (i.first_seen, i.message_id)) AS message_id,
               arg_min(i.type, (i.first_seen, i.message_id)) AS via
        FROM _idr_ids i JOIN _idr_anchor n USING (rid)
        WHERE NOT (i.kind = n.id_kind AND i.value = n.id_value)
        GROUP BY ALL""")
    store.execute("DROP TABLE _idr_ids")  # one row per row and identifier: free it now
    if split(store):
        _load_affected(store)
        resolution = _recompute(store, settings, hasher)
    else:  # nothing new links anything: no graph work at all
        for name, columns in (("_idr_assign", "kind VARCHAR, value VARCHAR, customer_id VARCHAR"),
                              ("_idr_moves", "kind VARCHAR, value VARCHAR, old VARCHAR, new VARCHAR"),
                              ("_idr_renames", "old VARCHAR, new VARCHAR, old_kind VARCHAR")):
            store.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
        resolution = Resolution(identifiers=0, merges=0, moved=0, refused=0)
    resolution.identifiers += write_fast(store, hasher)
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_anchor_customer AS
        SELECT a.rid, a.id_kind, a.id_value, s.customer_id
        FROM _idr_anchor a JOIN (SELECT * FROM _idr_assign UNION ALL SELECT * FROM _idr_fast) s
          ON s.kind = a.id_kind AND s.value = a.id_value""")
    return resolution


def _load_affected(store: Store) -> None:
    """The stored clusters the batch touches (``known.split``): their identities and links, the
    stored rows of the batch's links, and hub endpoints."""
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_oedges AS
        SELECT a_kind, a_value, b_kind, b_value, first_seen, message_id, via FROM identity_edges
        WHERE cluster_id IN (SELECT cluster_id FROM _idr_clusters)
        UNION ALL
        SELECT a_kind, a_value, b_kind, b_value, first_seen, message_id, via FROM _idr_bstored""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_onodes AS
        SELECT kind, value, customer_id, first_seen, last_seen, hub, true AS touched FROM identities
        WHERE cluster_id IN (SELECT cluster_id FROM _idr_clusters)
        UNION ALL
        SELECT i.kind, i.value, i.customer_id, i.first_seen, i.last_seen, i.hub, false FROM identities i
        JOIN (SELECT a_kind AS kind, a_value AS value FROM _idr_oedges
              UNION SELECT b_kind, b_value FROM _idr_oedges) p USING (kind, value)
        WHERE i.cluster_id NOT IN (SELECT cluster_id FROM _idr_clusters)""")


def _recompute(store: Store, settings: Settings, hasher: Hasher) -> Resolution:
    rank = rank_sql(settings)
    store.execute(f"""
        CREATE OR REPLACE TEMP TABLE _idr_nodes AS
        SELECT row_number() OVER (ORDER BY {rank}, value) - 1 AS nid, {rank} AS rank, *
        FROM (SELECT kind, value, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
                     bool_or(hub) AS hub, max(customer_id) AS old_customer, bool_or(touched) AS touched
              FROM (SELECT kind, value, first_seen, last_seen, hub, customer_id, touched FROM _idr_onodes
                    UNION ALL
                    SELECT kind, value, first_seen, last_seen, false, NULL, true FROM _idr_bnodes)
              GROUP BY kind, value)""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_edges AS
        SELECT row_number() OVER () - 1 AS eid, na.nid AS a, nb.nid AS b, e.*
        FROM (SELECT a_kind, a_value, b_kind, b_value, min(first_seen) AS first_seen,
                     arg_min(message_id, (first_seen, message_id)) AS message_id,
                     arg_min(via, (first_seen, message_id)) AS via, bool_and(new) AS new
              FROM (SELECT *, false AS new FROM _idr_oedges
                    UNION ALL SELECT *, true FROM _idr_bedges)
              GROUP BY a_kind, a_value, b_kind, b_value) e
        JOIN _idr_nodes na ON na.kind = e.a_kind AND na.value = e.a_value
        JOIN _idr_nodes nb ON nb.kind = e.b_kind AND nb.value = e.b_value""")
    nodes = store.arrow("SELECT nid, rank, kind, value, hub FROM _idr_nodes ORDER BY nid")
    edges = store.arrow("SELECT eid, a, b, epoch_us(first_seen) AS t FROM _idr_edges ORDER BY eid")
    ranks = rank_of(settings)
    limits = np.full(len(ranks) + 1, NO_LIMIT, dtype=np.int64)
    for kind, limit in settings.identity.limits.items():
        if kind in ranks:
            limits[ranks[kind]] = limit
    part = partition(
        kind=nodes["rank"].to_numpy(),
        a=edges["a"].to_numpy().astype(np.int64),
        b=edges["b"].to_numpy().astype(np.int64),
        first_seen=edges["t"].to_numpy(),
        limits=limits,
        hub=nodes["hub"].to_numpy(zero_copy_only=False),
    )
    anchors = np.unique(part.customer)
    kinds, values = nodes["kind"].to_pylist(), nodes["value"]
    suffix = {int(n): hasher.customer_id(kinds[n], v)[4:]
              for n, v in zip(anchors.tolist(), values.take(pa.array(anchors)).to_pylist(), strict=True)}
    customer_ids = pa.array([suffix[int(n)] for n in part.customer.tolist()], pa.string())
    cluster_ids = pa.array([suffix[int(n)] for n in part.cluster.tolist()], pa.string())
    store.register("_idr_part", pa.table({
        "nid": nodes["nid"],
        "customer_id": pc.binary_join_element_wise("cus_", customer_ids, ""),
        "cluster_id": pc.binary_join_element_wise("cl_", cluster_ids, ""),
        "new_hub": pa.array(part.hub),
        "anchor": pa.array(part.customer == np.arange(len(part.customer))),
    }))
    store.register("_idr_refused", pa.table({"eid": pa.array(part.refused, pa.int64()),
                                             "kind_rank": pa.array(part.refused_kind, pa.int64())}))
    try:
        return _write(store, hasher, settings)
    finally:
        store.unregister("_idr_part")
        store.unregister("_idr_refused")


def _write(store: Store, hasher: Hasher, settings: Settings) -> Resolution:
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_result AS
        SELECT n.kind, n.value, n.rank, n.first_seen, n.last_seen, n.old_customer, n.touched,
               p.customer_id, p.cluster_id, p.new_hub AS hub, p.anchor
        FROM _idr_nodes n JOIN _idr_part p USING (nid)""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_assign AS
        SELECT kind, value, customer_id FROM _idr_result WHERE touched""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_moves AS
        SELECT kind, value, old_customer AS old, customer_id AS new FROM _idr_result
        WHERE touched AND old_customer IS NOT NULL AND old_customer <> customer_id""")
    # A customer id follows its anchor (its strongest identifier, the smallest of its old members):
    # when the anchor now belongs to another customer, the old id is gone and all of its history
    # goes where the anchor went.
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_renames AS
        SELECT * FROM (
            SELECT old_customer AS old, arg_min(customer_id, (rank, value)) AS new,
                   arg_min(kind, (rank, value)) AS old_kind
            FROM _idr_result WHERE old_customer IS NOT NULL GROUP BY old_customer)
        WHERE old <> new""")
    store.execute("""
        DELETE FROM identity_edges WHERE cluster_id IN (SELECT cluster_id FROM _idr_clusters)""")
    store.execute("""
        DELETE FROM identities WHERE cluster_id IN (SELECT cluster_id FROM _idr_clusters)""")
    store.execute("""
        INSERT INTO identities (kind, value, customer_id, cluster_id, first_seen, last_seen, hub)
        SELECT kind, value, customer_id, cluster_id, first_seen, last_seen, hub
        FROM _idr_result WHERE touched""")
    # Stored rows of the batch's links outside the recomputed clusters (both ends hubs: no cluster)
    # were merged into _idr_edges too: they go before it is written back, so each link stays one row.
    if store.scalar("""SELECT count(*) FROM _idr_bstored WHERE cluster_id IS NULL
                       OR cluster_id NOT IN (SELECT cluster_id FROM _idr_clusters)"""):
        store.execute(f"DELETE FROM identity_edges s USING _idr_bstored b WHERE {same_link('s', 'b')}")
    store.execute("""
        INSERT INTO identity_edges
        SELECT e.a_kind, e.a_value, e.b_kind, e.b_value, e.first_seen, e.message_id, e.via,
               CASE WHEN NOT ra.hub THEN ra.cluster_id WHEN NOT rb.hub THEN rb.cluster_id END
        FROM _idr_edges e
        JOIN _idr_result ra ON ra.kind = e.a_kind AND ra.value = e.a_value
        JOIN _idr_result rb ON rb.kind = e.b_kind AND rb.value = e.b_value""")
    counts = record_merges(store, hasher, settings)
    touched = store.scalar("SELECT count(*) FROM _idr_assign")
    return Resolution(identifiers=touched, **counts)
