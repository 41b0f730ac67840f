//! The event store: the only code that writes events (ARCHITECTURE.md, "Code map").
//!
//! It owns the envelope (invariant 2), the per-tenant single writer with group commit and the
//! hash chain (invariant 5), per-person encryption of personal parts (invariant 7), reads by
//! stream, by instant and by position, and verification. It does not know what events mean:
//! payloads are bytes here, typed in `kokuho-events` and decided in `kokuho-domain`.

/// The chain hash lives with the offline verifier, which recomputes it (`kokuho-audit`).
pub use kokuho_audit::chain;
mod db;
mod envelope;
mod keys;
mod merkle;
pub mod metrics;
mod read;
mod verify;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use kokuho_domain::TenantCode;
use kokuho_vault::MasterKey;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use db::{Backend, Db};
pub use envelope::{
    Actor, AppendOutcome, AppendRequest, CommandMeta, ExpectedVersion, NewEvent, PersonalData, RecordedEvent,
    SearchToken,
};
pub use kokuho_audit::{CheckpointKey, ConsistencyProof, InclusionProof};
pub use merkle::PublishedCheckpoint;
pub use metrics::StoreMetrics;
pub use read::{ClearEvent, Decrypt, PAGE_EVENTS_MAX};
pub use verify::{Break, ChainBreak, VerifyReport};

/// Where the store takes the time it stamps from (`recorded_at`, a destroyed key's
/// `destroyed_at`). The ledger decides with the same clock (`kokuho_ledger::Clock` is this type),
/// so a test or a replay that sets its own clock sets it for both.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock: what every store and ledger uses unless told otherwise.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// One command appends at most this many events.
pub const COMMAND_EVENTS_MAX: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("schema migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
    #[error(
        "a data key does not open with this master key: is KOKUHO_MASTER_KEY the one this database was created with?"
    )]
    WrongMasterKey,
    #[error("the personal data of {subject} was erased; nothing personal can be added for them")]
    SubjectErased { subject: Uuid },
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// An earlier use of an idempotency key (see [`EventStore::idempotent_outcome`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUse {
    Unused,
    SameCommand(AppendOutcome),
    OtherCommand,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream_id} is at version {actual}, not the expected {expected}")]
    Conflict { stream_id: String, expected: i64, actual: i64 },
    #[error("idempotency key {key:?} was already used for a different stream or command")]
    IdempotencyKeyReused { key: String },
    #[error("{0}")]
    Invalid(String),
    #[error("the personal data of {subject} was erased; nothing personal can be added for them")]
    SubjectErased { subject: Uuid },
    #[error("the ledger could not be written: {0}")]
    Storage(String),
    #[error("the ledger is shutting down")]
    ShuttingDown,
}

struct TenantWriter {
    queue: mpsc::Sender<writer::Job>,
    task: JoinHandle<()>,
}

struct Inner {
    db: Db,
    keyring: Arc<keys::Keyring>,
    metrics: Arc<StoreMetrics>,
    clock: Clock,
    writers: Mutex<HashMap<TenantCode, TenantWriter>>,
    /// Counts this process's commits, across tenants, so followers can wake on them.
    commits: watch::Sender<u64>,
    /// Whether the writers maintain the Merkle tree (see [`EventStore::without_merkle_tree`]).
    maintain_tree: bool,
}

/// The key of a tenant's write lock (PostgreSQL advisory lock): the tenant code namespaced so it
/// cannot collide with other advisory locks in the same database.
fn lock_key(tenant: TenantCode) -> i64 {
    (0x6b6f_6b75_i64 << 32) | i64::from(tenant.as_u32())
}

/// A handle on the ledger; cheap to clone.
#[derive(Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
}

impl EventStore {
    /// A store on `db` that stamps with the system clock (see [`EventStore::with_clock`]).
    pub fn new(db: Db, master_key: impl Into<Arc<MasterKey>>, metrics: StoreMetrics) -> EventStore {
        EventStore {
            inner: Arc::new(Inner {
                keyring: Arc::new(keys::Keyring::new(db.clone(), master_key.into())),
                db,
                metrics: Arc::new(metrics),
                clock: system_clock(),
                writers: Mutex::new(HashMap::new()),
                commits: watch::Sender::new(0),
                maintain_tree: true,
            }),
        }
    }

    /// A store whose writers do not maintain the Merkle tree: only for the benchmark's reference
    /// run, which measures what the tree costs the append path. Proofs and checkpoints of a
    /// ledger written so are refused until a store that maintains the tree catches it up.
    pub fn without_merkle_tree(mut self) -> EventStore {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("EventStore::without_merkle_tree is called where the store is built, before it is cloned");
        inner.maintain_tree = false;
        self
    }

    /// Stamps with `clock` instead of the system clock: `recorded_at` is the clock's instant
    /// when the batch is written, or the ledger head's if the clock is behind it (invariant 2:
    /// `recorded_at` never decreases along positions). Set it where the store is built, before
    /// it is cloned.
    pub fn with_clock(mut self, clock: Clock) -> EventStore {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("EventStore::with_clock is called where the store is built, before it is cloned");
        inner.clock = clock;
        self
    }

    /// The store's clock's current instant.
    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }

    /// The counters and histograms of this store's writers.
    pub fn metrics(&self) -> &StoreMetrics {
        &self.inner.metrics
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The tenant's writer, started on first use.
    fn writer(&self, tenant: TenantCode) -> mpsc::Sender<writer::Job> {
        let mut writers = self.inner.writers.lock().expect("writers lock");
        let entry = writers.entry(tenant).or_insert_with(|| {
            let (queue, receiver) = mpsc::channel(writer::QUEUE_COMMANDS_MAX);
            let lock_key = lock_key(tenant);
            let writer = writer::Writer::new(
                self.inner.db.clone(),
                tenant.to_string(),
                lock_key,
                self.inner.keyring.clone(),
                self.inner.metrics.clone(),
                self.inner.clock.clone(),
                self.inner.commits.clone(),
            )
            .maintaining_tree(self.inner.maintain_tree);
            TenantWriter { queue, task: tokio::spawn(writer.run(receiver)) }
        });
        entry.queue.clone()
    }

    /// Appends one command's events to a stream, atomically, if the stream is at the expected
    /// version. Answers after the commit.
    pub async fn append(&self, tenant: TenantCode, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        if request.events.is_empty() {
            return Err(AppendError::Invalid("a command must append at least one event".into()));
        }
        if request.events.len() > COMMAND_EVENTS_MAX {
            return Err(AppendError::Invalid(format!(
                "a command appends at most {COMMAND_EVENTS_MAX} events, not {}",
                request.events.len()
            )));
        }
        let tenant_text = tenant.to_string();
        let mut events = Vec::with_capacity(request.events.len());
        let mut new_keys: Vec<(Uuid, Vec<u8>)> = Vec::new();
        for event in request.events {
            let event_id = Uuid::now_v7();
            let personal = match (event.personal, event.subject_id) {
                (None, _) => None,
                (Some(_), None) => {
                    return Err(AppendError::Invalid(format!(
                        "{} has a personal part but no subject",
                        event.event_type
                    )))
                }
                (Some(plain), Some(subject)) => {
                    let key =
                        self.inner.keyring.key_for_writing(&tenant_text, subject).await.map_err(
                            |error| match error {
                                StoreError::SubjectErased { subject } => AppendError::SubjectErased { subject },
                                other => AppendError::Storage(other.to_string()),
                            },
                        )?;
                    if let Some(wrapped) = key.wrapped {
                        if !new_keys.iter().any(|(known, _)| *known == subject) {
                            new_keys.push((subject, wrapped));
                        }
                    }
                    Some(key.key.seal(&plain, &read::seal_context(&tenant_text, event_id)))
                }
            };
            events.push(writer::SealedEvent {
                event_id,
                event_type: event.event_type,
                schema_version: event.schema_version,
                subject_id: event.subject_id,
                payload: event.payload,
                personal,
            });
        }
        let (reply, answer) = oneshot::channel();
        let job = writer::Job {
            stream_id: request.stream_id,
            expected: request.expected_version,
            meta: request.meta,
            events,
            new_keys,
            search_tokens: request.search_tokens,
            command_fingerprint: request.command_fingerprint,
            reply,
        };
        let queue = self.writer(tenant);
        queue.send(job).await.map_err(|_| AppendError::ShuttingDown)?;
        answer.await.map_err(|_| AppendError::ShuttingDown)?
    }

    /// The blind index token of a personal value (keyed by the master key; see
    /// `kokuho_vault::MasterKey::blind_index`).
    pub fn search_token(&self, tenant: TenantCode, kind: &'static str, person_id: Uuid, value: &str) -> SearchToken {
        SearchToken {
            person_id,
            kind,
            token: self.inner.keyring.master().blind_index(&tenant.to_string(), kind, value),
        }
    }

    /// The persons with a value of `kind` matching `value` (spelling variants normalised).
    pub async fn search(&self, tenant: TenantCode, kind: &'static str, value: &str) -> Result<Vec<Uuid>, StoreError> {
        let token = self.inner.keyring.master().blind_index(&tenant.to_string(), kind, value);
        let rows: Vec<Vec<u8>> = on_db!(&self.inner.db, pool => {
            sqlx::query_scalar("SELECT person_id FROM person_search WHERE tenant = $1 AND kind = $2 AND token = $3 ORDER BY person_id")
                .bind(tenant.to_string())
                .bind(kind)
                .bind(token.as_slice())
                .fetch_all(pool)
                .await?
        });
        rows.iter()
            .map(|bytes| Uuid::from_slice(bytes).map_err(|_| StoreError::Corrupt("a person id is not 16 bytes".into())))
            .collect()
    }

    /// The keyed digest an Idempotency-Key is bound to: of the stream and the command as its
    /// aggregate serialises it (HMAC under a key derived from the master key, so the digest of a
    /// command holding personal data reveals nothing and cannot be tested against guesses).
    pub fn command_fingerprint(&self, tenant: TenantCode, stream_id: &str, command: &[u8]) -> [u8; 32] {
        let message = [stream_id.as_bytes(), b"\0", command].concat();
        self.inner.keyring.master().tenant_hmac(&tenant.to_string(), "idempotency-command", &message)
    }

    /// What became of an earlier use of `key`, asked when a retried command is refused by the
    /// state it created: the first result when it was this command (same stream, same
    /// fingerprint when both have one), [`KeyUse::OtherCommand`] when the key was used for
    /// another, [`KeyUse::Unused`] when it was never used.
    pub async fn idempotent_outcome(
        &self,
        tenant: TenantCode,
        key: &str,
        stream_id: &str,
        fingerprint: Option<&[u8; 32]>,
    ) -> Result<KeyUse, StoreError> {
        // Plain rows, folded here: a GROUP BY would lead SQLite's planner away from the
        // idempotency index (see the writer).
        type Used = (String, Option<Vec<u8>>, i64, i64, i64);
        let rows: Vec<Used> = on_db!(&self.inner.db, pool => {
            sqlx::query_as(
                "SELECT stream_id, command_fingerprint, position, stream_version, recorded_at FROM events \
                 WHERE tenant = $1 AND idempotency_key = $2 AND idempotency_key IS NOT NULL",
            )
            .bind(tenant.to_string())
            .bind(key)
            .fetch_all(pool)
            .await?
        });
        let Some((first_stream, ..)) = rows.first() else {
            return Ok(KeyUse::Unused);
        };
        // Erasure clears the fingerprints of a person's events: compare those that remain.
        let stored = rows.iter().find_map(|(_, stored, ..)| stored.as_deref());
        let one_command = rows.iter().all(|(used_on, fingerprint, ..)| {
            used_on == first_stream && fingerprint.as_deref().is_none_or(|f| Some(f) == stored)
        });
        if !one_command || first_stream != stream_id || !writer::same_command(stored, fingerprint) {
            return Ok(KeyUse::OtherCommand);
        }
        let positions = rows.iter().map(|row| row.2);
        Ok(KeyUse::SameCommand(AppendOutcome {
            first_position: positions.clone().min().unwrap_or_default(),
            last_position: positions.max().unwrap_or_default(),
            stream_version: rows.iter().map(|row| row.3).max().unwrap_or_default(),
            recorded_at: envelope::from_micros(rows.iter().map(|row| row.4).min().unwrap_or_default()),
            duplicate: true,
        }))
    }

    /// A stream's events in order.
    pub async fn read_stream(
        &self,
        tenant: TenantCode,
        stream_id: &str,
        decrypt: Decrypt,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::stream(&self.inner.db, &self.inner.keyring, &tenant.to_string(), stream_id, None, decrypt).await
    }

    /// A stream's events as the ledger had recorded them at `as_of` (transaction time).
    pub async fn read_stream_as_of(
        &self,
        tenant: TenantCode,
        stream_id: &str,
        as_of: DateTime<Utc>,
        decrypt: Decrypt,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::stream(&self.inner.db, &self.inner.keyring, &tenant.to_string(), stream_id, Some(as_of), decrypt).await
    }

    /// Up to `limit` (at most [`PAGE_EVENTS_MAX`]) events after `after_position`, in order.
    pub async fn read_page(
        &self,
        tenant: TenantCode,
        after_position: i64,
        limit: i64,
        decrypt: Decrypt,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::page(&self.inner.db, &self.inner.keyring, &tenant.to_string(), after_position, limit, decrypt).await
    }

    /// Like [`EventStore::read_page`], but only the clear part and what orders it: the read
    /// projections use.
    pub async fn read_clear_page(
        &self,
        tenant: TenantCode,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<ClearEvent>, StoreError> {
        read::clear_page(&self.inner.db, &tenant.to_string(), after_position, limit).await
    }

    /// The tenant's last committed position (0 for an empty ledger).
    pub async fn head(&self, tenant: TenantCode) -> Result<i64, StoreError> {
        let position: Option<i64> = on_db!(&self.inner.db, pool => {
            sqlx::query_scalar("SELECT MAX(position) FROM events WHERE tenant = $1")
                .bind(tenant.to_string())
                .fetch_one(pool)
                .await?
        });
        Ok(position.unwrap_or(0))
    }

    /// Whether `tenant` has a ledger (a municipality kokuho serves).
    pub async fn has_tenant(&self, tenant: TenantCode) -> Result<bool, StoreError> {
        let found: Option<String> = on_db!(&self.inner.db, pool => {
            sqlx::query_scalar("SELECT code FROM tenants WHERE code = $1")
                .bind(tenant.to_string())
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// Every tenant that has a ledger.
    pub async fn tenants(&self) -> Result<Vec<TenantCode>, StoreError> {
        let codes: Vec<String> = on_db!(&self.inner.db, pool => {
            sqlx::query_scalar("SELECT code FROM tenants ORDER BY code").fetch_all(pool).await?
        });
        codes
            .iter()
            .map(|code| {
                TenantCode::parse(code).map_err(|error| StoreError::Corrupt(format!("tenant {code:?}: {error}")))
            })
            .collect()
    }

    /// Changes whenever this process commits to any tenant's ledger (commits by other processes
    /// are not seen here: followers also poll).
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.inner.commits.subscribe()
    }

    /// Recomputes every tenant's chain; stops each tenant at its first break.
    pub async fn verify(
        &self,
        progress: &mut dyn FnMut(TenantCode, u64),
    ) -> Result<Vec<(TenantCode, VerifyReport)>, StoreError> {
        let mut reports = Vec::new();
        for tenant in self.tenants().await? {
            let report =
                verify::tenant(&self.inner.db, &tenant.to_string(), &mut |events| progress(tenant, events)).await?;
            reports.push((tenant, report));
        }
        Ok(reports)
    }

    /// Brings the tenant's Merkle tree up with its events (a ledger written before the tree
    /// existed), under the tenant's write lock; answers the tree's size. Writers do the same on
    /// their first batch; `serve` calls this for every tenant at startup.
    pub async fn catch_up_tree(&self, tenant: TenantCode) -> Result<u64, StoreError> {
        merkle::catch_up(&self.inner.db, &tenant.to_string(), lock_key(tenant)).await
    }

    /// How many events the tenant's Merkle tree covers (its head, once caught up).
    pub async fn tree_size(&self, tenant: TenantCode) -> Result<u64, StoreError> {
        merkle::size(&self.inner.db, &tenant.to_string()).await
    }

    /// The root hash of the tenant's tree of `size` events (at most [`EventStore::tree_size`]).
    pub async fn tree_root(&self, tenant: TenantCode, size: u64) -> Result<kokuho_audit::Hash, StoreError> {
        merkle::root(&self.inner.db, &tenant.to_string(), size).await
    }

    /// The proof that the event at `position` is in the tenant's tree of `tree_size` events, with
    /// the event as stored (personal part sealed) so the verifier recomputes its chain hash.
    /// Reads O(log n) stored hashes and one event.
    pub async fn inclusion_proof(
        &self,
        tenant: TenantCode,
        position: i64,
        tree_size: u64,
    ) -> Result<InclusionProof, StoreError> {
        if position < 1 || position as u64 > tree_size {
            return Err(StoreError::Config(format!("position {position} is not in a tree of {tree_size}")));
        }
        merkle::inclusion(&self.inner.db, &tenant.to_string(), position, tree_size).await
    }

    /// The proof that the tenant's tree of `new_size` events extends its tree of `old_size`.
    pub async fn consistency_proof(
        &self,
        tenant: TenantCode,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        if old_size > new_size {
            return Err(StoreError::Config(format!("a tree of {old_size} is not a prefix of one of {new_size}")));
        }
        merkle::consistency(&self.inner.db, &tenant.to_string(), old_size, new_size).await
    }

    /// Up to `limit` (at most [`PAGE_EVENTS_MAX`]) events after `after_position` as stored, with
    /// every field their chain hash covers (personal parts sealed): an extract an auditor can
    /// check offline.
    pub async fn export_events(
        &self,
        tenant: TenantCode,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<kokuho_audit::ExportedEvent>, StoreError> {
        merkle::export(&self.inner.db, &tenant.to_string(), after_position, limit).await
    }

    /// The position of the event `event_id` in the tenant's ledger.
    pub async fn position_of(&self, tenant: TenantCode, event_id: Uuid) -> Result<Option<i64>, StoreError> {
        Ok(on_db!(&self.inner.db, pool => {
            sqlx::query_scalar("SELECT position FROM events WHERE tenant = $1 AND event_id = $2")
                .bind(tenant.to_string())
                .bind(event_id.as_bytes().as_slice())
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Signs (with `key`) and keeps a checkpoint of the tenant's tree as it is now, unless one of
    /// that size was already published; answers the checkpoint of the current size.
    pub async fn publish_checkpoint(
        &self,
        tenant: TenantCode,
        key: &CheckpointKey,
    ) -> Result<PublishedCheckpoint, StoreError> {
        merkle::publish(&self.inner.db, &tenant.to_string(), key, self.now()).await
    }

    /// The latest published checkpoint of the tenant, or the one of `tree_size`.
    pub async fn published_checkpoint(
        &self,
        tenant: TenantCode,
        tree_size: Option<u64>,
    ) -> Result<Option<PublishedCheckpoint>, StoreError> {
        merkle::published(&self.inner.db, &tenant.to_string(), tree_size).await
    }

    /// Destroys a person's data key: their personal parts read as erased from now on.
    pub async fn destroy_subject_key(&self, tenant: TenantCode, subject: Uuid) -> Result<bool, StoreError> {
        self.inner.keyring.destroy(&tenant.to_string(), subject, self.now()).await
    }

    /// Stops taking commands, lets every queued command commit, then returns.
    pub async fn shutdown(&self) {
        let writers: Vec<TenantWriter> = {
            let mut writers = self.inner.writers.lock().expect("writers lock");
            writers.drain().map(|(_, writer)| writer).collect()
        };
        for writer in writers {
            drop(writer.queue);
            let _ = writer.task.await;
        }
    }
}
