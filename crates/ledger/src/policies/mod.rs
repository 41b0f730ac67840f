//! Policies: reactions that follow the ledger ("when this happens, decide that").
//!
//! A policy reads the tenant's events by position, like a projection, and for each event it
//! reacts to it issues commands through [`Ledger::execute`]. Every command carries an
//! idempotency key derived from the triggering event's position, so a restart, a re-run or a
//! second server re-issuing the same consequence appends nothing new. The checkpoint (table
//! `policy_checkpoints`) advances only after a page's consequences were issued: a crash between a
//! command and its consequence leaves the checkpoint behind the command, and the consequence is
//! issued after the restart.
//!
//! Policies run after the projections in the follower task and never read past the position the
//! projections have applied, so a policy that looks a projection up (the households a person
//! belongs to) sees at least the ledger up to the event it reacts to.
//!
//! HTTP handlers whose answer must show a consequence wait, bounded, for [`Policies::wait_for`]
//! their command's position; they never decide or re-decide anything themselves.

mod collection;
mod elderly_share;
mod tax_reassessment;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kokuho_domain::TenantCode;
use kokuho_projections::{Projected, Projector};
use kokuho_store::Db;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

pub use collection::Collection;
pub use elderly_share::ElderlyShare;
pub use tax_reassessment::TaxReassessment;

use crate::{Ledger, LedgerError};

/// Events a policy reads per page (and per checkpoint write).
const PAGE_EVENTS: i64 = 1_000;

/// What a reaction may use: the ledger to issue commands and read streams, the projections to
/// look up candidates (already caught up to the event), and the tenant.
pub struct PolicyContext<'a> {
    pub ledger: &'a Ledger,
    pub db: &'a Db,
    pub tenant: TenantCode,
}

/// A boxed future, so policies can be held as trait objects.
pub type Reaction<'a> = Pin<Box<dyn Future<Output = Result<u64, LedgerError>> + Send + 'a>>;

/// A reaction to events. `react` issues the event's consequences (commands with idempotency keys
/// derived from `event.position`) and answers how many it appended.
pub trait Policy: Send + Sync + 'static {
    /// Stable name: the checkpoint's key, the metric label and the CLI's argument.
    fn name(&self) -> &'static str;
    /// What the policy does, for `kokuho policies list`.
    fn describe(&self) -> &'static str;
    fn react<'a>(&'a self, context: &'a PolicyContext<'a>, event: &'a Projected) -> Reaction<'a>;
}

/// Every policy of the ledger, in the order they run.
pub fn all() -> Vec<Arc<dyn Policy>> {
    vec![Arc::new(ElderlyShare), Arc::new(TaxReassessment), Arc::new(Collection)]
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Projection(#[from] kokuho_projections::ProjectionError),
    #[error(transparent)]
    Store(#[from] kokuho_store::StoreError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("no policy is called {0:?}")]
    UnknownPolicy(String),
    #[error("policy {policy} could not react to the event at position {position}: {reason}")]
    Reaction { policy: &'static str, position: i64, reason: String },
}

/// One policy's progress in one tenant.
#[derive(Debug, Clone)]
pub struct PolicyStatus {
    pub policy: &'static str,
    pub description: &'static str,
    pub tenant: TenantCode,
    pub checkpoint: i64,
    pub head: i64,
}

/// What a catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyRun {
    pub events_read: u64,
    pub commands_appended: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LagLabels {
    policy: String,
    tenant: String,
}

/// `kokuho_policy_lag_events`: committed events a policy has not reacted to yet.
#[derive(Default, Clone)]
pub struct PolicyMetrics {
    lag_events: Family<LagLabels, Gauge>,
}

impl PolicyMetrics {
    pub fn register(registry: &mut Registry) -> PolicyMetrics {
        let metrics = PolicyMetrics::default();
        registry.register(
            "kokuho_policy_lag_events",
            "Committed events a policy has not reacted to yet",
            metrics.lag_events.clone(),
        );
        metrics
    }
}

/// The policies of one process: catch-up, follow, wait, list and re-run.
pub struct Policies {
    ledger: Arc<Ledger>,
    projector: Arc<Projector>,
    policies: Vec<Arc<dyn Policy>>,
    metrics: PolicyMetrics,
    /// Per tenant, the position every policy has passed (as this process last saw it).
    passed: watch::Sender<HashMap<TenantCode, i64>>,
}

impl Policies {
    pub fn new(
        ledger: Arc<Ledger>,
        projector: Arc<Projector>,
        policies: Vec<Arc<dyn Policy>>,
        metrics: PolicyMetrics,
    ) -> Policies {
        Policies { ledger, projector, policies, metrics, passed: watch::Sender::new(HashMap::new()) }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.policies.iter().map(|policy| policy.name()).collect()
    }

    fn db(&self) -> &Db {
        self.ledger.store().db()
    }

    fn select(&self, only: Option<&str>) -> Result<Vec<Arc<dyn Policy>>, PolicyError> {
        match only {
            None => Ok(self.policies.clone()),
            Some(name) => self
                .policies
                .iter()
                .find(|policy| policy.name() == name)
                .map(|policy| vec![policy.clone()])
                .ok_or_else(|| PolicyError::UnknownPolicy(name.to_owned())),
        }
    }

    async fn checkpoint(&self, tenant: TenantCode, policy: &str) -> Result<i64, PolicyError> {
        let position: Option<i64> = kokuho_store::on_db!(self.db(), pool => {
            sqlx::query_scalar("SELECT position FROM policy_checkpoints WHERE tenant = $1 AND policy = $2")
                .bind(tenant.to_string())
                .bind(policy)
                .fetch_optional(pool)
                .await?
        });
        Ok(position.unwrap_or(0))
    }

    /// Every policy's checkpoint in `tenant` (a policy not listed has not started: 0).
    async fn checkpoints(&self, tenant: TenantCode) -> Result<HashMap<String, i64>, PolicyError> {
        let rows: Vec<(String, i64)> = kokuho_store::on_db!(self.db(), pool => {
            sqlx::query_as("SELECT policy, position FROM policy_checkpoints WHERE tenant = $1")
                .bind(tenant.to_string())
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Moves the checkpoints of `policies` forward to `position`, in one statement (never back:
    /// two servers may race over the same page).
    async fn advance(&self, tenant: TenantCode, policies: &[&str], position: i64) -> Result<(), PolicyError> {
        if policies.is_empty() {
            return Ok(());
        }
        // Three parameters a row, numbered in the order they appear.
        let rows: Vec<String> = (0..policies.len())
            .map(|index| format!("(${}, ${}, ${})", index * 3 + 1, index * 3 + 2, index * 3 + 3))
            .collect();
        let sql = format!(
            "INSERT INTO policy_checkpoints (tenant, policy, position) VALUES {} \
             ON CONFLICT (tenant, policy) DO UPDATE SET position = excluded.position \
             WHERE policy_checkpoints.position < excluded.position",
            rows.join(", ")
        );
        kokuho_store::on_db!(self.db(), pool => {
            let mut query = sqlx::query(&sql);
            for policy in policies {
                query = query.bind(tenant.to_string()).bind(*policy).bind(position);
            }
            query.execute(pool).await?;
        });
        Ok(())
    }

    /// Sets a checkpoint back to `position` (0: the first event), so the policy reacts again to
    /// every later event. Consequences already issued are not issued twice (their keys).
    pub async fn rewind(&self, tenant: TenantCode, only: Option<&str>, position: i64) -> Result<(), PolicyError> {
        for policy in self.select(only)? {
            kokuho_store::on_db!(self.db(), pool => {
                sqlx::query(
                    "INSERT INTO policy_checkpoints (tenant, policy, position) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant, policy) DO UPDATE SET position = excluded.position",
                )
                .bind(tenant.to_string())
                .bind(policy.name())
                .bind(position)
                .execute(pool)
                .await?;
            });
        }
        self.passed.send_modify(|passed| {
            passed.remove(&tenant);
        });
        Ok(())
    }

    /// Reacts to every event of `tenant` the projections have applied and the policies have not
    /// passed yet. The caller brings the projections up to date first (the follower task does).
    pub async fn catch_up(&self, tenant: TenantCode) -> Result<PolicyRun, PolicyError> {
        self.catch_up_only(tenant, None).await
    }

    /// [`Policies::catch_up`] for one policy (`Some(name)`) or all.
    ///
    /// Each page of events is read and decoded once for every policy that has not passed it
    /// (they usually share their checkpoint), each policy reacts to the page's events after its
    /// own checkpoint in turn, and the checkpoints of the policies that reacted move in one write.
    pub async fn catch_up_only(&self, tenant: TenantCode, only: Option<&str>) -> Result<PolicyRun, PolicyError> {
        let until = self.projector.applied(tenant);
        let context = PolicyContext { ledger: &self.ledger, db: self.db(), tenant };
        let mut run = PolicyRun::default();
        let policies = self.select(only)?;
        let checkpoints = self.checkpoints(tenant).await?;
        let mut positions: Vec<i64> =
            policies.iter().map(|policy| checkpoints.get(policy.name()).copied().unwrap_or(0)).collect();
        let lags: Vec<Gauge> = policies
            .iter()
            .map(|policy| {
                self.metrics
                    .lag_events
                    .get_or_create(&LagLabels { policy: policy.name().to_owned(), tenant: tenant.to_string() })
                    .clone()
            })
            .collect();
        while let Some(from) = positions.iter().copied().min().filter(|from| *from < until) {
            // Set before the page, so a policy stuck on an event shows its lag.
            for (lag, position) in lags.iter().zip(&positions) {
                lag.set((until - position).max(0));
            }
            let limit = PAGE_EVENTS.min(until - from);
            let page = self.ledger.store().read_clear_page(tenant, from, limit).await?;
            let Some(last) = page.last().map(|event| event.position) else { break };
            let events = kokuho_projections::decode(&page)?;
            let mut reacted = Vec::new();
            let mut failed = None;
            for (policy, position) in policies.iter().zip(positions.iter_mut()) {
                if *position >= last {
                    continue;
                }
                let mut outcome = Ok(());
                for event in events.iter().filter(|event| event.position > *position) {
                    match policy.react(&context, event).await {
                        Ok(appended) => run.commands_appended += appended,
                        Err(error) => {
                            outcome = Err(PolicyError::Reaction {
                                policy: policy.name(),
                                position: event.position,
                                reason: error.to_string(),
                            });
                            break;
                        }
                    }
                    run.events_read += 1;
                }
                if let Err(error) = outcome {
                    failed = Some(error);
                    break;
                }
                reacted.push(policy.name());
                *position = last;
            }
            // The policies that reacted to the whole page keep their progress even when a later
            // one failed.
            self.advance(tenant, &reacted, last).await?;
            if let Some(error) = failed {
                return Err(error);
            }
        }
        for (lag, position) in lags.iter().zip(&positions) {
            lag.set((until - position).max(0));
        }
        // No policy: nothing to wait for beyond what the projections applied.
        let passed = positions.iter().copied().min().unwrap_or(until);
        if only.is_none() {
            self.passed.send_if_modified(|map| {
                let entry = map.entry(tenant).or_insert(0);
                if passed > *entry {
                    *entry = passed;
                    true
                } else {
                    false
                }
            });
        }
        Ok(run)
    }

    /// Waits until every policy of `tenant` has reacted to `position`: for a handler whose
    /// answer shows its command's consequences. Bounded by `timeout`; answers whether it did.
    pub async fn wait_for(&self, tenant: TenantCode, position: i64, timeout: Duration) -> bool {
        let mut passed = self.passed.subscribe();
        let reached = passed.wait_for(|map| map.get(&tenant).copied().unwrap_or(0) >= position);
        let in_time = matches!(tokio::time::timeout(timeout, reached).await, Ok(Ok(_)));
        in_time
    }

    /// Each policy's checkpoint and the head, per tenant.
    pub async fn status(&self) -> Result<Vec<PolicyStatus>, PolicyError> {
        let mut statuses = Vec::new();
        for tenant in self.ledger.store().tenants().await? {
            let head = self.ledger.store().head(tenant).await?;
            for policy in &self.policies {
                statuses.push(PolicyStatus {
                    policy: policy.name(),
                    description: policy.describe(),
                    tenant,
                    checkpoint: self.checkpoint(tenant, policy.name()).await?,
                    head,
                });
            }
        }
        Ok(statuses)
    }

    /// Keeps every tenant's projections, then policies, caught up until `shutdown` turns true.
    /// This task is the only writer of projection tables in the process.
    pub async fn follow(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        self.projector.set_followed();
        let mut commits = self.ledger.store().commits();
        loop {
            match self.ledger.store().tenants().await {
                Ok(tenants) => {
                    for tenant in tenants {
                        if let Err(error) = self.projector.catch_up(tenant).await {
                            tracing::error!(%tenant, %error, "projection catch-up failed; retrying");
                            continue;
                        }
                        if let Err(error) = self.catch_up(tenant).await {
                            tracing::error!(%tenant, %error, "policy catch-up failed; retrying");
                        }
                    }
                }
                Err(error) => tracing::error!(%error, "cannot list tenants; retrying"),
            }
            tokio::select! {
                _ = commits.changed() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

/// How often a follower looks for commits made by other processes.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
