-- An Idempotency-Key is bound to its stream and to the command it was first used with: the
-- keyed digest (HMAC under a key derived from the master key) of the command, stored on the
-- events that command appended. A key sent again with another command is refused. Events
-- written before this column existed have none; their keys stay bound to their stream only.
ALTER TABLE events ADD COLUMN command_fingerprint BLOB;
-- A fingerprint of a command holding personal data could be tested against guesses by whoever
-- holds the master key: erasing a person clears the fingerprints on their events (they are an
-- index of the writer's, not part of the event nor of its hash), found by this index.
CREATE INDEX events_fingerprint_by_subject ON events (tenant, subject_id) WHERE command_fingerprint IS NOT NULL;
