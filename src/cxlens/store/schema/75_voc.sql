-- voc: survey definitions (versioned), closed-loop rules, follow-up tasks, their history, webhooks.
-- Answers themselves are events (`Survey Responded`) and land in `feedback` through collect.
CREATE TABLE IF NOT EXISTS voc_surveys (
    survey_id    VARCHAR NOT NULL,
    version      INTEGER NOT NULL,            -- 1, 2, ...: a changed definition is a new version
    title        VARCHAR NOT NULL,
    touchpoint   VARCHAR,                     -- where it is asked (checkout, support_chat ...)
    stage        VARCHAR,                     -- journey stage (awareness ... loyalty)
    definition   JSON NOT NULL,               -- the whole definition as given (normalized)
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (survey_id, version)
);

CREATE TABLE IF NOT EXISTS voc_questions (
    survey_id    VARCHAR NOT NULL,
    version      INTEGER NOT NULL,
    question_id  VARCHAR NOT NULL,
    position     INTEGER NOT NULL,
    kind         VARCHAR NOT NULL,            -- nps | csat | ces | likert | yesno | text
    label        VARCHAR NOT NULL,
    required     BOOLEAN NOT NULL,
    PRIMARY KEY (survey_id, version, question_id)
);

CREATE TABLE IF NOT EXISTS voc_rules (
    rule_id      VARCHAR PRIMARY KEY,
    definition   JSON NOT NULL,               -- conditions, owners, SLA, escalation (docs/surveys.md)
    enabled      BOOLEAN NOT NULL DEFAULT true,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Which feedback rows the rules have seen (a response is re-evaluated when a row of it arrives).
CREATE TABLE IF NOT EXISTS voc_evaluated (
    message_id   VARCHAR PRIMARY KEY,
    evaluated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS voc_tasks (
    task_id        VARCHAR PRIMARY KEY,
    rule_id        VARCHAR NOT NULL,
    response_key   VARCHAR NOT NULL,          -- response_id of the answers, else the event's message_id
    survey_id      VARCHAR,
    customer_id    VARCHAR NOT NULL,
    touchpoint     VARCHAR,
    metric         VARCHAR,                   -- the triggering score's metric, when one triggered
    score          DOUBLE,
    responded_at   TIMESTAMPTZ NOT NULL,
    owner          VARCHAR,
    status         VARCHAR NOT NULL,          -- open | in_progress | resolved | closed
    due_at         TIMESTAMPTZ NOT NULL,
    escalated_at   TIMESTAMPTZ,
    escalated_from VARCHAR,                   -- the owner before escalation
    contacted      BOOLEAN,                   -- did someone reach the customer (set on resolve/close)
    outcome        VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (rule_id, response_key)
);
CREATE INDEX IF NOT EXISTS voc_tasks_customer ON voc_tasks (customer_id);

CREATE TABLE IF NOT EXISTS voc_task_history (
    task_id      VARCHAR NOT NULL,
    changed_at   TIMESTAMPTZ NOT NULL,
    actor        VARCHAR NOT NULL,            -- rule:<id>, console:<user id>, cli, api:<key id>, escalation
    action       VARCHAR NOT NULL,            -- created | assigned | status | escalated | note
    status       VARCHAR,
    owner        VARCHAR,
    note         VARCHAR
);

CREATE TABLE IF NOT EXISTS voc_webhooks (
    webhook_id   VARCHAR PRIMARY KEY,
    url          VARCHAR NOT NULL,
    secret       VARCHAR NOT NULL,            -- HMAC-SHA256 key; kept because signing needs it
    events       VARCHAR NOT NULL,            -- comma-separated: task.created, task.escalated, ...
    created_at   TIMESTAMPTZ NOT NULL,
    disabled_at  TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS voc_webhook_deliveries (
    delivery_id     VARCHAR PRIMARY KEY,
    webhook_id      VARCHAR NOT NULL,
    event           VARCHAR NOT NULL,
    task_id         VARCHAR,
    payload         VARCHAR NOT NULL,         -- the exact signed body (no comment text, no contact data)
    state           VARCHAR NOT NULL,         -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ
);
