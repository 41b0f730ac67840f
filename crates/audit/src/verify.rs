//! Proofs as they are exchanged (JSON), and the offline verifier: given a checkpoint opened with
//! the municipality's public key, a proof says yes or no. Nothing here reads a database.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chain::{event_hash, ChainFields};
use crate::checkpoint::Checkpoint;
use crate::tree::{self, Hash};

/// Why a checkpoint or a proof is refused. Messages name what failed, never the values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the {0} is malformed")]
    Malformed(&'static str),
    #[error("the checkpoint is not signed by this public key")]
    BadSignature,
    #[error("the checkpoint's origin is not the name of this public key")]
    WrongOrigin,
    #[error("the proof is for another ledger than the checkpoint ({0})")]
    OtherLedger(&'static str),
    #[error("the event at position {position} does not hash to the chain hash it carries: its content was altered")]
    EventAltered { position: i64 },
    #[error("the event at position {position} is not in the checkpoint's tree of {tree_size} events")]
    NotIncluded { position: i64, tree_size: u64 },
    #[error(
        "the ledger of {new_size} events does not extend the one of {old_size} the earlier checkpoint signed: \
         history was rewritten"
    )]
    Inconsistent { old_size: u64, new_size: u64 },
}

/// An event as stored, with every field its chain hash covers: what an inclusion proof carries so
/// that the verifier recomputes the entry from the content instead of trusting a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedEvent {
    pub tenant: String,
    pub position: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: i64,
    /// `recorded_at`, microseconds since the Unix epoch (UTC), as hashed.
    pub recorded_at_micros: i64,
    pub actor: String,
    pub purpose: String,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub subject_id: Option<Uuid>,
    /// The clear payload's bytes (JSON), base64.
    pub payload: String,
    /// The personal part as stored (ciphertext), base64; `null` when the event has none.
    pub personal: Option<String>,
    /// The previous event's chain hash, hex.
    pub prev_hash: String,
    /// This event's chain hash, hex (the Merkle tree's entry).
    pub hash: String,
}

fn decode_hash(text: &str, field: &'static str) -> Result<Hash, VerifyError> {
    hex::decode(text).ok().and_then(|bytes| bytes.try_into().ok()).ok_or(VerifyError::Malformed(field))
}

fn base64(text: &str, field: &'static str) -> Result<Vec<u8>, VerifyError> {
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| VerifyError::Malformed(field))
}

impl ExportedEvent {
    /// The clear payload's bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        base64(&self.payload, "event's payload")
    }

    /// The chain hash recomputed from the content (not the `hash` it carries).
    pub fn recompute_hash(&self) -> Result<Hash, VerifyError> {
        let prev_hash = decode_hash(&self.prev_hash, "event's prev_hash")?;
        let payload = self.payload_bytes()?;
        let personal = self.personal.as_deref().map(|text| base64(text, "event's personal part")).transpose()?;
        Ok(event_hash(
            &prev_hash,
            &ChainFields {
                tenant: &self.tenant,
                position: self.position,
                event_id: self.event_id.as_bytes(),
                stream_id: &self.stream_id,
                stream_version: self.stream_version,
                event_type: &self.event_type,
                schema_version: self.schema_version,
                recorded_at_micros: self.recorded_at_micros,
                actor: &self.actor,
                purpose: &self.purpose,
                correlation_id: self.correlation_id.as_bytes(),
                causation_id: self.causation_id.as_ref().map(|id| id.as_bytes().as_slice()),
                idempotency_key: self.idempotency_key.as_deref(),
                subject_id: self.subject_id.as_ref().map(|id| id.as_bytes().as_slice()),
                payload: &payload,
                personal: personal.as_deref(),
            },
        ))
    }
}

/// RFC 9162 §2.1.3: the event at `event.position` is leaf `position − 1` of the tree of
/// `tree_size` events; `path` is its audit path (hex hashes, leaf to root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub tree_size: u64,
    pub event: ExportedEvent,
    pub path: Vec<String>,
}

/// RFC 9162 §2.1.4: the tree of `new_size` events extends the tree of `old_size` (hex hashes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    pub path: Vec<String>,
}

fn decode_path(path: &[String]) -> Result<Vec<tlog_tiles::Hash>, VerifyError> {
    path.iter().map(|hash| decode_hash(hash, "proof's path").map(tlog_tiles::Hash)).collect()
}

/// Hex hashes, as proofs carry them.
pub fn encode_path(path: &[Hash]) -> Vec<String> {
    path.iter().map(hex::encode).collect()
}

/// The tenant a checkpoint's origin names (`kokuho/<tenant>`).
fn tenant_of(checkpoint: &Checkpoint) -> Option<&str> {
    checkpoint.origin.strip_prefix("kokuho/")
}

/// Checks that `proof.event`, as exported, is in the ledger `checkpoint` signed: its chain hash is
/// recomputed from its content, and that entry's audit path must lead to the checkpoint's root.
pub fn verify_inclusion(checkpoint: &Checkpoint, proof: &InclusionProof) -> Result<(), VerifyError> {
    let event = &proof.event;
    if tenant_of(checkpoint) != Some(event.tenant.as_str()) {
        return Err(VerifyError::OtherLedger("tenant"));
    }
    if proof.tree_size != checkpoint.size {
        return Err(VerifyError::OtherLedger("tree size"));
    }
    let not_included = VerifyError::NotIncluded { position: event.position, tree_size: checkpoint.size };
    let leaf = u64::try_from(event.position - 1).map_err(|_| not_included.clone())?;
    if leaf >= checkpoint.size {
        return Err(not_included);
    }
    let recomputed = event.recompute_hash()?;
    if recomputed != decode_hash(&event.hash, "event's hash")? {
        return Err(VerifyError::EventAltered { position: event.position });
    }
    let path = decode_path(&proof.path)?;
    tlog_tiles::check_record(
        &path,
        checkpoint.size,
        tlog_tiles::Hash(checkpoint.root),
        leaf,
        tlog_tiles::Hash(tree::leaf_hash(&recomputed)),
    )
    .map_err(|_| not_included)
}

/// Checks that the ledger `new` signed only appended to the one `old` signed.
pub fn verify_consistency(old: &Checkpoint, new: &Checkpoint, proof: &ConsistencyProof) -> Result<(), VerifyError> {
    if old.origin != new.origin {
        return Err(VerifyError::OtherLedger("origin"));
    }
    if proof.old_size != old.size || proof.new_size != new.size {
        return Err(VerifyError::OtherLedger("tree size"));
    }
    let inconsistent = VerifyError::Inconsistent { old_size: old.size, new_size: new.size };
    if old.size > new.size {
        return Err(inconsistent);
    }
    if old.size == 0 {
        return Ok(());
    }
    let path = decode_path(&proof.path)?;
    if old.size == new.size {
        return if old.root == new.root && path.is_empty() { Ok(()) } else { Err(inconsistent) };
    }
    tlog_tiles::check_tree(&path, new.size, tlog_tiles::Hash(new.root), old.size, tlog_tiles::Hash(old.root))
        .map_err(|_| inconsistent)
}
