//! `kokuho verify`: recompute every tenant's chain from the stored rows.

use crate::chain::{event_hash, ChainFields, GENESIS};
use crate::envelope::{to_micros, RecordedEvent};
use crate::read::{self, PAGE_EVENTS_MAX};
use crate::{Db, StoreError};

/// Why a position fails verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// A position is missing or out of order (rows deleted or renumbered).
    Gap { expected: i64 },
    /// `prev_hash` is not the previous event's hash (rows removed, inserted or reordered).
    PrevHash,
    /// The stored hash is not the hash of the stored envelope (the row was altered).
    Hash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub tenant: String,
    pub position: i64,
    pub problem: Break,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.problem {
            Break::Gap { expected } => format!("expected position {expected} here: a row is missing or renumbered"),
            Break::PrevHash => "prev_hash is not the previous event's hash".to_owned(),
            Break::Hash => "the stored hash does not match the stored event: the row was altered".to_owned(),
        };
        write!(f, "tenant {} position {}: {what}", self.tenant, self.position)
    }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub events: u64,
    pub first_break: Option<ChainBreak>,
}

pub(crate) fn recompute(prev_hash: &[u8; 32], event: &RecordedEvent, sealed: Option<&[u8]>) -> [u8; 32] {
    event_hash(
        prev_hash,
        &ChainFields {
            tenant: &event.tenant,
            position: event.position,
            event_id: event.event_id.as_bytes(),
            stream_id: &event.stream_id,
            stream_version: event.stream_version,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            recorded_at_micros: to_micros(event.recorded_at),
            actor: &event.actor,
            purpose: &event.purpose,
            correlation_id: event.correlation_id.as_bytes(),
            causation_id: event.causation_id.as_ref().map(|id| id.as_bytes().as_slice()),
            idempotency_key: event.idempotency_key.as_deref(),
            subject_id: event.subject_id.as_ref().map(|id| id.as_bytes().as_slice()),
            payload: &event.payload,
            personal: sealed,
        },
    )
}

/// Walks `tenant`'s ledger in pages and stops at the first break. Sealed personal parts are
/// hashed as stored, so no key is needed and erased persons verify like everyone else.
pub(crate) async fn tenant(db: &Db, tenant: &str, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let mut prev_hash = GENESIS;
    let mut expected = 1;
    loop {
        let page = read::sealed_page(db, tenant, expected - 1, PAGE_EVENTS_MAX).await?;
        if page.is_empty() {
            return Ok(report);
        }
        for (event, sealed) in &page {
            let problem = if event.position != expected {
                Some(Break::Gap { expected })
            } else if event.prev_hash != prev_hash {
                Some(Break::PrevHash)
            } else if recompute(&prev_hash, event, sealed.as_deref()) != event.hash {
                Some(Break::Hash)
            } else {
                None
            };
            if let Some(problem) = problem {
                report.first_break = Some(ChainBreak { tenant: tenant.to_owned(), position: event.position, problem });
                return Ok(report);
            }
            prev_hash = event.hash;
            expected += 1;
            report.events += 1;
        }
        progress(report.events);
    }
}
