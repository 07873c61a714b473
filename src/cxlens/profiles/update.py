"""Keeping profiles current: first/last seen, event counts per channel, and traits.

Traits keep the latest value by *event* time, with its source: a late-arriving older value never
overwrites a newer one, and at equal times the larger JSON text wins so the result is the same
whatever order events arrive in. When customers merge, their traits combine by the same rule.

``traits`` and ``profile_channels`` have no composite primary key (ADR 0008, addendum): no read can
use one (reads go by ``customer_id``, through its own index), and its upkeep was a large part of a
bulk load. One row per (customer_id, name) or (customer_id, channel) is kept here instead: a batch is
aggregated to one row per key first, then ``MERGE``d in one statement per table (stored rows are
updated, keys not stored are inserted). Stores created before keep their keys; the same statements
work with them.
"""

from __future__ import annotations

from cxlens.store import Store

# Trait names that are not traits: consent choices live in consent_events.
NOT_TRAITS = ("consent",)

# Each batch is materialized before it is merged: with a subquery as its source, DuckDB misjudged
# its size and ``MERGE``/``UPDATE`` into ``profiles`` (which has a key) took 4 s instead of 0.2 s
# per million events. ``MERGE``, not ``INSERT … ON CONFLICT``: an upsert handles each conflicting
# row on its own (the costliest statement of a bulk load before), and one statement per table keeps
# small batches (the HTTP loader's) as cheap as before.


def _merge(store: Store, rows_sql: str, merge_sql: str) -> None:
    """Materialize a batch (``rows_sql``, one row per key) as ``_pu_batch``, then run ``merge_sql``,
    a ``MERGE`` that reads it as ``b``."""
    store.execute(f"CREATE OR REPLACE TEMP TABLE _pu_batch AS {rows_sql}")
    try:
        store.execute(merge_sql)
    finally:
        store.execute("DROP TABLE IF EXISTS _pu_batch")


# (customer_id, name, value, source, updated_at): a stored value is replaced only by a newer one
# (ties: the larger JSON text); absent keys are added.
_TRAITS = """
    MERGE INTO traits USING _pu_batch b ON traits.customer_id = b.customer_id AND traits.name = b.name
    WHEN MATCHED AND (b.updated_at > traits.updated_at
                      OR (b.updated_at = traits.updated_at AND b.value::VARCHAR > traits.value::VARCHAR))
        THEN UPDATE SET value = b.value, source = b.source, updated_at = b.updated_at
    WHEN NOT MATCHED THEN INSERT (customer_id, name, value, source, updated_at)
        VALUES (b.customer_id, b.name, b.value, b.source, b.updated_at)"""

# (customer_id, channel, events): counts add up.
_CHANNELS = """
    MERGE INTO profile_channels USING _pu_batch b
    ON profile_channels.customer_id = b.customer_id AND profile_channels.channel = b.channel
    WHEN MATCHED THEN UPDATE SET events = profile_channels.events + b.events
    WHEN NOT MATCHED THEN INSERT (customer_id, channel, events) VALUES (b.customer_id, b.channel, b.events)"""

# (customer_id, first_seen, last_seen): the span widens. ``profiles`` keeps its primary key: it is
# the read path's index.
_PROFILES = """
    MERGE INTO profiles USING _pu_batch b ON profiles.customer_id = b.customer_id
    WHEN MATCHED THEN UPDATE SET first_seen = least(profiles.first_seen, b.first_seen),
        last_seen = greatest(profiles.last_seen, b.last_seen), updated_at = now()
    WHEN NOT MATCHED THEN INSERT (customer_id, first_seen, last_seen, updated_at)
        VALUES (b.customer_id, b.first_seen, b.last_seen, now())"""


def combine_renamed(store: Store, renames: str) -> None:
    """Fold the traits and computed traits of disappearing customers into their successors."""
    _merge(store, f"""
        SELECT r.new AS customer_id, t.name, arg_max(t.value, (t.updated_at, t.value::VARCHAR)) AS value,
               arg_max(t.source, (t.updated_at, t.value::VARCHAR)) AS source,
               max(t.updated_at) AS updated_at
        FROM traits t JOIN {renames} r ON t.customer_id = r.old GROUP BY r.new, t.name""", _TRAITS)
    store.execute(f"""
        INSERT INTO computed_traits
        SELECT r.new, c.name, arg_max(c.value, c.computed_at), arg_max(c.model, c.computed_at),
               arg_max(c.model_version, c.computed_at), max(c.computed_at)
        FROM computed_traits c JOIN {renames} r ON c.customer_id = r.old GROUP BY r.new, c.name
        ON CONFLICT DO UPDATE SET value = excluded.value, model = excluded.model,
            model_version = excluded.model_version, computed_at = excluded.computed_at
        WHERE excluded.computed_at > computed_traits.computed_at""")
    for table in ("traits", "computed_traits", "profiles", "profile_channels"):
        store.execute(f"DELETE FROM {table} WHERE customer_id IN (SELECT old FROM {renames})")


def recount(store: Store, customers: str) -> None:
    """Rebuild first/last seen and channel counts of ``customers`` (customer_id) from events.

    Used after history moved between them; cheap because it only runs when identifiers moved.
    """
    store.execute(f"DELETE FROM profile_channels WHERE customer_id IN (SELECT customer_id FROM {customers})")
    store.execute(f"""
        INSERT INTO profile_channels
        SELECT customer_id, coalesce(channel, ''), count(*) FROM events
        WHERE customer_id IN (SELECT customer_id FROM {customers}) AND NOT anonymized GROUP BY ALL""")
    store.execute(f"DELETE FROM profiles WHERE customer_id IN (SELECT customer_id FROM {customers})")
    store.execute(f"""
        INSERT INTO profiles
        SELECT customer_id, min(timestamp), max(timestamp), now() FROM events
        WHERE customer_id IN (SELECT customer_id FROM {customers}) AND NOT anonymized
        GROUP BY customer_id""")


def apply_events(store: Store, activity: str) -> None:
    """Fold new events into profiles and traits. ``activity`` has one row per group of events that
    share customer, channel, source, traits and context: ``customer_id``, ``channel``, ``source``,
    ``first_seen``, ``last_seen``, ``events`` (how many), ``traits``, ``context`` (unify's
    ``_ux_out``). A group's traits are as new as its last event."""
    _merge(store, f"""
        SELECT customer_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM {activity}
        WHERE customer_id IS NOT NULL GROUP BY customer_id""", _PROFILES)
    _merge(store, f"""
        SELECT customer_id, coalesce(channel, '') AS channel, sum(events) AS events FROM {activity}
        WHERE customer_id IS NOT NULL GROUP BY ALL""", _CHANNELS)
    excluded = ", ".join(f"'{name}'" for name in NOT_TRAITS)
    _merge(store, f"""
        SELECT customer_id, name, arg_max(value, (timestamp, value::VARCHAR)) AS value,
               arg_max(source, (timestamp, value::VARCHAR)) AS source, max(timestamp) AS updated_at
        FROM (SELECT e.customer_id, t.key AS name, t.value, coalesce(e.source, e.channel) AS source,
                     e.last_seen AS timestamp
              FROM {activity} e, json_each(e.traits) t
              WHERE e.customer_id IS NOT NULL AND json_type(e.traits) = 'OBJECT'
              UNION ALL
              SELECT e.customer_id, t.key, t.value, coalesce(e.source, e.channel), e.last_seen
              FROM {activity} e, json_each(e.context, '$.traits') t
              WHERE e.customer_id IS NOT NULL AND json_type(e.context, '$.traits') = 'OBJECT')
        WHERE name NOT IN ({excluded})
        GROUP BY customer_id, name""", _TRAITS)
