-- API keys: only a hash of each secret is kept; the secret is shown once at creation.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,            -- write | admin
    name         VARCHAR NOT NULL,
    secret_hash  VARCHAR NOT NULL UNIQUE,     -- sha256 of the secret (secrets are 256-bit random)
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
