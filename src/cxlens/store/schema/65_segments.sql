-- segments: builds (RFM, clusters), saved audiences, their membership history and size over time.
-- Also owned by segments, created by `cxlens segments build` because its columns follow the feature
-- layer: segment_features (customer_id + one column per feature), the snapshot audiences read.

-- Each build's report (segment sizes, RFM grid, cluster personas); no personal data.
CREATE TABLE IF NOT EXISTS segment_builds (
    build_id      VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,           -- rfm | clusters
    built_at      TIMESTAMPTZ NOT NULL,
    as_of         TIMESTAMPTZ NOT NULL,       -- the moment the features describe
    model_version VARCHAR NOT NULL,
    report        JSON NOT NULL
);

CREATE TABLE IF NOT EXISTS audiences (
    name          VARCHAR PRIMARY KEY,
    expression    VARCHAR NOT NULL,           -- the audience language (docs/segments.md)
    description   VARCHAR,
    purpose       VARCHAR NOT NULL,           -- analytics | personalization | marketing: the consent
                                              -- exports require
    created_at    TIMESTAMPTZ NOT NULL,
    refreshed_at  TIMESTAMPTZ,
    size          BIGINT
);

-- Current members (as of the last refresh). No key or index: a refresh rewrites many rows at once,
-- and DuckDB scans a million rows faster than it maintains an index over them.
CREATE TABLE IF NOT EXISTS audience_members (
    audience      VARCHAR NOT NULL,
    customer_id   VARCHAR NOT NULL,
    joined_at     TIMESTAMPTZ NOT NULL
);

-- Who joined or left, at which refresh: the membership history (erasure removes a person's rows).
CREATE TABLE IF NOT EXISTS audience_changes (
    audience      VARCHAR NOT NULL,
    customer_id   VARCHAR NOT NULL,
    change        VARCHAR NOT NULL,           -- joined | left
    changed_at    TIMESTAMPTZ NOT NULL
);

-- Size over time: one row per refresh.
CREATE TABLE IF NOT EXISTS audience_sizes (
    audience      VARCHAR NOT NULL,
    refreshed_at  TIMESTAMPTZ NOT NULL,
    size          BIGINT NOT NULL,
    joined        BIGINT NOT NULL,
    left_count    BIGINT NOT NULL,
    consented     BIGINT NOT NULL             -- members with consent for the audience's purpose
);
