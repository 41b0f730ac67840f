//! What an auditor needs to check a kokuho ledger without its database.
//!
//! - [`chain`]: the hash of one event (its envelope and its stored bytes, the personal part as
//!   ciphertext), chained to the previous event's hash. The store writes it; anyone can
//!   recompute it from an exported event.
//! - [`tree`]: the Merkle tree of RFC 9162 §2.1 over a tenant's ledger in position order, whose
//!   entries are the events' chain hashes (leaf = SHA-256(0x00 ‖ chain hash), node = SHA-256(0x01
//!   ‖ left ‖ right)); its stored-hash layout, the right edge a writer keeps, and proofs computed
//!   from stored hashes (the [`tlog_tiles`] crate, a port of Go's sumdb `tlog`).
//! - [`checkpoint`]: the municipality's Ed25519 key and checkpoints (origin, tree size, root hash)
//!   in the C2SP `tlog-checkpoint` signed-note format ([`signed_note`], [`tlog_tiles`]).
//! - [`verify`]: proofs as exchanged (JSON) and the offline verifier: a checkpoint, the public
//!   key and a proof say yes or no.

pub mod chain;
pub mod checkpoint;
pub mod tree;
pub mod verify;

pub use checkpoint::{origin_for, Checkpoint, CheckpointKey, CheckpointKeyError};
pub use tree::{Frontier, Hash, TreeError};
pub use verify::{verify_consistency, verify_inclusion, ConsistencyProof, ExportedEvent, InclusionProof, VerifyError};
