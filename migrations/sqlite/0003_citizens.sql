-- Citizens signing in to see their own access and provision record (domain.md §3 rule 5), with
-- an Ed25519 key standing in for the My Number card's certificate. Registering a key and every
-- sign-in are also events (CitizenKeyRegistered, CitizenSignedIn, CitizenSignInFailed); these
-- tables hold what sign-in needs.

-- One key per person; registering a new card's key replaces the old one.
CREATE TABLE citizen_keys (
    tenant         TEXT    NOT NULL,
    person_id      BLOB    NOT NULL,
    -- The 32-byte Ed25519 public key (not secret).
    public_key     BLOB    NOT NULL,
    registered_at  INTEGER NOT NULL,
    registered_by  BLOB    NOT NULL,
    PRIMARY KEY (tenant, person_id)
);

-- Issued challenges, deleted when answered (right or wrong): each works at most once.
CREATE TABLE citizen_challenges (
    tenant        TEXT    NOT NULL,
    challenge_id  BLOB    NOT NULL,
    nonce         BLOB    NOT NULL,
    issued_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant, challenge_id)
);
CREATE INDEX citizen_challenges_by_age ON citizen_challenges (tenant, issued_at);

-- Citizen sessions: only the SHA-256 of the opaque token is stored.
CREATE TABLE citizen_sessions (
    tenant      TEXT    NOT NULL,
    token_hash  BLOB    NOT NULL,
    session_id  BLOB    NOT NULL,
    person_id   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, token_hash)
);
CREATE INDEX citizen_sessions_by_expiry ON citizen_sessions (tenant, expires_at);
