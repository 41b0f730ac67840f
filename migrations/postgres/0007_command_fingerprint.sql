-- An Idempotency-Key is bound to its stream and to the command it was first used with: the
-- keyed digest (HMAC under a key derived from the master key) of the command, stored on the
-- events that command appended. A key sent again with another command is refused. Events
-- written before this column existed have none; their keys stay bound to their stream only.
ALTER TABLE events ADD COLUMN command_fingerprint BYTEA;
