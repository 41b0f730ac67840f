-- Enrolment (docs/security.md §6): an account is created without credentials; its owner
-- chooses the password and enrols the authenticator with a one-time enrolment code, so the
-- administrator who created it never holds working credentials. Until then password_hash and
-- totp_secret are NULL.
ALTER TABLE staff_users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE staff_users ALTER COLUMN totp_secret DROP NOT NULL;

-- The open enrolment code of an account (at most one): only its SHA-256, until when it works,
-- and the authenticator secret the first enrolment step handed out (sealed like totp_secret),
-- which the second step moves to staff_users. Deleted when used.
CREATE TABLE staff_enrolments (
    tenant               TEXT    NOT NULL,
    user_id              BYTEA   NOT NULL,
    code_hash            BYTEA   NOT NULL,
    expires_at           BIGINT  NOT NULL,
    pending_totp_secret  BYTEA,
    PRIMARY KEY (tenant, user_id)
);
