-- Staff accounts: one per person (no shared IDs). Security-relevant changes are also events
-- (StaffUserCreated, StaffUserDisabled); this table holds what sign-in needs.
CREATE TABLE staff_users (
    tenant          TEXT    NOT NULL,
    user_id         BLOB    NOT NULL,
    login           TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    -- Argon2id PHC string.
    password_hash   TEXT    NOT NULL,
    -- The TOTP secret, sealed with the master key (never stored in clear).
    totp_secret     BLOB    NOT NULL,
    -- The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step  INTEGER,
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER,
    PRIMARY KEY (tenant, user_id),
    CONSTRAINT staff_users_login UNIQUE (tenant, login)
);

-- Sessions: only the SHA-256 of the opaque token is stored.
CREATE TABLE staff_sessions (
    tenant        TEXT    NOT NULL,
    token_hash    BLOB    NOT NULL,
    session_id    BLOB    NOT NULL,
    user_id       BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    ended_at      INTEGER,
    PRIMARY KEY (tenant, token_hash)
);
CREATE INDEX staff_sessions_by_user ON staff_sessions (tenant, user_id);

-- Recent failed sign-ins, for the lockout policy.
CREATE TABLE staff_sign_in_failures (
    tenant     TEXT    NOT NULL,
    user_id    BLOB    NOT NULL,
    failed_at  INTEGER NOT NULL
);
CREATE INDEX staff_sign_in_failures_by_user ON staff_sign_in_failures (tenant, user_id, failed_at);
