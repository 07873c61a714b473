-- privacy: consent history per purpose, suppressed identifiers, and the audit log.
CREATE TABLE IF NOT EXISTS consent_events (
    customer_id  VARCHAR,
    kind         VARCHAR NOT NULL,            -- identifier kind the choice arrived with
    value        VARCHAR NOT NULL,
    purpose      VARCHAR NOT NULL,            -- analytics | personalization | marketing
    granted      BOOLEAN NOT NULL,
    decided_at   TIMESTAMPTZ NOT NULL,
    source       VARCHAR,
    message_id   VARCHAR
);

-- Erased identifiers, kept only as keyed hashes so re-sent events can be refused.
CREATE TABLE IF NOT EXISTS suppressions (
    identifier_hash VARCHAR PRIMARY KEY,
    kind            VARCHAR NOT NULL,
    suppressed_at   TIMESTAMPTZ NOT NULL,
    request_id      VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_log (
    logged_at    TIMESTAMPTZ NOT NULL,
    actor        VARCHAR NOT NULL,
    action       VARCHAR NOT NULL,
    subject      VARCHAR,                     -- a request id or key id; never raw personal data
    details      JSON
);
