-- Keyed blind index for staff search by name and date of birth: HMAC tokens (keyed by a key
-- derived from the master key) of normalised values, never the values. Written by the writer in
-- the same transaction as the event that carries the value; deleted with the person's data key
-- when their retention ends, so an erased person can no longer be found either.
CREATE TABLE person_search (
    tenant     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    token      BLOB NOT NULL,
    person_id  BLOB NOT NULL,
    PRIMARY KEY (tenant, kind, token, person_id)
);
CREATE INDEX person_search_by_person ON person_search (tenant, person_id);
