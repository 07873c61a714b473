"""Data-subject requests: export everything held on a person, or erase it all.

Both start from any identifier (``identity.lookup``), include ids merged into the customer, and
cover every table with a ``customer_id`` column (found in ``information_schema``, so tables the
analytics add later are included), plus what hangs off them (``_LINKED``: order items by order,
follow-up task history and webhook deliveries by task, experiment exposures and units by unit id),
the identity graph by identifier, the merge log by customer id. Erasure then suppresses the person's
identifiers (keyed hashes) so re-sent events are refused. Both are written to the audit log with
a request id, the actor and counts — never the identifier itself.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from cxlens import jsonutil
from cxlens.config import Settings
from cxlens.identity.history import customer_tables
from cxlens.identity.keyed import Hasher
from cxlens.identity.lookup import customer_ids_of, find_customer
from cxlens.privacy.audit import audit, new_request_id
from cxlens.privacy.suppress import suppress
from cxlens.store import Store

log = logging.getLogger(__name__)

_JSON_COLUMNS = {"properties", "traits", "context", "value", "evidence", "attributes", "details"}

# Tables that hold the person under another key than ``customer_id``, as a condition on the
# person's customer ids (``{ids}``, used once). An experiment's unit id is the customer id; a task's
# history holds the agents' notes and its webhook deliveries the signed body naming the customer.
_LINKED = {
    "order_items": "order_id IN (SELECT order_id FROM orders WHERE customer_id IN {ids})",
    "voc_task_history": "task_id IN (SELECT task_id FROM voc_tasks WHERE customer_id IN {ids})",
    "voc_webhook_deliveries": "task_id IN (SELECT task_id FROM voc_tasks WHERE customer_id IN {ids})",
    "exposures": "unit_id IN {ids}",
    "experiment_units": "unit_id IN {ids}",
}


def _decode(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        for key in _JSON_COLUMNS & row.keys():
            if isinstance(row[key], str):
                with contextlib.suppress(jsonutil.JSONDecodeError):
                    row[key] = jsonutil.loads(row[key])
    return rows


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ids_param(ids: list[str]) -> str:
    return "(" + ", ".join("?" for _ in ids) + ")"


def export_person(store: Store, settings: Settings, identifier: str, actor: str) -> dict[str, Any]:
    """Everything held on the person ``identifier`` names, table by table."""
    customer_id = find_customer(store, settings, identifier)
    ids = customer_ids_of(store, customer_id)
    request_id = new_request_id()
    data: dict[str, list[dict[str, Any]]] = {}
    for table in sorted(customer_tables(store)):
        data[table] = _decode(store.records(
            f"SELECT * FROM {_q(table)} WHERE customer_id IN {_ids_param(ids)}", ids))
    data["identities"] = store.records(
        "SELECT kind, value, first_seen, last_seen FROM identities WHERE customer_id = ?", [customer_id])
    for table, condition in _LINKED.items():
        data[table] = store.records(
            f"SELECT * FROM {_q(table)} WHERE {condition.format(ids=_ids_param(ids))}", ids)
    data["merges"] = _decode(store.records(f"""
        SELECT * FROM merges WHERE from_customer_id IN {_ids_param(ids)}
           OR into_customer_id IN {_ids_param(ids)} ORDER BY merged_at""", ids + ids))
    counts = {table: len(rows) for table, rows in data.items()}
    audit(store, actor, "export", request_id, {"counts": counts})
    return {"request_id": request_id, "customer_id": customer_id, "customer_ids": ids, "data": data}


def erase_person(store: Store, settings: Settings, identifier: str, actor: str) -> dict[str, Any]:
    """Delete the person everywhere and suppress their identifiers; returns counts per table."""
    customer_id = find_customer(store, settings, identifier)
    request_id = new_request_id()
    hasher = Hasher.for_data_dir(settings.data_dir)
    counts: dict[str, int] = {}
    with store.transaction():
        ids = customer_ids_of(store, customer_id)
        in_ids = _ids_param(ids)
        identifiers = [(k, v) for k, v in store.fetchall(
            "SELECT kind, value FROM identities WHERE customer_id = ?", [customer_id])]
        for table, condition in _LINKED.items():  # before the tables they hang off
            where = condition.format(ids=in_ids)
            counts[table] = _count(store, f"DELETE FROM {_q(table)} WHERE {where}", ids)
        for table in sorted(customer_tables(store)):
            counts[table] = _count(store, f"DELETE FROM {_q(table)} WHERE customer_id IN {in_ids}", ids)
        store.execute("CREATE OR REPLACE TEMP TABLE _dsar_ids AS SELECT kind, value FROM identities "
                      "WHERE customer_id = ?", [customer_id]).fetchall()
        counts["identity_edges"] = _count(store, """DELETE FROM identity_edges e WHERE
            (a_kind, a_value) IN (SELECT (kind, value) FROM _dsar_ids)
            OR (b_kind, b_value) IN (SELECT (kind, value) FROM _dsar_ids)""")
        counts["identities"] = _count(store, "DELETE FROM identities WHERE customer_id = ?", [customer_id])
        counts["merges"] = _count(store, f"""DELETE FROM merges WHERE from_customer_id IN {in_ids}
            OR into_customer_id IN {in_ids}""", ids + ids)
        store.execute("DROP TABLE _dsar_ids")
        counts["suppressed"] = suppress(store, hasher, identifiers, request_id)
        audit(store, actor, "erase", request_id,
              {"counts": counts, "identifier_kinds": sorted({k for k, _ in identifiers})})
    log.info("erase request %s removed %d rows", request_id, sum(counts.values()))
    return {"request_id": request_id, "counts": counts}


def _count(store: Store, sql: str, params: list[Any] | None = None) -> int:
    rows = store.fetchall(sql, params)
    return int(rows[0][0]) if rows else 0
