-- voc: sentiment and emotion of each feedback comment (features read `sentiment` from here).
CREATE TABLE IF NOT EXISTS comment_scores (
    message_id        VARCHAR PRIMARY KEY,
    customer_id       VARCHAR,
    sentiment         DOUBLE NOT NULL,      -- VADER compound (or the model's), -1..1
    label             VARCHAR NOT NULL,     -- negative | neutral | positive
    dominant_emotion  VARCHAR,
    model             VARCHAR NOT NULL,
    scored_at         TIMESTAMPTZ NOT NULL
);
