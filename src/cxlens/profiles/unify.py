"""unify: turn a batch of collected events into events of known customers.

Called by ``cxlens.collect.pipeline.load_events`` inside its transaction, after de-duplication and
before the batch is inserted into ``events`` (so the history already stored is what moves). Every
step is set-based SQL over the columns of the batch it needs (registered from Arrow); the answer
is put back on the Arrow batch by row number, so the batch is never copied through DuckDB. Python
runs only per distinct phone number, per customer (its keyed id), per cluster that breaks a limit,
and per refused event that is anonymized. Cost and the reasons for this shape: ADR 0003.

Steps: group events with the same identity evidence (``_signatures``; identifiers are read and
resolved once per group) → read identifiers → drop events of erased people → read consent choices →
resolve identities (and move history) → record choices → apply the consent policy to refused
people → update profiles and traits → hand back the batch with ``id_kind``, ``id_value``,
``customer_id``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxlens.config import Settings
from cxlens.errors import InvalidInputError
from cxlens.identity.history import move_history
from cxlens.identity.identifiers import identifier_sql, normalize_phones, sql_may_hold
from cxlens.identity.keyed import Hasher
from cxlens.identity.resolve import resolve
from cxlens.privacy.anonymize import anonymize_record
from cxlens.privacy.consent import LATEST_GRANTED, choices_sql, sync_defaults
from cxlens.privacy.suppress import mark_suppressed
from cxlens.profiles.update import apply_events, combine_renamed, recount
from cxlens.store import Store

log = logging.getLogger(__name__)

# The event columns unify reads or fills (the record contract is collect.records.EVENT_SCHEMA).
REQUIRED = ("message_id", "type", "user_id", "anonymous_id", "id_kind", "id_value", "customer_id",
            "channel", "source", "timestamp", "properties", "traits", "context", "previous_id",
            "anonymized")

# The columns of the batch that SQL reads (the rest stays in Arrow).
_READ = ("message_id", "type", "user_id", "anonymous_id", "previous_id", "channel", "source", "timestamp",
         "traits", "context")

# The context keys unify reads (identifier sources, consent, traits); other contexts are not copied.
_CONTEXT_KEYS = {"traits", "externalIds", "consent"}

_TEMP = ("_ux_ev", "_ux_sig", "_ux_raw", "_ux_ids", "_ux_drop", "_ux_choice", "_ux_refused",
         "_ux_out", "_ux_affected", "_idr_ids", "_idr_ball", "_idr_eall", "_idr_known", "_idr_bstored",
         "_idr_seeds", "_idr_bfast", "_idr_fast", "_idr_widen", "_idr_anchor", "_idr_bnodes", "_idr_bedges",
         "_idr_clusters", "_idr_oedges", "_idr_onodes", "_idr_nodes", "_idr_edges", "_idr_result",
         "_idr_assign", "_idr_moves", "_idr_renames", "_idr_anchor_customer", "_hist_msgs", "_sup_hit")


@dataclass
class UnifyResult:
    batch: pa.Table          # EVENT_SCHEMA rows to insert: id_kind/id_value/customer_id filled
    dropped_suppressed: int
    dropped_refused: int
    anonymized: int
    merges: int


def unify(store: Store, settings: Settings, batch: pa.Table) -> UnifyResult:
    """Resolve, screen and profile ``batch`` (EVENT_SCHEMA); see the module docstring."""
    missing = [n for n in REQUIRED if n not in batch.schema.names]
    if missing:
        raise InvalidInputError(
            f"unify needs an Arrow table with EVENT_SCHEMA (build it with collect.records.to_arrow); "
            f"missing columns: {missing}", field="batch")
    if batch.num_rows == 0:
        return UnifyResult(batch, 0, 0, 0, 0)
    hasher = Hasher.for_data_dir(settings.data_dir)
    sync_defaults(store, settings)
    # Only the columns unify reads go to SQL, with ``rid`` = Arrow row number + 1: the batch itself
    # (properties and all) is never copied into DuckDB and back; the answer is put on it in Arrow.
    rid = pa.array(np.arange(1, batch.num_rows + 1, dtype=np.int64))
    store.register("_ux_in", batch.select(list(_READ)).append_column("rid", rid))
    try:
        return _unify(store, settings, hasher, batch)
    finally:
        store.unregister("_ux_in")
        for name in _TEMP:
            store.execute(f"DROP TABLE IF EXISTS {name}")


# The columns that decide which identifiers an event carries and how it links them (``context`` is
# already NULL unless it may hold identifiers, consent or traits).
_EVIDENCE = ("type", "user_id", "anonymous_id", "previous_id", "traits", "context")
_SIGNATURE = f"hash({', '.join(_EVIDENCE)})"


def _signatures(store: Store) -> None:
    """``_ux_sig``: one row per distinct identity evidence of the batch, numbered by its hash
    (``rid``, the ``sig`` of its events), with the times and first message of its events.

    Identifier extraction and resolution run on these rows instead of on every event: a bulk load
    repeats the same few identifiers over and over (a million events of 100,000 people are
    100,000 signatures), and what resolution needs of a group of events with the same evidence —
    first and last time, and the earliest (time, message id) with its type for a link — is exactly
    the group's min, max and arg_min. If two different evidences ever share a hash, every event
    becomes its own signature (``sig`` = ``rid``), which is the per-event resolution itself.
    """
    evidence = ", ".join(_EVIDENCE)
    aggregate = f"""
        SELECT sig AS rid, {evidence}, min(timestamp) AS first_seen, max(timestamp) AS last_seen,
               arg_min(message_id, (timestamp, message_id)) AS message_id
        FROM _ux_ev GROUP BY sig, {evidence}"""
    store.execute(f"CREATE OR REPLACE TEMP TABLE _ux_sig AS {aggregate}")
    if store.scalar("SELECT count(*) - count(DISTINCT rid) FROM _ux_sig"):
        log.warning("unify: two identity signatures share a hash; resolving this batch per event")
        store.execute("UPDATE _ux_ev SET sig = rid")
        store.execute(f"CREATE OR REPLACE TEMP TABLE _ux_sig AS {aggregate}")


def _identifiers(store: Store, settings: Settings) -> None:
    store.execute(f"CREATE OR REPLACE TEMP TABLE _ux_raw AS {identifier_sql(settings, '_ux_sig')}")
    raws = [r[0] for r in
            store.fetchall("SELECT DISTINCT raw_phone FROM _ux_raw WHERE raw_phone IS NOT NULL")]
    phones = normalize_phones(raws, settings)
    store.register("_ux_phone", pa.table({"raw": list(phones), "e164": list(phones.values())},
                                         schema=pa.schema([("raw", pa.string()), ("e164", pa.string())])))
    try:
        store.execute("""
            CREATE OR REPLACE TEMP TABLE _ux_ids AS
            SELECT DISTINCT rid, kind, value FROM (
                SELECT rid, kind, value FROM _ux_raw WHERE value IS NOT NULL
                UNION ALL
                SELECT r.rid, 'phone', p.e164 FROM _ux_raw r JOIN _ux_phone p ON r.raw_phone = p.raw
                WHERE p.e164 IS NOT NULL)""")
    finally:
        store.unregister("_ux_phone")
    store.execute("DROP TABLE _ux_raw")  # large temp tables go as soon as used: peak memory


def _unify(store: Store, settings: Settings, hasher: Hasher, batch: pa.Table) -> UnifyResult:
    # A context is kept only when it may hold what unify reads from it (identifiers, consent, traits):
    # nearly every event has one, and copying and scanning the rest was gigabytes at 10M events.
    read = ", ".join(f"CASE WHEN {sql_may_hold(c, _CONTEXT_KEYS)} THEN {c} END AS {c}" if c == "context"
                     else c for c in _READ)
    store.execute(f"CREATE OR REPLACE TEMP TABLE _ux_ev AS SELECT rid, {read}, {_SIGNATURE} AS sig "
                  "FROM _ux_in")
    _signatures(store)
    _identifiers(store, settings)

    hits = mark_suppressed(store, hasher, "_ux_ids")
    hit_signatures = f"SELECT rid FROM _ux_ids JOIN {hits} USING (kind, value)"
    store.execute(f"""CREATE OR REPLACE TEMP TABLE _ux_drop AS
        SELECT rid FROM _ux_ev WHERE sig IN ({hit_signatures})""")
    suppressed = store.scalar("SELECT count(*) FROM _ux_drop")
    if suppressed:
        store.execute(f"DELETE FROM _ux_ids WHERE rid IN ({hit_signatures})")
        store.execute("DELETE FROM _ux_ev WHERE rid IN (SELECT rid FROM _ux_drop)")

    store.execute(f"CREATE OR REPLACE TEMP TABLE _ux_choice AS {choices_sql('_ux_ev')}")
    resolution = resolve(store, settings, hasher, "_ux_ids", "_ux_sig")
    # Customers stay per signature (``_idr_anchor_customer``, keyed by the signature's ``rid``):
    # events reach theirs through ``sig``, never through a per-event copy of the answer.
    _move(store)
    store.execute("""
        INSERT INTO consent_events
        SELECT a.customer_id, a.id_kind, a.id_value, c.purpose, c.granted, e.timestamp,
               coalesce(e.source, e.channel), e.message_id
        FROM _ux_choice c JOIN _ux_ev e USING (rid) JOIN _idr_anchor_customer a ON a.rid = e.sig""")
    store.execute("DROP TABLE _ux_choice")

    _refused(store, settings)
    # One row per signature, channel and source: its events share traits and context, so profiles
    # need only their count and first and last time (a bulk load folds ~10 events into each row).
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _ux_out AS
        SELECT a.customer_id, e.channel, e.source, min(e.timestamp) AS first_seen,
               max(e.timestamp) AS last_seen, count(*) AS events, any_value(e.traits) AS traits,
               any_value(e.context) AS context
        FROM _ux_ev e JOIN _idr_anchor_customer a ON a.rid = e.sig
        WHERE e.rid NOT IN (SELECT rid FROM _ux_refused)
        GROUP BY e.sig, a.customer_id, e.channel, e.source""")
    apply_events(store, "_ux_out")

    refused = store.arrow("SELECT rid FROM _ux_refused ORDER BY rid")["rid"].to_numpy() - 1
    dropped = store.arrow("SELECT rid FROM _ux_drop")["rid"].to_numpy() - 1
    resolved = _with_customers(batch, store.arrow("SELECT rid, sig FROM _ux_ev"),
                               store.arrow("SELECT rid AS sig, id_kind, id_value, customer_id "
                                           "FROM _idr_anchor_customer"))
    keep = np.ones(batch.num_rows, dtype=bool)
    keep[refused] = False
    keep[dropped] = False
    kept = resolved if keep.all() else resolved.filter(pa.array(keep))

    anonymized = 0
    if len(refused) and settings.consent_policy == "anonymize":
        rows = batch.take(pa.array(refused)).to_pylist()
        anonymous = pa.Table.from_pylist([anonymize_record(r) for r in rows], schema=batch.schema)
        kept = pa.concat_tables([kept, anonymous])
        anonymized = len(rows)
    log.debug("unify: %d kept, %d suppressed, %d refused, %d merges", kept.num_rows, suppressed,
              len(refused), resolution.merges)
    return UnifyResult(batch=kept, dropped_suppressed=suppressed,
                       dropped_refused=len(refused) - anonymized, anonymized=anonymized,
                       merges=resolution.merges)


def _with_customers(batch: pa.Table, events: pa.Table, anchors: pa.Table) -> pa.Table:
    """``batch`` with ``id_kind``, ``id_value``, ``customer_id`` by row: ``events`` (rid, sig) names
    each row's signature, ``anchors`` (sig, ...) each signature's answer; NULL for a row without one
    (no identifier, or dropped)."""
    found = pc.index_in(events["sig"], value_set=anchors["sig"])
    position = np.full(batch.num_rows, -1, dtype=np.int64)
    position[events["rid"].to_numpy() - 1] = pc.fill_null(found, -1).to_numpy()
    take = pa.array(position, mask=position < 0)
    for name in ("id_kind", "id_value", "customer_id"):
        index = batch.schema.get_field_index(name)
        column = anchors[name].take(take).cast(batch.schema.field(name).type)
        batch = batch.set_column(index, batch.schema.field(name), column)
    return batch


def _move(store: Store) -> None:
    """Move history for identifiers that changed customer; rebuild the profiles involved."""
    if not store.scalar("SELECT (SELECT count(*) FROM _idr_moves) + (SELECT count(*) FROM _idr_renames)"):
        return
    combine_renamed(store, "_idr_renames")
    move_history(store, "_idr_moves", "_idr_renames")
    store.execute("""
        CREATE OR REPLACE TEMP TABLE _ux_affected AS
        SELECT old AS customer_id FROM _idr_moves UNION SELECT new FROM _idr_moves
        UNION SELECT new FROM _idr_renames""")
    recount(store, "_ux_affected")


def _refused(store: Store, settings: Settings) -> None:
    """``_ux_refused`` (rid): events of people whose analytics consent is refused, as of now
    (stored choices and this batch's, latest wins; refusal wins ties), or by default."""
    default = bool(settings.consent_defaults.get("analytics", False))
    store.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ux_refused AS
        WITH customers AS (SELECT DISTINCT customer_id FROM _idr_anchor_customer),
        latest AS (
            SELECT customer_id, {LATEST_GRANTED} AS granted
            FROM consent_events
            WHERE purpose = 'analytics' AND customer_id IN (SELECT customer_id FROM customers)
            GROUP BY customer_id)
        SELECT e.rid FROM _ux_ev e
        LEFT JOIN _idr_anchor_customer a ON a.rid = e.sig
        LEFT JOIN latest l ON l.customer_id = a.customer_id
        WHERE NOT coalesce(l.granted, ?)""", [default])
