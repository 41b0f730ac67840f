-- Recent failed sign-ins, for the back-off (kokuho_auth::throttle, docs/security.md); it
-- replaces the lockout's staff_sign_in_failures. A row is keyed by keyed hashes (HMAC-SHA256
-- under the tenant's key derived from the master key) of the login as typed and of the client's
-- network, so an unknown login is counted exactly like a known one and neither is kept in clear.
-- Rows older than the back-off's window count no more and are deleted as new ones arrive.
CREATE TABLE staff_sign_in_backoff (
    tenant       TEXT    NOT NULL,
    login_hmac   BLOB    NOT NULL,
    client_hmac  BLOB    NOT NULL,
    failed_at    INTEGER NOT NULL
);
CREATE INDEX staff_sign_in_backoff_by_login ON staff_sign_in_backoff (tenant, login_hmac, failed_at);
CREATE INDEX staff_sign_in_backoff_by_time ON staff_sign_in_backoff (tenant, failed_at);

DROP TABLE staff_sign_in_failures;
