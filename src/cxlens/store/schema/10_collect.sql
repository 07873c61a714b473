-- collect: every accepted interaction, plus what was turned away and why.
CREATE TABLE IF NOT EXISTS events (
    message_id         VARCHAR NOT NULL,
    type               VARCHAR NOT NULL,      -- track | identify | page | screen | group | alias
    event              VARCHAR,               -- track event name, or page/screen name
    user_id            VARCHAR,
    anonymous_id       VARCHAR,
    id_kind            VARCHAR,               -- the event's strongest identifier (its anchor):
    id_value           VARCHAR,               --   identity moves history by it
    customer_id        VARCHAR,               -- resolved by identity; NULL when anonymized
    channel            VARCHAR,               -- web, app, email, store, call_center, social, iot ...
    source             VARCHAR,               -- write-key name or import name
    timestamp          TIMESTAMPTZ NOT NULL,  -- when it happened (clock-skew corrected)
    original_timestamp TIMESTAMPTZ,           -- as the client said
    sent_at            TIMESTAMPTZ,
    received_at        TIMESTAMPTZ NOT NULL,
    properties         JSON,
    traits             JSON,
    context            JSON,
    group_id           VARCHAR,
    previous_id        VARCHAR,
    anonymized         BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS rejected_events (
    rejected_at  TIMESTAMPTZ NOT NULL,
    source       VARCHAR,
    message_id   VARCHAR,
    reason       VARCHAR NOT NULL,            -- machine code, e.g. missing_identifier
    field        VARCHAR,                     -- the offending field path, when one is to blame
    detail       VARCHAR NOT NULL,            -- human sentence
    payload      VARCHAR                      -- the raw message (truncated), for inspection
);

-- Commerce and feedback, extracted from events at load time so analytics need not parse JSON.
CREATE TABLE IF NOT EXISTS orders (
    order_id     VARCHAR NOT NULL,
    message_id   VARCHAR NOT NULL,
    customer_id  VARCHAR,
    timestamp    TIMESTAMPTZ NOT NULL,
    revenue      DECIMAL(18, 4),
    currency     VARCHAR,
    channel      VARCHAR,
    campaign     VARCHAR
);

CREATE TABLE IF NOT EXISTS order_items (
    order_id     VARCHAR NOT NULL,
    product_id   VARCHAR,
    sku          VARCHAR,
    name         VARCHAR,
    category     VARCHAR,
    price        DECIMAL(18, 4),
    quantity     INTEGER
);

CREATE TABLE IF NOT EXISTS products (
    product_id   VARCHAR PRIMARY KEY,
    name         VARCHAR,
    category     VARCHAR,
    price        DECIMAL(18, 4),
    currency     VARCHAR,
    attributes   JSON,
    updated_at   TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS feedback (
    message_id   VARCHAR NOT NULL,
    customer_id  VARCHAR,
    timestamp    TIMESTAMPTZ NOT NULL,
    survey_id    VARCHAR,
    metric       VARCHAR,                     -- nps | csat | ces | rating | ...
    score        DOUBLE,
    comment      VARCHAR,
    touchpoint   VARCHAR,
    channel      VARCHAR,
    properties   JSON
);

-- Every messageId ever loaded, as a 128-bit MD5 number: the load-time de-duplication index (ADR 0002).
CREATE TABLE IF NOT EXISTS message_ids (
    id_hash      UHUGEINT NOT NULL             -- md5_number(message_id)
);

-- How far the loader has moved the write-ahead log into the store; committed with the rows.
CREATE TABLE IF NOT EXISTS collect_checkpoints (
    name         VARCHAR PRIMARY KEY,          -- 'wal'
    segment      BIGINT NOT NULL,
    "offset"     BIGINT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
