-- decide: real-time decisions — the log, contact-fatigue ledger, bandit state, business rules, offers.

-- Every decision, auditable: who (customer or anonymous), where, what was shown, which models and
-- rules produced it. ``items`` is the ranked answer with reasons.
CREATE TABLE IF NOT EXISTS decide_log (
    decision_id    VARCHAR PRIMARY KEY,
    decided_at     TIMESTAMPTZ NOT NULL,
    customer_id    VARCHAR,                   -- NULL for anonymous / unknown visitors
    placement      VARCHAR NOT NULL,
    channel        VARCHAR NOT NULL,
    personalized   BOOLEAN NOT NULL,
    action         VARCHAR NOT NULL,          -- recommend | offer | service_follow_up | nothing | suppressed
    items          JSON NOT NULL,
    models         JSON NOT NULL,             -- model name → version
    rules          JSON NOT NULL,             -- the rules that fired, in the order applied
    context        JSON,                      -- request context (device, page ...), no personal data
    features       JSON                       -- the bandit's context vector, for learning from feedback
);
CREATE INDEX IF NOT EXISTS decide_log_customer ON decide_log (customer_id);

-- Contacts that count against frequency caps (one row per reserved contact).
CREATE TABLE IF NOT EXISTS decide_contacts (
    customer_id    VARCHAR NOT NULL,
    channel        VARCHAR NOT NULL,
    contacted_at   TIMESTAMPTZ NOT NULL,
    decision_id    VARCHAR NOT NULL
);
CREATE INDEX IF NOT EXISTS decide_contacts_customer ON decide_contacts (customer_id);

-- Frequency caps: at most max_contacts per person on a channel within window_seconds.
CREATE TABLE IF NOT EXISTS decide_caps (
    channel        VARCHAR NOT NULL,
    window_seconds BIGINT NOT NULL,
    max_contacts   INTEGER NOT NULL,
    PRIMARY KEY (channel, window_seconds)
);
INSERT INTO decide_caps VALUES
    ('email', 86400, 1), ('email', 604800, 3),
    ('app_push', 86400, 2), ('app_push', 604800, 6),
    ('sms', 604800, 1),
    ('web', 3600, 120), ('app', 3600, 120)
ON CONFLICT DO NOTHING;

-- Quiet hours per channel, in the person's local time (minutes after midnight; may wrap midnight).
CREATE TABLE IF NOT EXISTS decide_quiet_hours (
    channel        VARCHAR PRIMARY KEY,
    start_minute   INTEGER NOT NULL,
    end_minute     INTEGER NOT NULL
);
INSERT INTO decide_quiet_hours VALUES ('email', 1260, 480), ('app_push', 1260, 480), ('sms', 1200, 540)
ON CONFLICT DO NOTHING;

-- Business rules: boost, bury, pin or exclude an item or a category (optionally on some placements).
CREATE TABLE IF NOT EXISTS decide_rules (
    rule_id        VARCHAR PRIMARY KEY,
    action         VARCHAR NOT NULL,          -- boost | bury | pin | exclude
    target_kind    VARCHAR NOT NULL,          -- item | category
    target         VARCHAR NOT NULL,
    strength       DOUBLE NOT NULL DEFAULT 1, -- boost/bury: standard deviations; pin: position (1-based)
    placements     JSON,                      -- NULL = every placement
    active         BOOLEAN NOT NULL DEFAULT true
);

-- Offers the bandit chooses among.
CREATE TABLE IF NOT EXISTS decide_offers (
    offer_id       VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    message        VARCHAR NOT NULL,          -- what the customer reads
    value          DOUBLE NOT NULL,           -- expected value of a conversion (margin), currency units
    placements     JSON,                      -- NULL = every placement
    category       VARCHAR,                   -- eligible only for people who bought in this category
    active         BOOLEAN NOT NULL DEFAULT true
);

-- Bandit state per offer (LinUCB: A⁻¹ and b), saved as feedback arrives.
CREATE TABLE IF NOT EXISTS decide_bandit_state (
    arm_id         VARCHAR PRIMARY KEY,
    a_inv          JSON NOT NULL,
    b              JSON NOT NULL,
    pulls          BIGINT NOT NULL,
    reward         DOUBLE NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Feedback on decisions (impression, click, conversion), for learning and attribution.
CREATE TABLE IF NOT EXISTS decide_feedback (
    decision_id    VARCHAR NOT NULL,
    item_id        VARCHAR NOT NULL,
    event          VARCHAR NOT NULL,          -- impression | click | conversion
    received_at    TIMESTAMPTZ NOT NULL,
    reward         DOUBLE NOT NULL
);
