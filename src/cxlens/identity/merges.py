"""The merge log: every change of a customer id, with its reason and the links that caused it.

Evidence names identifiers by kind and keyed hash (``Hasher.identifier``), never by value: the log
explains a merge to whoever can see the customer's identifiers (the profile view matches the
hashes back), yet leaks nothing on its own. Its rows go with the person on erasure.

Outcomes: ``identified`` (an anonymous customer gained a stronger identifier), ``merged`` (two
known customers joined), ``moved`` (an identifier changed customer, both customers remain),
``refused`` (a link that would have broken a per-kind limit).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cxlens import jsonutil
from cxlens.config import Settings
from cxlens.identity.identifiers import rank_of
from cxlens.identity.keyed import Hasher
from cxlens.store import Store

MAX_EVIDENCE = 5  # links quoted per merge record: enough to explain it, small enough to read


def _ref(hasher: Hasher, kind: str, value: str) -> dict[str, str]:
    return {"kind": kind, "hash": hasher.identifier(kind, value)}


def _link(hasher: Hasher, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": row["message_id"],
        "via": row["via"],
        "first_seen": row["first_seen"],
        "a": _ref(hasher, row["a_kind"], row["a_value"]),
        "b": _ref(hasher, row["b_kind"], row["b_value"]),
    }


def record_merges(store: Store, hasher: Hasher, settings: Settings) -> dict[str, int]:
    """Write merge records for the resolution in the ``_idr_*`` temp tables; return counts."""
    rows: list[dict[str, Any]] = []
    renames = store.records(f"""
        SELECT r.old, r.new, r.old_kind, n.kind AS new_kind,
               list({{'message_id': e.message_id, 'via': e.via, 'first_seen': e.first_seen,
                     'a_kind': e.a_kind, 'a_value': e.a_value, 'b_kind': e.b_kind, 'b_value': e.b_value}}
                    ORDER BY e.first_seen, e.a_value, e.b_value)[1:{MAX_EVIDENCE}] AS links
        FROM _idr_renames r
        JOIN _idr_result n ON n.customer_id = r.new AND n.anchor
        LEFT JOIN (
            SELECT e.*, ra.old_customer AS a_old, rb.old_customer AS b_old, ra.customer_id AS cust
            FROM _idr_edges e
            JOIN _idr_result ra ON ra.kind = e.a_kind AND ra.value = e.a_value
            JOIN _idr_result rb ON rb.kind = e.b_kind AND rb.value = e.b_value
            WHERE e.new AND ra.customer_id = rb.customer_id
              AND a_old IS DISTINCT FROM b_old) e
          ON e.cust = r.new AND r.old IN (e.a_old, e.b_old)
        GROUP BY r.old, r.new, r.old_kind, n.kind""")
    for r in renames:
        identified = r["old_kind"] == "anonymous_id" and r["new_kind"] != "anonymous_id"
        rows.append({
            "from_customer_id": r["old"], "into_customer_id": r["new"],
            "outcome": "identified" if identified else "merged",
            "reason": (f"anonymous profile identified: linked to a {r['new_kind']}" if identified else
                       f"linked to the customer anchored by a {r['new_kind']} (the stronger identifier)"),
            "evidence": [_link(hasher, link) for link in r["links"] if link["message_id"] is not None],
        })
    moves = store.records("""
        SELECT old, new, list({'kind': kind, 'value': value} ORDER BY kind, value) AS ids
        FROM _idr_moves WHERE old NOT IN (SELECT old FROM _idr_renames) GROUP BY old, new""")
    for m in moves:
        rows.append({
            "from_customer_id": m["old"], "into_customer_id": m["new"], "outcome": "moved",
            "reason": "identifier moved: earlier evidence links it to another customer",
            "evidence": [_ref(hasher, i["kind"], i["value"]) for i in m["ids"]],
        })
    refused = store.records("""
        SELECT ra.customer_id AS a_customer, rb.customer_id AS b_customer, f.kind_rank, e.*
        FROM _idr_refused f JOIN _idr_edges e USING (eid)
        JOIN _idr_result ra ON ra.kind = e.a_kind AND ra.value = e.a_value
        JOIN _idr_result rb ON rb.kind = e.b_kind AND rb.value = e.b_value
        WHERE e.new""")
    kind_of = {r: k for k, r in rank_of(settings).items()}
    for f in refused:
        kind = kind_of.get(f["kind_rank"], "identifier")
        limit = settings.identity.limits.get(kind)
        rows.append({
            "from_customer_id": f["b_customer"], "into_customer_id": f["a_customer"], "outcome": "refused",
            "reason": f"refused: one customer may hold at most {limit} {kind} (settings.identity.limits)",
            "evidence": [_link(hasher, f)],
        })
    if rows:
        table = pa.table({
            "from_customer_id": [r["from_customer_id"] for r in rows],
            "into_customer_id": [r["into_customer_id"] for r in rows],
            "reason": [r["reason"] for r in rows],
            "evidence": [jsonutil.dumps_str(r["evidence"]) for r in rows],
            "outcome": [r["outcome"] for r in rows],
        })
        store.register("_idr_merge_rows", table)
        try:
            store.execute("""
                INSERT INTO merges (merged_at, from_customer_id, into_customer_id, reason, evidence, outcome)
                SELECT now(), from_customer_id, into_customer_id, reason, evidence::JSON, outcome
                FROM _idr_merge_rows""").fetchall()
        finally:
            store.unregister("_idr_merge_rows")
    return {"merges": len(renames), "moved": store.scalar("SELECT count(*) FROM _idr_moves"),
            "refused": len(refused)}
