-- experiments registry and the CX program: definitions, initiatives, decisions, rollouts, playbooks, KPIs.

-- Experiment definitions (exposures live in 70_experiments.sql). ``definition`` holds the whole
-- validated definition: variants, weights, coverage, segment, namespace, holdout, metrics, rollout.
CREATE TABLE IF NOT EXISTS experiment_definitions (
    experiment_key VARCHAR PRIMARY KEY,
    status         VARCHAR NOT NULL,            -- draft | running | rolling_out | stopped
    definition     JSON NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS program_initiatives (
    initiative_id  VARCHAR PRIMARY KEY,
    title          VARCHAR NOT NULL,
    objective      VARCHAR NOT NULL,
    kpi_key        VARCHAR,                     -- the KPI it should move (program_kpis)
    kpi_target     DOUBLE,
    segment        VARCHAR,                     -- target segment: NAME=VALUE or audience:NAME
    experiment_key VARCHAR,                     -- the pilot (an experiment with a holdout)
    playbook_id    VARCHAR,                     -- set when the initiative applies a playbook
    status         VARCHAR NOT NULL,            -- piloting | iterating | scaling | scaled | stopped
    rollout_stages JSON NOT NULL,               -- e.g. [0.1, 0.5, 1.0]
    rollout_stage  INTEGER NOT NULL DEFAULT 0,  -- how many stages are live
    tags           VARCHAR,
    notes          VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Decisions with their evidence: the analysis snapshot the team looked at when deciding.
CREATE TABLE IF NOT EXISTS program_decisions (
    initiative_id  VARCHAR NOT NULL,
    decided_at     TIMESTAMPTZ NOT NULL,
    decision       VARCHAR NOT NULL,            -- scale | iterate | stop
    rationale      VARCHAR NOT NULL,
    decided_by     VARCHAR,
    evidence       JSON NOT NULL
);

-- Each rollout stage, with the guardrail check that allowed (or refused) it.
CREATE TABLE IF NOT EXISTS program_rollouts (
    initiative_id  VARCHAR NOT NULL,
    stage          INTEGER NOT NULL,
    coverage       DOUBLE NOT NULL,
    checked_at     TIMESTAMPTZ NOT NULL,
    passed         BOOLEAN NOT NULL,
    checks         JSON NOT NULL
);

CREATE TABLE IF NOT EXISTS program_playbooks (
    playbook_id    VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    source_initiative VARCHAR NOT NULL,
    definition     JSON NOT NULL,               -- objective, KPI, experiment template, rollout stages
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS program_kpis (
    kpi_key        VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    measure        VARCHAR NOT NULL,            -- orders | revenue | active_customers | conversion_rate |
                                                -- repeat_rate | nps | csat | ces
    target         DOUBLE NOT NULL,
    direction      VARCHAR NOT NULL,            -- up (higher is better) | down
    period         VARCHAR NOT NULL,            -- month | quarter | half | year
    objective      VARCHAR,                     -- the OKR objective it is a key result of
    owner          VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL
);
