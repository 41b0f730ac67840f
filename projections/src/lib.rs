//! Read models rebuilt from the ledger (invariant 1: projections are disposable).
//!
//! A [`Projection`] turns pages of events into row writes on its own tables; the
//! [`Projector`] applies them with each projection's checkpoint in the same transaction,
//! follows new commits, and rebuilds a projection into fresh tables that replace the live ones
//! in one transaction, so a reader sees the old table or the new one, never a partial one.
//!
//! Projections read only the clear part of events: personal data never lands in a read model,
//! so erasing a person's key leaves nothing personal behind here.

mod engine;
mod metrics;
pub mod models;
mod sql;

pub use engine::{decode, Behind, ProjectionError, ProjectionWaitError, Projector, RebuildReport, Stopped};
pub use metrics::ProjectionMetrics;
pub use sql::{SqlValue, Statement, TableDef, Writes};

use chrono::{DateTime, Utc};
use kokuho_events::LedgerEvent;

/// An event as projections see it: decoded, without its personal part.
#[derive(Debug, Clone)]
pub struct Projected {
    pub position: i64,
    pub recorded_at: DateTime<Utc>,
    pub stream_id: String,
    pub event: LedgerEvent,
}

pub trait Projection: Send + Sync + 'static {
    /// Stable name: the checkpoint key and the `--projection` argument of `kokuho rebuild`.
    fn name(&self) -> &'static str;
    /// The tables this projection owns.
    fn tables(&self) -> &'static [TableDef];
    /// Appends the writes that apply `events` (one tenant's, in position order) to `out`.
    fn apply(&self, tenant: &str, events: &[Projected], out: &mut Writes);
}

/// Every projection the ledger keeps, in the order they are applied.
pub fn all() -> Vec<std::sync::Arc<dyn Projection>> {
    vec![
        std::sync::Arc::new(models::PersonRegistry),
        std::sync::Arc::new(models::EligibilityPeriods),
        std::sync::Arc::new(models::Households),
        std::sync::Arc::new(models::Certificates),
        std::sync::Arc::new(models::ElderlyCostShares),
        std::sync::Arc::new(models::PaymentTotals),
        std::sync::Arc::new(models::TaxAssessments),
        std::sync::Arc::new(models::Benefits),
        std::sync::Arc::new(models::AccessLog),
        std::sync::Arc::new(models::ProvisionRecord),
        std::sync::Arc::new(models::RetentionDates),
        std::sync::Arc::new(models::CollectionAccounts),
    ]
}
