"""The set-based fast path of resolution: a batch's identifiers that need no graph work.

Most of a bulk load adds no evidence to the graph: its events carry one identifier, or identifiers
that are already linked exactly as stored. A cluster's customers depend only on its evidence
(identifiers, links, link times), so for an identifier outside every cluster that gains a link the
answer is already known:

* **known** (stored, cluster untouched): the stored customer; only ``first_seen``/``last_seen``
  may widen (one ``UPDATE`` of the rows that change).
* **new** (not stored, on no new link): a cluster of its own, its own anchor — exactly what
  ``graph.partition`` gives a node without links, so the customer id is its keyed hash.

Everything else — endpoints of links that are new or seen earlier than stored, and every batch
identifier in the clusters those touch — goes through ``resolve``'s cluster recomputation. The
split itself costs one hash join of the batch's identifiers against ``identities`` and, when the
batch has links, one against ``identity_edges``; no graph, no Python per identifier except the keyed
hash of new ones.

Temp tables on the caller's cursor: ``_idr_bnodes``/``_idr_bedges`` are narrowed to the slow part
(from ``_idr_ball``/``_idr_eall``, all of the batch), ``_idr_bstored`` holds the stored rows of the
batch's slow links (merged and rewritten by the recomputation), ``_idr_clusters`` the stored
clusters to recompute, and ``_idr_fast`` (kind, value, customer_id) the identifiers settled here.
"""

from __future__ import annotations

import pyarrow as pa

from cxlens.identity.keyed import Hasher
from cxlens.store import Store

_KEY = "a_kind, a_value, b_kind, b_value"
_SAME_KEY = " AND ".join(f"{{x}}.{c} = {{y}}.{c}" for c in _KEY.split(", "))


def same_link(x: str, y: str) -> str:
    """SQL: links ``x`` and ``y`` have the same endpoints."""
    return _SAME_KEY.format(x=x, y=y)


def split(store: Store) -> int:
    """Narrow the batch to what needs graph work; returns the number of identifiers that do."""
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_known AS
        SELECT b.kind, b.value, i.customer_id, i.cluster_id, i.first_seen, i.last_seen
        FROM _idr_ball b JOIN identities i USING (kind, value)""")
    if store.scalar("SELECT count(*) FROM _idr_eall"):
        # A link is evidence only when it is new, or seen earlier than stored (link times order the
        # union in a conflicted cluster; the message id breaks ties as in resolve's aggregation).
        store.execute(f"""
            CREATE OR REPLACE TEMP TABLE _idr_bstored AS
            SELECT s.* FROM identity_edges s JOIN _idr_eall b ON {same_link('s', 'b')}""")
        store.execute(f"""
            CREATE OR REPLACE TEMP TABLE _idr_bedges AS
            SELECT b.* FROM _idr_eall b LEFT JOIN _idr_bstored s ON {same_link('s', 'b')}
            WHERE s.first_seen IS NULL OR b.first_seen < s.first_seen
               OR (b.first_seen = s.first_seen AND b.message_id < s.message_id)""")
        store.execute("""
            DELETE FROM _idr_bstored s WHERE NOT EXISTS (
                SELECT 1 FROM _idr_bedges b WHERE b.a_kind = s.a_kind AND b.a_value = s.a_value
                  AND b.b_kind = s.b_kind AND b.b_value = s.b_value)""")
    else:
        store.execute("CREATE OR REPLACE TEMP TABLE _idr_bstored AS FROM identity_edges LIMIT 0")
        store.execute("CREATE OR REPLACE TEMP TABLE _idr_bedges AS FROM _idr_eall")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_seeds AS
        SELECT a_kind AS kind, a_value AS value FROM _idr_bedges
        UNION SELECT b_kind, b_value FROM _idr_bedges""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_clusters AS
        SELECT DISTINCT k.cluster_id FROM _idr_known k JOIN _idr_seeds s USING (kind, value)""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_bfast AS
        SELECT b.kind, b.value, b.first_seen, b.last_seen, k.customer_id,
               k.first_seen AS stored_first, k.last_seen AS stored_last
        FROM _idr_ball b LEFT JOIN _idr_known k ON k.kind = b.kind AND k.value = b.value
        WHERE NOT EXISTS (SELECT 1 FROM _idr_seeds s WHERE s.kind = b.kind AND s.value = b.value)
          AND NOT EXISTS (SELECT 1 FROM _idr_clusters c WHERE c.cluster_id = k.cluster_id)""")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_bnodes AS
        SELECT * FROM _idr_ball b WHERE NOT EXISTS (
            SELECT 1 FROM _idr_bfast f WHERE f.kind = b.kind AND f.value = b.value)""")
    for name in ("_idr_known", "_idr_seeds", "_idr_ball", "_idr_eall"):
        store.execute(f"DROP TABLE {name}")
    return int(store.scalar("SELECT count(*) FROM _idr_bnodes"))


def write_fast(store: Store, hasher: Hasher) -> int:
    """Store the fast identifiers (new rows, widened times); ``_idr_fast`` gets their customers."""
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _idr_widen AS SELECT kind, value, first_seen, last_seen FROM _idr_bfast
        WHERE customer_id IS NOT NULL AND (first_seen < stored_first OR last_seen > stored_last)""")
    if store.scalar("SELECT count(*) FROM _idr_widen"):  # the UPDATE scans identities: skip it if it can
        store.execute("""
            UPDATE identities SET first_seen = least(identities.first_seen, w.first_seen),
                                  last_seen = greatest(identities.last_seen, w.last_seen)
            FROM _idr_widen w WHERE identities.kind = w.kind AND identities.value = w.value""")
    store.execute("DROP TABLE _idr_widen")
    new = store.arrow("SELECT kind, value, first_seen, last_seen FROM _idr_bfast WHERE customer_id IS NULL")
    if new.num_rows:
        # A lone identifier is its own anchor and cluster (graph.partition of a node without links):
        # the same keyed hash names both, as resolve's recomputation would.
        kinds, values = new["kind"].to_pylist(), new["value"].to_pylist()
        suffixes = [hasher.customer_id(k, v)[4:] for k, v in zip(kinds, values, strict=True)]
        store.register("_idr_new", new.append_column(
            "customer_id", pa.array(["cus_" + s for s in suffixes], pa.string())).append_column(
            "cluster_id", pa.array(["cl_" + s for s in suffixes], pa.string())))
        try:
            store.execute("""
                INSERT INTO identities (kind, value, customer_id, cluster_id, first_seen, last_seen, hub)
                SELECT kind, value, customer_id, cluster_id, first_seen, last_seen, false FROM _idr_new""")
            store.execute("""
                CREATE OR REPLACE TEMP TABLE _idr_fast AS
                SELECT kind, value, customer_id FROM _idr_bfast WHERE customer_id IS NOT NULL
                UNION ALL SELECT kind, value, customer_id FROM _idr_new""")
        finally:
            store.unregister("_idr_new")
    else:
        store.execute("CREATE OR REPLACE TEMP TABLE _idr_fast AS "
                      "SELECT kind, value, customer_id FROM _idr_bfast")
    count = int(store.scalar("SELECT count(*) FROM _idr_fast"))
    store.execute("DROP TABLE _idr_bfast")
    return count
