//! The projector: applies pages of events to every projection with its checkpoint in the same
//! transaction, follows new commits, and rebuilds into fresh tables swapped in atomically.
//!
//! Ordering: a page is applied to a projection only if it starts right after the projection's
//! checkpoint (re-read under lock in the applying transaction), so an event is never skipped,
//! even when two processes (a server and `kokuho rebuild`) work on the same database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kokuho_domain::TenantCode;
use kokuho_events::{LedgerEvent, PersonalPart};
use kokuho_store::{Backend, ClearEvent, Db, EventStore, StoreError};
use rand::Rng;
use tokio::sync::watch;

use crate::metrics::{LagLabels, ProjectionMetrics};
use crate::sql::{physical, SqlValue};
use crate::{Projected, Projection, Writes};

/// Events read and applied per transaction.
const PAGE_EVENTS: i64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} cannot be projected: {reason}")]
    Decode { position: i64, reason: String },
    #[error("no projection is called {0:?}")]
    UnknownProjection(String),
    #[error("projection data is damaged: {0}")]
    Corrupt(String),
}

/// Waiting for the projections failed: they are behind, or the head could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionWaitError {
    #[error(transparent)]
    Behind(#[from] Behind),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    CatchUp(#[from] ProjectionError),
}

#[derive(Debug, Clone, Default)]
pub struct RebuildReport {
    pub projections: Vec<&'static str>,
    pub tenants: usize,
    pub events: u64,
    pub elapsed: Duration,
}

pub struct Projector {
    store: EventStore,
    projections: Vec<Arc<dyn Projection>>,
    metrics: Arc<ProjectionMetrics>,
    /// Per tenant, the position every projection has applied (as last seen by this process),
    /// announced to readers waiting for their own writes.
    applied: watch::Sender<HashMap<TenantCode, i64>>,
    /// Tenants whose checkpoint rows this process has made sure exist.
    seeded: std::sync::Mutex<std::collections::HashSet<TenantCode>>,
    /// Whether a follower task keeps the projections of this process up to date.
    followed: std::sync::atomic::AtomicBool,
    /// Projections that could not apply an event, per tenant: left where they stopped.
    stopped: std::sync::Mutex<Vec<Stopped>>,
}

/// A projection that stopped at an event it could not apply, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stopped {
    #[serde(serialize_with = "as_text")]
    pub tenant: TenantCode,
    pub projection: &'static str,
    /// The position of the event it could not apply.
    pub position: i64,
    pub reason: String,
}

fn as_text<S: serde::Serializer>(tenant: &TenantCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(tenant)
}

/// A reader waited for a position the projections did not reach in time.
#[derive(Debug, thiserror::Error)]
#[error("the projections of tenant {tenant} did not reach position {position} within {waited:?} (at {applied})")]
pub struct Behind {
    pub tenant: TenantCode,
    pub position: i64,
    pub applied: i64,
    pub waited: Duration,
}

/// Runs `$body` inside a transaction that holds the projections' write lock: SQLite's write lock
/// (`BEGIN IMMEDIATE`); on PostgreSQL the checkpoint rows are locked `FOR UPDATE` in the body.
macro_rules! in_locked_tx {
    ($db:expr, $tx:ident => $body:expr) => {
        match $db {
            Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let value = $body;
                $tx.commit().await?;
                value
            }
            Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let value = $body;
                $tx.commit().await?;
                value
            }
        }
    };
}

/// Executes `writes` in `$tx`, against fresh tables when `$fresh`.
macro_rules! execute_writes {
    ($tx:ident, $writes:expr, $fresh:expr) => {
        let anonymous = is_sqlite(&$tx);
        for (sql, args) in $writes.batched($fresh, anonymous) {
            let mut query = sqlx::query(&sql);
            for arg in args {
                query = match arg {
                    SqlValue::Int(value) => query.bind(*value),
                    SqlValue::Text(value) => query.bind(value.as_str()),
                    SqlValue::Bytes(value) => query.bind(value.as_slice()),
                    SqlValue::NullInt => query.bind(None::<i64>),
                    SqlValue::NullText => query.bind(None::<String>),
                };
            }
            query.execute(&mut *$tx).await?;
        }
    };
}

/// Reads the tenant's checkpoints inside `$tx`, locking them on PostgreSQL.
macro_rules! checkpoints_in {
    ($tx:ident, $backend:expr, $tenant:expr) => {{
        let sql = match $backend {
            Backend::Sqlite => "SELECT projection, position FROM projection_checkpoints WHERE tenant = $1",
            Backend::Postgres => "SELECT projection, position FROM projection_checkpoints WHERE tenant = $1 ORDER BY projection FOR UPDATE",
        };
        let rows: Vec<(String, i64)> = sqlx::query_as(sql).bind($tenant).fetch_all(&mut *$tx).await?;
        rows.into_iter().collect::<HashMap<String, i64>>()
    }};
}

macro_rules! set_checkpoint {
    ($tx:ident, $tenant:expr, $projection:expr, $position:expr) => {
        sqlx::query(
            "INSERT INTO projection_checkpoints (tenant, projection, position) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant, projection) DO UPDATE SET position = excluded.position",
        )
        .bind($tenant)
        .bind($projection)
        .bind($position)
        .execute(&mut *$tx)
        .await?;
    };
}

impl Projector {
    pub fn new(store: EventStore, projections: Vec<Arc<dyn Projection>>, metrics: ProjectionMetrics) -> Projector {
        Projector {
            store,
            projections,
            metrics: Arc::new(metrics),
            applied: watch::Sender::new(HashMap::new()),
            seeded: Default::default(),
            followed: Default::default(),
            stopped: Default::default(),
        }
    }

    /// The position every projection of `tenant` has applied, as this process last saw it.
    pub fn applied(&self, tenant: TenantCode) -> i64 {
        self.applied.borrow().get(&tenant).copied().unwrap_or(0)
    }

    /// Waits until every projection of `tenant` has applied `position` (read-your-writes for a
    /// reader that just committed, or that needs the tables to show the ledger's head). Only
    /// the follower task writes projections; this only watches. Bounded by `timeout`.
    pub async fn wait_for(&self, tenant: TenantCode, position: i64, timeout: Duration) -> Result<(), Behind> {
        let mut applied = self.applied.subscribe();
        let reached = applied.wait_for(|map| map.get(&tenant).copied().unwrap_or(0) >= position);
        let in_time = matches!(tokio::time::timeout(timeout, reached).await, Ok(Ok(_)));
        drop(applied);
        if in_time {
            Ok(())
        } else {
            Err(Behind { tenant, position, applied: self.applied(tenant), waited: timeout })
        }
    }

    /// Marks this process's projections as kept up to date by a follower task (the only writer
    /// of projection tables while it runs).
    pub fn set_followed(&self) {
        self.followed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Until the projections of `tenant` show everything committed before this call: waits for
    /// the follower (bounded) when one runs; in a process without one (a command-line tool),
    /// catches up itself, being the only writer there.
    pub async fn wait_for_head(&self, tenant: TenantCode, timeout: Duration) -> Result<(), ProjectionWaitError> {
        if !self.followed.load(std::sync::atomic::Ordering::SeqCst) {
            self.catch_up(tenant).await?;
            return Ok(());
        }
        let head = self.store.head(tenant).await?;
        Ok(self.wait_for(tenant, head, timeout).await?)
    }

    fn announce(&self, tenant: TenantCode, checkpoints: &HashMap<String, i64>) {
        // A stopped projection does not hold readers back: they read the others, and /health
        // says which one is behind and why.
        let position = self
            .projections
            .iter()
            .filter(|p| !self.is_stopped(tenant, p.name()))
            .map(|p| checkpoints.get(p.name()).copied().unwrap_or(0))
            .min()
            .unwrap_or(0);
        self.applied.send_if_modified(|map| {
            let entry = map.entry(tenant).or_insert(0);
            if position > *entry {
                *entry = position;
                true
            } else {
                false
            }
        });
    }

    pub fn projection_names(&self) -> Vec<&'static str> {
        self.projections.iter().map(|projection| projection.name()).collect()
    }

    fn db(&self) -> &Db {
        self.store.db()
    }

    /// Creates missing projection tables. A projection with a missing table, or one whose shape
    /// is not its current definition's, is dropped whole and its checkpoints reset, so the next
    /// catch-up rebuilds it from the first event.
    pub async fn prepare(&self) -> Result<(), ProjectionError> {
        for projection in &self.projections {
            let mut complete = true;
            for table in projection.tables() {
                // Every column of the current definition: a table of an older shape (after an
                // upgrade changed the projection) counts as missing and is rebuilt.
                let probe = format!("SELECT {} FROM {} WHERE 1 = 0", table.columns.join(", "), table.name);
                let exists = kokuho_store::on_db!(self.db(), pool => sqlx::query(&probe).execute(pool).await.is_ok());
                complete &= exists;
            }
            if complete {
                continue;
            }
            let had_checkpoints: i64 = kokuho_store::on_db!(self.db(), pool => {
                sqlx::query_scalar("SELECT COUNT(*) FROM projection_checkpoints WHERE projection = $1")
                    .bind(projection.name())
                    .fetch_one(pool)
                    .await?
            });
            if had_checkpoints > 0 {
                tracing::warn!(
                    projection = projection.name(),
                    "projection tables missing or of an older shape: rebuilding from the ledger"
                );
            } else {
                tracing::info!(projection = projection.name(), "creating projection tables");
            }
            in_locked_tx!(self.db(), tx => {
                for table in projection.tables() {
                    sqlx::query(&format!("DROP TABLE IF EXISTS {}", table.name)).execute(&mut *tx).await?;
                    for ddl in create_statements(table.ddl, table.name) {
                        sqlx::query(&ddl).execute(&mut *tx).await?;
                    }
                }
                sqlx::query("DELETE FROM projection_checkpoints WHERE projection = $1")
                    .bind(projection.name())
                    .execute(&mut *tx)
                    .await?;
            });
        }
        Ok(())
    }

    /// Applies every committed event of `tenant` not yet applied; returns how many were read.
    pub async fn catch_up(&self, tenant: TenantCode) -> Result<u64, ProjectionError> {
        let tenant_text = tenant.to_string();
        let seeded = self.seeded.lock().expect("seeded tenants lock").contains(&tenant);
        if !seeded {
            kokuho_store::on_db!(self.db(), pool => {
            for projection in &self.projections {
                sqlx::query(
                    "INSERT INTO projection_checkpoints (tenant, projection, position) VALUES ($1, $2, 0) \
                     ON CONFLICT (tenant, projection) DO NOTHING",
                )
                .bind(&tenant_text)
                .bind(projection.name())
                .execute(pool)
                .await?;
            }
            });
            self.seeded.lock().expect("seeded tenants lock").insert(tenant);
        }
        let mut read = 0u64;
        // Up to the head as it is now: under a steady stream of commits a catch-up still ends,
        // and the follower moves on to the policies and the other tenants.
        let head = self.store.head(tenant).await?;
        loop {
            // A stopped projection stays where it stopped; the others go on without it.
            let active: Vec<Arc<dyn Projection>> =
                self.projections.iter().filter(|p| !self.is_stopped(tenant, p.name())).cloned().collect();
            let checkpoints = self.checkpoints(&tenant_text).await?;
            let from = active.iter().map(|p| checkpoints.get(p.name()).copied().unwrap_or(0)).min().unwrap_or(head);
            let page =
                if from >= head { Vec::new() } else { self.store.read_clear_page(tenant, from, PAGE_EVENTS).await? };
            if page.is_empty() {
                self.record_lag(&tenant_text, &checkpoints, head.max(from));
                self.announce(tenant, &checkpoints);
                return Ok(read);
            }
            read += page.len() as u64;
            let events = decode(&page)?;
            let applied = match self.apply_page(&tenant_text, &active, &events).await {
                Ok(applied) => applied,
                // Some projection cannot apply this page: find which, and from which event, and
                // stop it there; the others apply the page without it.
                Err(error) => {
                    tracing::warn!(%tenant, %error, "a projection cannot apply a page; isolating it");
                    let mut failing = Vec::new();
                    for projection in &active {
                        if self.apply_page(&tenant_text, std::slice::from_ref(projection), &events).await.is_err() {
                            failing.push(projection.clone());
                        }
                    }
                    // Every one failing on its own says the database, not a projection, is at
                    // fault: nothing is stopped, and the follower tries again.
                    if failing.len() == active.len() {
                        return Err(error);
                    }
                    for projection in &failing {
                        for event in &events {
                            let one = std::slice::from_ref(event);
                            if let Err(error) =
                                self.apply_page(&tenant_text, std::slice::from_ref(projection), one).await
                            {
                                self.stop(tenant, projection.name(), event.position, error.to_string());
                                break;
                            }
                        }
                    }
                    self.checkpoints(&tenant_text).await?
                }
            };
            // Readers waiting for their own writes learn of each page as it commits.
            self.announce(tenant, &applied);
        }
    }

    /// Applies `events` to `projections` in one transaction with their checkpoints (each only
    /// from where it stopped); answers every checkpoint after it.
    async fn apply_page(
        &self,
        tenant_text: &str,
        projections: &[Arc<dyn Projection>],
        events: &[Projected],
    ) -> Result<HashMap<String, i64>, ProjectionError> {
        let backend = self.db().backend();
        let applied = in_locked_tx!(self.db(), tx => {
            let mut checkpoints = checkpoints_in!(tx, backend, tenant_text);
            for projection in projections {
                let checkpoint = checkpoints.get(projection.name()).copied().unwrap_or(0);
                // Apply only a page that continues exactly where this projection stopped.
                if events[0].position > checkpoint + 1 {
                    continue;
                }
                let fresh: Vec<Projected> = events.iter().filter(|e| e.position > checkpoint).cloned().collect();
                let Some(last) = fresh.last().map(|e| e.position) else { continue };
                let mut writes = Writes::default();
                projection.apply(tenant_text, &fresh, &mut writes);
                execute_writes!(tx, writes, false);
                set_checkpoint!(tx, tenant_text, projection.name(), last);
                checkpoints.insert(projection.name().to_owned(), last);
            }
            checkpoints
        });
        Ok(applied)
    }

    fn is_stopped(&self, tenant: TenantCode, projection: &str) -> bool {
        self.stopped
            .lock()
            .expect("stopped projections lock")
            .iter()
            .any(|s| s.tenant == tenant && s.projection == projection)
    }

    fn stop(&self, tenant: TenantCode, projection: &'static str, position: i64, reason: String) {
        tracing::error!(%tenant, projection, position, %reason, "projection stopped: it cannot apply this event");
        self.stopped.lock().expect("stopped projections lock").push(Stopped { tenant, projection, position, reason });
    }

    /// The projections that stopped at an event they could not apply (until a rebuild, or a
    /// restart that finds them able to go on).
    pub fn stopped(&self) -> Vec<Stopped> {
        self.stopped.lock().expect("stopped projections lock").clone()
    }

    async fn checkpoints(&self, tenant: &str) -> Result<HashMap<String, i64>, ProjectionError> {
        let rows: Vec<(String, i64)> = kokuho_store::on_db!(self.db(), pool => {
            sqlx::query_as("SELECT projection, position FROM projection_checkpoints WHERE tenant = $1")
                .bind(tenant)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    fn record_lag(&self, tenant: &str, checkpoints: &HashMap<String, i64>, head: i64) {
        for projection in &self.projections {
            let checkpoint = checkpoints.get(projection.name()).copied().unwrap_or(0);
            self.metrics
                .lag_events
                .get_or_create(&LagLabels { projection: projection.name().to_owned(), tenant: tenant.to_owned() })
                .set((head - checkpoint).max(0));
        }
    }

    /// Reads and decodes every tenant's ledger page by page, as a rebuild does, and applies
    /// nothing: the limit a rebuild approaches (`kokuho bench` reports a rebuild's rate as a share
    /// of it). Answers the events read.
    pub async fn read_and_decode(&self) -> Result<u64, ProjectionError> {
        let mut events = 0u64;
        for tenant in self.store.tenants().await? {
            let mut position = 0;
            loop {
                let page = self.store.read_clear_page(tenant, position, PAGE_EVENTS).await?;
                let Some(last) = page.last().map(|event| event.position) else { break };
                events += decode(&page)?.len() as u64;
                position = last;
            }
        }
        Ok(events)
    }

    /// Rebuilds the named projection (or all) from the first event into fresh tables, then swaps
    /// them for the live ones in one transaction that also applies whatever committed meanwhile.
    pub async fn rebuild(
        &self,
        only: Option<&str>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RebuildReport, ProjectionError> {
        let started = Instant::now();
        let selected: Vec<Arc<dyn Projection>> = match only {
            None => self.projections.clone(),
            Some(name) => vec![self
                .projections
                .iter()
                .find(|projection| projection.name() == name)
                .cloned()
                .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))?],
        };
        kokuho_store::on_db!(self.db(), pool => {
            for projection in &selected {
                for table in projection.tables() {
                    let fresh = physical(table.name, true);
                    sqlx::query(&format!("DROP TABLE IF EXISTS {fresh}")).execute(pool).await?;
                    for ddl in create_statements(table.ddl, &fresh) {
                        sqlx::query(&ddl).execute(pool).await?;
                    }
                }
            }
        });

        let tenants = self.store.tenants().await?;
        let mut total = 0u64;
        for tenant in &tenants {
            total += self.store.head(*tenant).await? as u64;
        }
        let mut report = RebuildReport {
            projections: selected.iter().map(|p| p.name()).collect(),
            tenants: tenants.len(),
            ..Default::default()
        };
        let mut built: HashMap<TenantCode, i64> = HashMap::new();
        for tenant in &tenants {
            let position = self
                .build_fresh(&selected, *tenant, 0, &mut |events| {
                    report.events += events;
                    progress(report.events, total);
                })
                .await?;
            built.insert(*tenant, position);
        }

        // The swap: catch up what committed during the build, replace, set checkpoints.
        let backend = self.db().backend();
        let mut late = Vec::new();
        in_locked_tx!(self.db(), tx => {
            for tenant in &tenants {
                let tenant_text = tenant.to_string();
                let _locked = checkpoints_in!(tx, backend, &tenant_text);
                let mut position = built[tenant];
                loop {
                    let page = self.store.read_clear_page(*tenant, position, PAGE_EVENTS).await?;
                    let Some(last) = page.last().map(|event| event.position) else { break };
                    let events = decode(&page)?;
                    for projection in &selected {
                        let mut writes = Writes::default();
                        projection.apply(&tenant_text, &events, &mut writes);
                        execute_writes!(tx, writes, true);
                    }
                    late.push(page.len() as u64);
                    position = last;
                }
                for projection in &selected {
                    set_checkpoint!(tx, &tenant_text, projection.name(), position);
                }
            }
            for projection in &selected {
                sqlx::query("DELETE FROM projection_checkpoints WHERE projection = $1 AND position > 0 AND tenant NOT IN (SELECT code FROM tenants)")
                    .bind(projection.name())
                    .execute(&mut *tx)
                    .await?;
                for table in projection.tables() {
                    sqlx::query(&format!("DROP TABLE IF EXISTS {}", table.name)).execute(&mut *tx).await?;
                    sqlx::query(&format!("ALTER TABLE {} RENAME TO {}", physical(table.name, true), table.name))
                        .execute(&mut *tx)
                        .await?;
                }
            }
        });
        report.events += late.iter().sum::<u64>();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Applies `tenant`'s events after `from` to the fresh tables, a page per transaction.
    async fn build_fresh(
        &self,
        selected: &[Arc<dyn Projection>],
        tenant: TenantCode,
        from: i64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<i64, ProjectionError> {
        let tenant_text = tenant.to_string();
        let mut position = from;
        // Read and decode the next page while the current one is written: reading and decoding
        // is about half the work of a rebuild.
        let read_decoded = |after: i64| {
            let store = self.store.clone();
            tokio::spawn(async move {
                let page = store.read_clear_page(tenant, after, PAGE_EVENTS).await?;
                decode(&page)
            })
        };
        let mut next = read_decoded(from);
        loop {
            let events = next.await.expect("page reader does not panic")?;
            let Some(last) = events.last().map(|event| event.position) else { return Ok(position) };
            next = read_decoded(last);
            let mut writes = Writes::default();
            for projection in selected {
                projection.apply(&tenant_text, &events, &mut writes);
            }
            kokuho_store::on_db!(self.db(), pool => {
                let mut tx = pool.begin().await?;
                execute_writes!(tx, writes, true);
                tx.commit().await?;
            });
            position = last;
            progress(events.len() as u64);
        }
    }

    /// Every row of every table of `projection`, as text, in key order: for comparing a rebuild
    /// with the incremental path.
    pub async fn dump(&self, projection: &str) -> Result<Vec<Vec<Option<String>>>, ProjectionError> {
        let projection = self
            .projections
            .iter()
            .find(|p| p.name() == projection)
            .ok_or_else(|| ProjectionError::UnknownProjection(projection.to_owned()))?;
        let mut rows = Vec::new();
        for table in projection.tables() {
            let columns: Vec<String> = table.columns.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
            let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), table.name, table.key.join(", "));
            let table_rows: Vec<Vec<Option<String>>> = kokuho_store::on_db!(self.db(), pool => {
                use sqlx::Row;
                let fetched = sqlx::query(&sql).fetch_all(pool).await?;
                fetched
                    .iter()
                    .map(|row| (0..table.columns.len()).map(|i| row.try_get::<Option<String>, _>(i)).collect::<Result<Vec<_>, _>>())
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            });
            rows.extend(table_rows);
        }
        Ok(rows)
    }
}

fn is_sqlite<DB: sqlx::Database>(_: &sqlx::Transaction<'_, DB>) -> bool {
    DB::NAME == "SQLite"
}

fn create_statements(ddl: &[&str], physical_name: &str) -> Vec<String> {
    let generation: u32 = rand::thread_rng().gen();
    ddl.iter()
        .map(|statement| statement.replace("{table}", physical_name).replace("{gen}", &format!("{generation:08x}")))
        .collect()
}

/// Decodes a page of clear events (personal parts unavailable), as projections and policies
/// see them.
pub fn decode(page: &[ClearEvent]) -> Result<Vec<Projected>, ProjectionError> {
    page.iter()
        .map(|event| {
            let schema_version = u16::try_from(event.schema_version).map_err(|_| ProjectionError::Decode {
                position: event.position,
                reason: format!("schema version {} is out of range", event.schema_version),
            })?;
            let personal = if event.has_personal { PersonalPart::Unavailable } else { PersonalPart::None };
            let decoded = LedgerEvent::decode(&event.event_type, schema_version, &event.payload, personal)
                .map_err(|error| ProjectionError::Decode { position: event.position, reason: error.to_string() })?;
            Ok(Projected {
                position: event.position,
                recorded_at: event.recorded_at,
                stream_id: event.stream_id.clone(),
                event: decoded,
            })
        })
        .collect()
}
