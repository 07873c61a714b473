-- profiles: the customer 360 (traits are latest value with source and time).
CREATE TABLE IF NOT EXISTS profiles (
    customer_id  VARCHAR PRIMARY KEY,
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Event counts per channel, kept at load time so a profile lookup never scans events.
CREATE TABLE IF NOT EXISTS profile_channels (
    customer_id  VARCHAR NOT NULL,
    channel      VARCHAR NOT NULL,            -- '' when the event named none
    events       BIGINT NOT NULL
    -- (customer_id, channel) is unique, kept so by profiles.update rather than by a primary key: no
    -- read can use a composite key, and its upkeep slowed every load (ADR 0008 addendum). Stores
    -- created before keep their key; the code works with or without it.
);
-- Profile reads go by customer id through this index (docs/adr/0003).
CREATE INDEX IF NOT EXISTS profile_channels_customer ON profile_channels (customer_id);

CREATE TABLE IF NOT EXISTS traits (
    customer_id  VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    value        JSON,
    source       VARCHAR,
    updated_at   TIMESTAMPTZ NOT NULL
    -- (customer_id, name) is unique, kept so by profiles.update (see profile_channels)
);
CREATE INDEX IF NOT EXISTS traits_customer ON traits (customer_id);

-- Slots the analytics fill (rfm, clv, churn_risk, segments, sentiment ...), each with its model.
CREATE TABLE IF NOT EXISTS computed_traits (
    customer_id   VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    value         JSON,
    model         VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    computed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (customer_id, name)
);
CREATE INDEX IF NOT EXISTS computed_traits_customer ON computed_traits (customer_id);
