-- features/predict: every trained model run with its holdout report, newest found by trained_at.
CREATE TABLE IF NOT EXISTS model_runs (
    model          VARCHAR NOT NULL,            -- e.g. churn-hgb
    model_version  VARCHAR NOT NULL,            -- UTC training time, e.g. 20250701T120000000000Z
    trained_at     TIMESTAMPTZ NOT NULL,
    as_of          TIMESTAMPTZ,                 -- the data end the model was trained and judged at
    report         JSON NOT NULL,               -- holdout metrics, baseline comparison, importances
    artifact       VARCHAR,                     -- the model file under <data_dir>/models
    PRIMARY KEY (model, model_version)
);
