"""Keeping profiles current: first/last seen, event counts per channel, and traits.

Traits keep the latest value by *event* time, with its source: a late-arriving older value never
overwrites a newer one, and at equal times the larger JSON text wins so the result is the same
whatever order events arrive in. When customers merge, their traits combine by the same rule.
"""

from __future__ import annotations

from cxlens.store import Store

# Trait names that are not traits: consent choices live in consent_events.
NOT_TRAITS = ("consent",)

_NEWER = """excluded.updated_at > {t}.updated_at
    OR (excluded.updated_at = {t}.updated_at AND excluded.value::VARCHAR > {t}.value::VARCHAR)"""


def combine_renamed(store: Store, renames: str) -> None:
    """Fold the traits and computed traits of disappearing customers into their successors."""
    store.execute(f"""
        INSERT INTO traits (customer_id, name, value, source, updated_at)
        SELECT r.new, t.name, arg_max(t.value, (t.updated_at, t.value::VARCHAR)),
               arg_max(t.source, (t.updated_at, t.value::VARCHAR)), max(t.updated_at)
        FROM traits t JOIN {renames} r ON t.customer_id = r.old GROUP BY r.new, t.name
        ON CONFLICT DO UPDATE SET value = excluded.value, source = excluded.source,
            updated_at = excluded.updated_at WHERE {_NEWER.format(t="traits")}""")
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


def apply_events(store: Store, events: str) -> None:
    """Fold new events (EVENT_SCHEMA columns, ``customer_id`` set) into profiles and traits."""
    store.execute(f"""
        INSERT INTO profiles
        SELECT customer_id, min(timestamp), max(timestamp), now() FROM {events}
        WHERE customer_id IS NOT NULL GROUP BY customer_id
        ON CONFLICT DO UPDATE SET first_seen = least(profiles.first_seen, excluded.first_seen),
            last_seen = greatest(profiles.last_seen, excluded.last_seen), updated_at = now()""")
    store.execute(f"""
        INSERT INTO profile_channels
        SELECT customer_id, coalesce(channel, ''), count(*) FROM {events}
        WHERE customer_id IS NOT NULL GROUP BY ALL
        ON CONFLICT DO UPDATE SET events = profile_channels.events + excluded.events""")
    excluded = ", ".join(f"'{name}'" for name in NOT_TRAITS)
    store.execute(f"""
        INSERT INTO traits (customer_id, name, value, source, updated_at)
        SELECT customer_id, name, arg_max(value, (timestamp, value::VARCHAR)),
               arg_max(source, (timestamp, value::VARCHAR)), max(timestamp)
        FROM (SELECT e.customer_id, t.key AS name, t.value, coalesce(e.source, e.channel) AS source,
                     e.timestamp
              FROM {events} e, json_each(e.traits) t
              WHERE e.customer_id IS NOT NULL AND json_type(e.traits) = 'OBJECT'
              UNION ALL
              SELECT e.customer_id, t.key, t.value, coalesce(e.source, e.channel), e.timestamp
              FROM {events} e, json_each(e.context, '$.traits') t
              WHERE e.customer_id IS NOT NULL AND json_type(e.context, '$.traits') = 'OBJECT')
        WHERE name NOT IN ({excluded})
        GROUP BY customer_id, name
        ON CONFLICT DO UPDATE SET value = excluded.value, source = excluded.source,
            updated_at = excluded.updated_at WHERE {_NEWER.format(t="traits")}""")
