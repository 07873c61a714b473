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
CREATE INDEX IF NOT EXISTS consent_events_customer ON consent_events (customer_id);

-- The defaults assumed until a person decides (synced from settings.consent_defaults).
CREATE TABLE IF NOT EXISTS consent_defaults (
    purpose      VARCHAR PRIMARY KEY,
    granted      BOOLEAN NOT NULL
);

-- Current consent of every known customer per purpose: their latest choice, else the default.
-- At equal times a refusal wins. Analytics filter in bulk with
--   JOIN consent_current c USING (customer_id) WHERE c.purpose = 'marketing' AND c.granted
CREATE OR REPLACE VIEW consent_current AS
WITH latest AS (
    SELECT customer_id, purpose,
           arg_min(granted, (decided_at * -1, granted)) AS granted
    FROM (SELECT customer_id, purpose, granted, epoch_us(decided_at) AS decided_at
          FROM consent_events WHERE customer_id IS NOT NULL)
    GROUP BY customer_id, purpose
),
known AS (
    SELECT customer_id FROM profiles
    UNION SELECT DISTINCT customer_id FROM consent_events WHERE customer_id IS NOT NULL
)
SELECT k.customer_id, d.purpose, coalesce(l.granted, d.granted) AS granted
FROM known k CROSS JOIN consent_defaults d
LEFT JOIN latest l ON l.customer_id = k.customer_id AND l.purpose = d.purpose;

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
