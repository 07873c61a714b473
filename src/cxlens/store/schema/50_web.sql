-- web console: people who sign in, their sessions, and failed sign-ins (for lockout).
CREATE TABLE IF NOT EXISTS console_users (
    user_id         VARCHAR PRIMARY KEY,
    email           VARCHAR NOT NULL UNIQUE,      -- normalized: trimmed, lower-case
    password_hash   VARCHAR NOT NULL,             -- argon2id (PHC string with its own salt)
    role            VARCHAR NOT NULL,             -- admin | analyst | marketer | viewer
    created_at      TIMESTAMPTZ NOT NULL,
    disabled_at     TIMESTAMPTZ,
    last_login_at   TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash      VARCHAR PRIMARY KEY,          -- sha256 of the cookie value (256-bit random)
    user_id         VARCHAR NOT NULL,
    csrf_token      VARCHAR NOT NULL,             -- per-session synchronizer token
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS console_login_failures (
    email_hash      VARCHAR NOT NULL,             -- sha256 of the normalized e-mail typed (never the password)
    failed_at       TIMESTAMPTZ NOT NULL
);
