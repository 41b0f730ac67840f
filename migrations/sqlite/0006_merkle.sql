-- The RFC 9162 Merkle tree over each tenant's ledger (entries: the events' chain hashes, in
-- position order), stored as the hashes of its complete subtrees in the "stored hash index"
-- order of Go's sumdb tlog (kokuho_audit::tree): event n's leaf hash, then each subtree it
-- completes. Written by the writer in the same transaction as the events, never updated; a
-- proof reads O(log n) rows.
CREATE TABLE merkle_hashes (
    tenant  TEXT    NOT NULL,
    idx     INTEGER NOT NULL,
    hash    BLOB    NOT NULL,
    PRIMARY KEY (tenant, idx)
) WITHOUT ROWID;

-- Published checkpoints: the C2SP tlog-checkpoint signed note (origin, tree size, root hash,
-- Ed25519 signature by the municipality's checkpoint key, which is never stored here), kept.
CREATE TABLE checkpoints (
    tenant        TEXT    NOT NULL,
    tree_size     INTEGER NOT NULL,
    root_hash     BLOB    NOT NULL,
    note          TEXT    NOT NULL,
    published_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, tree_size)
);
