"""Synthetic rows written straight into the store's tables with SQL, for console tests, the console
benchmark (a million customers in seconds) and screenshots.

Deterministic: every value derives from the row number through DuckDB's ``hash``, so the same
``customers`` and ``anchor`` always give the same store. Identifiers use example.org addresses and
made-up ids only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cxlens.store import Store

CHANNELS = ("web", "app", "email", "store", "call_center")
EVENTS_PER_CUSTOMER = 5
DAYS = 90


def fill_store(store: Store, customers: int, anchor: datetime | None = None) -> dict[str, int]:
    """Add ``customers`` people with identities, traits, consent, events, orders and feedback.

    Events fall in the ``DAYS`` days before ``anchor`` (default: now). Returns row counts per table.
    """
    anchor = anchor or datetime.now(UTC)
    p = {"n": customers, "anchor": anchor, "days": DAYS, "k": EVENTS_PER_CUSTOMER}
    channel_list = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    # h(i, salt) in [0, 1): a reproducible pseudo-random number per row.
    h = "((hash(i * 7919 + {salt}) % 1000000) / 1000000.0)"

    def rnd(salt: int, var: str = "i") -> str:
        return h.format(salt=salt).replace("i *", f"{var} *")

    cid = "'c' || lpad(CAST(i AS VARCHAR), 7, '0')"
    statements = [
        f"""INSERT INTO profiles (customer_id, first_seen, last_seen, updated_at) SELECT {cid},
               $anchor - to_days(CAST($days AS INTEGER)) + to_seconds(CAST({rnd(1)} * 86400 * 30 AS BIGINT)),
               $anchor - to_seconds(CAST({rnd(2)} * 86400 * 60 AS BIGINT)), $anchor FROM range($n) t(i)""",
        f"""INSERT INTO identities (kind, value, customer_id, cluster_id, first_seen,
               last_seen) SELECT 'anonymous_id', 'anon-' || i, {cid}, {cid}, p.first_seen, p.last_seen
               FROM range($n) t(i) JOIN profiles p ON p.customer_id = {cid}""",
        f"""INSERT INTO identities (kind, value, customer_id, cluster_id, first_seen,
               last_seen) SELECT 'user_id', 'user-' || i, {cid}, {cid}, p.first_seen, p.last_seen
               FROM range($n) t(i) JOIN profiles p ON p.customer_id = {cid} WHERE {rnd(3)} < 0.7""",
        f"""INSERT INTO identities (kind, value, customer_id, cluster_id, first_seen,
               last_seen) SELECT 'email', 'person' || i || '@example.org', {cid}, {cid},
               p.first_seen, p.last_seen
               FROM range($n) t(i) JOIN profiles p ON p.customer_id = {cid} WHERE {rnd(3)} < 0.6""",
        """INSERT INTO identity_edges (a_kind, a_value, b_kind, b_value, first_seen, message_id,
               via) SELECT 'anonymous_id', a.value, 'user_id', u.value, u.first_seen,
               'msg-link-' || u.value,
               'identify' FROM identities a JOIN identities u USING (customer_id)
               WHERE a.kind = 'anonymous_id' AND u.kind = 'user_id'""",
        f"""INSERT INTO merges (merged_at, from_customer_id, into_customer_id, reason,
               evidence) SELECT $anchor - to_days(10), 'c-old-' || i, {cid}, 'shared e-mail address',
               '[{{"kind": "email", "hash": "synthetic"}}]' FROM range($n) t(i) WHERE {rnd(4)} < 0.05""",
        f"""INSERT INTO traits (customer_id, name, value, source, updated_at) SELECT {cid}, 'name',
               to_json('Person ' || i), 'identify', $anchor FROM range($n) t(i)
               WHERE {rnd(3)} < 0.6""",
        f"""INSERT INTO traits (customer_id, name, value, source, updated_at) SELECT {cid}, 'plan',
               to_json(['free', 'plus', 'pro'][1 + CAST(floor({rnd(5)} * 3) AS INT)]),
               'identify', $anchor FROM range($n) t(i) WHERE {rnd(3)} < 0.7""",
        f"""INSERT INTO computed_traits (customer_id, name, value, model, model_version,
               computed_at) SELECT {cid}, 'rfm_segment', to_json(['champions', 'loyal', 'at risk',
               'hibernating'][1 + CAST(floor({rnd(6)} * 4) AS INT)]), 'rfm', '1',
               $anchor FROM range($n) t(i) WHERE {rnd(6)} < 0.5""",
        f"""INSERT INTO consent_events (customer_id, kind, value, purpose, granted, decided_at,
               source, message_id) SELECT {cid}, 'user_id', 'user-' || i, purpose, {rnd(7)} < 0.6,
               $anchor - to_days(CAST(20 + {rnd(8)} * 40 AS INTEGER)), 'web banner', NULL
               FROM range($n) t(i), (VALUES ('analytics'),
               ('marketing')) v(purpose) WHERE {rnd(9)} < 0.3""",
        f"""INSERT INTO events (message_id, type, event, user_id, anonymous_id, id_kind, id_value,
               customer_id, channel,
               source, timestamp, received_at, properties, context, anonymized)
             SELECT 'msg-' || i || '-' || j, CASE WHEN {rnd(11, "j")} < 0.5 THEN 'page' ELSE 'track' END,
               CASE WHEN {rnd(11, "j")} < 0.5 THEN 'Home' ELSE ['Product Viewed', 'Cart Viewed',
               'Email Opened',
                 'Support Call'][1 + CAST(floor({rnd(12, "j")} * 4) AS INT)] END,
               CASE WHEN {rnd(3)} < 0.7 THEN 'user-' || i END, 'anon-' || i,
               CASE WHEN {rnd(3)} < 0.7 THEN 'user_id' ELSE 'anonymous_id' END,
               CASE WHEN {rnd(3)} < 0.7 THEN 'user-' || i ELSE 'anon-' || i END, {cid},
               {channel_list}[1 + CAST(floor({rnd(13, "j")} * 5) AS INT)], 'synthetic',
               ts, ts + to_seconds(2), '{{"path": "/"}}', '{{"library": {{"name": "synthetic"}}}}', false
             FROM (SELECT i, i * $k + j AS j, $anchor - to_seconds(CAST({rnd(14,
               "(i * $k + j)")} * 86400 * $days AS BIGINT)) AS ts
                   FROM range($n) t(i), range($k) s(j))""",
        f"""INSERT INTO orders (order_id, message_id, customer_id, timestamp, revenue, currency,
               channel, campaign) SELECT 'ord-' || i, 'msg-ord-' || i, {cid},
               $anchor - to_seconds(CAST({rnd(15)} * 86400 * $days AS BIGINT)),
               CAST(round(10 + {rnd(16)} * 190, 2) AS DECIMAL(18, 4)), 'USD',
               {channel_list}[1 + CAST(floor({rnd(17)} * 5) AS INT)], NULL
               FROM range($n) t(i) WHERE {rnd(18)} < 0.3""",
        f"""INSERT INTO feedback (message_id, customer_id, timestamp, survey_id, metric, score,
               comment, touchpoint, channel, properties) SELECT 'msg-nps-' || i, {cid},
               $anchor - to_seconds(CAST({rnd(19)} * 86400 * $days AS BIGINT)),
               'relationship', 'nps', CAST(floor({rnd(20)} * 11) AS DOUBLE), NULL, 'app', 'app', NULL
               FROM range($n) t(i) WHERE {rnd(21)} < 0.1""",
        f"""INSERT INTO feedback (message_id, customer_id, timestamp, survey_id, metric, score,
               comment, touchpoint, channel, properties) SELECT 'msg-csat-' || i, {cid},
               $anchor - to_seconds(CAST({rnd(22)} * 86400 * $days AS BIGINT)),
               'support', 'csat', CAST(1 + floor({rnd(23)} * 5) AS DOUBLE), NULL, 'call',
               'call_center', NULL
               FROM range($n) t(i) WHERE {rnd(24)} < 0.1""",
        """INSERT INTO rejected_events (rejected_at, source, message_id, reason, field, detail,
               payload) SELECT $anchor - to_minutes(CAST(i AS BIGINT)), 'synthetic', 'bad-' || i,
               ['missing_identifier', 'invalid_timestamp',
               'tracking_plan_violation'][1 + CAST(i % 3 AS INT)],
               CASE i % 3 WHEN 1 THEN 'timestamp' WHEN 2 THEN 'properties.price' END,
               'synthetic rejection ' || i, NULL FROM range(least($n, 30)) t(i)""",
    ]
    for sql in statements:
        used = {k: v for k, v in p.items() if f"${k}" in sql}
        store.execute(sql, used)
    tables = ("profiles", "identities", "traits", "events", "orders", "feedback", "rejected_events")
    return {t: store.scalar(f"SELECT count(*) FROM {t}") for t in tables}
