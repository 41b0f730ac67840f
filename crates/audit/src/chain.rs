//! The hash chain: each event's hash covers the previous hash and the canonical bytes of its
//! envelope, so altering, removing or reordering any stored row breaks every hash after it.
//!
//! Canonical bytes: a domain-separation tag, then each field in a fixed order as a 4-byte
//! big-endian length and its bytes (integers as 8-byte big-endian, UUIDs as 16 bytes, absent
//! optional fields as length 0xFFFFFFFF). The personal part is hashed as stored, i.e. as
//! ciphertext, so destroying a key never breaks the chain.

use sha2::{Digest, Sha256};

/// The `prev_hash` of a tenant's first event.
pub const GENESIS: [u8; 32] = [0; 32];

const TAG: &[u8] = b"kokuho.event.v1";

/// The envelope fields that the hash covers, borrowed from a row or from a new event.
pub struct ChainFields<'a> {
    pub tenant: &'a str,
    pub position: i64,
    pub event_id: &'a [u8],
    pub stream_id: &'a str,
    pub stream_version: i64,
    pub event_type: &'a str,
    pub schema_version: i64,
    pub recorded_at_micros: i64,
    pub actor: &'a str,
    pub purpose: &'a str,
    pub correlation_id: &'a [u8],
    pub causation_id: Option<&'a [u8]>,
    pub idempotency_key: Option<&'a str>,
    pub subject_id: Option<&'a [u8]>,
    pub payload: &'a [u8],
    pub personal: Option<&'a [u8]>,
}

pub fn event_hash(prev_hash: &[u8; 32], fields: &ChainFields<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(TAG);
    hasher.update(prev_hash);
    let mut field = |bytes: Option<&[u8]>| match bytes {
        Some(bytes) => {
            hasher.update((bytes.len() as u32).to_be_bytes());
            hasher.update(bytes);
        }
        None => hasher.update(u32::MAX.to_be_bytes()),
    };
    field(Some(fields.tenant.as_bytes()));
    field(Some(&fields.position.to_be_bytes()));
    field(Some(fields.event_id));
    field(Some(fields.stream_id.as_bytes()));
    field(Some(&fields.stream_version.to_be_bytes()));
    field(Some(fields.event_type.as_bytes()));
    field(Some(&fields.schema_version.to_be_bytes()));
    field(Some(&fields.recorded_at_micros.to_be_bytes()));
    field(Some(fields.actor.as_bytes()));
    field(Some(fields.purpose.as_bytes()));
    field(Some(fields.correlation_id));
    field(fields.causation_id);
    field(fields.idempotency_key.map(str::as_bytes));
    field(fields.subject_id);
    field(Some(fields.payload));
    field(fields.personal);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(payload: &'a [u8], personal: Option<&'a [u8]>) -> ChainFields<'a> {
        ChainFields {
            tenant: "112020",
            position: 1,
            event_id: &[1; 16],
            stream_id: "person-x",
            stream_version: 1,
            event_type: "PaymentReceived",
            schema_version: 2,
            recorded_at_micros: 1_700_000_000_000_000,
            actor: "system:test",
            purpose: "collection",
            correlation_id: &[2; 16],
            causation_id: None,
            idempotency_key: None,
            subject_id: None,
            payload,
            personal,
        }
    }

    #[test]
    fn every_byte_of_the_envelope_counts() {
        let base = event_hash(&GENESIS, &fields(b"{}", None));
        assert_ne!(base, event_hash(&[1; 32], &fields(b"{}", None)));
        assert_ne!(base, event_hash(&GENESIS, &fields(b"{ }", None)));
        // An absent personal part and an empty one are different facts.
        assert_ne!(base, event_hash(&GENESIS, &fields(b"{}", Some(b""))));
        // Moving bytes between adjacent fields changes the hash (length prefixes).
        let mut shifted = fields(b"{}", None);
        shifted.actor = "system:tes";
        shifted.purpose = "tcollection";
        assert_ne!(base, event_hash(&GENESIS, &shifted));
    }
}
