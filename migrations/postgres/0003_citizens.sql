-- Citizens signing in to see their own access and provision record (domain.md §3 rule 5), with
-- an Ed25519 key standing in for the My Number card's certificate. Registering a key and every
-- sign-in are also events (CitizenKeyRegistered, CitizenSignedIn, CitizenSignInFailed); these
-- tables hold what sign-in needs.

-- One key per person; registering a new card's key replaces the old one.
CREATE TABLE citizen_keys (
    tenant         TEXT    NOT NULL,
    person_id      BYTEA    NOT NULL,
    -- The 32-byte Ed25519 public key (not secret).
    public_key     BYTEA    NOT NULL,
    registered_at  BIGINT NOT NULL,
    registered_by  BYTEA    NOT NULL,
    PRIMARY KEY (tenant, person_id)
);

-- Issued challenges, deleted when answered (right or wrong): each works at most once.
CREATE TABLE citizen_challenges (
    tenant        TEXT    NOT NULL,
    challenge_id  BYTEA    NOT NULL,
    nonce         BYTEA    NOT NULL,
    issued_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant, challenge_id)
);
CREATE INDEX citizen_challenges_by_age ON citizen_challenges (tenant, issued_at);

-- Citizen sessions: only the SHA-256 of the opaque token is stored.
CREATE TABLE citizen_sessions (
    tenant      TEXT    NOT NULL,
    token_hash  BYTEA    NOT NULL,
    session_id  BYTEA    NOT NULL,
    person_id   BYTEA    NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, token_hash)
);
CREATE INDEX citizen_sessions_by_expiry ON citizen_sessions (tenant, expires_at);
