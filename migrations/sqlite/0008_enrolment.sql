-- Enrolment (docs/security.md §6): an account is created without credentials; its owner
-- chooses the password and enrols the authenticator with a one-time enrolment code, so the
-- administrator who created it never holds working credentials. Until then password_hash and
-- totp_secret are NULL. SQLite cannot drop NOT NULL in place: the table is rebuilt.
CREATE TABLE staff_users_enrolling (
    tenant          TEXT    NOT NULL,
    user_id         BLOB    NOT NULL,
    login           TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    -- Argon2id PHC string; NULL until the staff member enrols.
    password_hash   TEXT,
    -- The TOTP secret, sealed with the master key; NULL until the staff member enrols.
    totp_secret     BLOB,
    totp_last_step  INTEGER,
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER,
    PRIMARY KEY (tenant, user_id),
    CONSTRAINT staff_users_login UNIQUE (tenant, login)
);
INSERT INTO staff_users_enrolling
    (tenant, user_id, login, display_name, role, password_hash, totp_secret, totp_last_step, created_at, disabled_at)
SELECT tenant, user_id, login, display_name, role, password_hash, totp_secret, totp_last_step, created_at, disabled_at
FROM staff_users;
DROP TABLE staff_users;
ALTER TABLE staff_users_enrolling RENAME TO staff_users;

-- The open enrolment code of an account (at most one): only its SHA-256, until when it works,
-- and the authenticator secret the first enrolment step handed out (sealed like totp_secret),
-- which the second step moves to staff_users. Deleted when used.
CREATE TABLE staff_enrolments (
    tenant               TEXT    NOT NULL,
    user_id              BLOB    NOT NULL,
    code_hash            BLOB    NOT NULL,
    expires_at           INTEGER NOT NULL,
    pending_totp_secret  BLOB,
    PRIMARY KEY (tenant, user_id)
);
