-- experiments: who saw which variant, and when (the unit of analysis is unit_id, a customer_id).
CREATE TABLE IF NOT EXISTS exposures (
    experiment_key VARCHAR NOT NULL,
    variant        VARCHAR NOT NULL,
    unit_id        VARCHAR NOT NULL,             -- the randomisation unit; joins customer_id in events/orders
    exposed_at     TIMESTAMPTZ NOT NULL
);

-- Each unit's first exposure per experiment, kept by the recorders (experiments/units.py) so the
-- analysis reads one row per unit instead of grouping every exposure. n_exposures (the unit's rows in
-- exposures) lets the analysis notice exposures written around the recorders and rebuild the key.
CREATE TABLE IF NOT EXISTS experiment_units (
    experiment_key   VARCHAR NOT NULL,
    unit_id          VARCHAR NOT NULL,
    variant          VARCHAR NOT NULL,            -- the variant of the first exposure
    first_exposed_at TIMESTAMPTZ NOT NULL,
    is_multi_variant BOOLEAN NOT NULL,            -- seen in more than one variant: left out of the analysis
    n_exposures      BIGINT NOT NULL
);
