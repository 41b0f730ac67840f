-- The tenant ledgers: one append-only, hash-chained sequence of events per municipality.
CREATE TABLE tenants (
    code        TEXT    NOT NULL PRIMARY KEY,
    created_at  BIGINT NOT NULL
);

-- Events are never updated or deleted (invariant 1). There is deliberately no trigger that
-- forbids it: anyone who can write this file can drop a trigger; the hash chain is what shows an
-- alteration (`kokuho verify`).
CREATE TABLE events (
    tenant           TEXT    NOT NULL,
    position         BIGINT NOT NULL,
    event_id         BYTEA    NOT NULL,
    stream_id        TEXT    NOT NULL,
    stream_version   BIGINT NOT NULL,
    event_type       TEXT    NOT NULL,
    schema_version   BIGINT NOT NULL,
    recorded_at      BIGINT NOT NULL,
    actor            TEXT    NOT NULL,
    purpose          TEXT    NOT NULL,
    correlation_id   BYTEA    NOT NULL,
    causation_id     BYTEA,
    idempotency_key  TEXT,
    subject_id       BYTEA,
    payload          BYTEA    NOT NULL,
    personal         BYTEA,
    prev_hash        BYTEA    NOT NULL,
    hash             BYTEA    NOT NULL,
    CONSTRAINT events_position UNIQUE (tenant, position),
    CONSTRAINT events_stream_version UNIQUE (tenant, stream_id, stream_version)
);
CREATE INDEX events_by_idempotency_key ON events (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One data key per person, wrapped by the master key (which is never stored here).
-- Destroying a person's key sets wrapped_key to NULL: their personal parts become unreadable.
CREATE TABLE person_keys (
    tenant        TEXT    NOT NULL,
    subject_id    BYTEA    NOT NULL,
    wrapped_key   BYTEA,
    created_at    BIGINT NOT NULL,
    destroyed_at  BIGINT,
    PRIMARY KEY (tenant, subject_id)
);

-- How far each projection has applied each tenant's ledger; written in the same transaction as
-- the projection's rows.
CREATE TABLE projection_checkpoints (
    tenant      TEXT    NOT NULL,
    projection  TEXT    NOT NULL,
    position    BIGINT NOT NULL,
    PRIMARY KEY (tenant, projection)
);
