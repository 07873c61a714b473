-- experiments: who saw which variant, and when (the unit of analysis is unit_id, a customer_id).
CREATE TABLE IF NOT EXISTS exposures (
    experiment_key VARCHAR NOT NULL,
    variant        VARCHAR NOT NULL,
    unit_id        VARCHAR NOT NULL,             -- the randomisation unit; joins customer_id in events/orders
    exposed_at     TIMESTAMPTZ NOT NULL
);
