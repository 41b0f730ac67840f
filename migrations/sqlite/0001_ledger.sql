-- The tenant ledgers: one append-only, hash-chained sequence of events per municipality.
CREATE TABLE tenants (
    code        TEXT    NOT NULL PRIMARY KEY,
    created_at  INTEGER NOT NULL
);

-- Events are never updated or deleted (invariant 1). There is deliberately no trigger that
-- forbids it: anyone who can write this file can drop a trigger; the hash chain is what shows an
-- alteration (`kokuho verify`).
CREATE TABLE events (
    tenant           TEXT    NOT NULL,
    position         INTEGER NOT NULL,
    event_id         BLOB    NOT NULL,
    stream_id        TEXT    NOT NULL,
    stream_version   INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    schema_version   INTEGER NOT NULL,
    recorded_at      INTEGER NOT NULL,
    actor            TEXT    NOT NULL,
    purpose          TEXT    NOT NULL,
    correlation_id   BLOB    NOT NULL,
    causation_id     BLOB,
    idempotency_key  TEXT,
    subject_id       BLOB,
    payload          BLOB    NOT NULL,
    personal         BLOB,
    prev_hash        BLOB    NOT NULL,
    hash             BLOB    NOT NULL,
    CONSTRAINT events_position UNIQUE (tenant, position),
    CONSTRAINT events_stream_version UNIQUE (tenant, stream_id, stream_version)
);
CREATE INDEX events_by_idempotency_key ON events (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One data key per person, wrapped by the master key (which is never stored here).
-- Destroying a person's key sets wrapped_key to NULL: their personal parts become unreadable.
CREATE TABLE person_keys (
    tenant        TEXT    NOT NULL,
    subject_id    BLOB    NOT NULL,
    wrapped_key   BLOB,
    created_at    INTEGER NOT NULL,
    destroyed_at  INTEGER,
    PRIMARY KEY (tenant, subject_id)
);

-- How far each projection has applied each tenant's ledger; written in the same transaction as
-- the projection's rows.
CREATE TABLE projection_checkpoints (
    tenant      TEXT    NOT NULL,
    projection  TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (tenant, projection)
);
