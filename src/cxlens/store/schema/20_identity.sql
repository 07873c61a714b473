-- identity: which identifiers belong to which customer, the evidence, and every merge.
CREATE TABLE IF NOT EXISTS identities (
    kind         VARCHAR NOT NULL,            -- user_id | anonymous_id | email | phone | external_id
    value        VARCHAR NOT NULL,            -- normalized (lower-case e-mail, E.164 phone ...)
    customer_id  VARCHAR NOT NULL,
    cluster_id   VARCHAR NOT NULL,            -- evidence component (only ever grows)
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, value)
);

CREATE TABLE IF NOT EXISTS identity_edges (
    a_kind       VARCHAR NOT NULL,
    a_value      VARCHAR NOT NULL,
    b_kind       VARCHAR NOT NULL,
    b_value      VARCHAR NOT NULL,
    first_seen   TIMESTAMPTZ NOT NULL,
    message_id   VARCHAR,                     -- the event that first showed the link
    via          VARCHAR                      -- identify | alias | track | import ...
);

CREATE TABLE IF NOT EXISTS merges (
    merged_at        TIMESTAMPTZ NOT NULL,
    from_customer_id VARCHAR NOT NULL,
    into_customer_id VARCHAR NOT NULL,
    reason           VARCHAR NOT NULL,
    evidence         JSON
);
