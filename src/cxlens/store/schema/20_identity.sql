-- identity: which identifiers belong to which customer, the evidence, and every merge.
CREATE TABLE IF NOT EXISTS identities (
    kind         VARCHAR NOT NULL,            -- user_id | anonymous_id | email | phone | external_id
    value        VARCHAR NOT NULL,            -- normalized (lower-case e-mail, E.164 phone ...)
    customer_id  VARCHAR NOT NULL,
    cluster_id   VARCHAR NOT NULL,            -- evidence component (only ever grows)
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    hub          BOOLEAN NOT NULL DEFAULT false   -- linked to more ids of a kind than a customer may
                                                  -- hold: ambiguous (a kiosk), so it links nothing
    -- (kind, value) is unique, kept so by identity.resolve rather than by a primary key: no look-up
    -- can use a composite key, and its upkeep was the largest single cost of a bulk load (ADR 0008).
    -- Stores created before keep their key; the code works with or without it.
);
-- Look-ups by identifier use this single-column index: DuckDB uses an ART index only for an
-- equality on its one column, never for the composite primary key (docs/adr/0003).
CREATE INDEX IF NOT EXISTS identities_value ON identities (value);
CREATE INDEX IF NOT EXISTS identities_customer ON identities (customer_id);
-- Clusters are read by hash joins (`cluster_id IN (SELECT ...)`), which never use an index.
DROP INDEX IF EXISTS identities_cluster;

-- Evidence only grows: one row per distinct link, with the earliest event that showed it.
CREATE TABLE IF NOT EXISTS identity_edges (
    a_kind       VARCHAR NOT NULL,            -- the stronger endpoint (priority, then value)
    a_value      VARCHAR NOT NULL,
    b_kind       VARCHAR NOT NULL,
    b_value      VARCHAR NOT NULL,
    first_seen   TIMESTAMPTZ NOT NULL,
    message_id   VARCHAR,                     -- the event that first showed the link
    via          VARCHAR,                     -- the event type: identify | alias | track ...
    cluster_id   VARCHAR                      -- component of its non-hub endpoint; NULL if both hubs
    -- the endpoints are unique, kept so by identity.resolve (see identities)
);
DROP INDEX IF EXISTS identity_edges_cluster;

-- Every change of a customer id, with why and which link caused it. ``outcome``:
-- identified (anonymous profile gained a stronger id), merged, moved (one identifier changed
-- customer), refused (a link that would break a limit). Evidence names identifiers by kind and
-- keyed hash only; rows go with the person on erasure.
CREATE TABLE IF NOT EXISTS merges (
    merged_at        TIMESTAMPTZ NOT NULL,
    from_customer_id VARCHAR NOT NULL,
    into_customer_id VARCHAR NOT NULL,
    reason           VARCHAR NOT NULL,
    evidence         JSON,
    outcome          VARCHAR NOT NULL DEFAULT 'merged'
);
CREATE INDEX IF NOT EXISTS merges_from ON merges (from_customer_id);
CREATE INDEX IF NOT EXISTS merges_into ON merges (into_customer_id);
