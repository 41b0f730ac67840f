//! The one writer per tenant ledger (invariant 5).
//!
//! Commands queue on a channel; the writer takes whatever is waiting (up to a bound), checks each
//! against its stream's version and its idempotency key, assigns gapless positions and the hash
//! chain, writes them all in one transaction and answers every caller after the commit. One
//! fsync then carries many commands: that is the lever on the append path.
//!
//! Across processes the transaction takes the tenant's write lock first (SQLite `BEGIN
//! IMMEDIATE`, PostgreSQL `pg_advisory_xact_lock`) and re-reads the ledger head, so positions
//! are assigned and become visible strictly in order: a reader following by position can never
//! see position n+1 before n (the sequence-gap trap does not arise, as no sequence is used).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use sqlx::{PgPool, QueryBuilder, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::chain::{event_hash, ChainFields, GENESIS};
use crate::envelope::{from_micros, AppendOutcome, CommandMeta, ExpectedVersion};
use crate::keys::Keyring;
use crate::metrics::StoreMetrics;
use crate::{AppendError, Clock, Db};

/// At most this many commands share one commit.
pub(crate) const BATCH_COMMANDS_MAX: usize = 1024;
/// At most this many events share one commit.
const BATCH_EVENTS_MAX: usize = 8192;
/// Rows per INSERT statement (18 parameters each, within both backends' limits).
const INSERT_ROWS_MAX: usize = 1000;
/// Stream heads kept in memory; past that the cache starts over (it is only a cache).
const CACHED_STREAMS_MAX: usize = 200_000;
/// How long a batch may wait for callers the last commit answered (see `Writer::run`).
const LINGER_MAX: std::time::Duration = std::time::Duration::from_micros(250);
/// Scheduler turns in a row without a new command after which the writer stops lingering.
const LINGER_IDLE_TURNS_MAX: u32 = 4;
/// Commands waiting for the writer before callers wait to enqueue (back-pressure).
pub(crate) const QUEUE_COMMANDS_MAX: usize = 4096;

/// An event ready for the ledger: its id assigned and its personal part sealed.
pub(crate) struct SealedEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i64,
    pub subject_id: Option<Uuid>,
    pub payload: Vec<u8>,
    pub personal: Option<Vec<u8>>,
}

pub(crate) struct Job {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub meta: CommandMeta,
    pub events: Vec<SealedEvent>,
    /// Data keys created for this command's subjects, to be stored in the same transaction.
    pub new_keys: Vec<(Uuid, Vec<u8>)>,
    /// Blind index tokens of the command's personal values, stored in the same transaction.
    pub search_tokens: Vec<crate::SearchToken>,
    pub command_fingerprint: Option<[u8; 32]>,
    pub reply: oneshot::Sender<Result<AppendOutcome, AppendError>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Head {
    position: i64,
    hash: [u8; 32],
    recorded_at_micros: i64,
}

pub(crate) struct Writer {
    db: Db,
    tenant: String,
    lock_key: i64,
    head: Option<Head>,
    stream_versions: HashMap<String, i64>,
    keyring: Arc<Keyring>,
    metrics: Arc<StoreMetrics>,
    /// What `recorded_at` is taken from (never below the head's: invariant 2).
    clock: Clock,
    commits: watch::Sender<u64>,
    /// The right edge of the tenant's Merkle tree as of `head` (`None`: reload it under the lock).
    tree: Option<kokuho_audit::Frontier>,
    /// Whether this writer maintains the Merkle tree (always, except the benchmark's reference
    /// run that measures what the tree costs the append path).
    maintain_tree: bool,
}

/// One row to insert, with everything the chain covers.
struct Row<'a> {
    job: usize,
    position: i64,
    stream_version: i64,
    event: &'a SealedEvent,
    meta: &'a CommandMeta,
    stream_id: &'a str,
    prev_hash: [u8; 32],
    hash: [u8; 32],
}

/// What the batch decided for each job before the commit.
enum Verdict {
    Append {
        first_position: i64,
        last_position: i64,
        stream_version: i64,
    },
    Refused(AppendError),
    /// The key was used before (in the ledger or earlier in this batch).
    Duplicate(AppendOutcome),
    /// The key was used earlier in this batch by job `usize`.
    SameAsJob(usize),
}

/// Opens a write transaction holding the tenant's write lock.
pub(crate) trait BeginLocked {
    type Database: sqlx::Database;
    fn begin_locked(
        &self,
        lock_key: i64,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Database>>> + Send;
}

impl BeginLocked for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_locked(&self, _lock_key: i64) -> sqlx::Result<Transaction<'static, sqlx::Sqlite>> {
        // IMMEDIATE takes the database's write lock now, not at the first write, so the head
        // read below cannot go stale before the insert.
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginLocked for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_locked(&self, lock_key: i64) -> sqlx::Result<Transaction<'static, sqlx::Postgres>> {
        // One round trip for both (simple query protocol); the key is an integer we computed,
        // so writing it into the statement is safe.
        self.begin_with(format!("BEGIN; SELECT pg_advisory_xact_lock({lock_key})")).await
    }
}

/// The body of a batch write, expanded once per backend so each is checked against its own
/// driver's types (a generic version needs bounds that do not survive `tokio::spawn`).
macro_rules! write_batch {
    ($self:ident, $pool:ident, $jobs:ident, $database:ty) => {{
        let mut tx = $pool.begin_locked($self.lock_key).await?;

        let stored_head: Option<(i64, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT position, hash, recorded_at FROM events WHERE tenant = $1 ORDER BY position DESC LIMIT 1",
        )
        .bind($self.tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let head = stored_head.map_or(
            Head { position: 0, hash: GENESIS, recorded_at_micros: 0 },
            |(position, hash, recorded_at_micros)| Head {
                position,
                hash: hash.try_into().unwrap_or([0xFF; 32]),
                recorded_at_micros,
            },
        );
        if $self.head != Some(head) {
            // Another process wrote since our last batch (or this is the first): forget what we
            // cached about stream versions, and reload the tree's edge.
            $self.stream_versions.clear();
            $self.tree = None;
        }
        // The Merkle tree's edge at the head: kept from the last batch, else loaded (and caught
        // up with the events if it is behind) under the lock.
        let mut tree = match $self.tree.take() {
            _ if !$self.maintain_tree => None,
            Some(tree) if tree.size() as i64 == head.position => Some(tree),
            _ => Some(crate::merkle::load_tree!(tx, $self.tenant.as_str(), head.position, $database).await?),
        };
        let mut tree_rows: Vec<(u64, kokuho_audit::Hash)> = Vec::new();

        // Idempotency keys already in the ledger.
        let keys: HashSet<&str> = $jobs.iter().filter_map(|job| job.meta.idempotency_key.as_deref()).collect();
        // Per used key: the stream and the command fingerprint it was first used with.
        let mut used_keys: HashMap<String, (String, Option<Vec<u8>>, AppendOutcome)> = HashMap::new();
        if !keys.is_empty() {
            // No GROUP BY: with one key, SQLite's planner would rather scan the stream index in
            // GROUP BY order than probe the idempotency index. Only used keys return rows.
            let mut query = QueryBuilder::<$database>::new(
                "SELECT idempotency_key, stream_id, command_fingerprint, position, stream_version, recorded_at \
                 FROM events WHERE tenant = ",
            );
            query.push_bind($self.tenant.as_str()).push(" AND idempotency_key IN (");
            let mut separated = query.separated(", ");
            for key in &keys {
                separated.push_bind(*key);
            }
            query.push(")");
            type KeyRow = (String, String, Option<Vec<u8>>, i64, i64, i64);
            let rows: Vec<KeyRow> = query.build_query_as().fetch_all(&mut *tx).await?;
            for (key, stream_id, fingerprint, position, stream_version, recorded_at) in rows {
                let (_, _, outcome) = used_keys.entry(key).or_insert_with(|| {
                    (
                        stream_id,
                        fingerprint,
                        AppendOutcome {
                            first_position: position,
                            last_position: position,
                            stream_version,
                            recorded_at: from_micros(recorded_at),
                            duplicate: true,
                        },
                    )
                });
                outcome.first_position = outcome.first_position.min(position);
                outcome.last_position = outcome.last_position.max(position);
                outcome.stream_version = outcome.stream_version.max(stream_version);
            }
        }

        // Data keys created for this batch's subjects: stored keys win (another process may have
        // created one first; commands sealed with ours are then refused and retried).
        let new_subjects: HashSet<Uuid> =
            $jobs.iter().flat_map(|job| job.new_keys.iter().map(|(subject, _)| *subject)).collect();
        let mut stored_keys: HashMap<Uuid, Option<Vec<u8>>> = HashMap::new();
        if !new_subjects.is_empty() {
            let mut query =
                QueryBuilder::<$database>::new("SELECT subject_id, wrapped_key FROM person_keys WHERE tenant = ");
            query.push_bind($self.tenant.as_str()).push(" AND subject_id IN (");
            let mut separated = query.separated(", ");
            for subject in &new_subjects {
                separated.push_bind(subject.as_bytes().to_vec());
            }
            query.push(")");
            let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = query.build_query_as().fetch_all(&mut *tx).await?;
            for (subject, wrapped) in rows {
                if let Ok(subject) = Uuid::from_slice(&subject) {
                    stored_keys.insert(subject, wrapped);
                }
            }
        }

        // Versions of the streams we have not cached.
        let unknown: HashSet<&str> = $jobs
            .iter()
            .map(|job| job.stream_id.as_str())
            .filter(|stream| !$self.stream_versions.contains_key(*stream))
            .collect();
        if !unknown.is_empty() {
            if $self.stream_versions.len() + unknown.len() > CACHED_STREAMS_MAX {
                $self.stream_versions.clear();
            }
            for chunk in unknown.into_iter().collect::<Vec<_>>().chunks(INSERT_ROWS_MAX) {
                let mut query =
                    QueryBuilder::<$database>::new("SELECT stream_id, MAX(stream_version) FROM events WHERE tenant = ");
                query.push_bind($self.tenant.as_str()).push(" AND stream_id IN (");
                let mut separated = query.separated(", ");
                for stream in chunk {
                    separated.push_bind(*stream);
                }
                query.push(") GROUP BY stream_id");
                let rows: Vec<(String, i64)> = query.build_query_as().fetch_all(&mut *tx).await?;
                for stream in chunk {
                    $self.stream_versions.insert((*stream).to_owned(), 0);
                }
                for (stream, version) in rows {
                    $self.stream_versions.insert(stream, version);
                }
            }
        }

        // Decide each job in arrival order and lay out the rows.
        let recorded_at_micros = ($self.clock)().timestamp_micros().max(head.recorded_at_micros);
        let mut versions: HashMap<&str, i64> = HashMap::new();
        let mut keys_in_batch: HashMap<&str, usize> = HashMap::new();
        let mut verdicts = Vec::with_capacity($jobs.len());
        let mut rows: Vec<Row<'_>> = Vec::new();
        let mut position = head.position;
        let mut prev_hash = head.hash;
        for (index, job) in $jobs.iter().enumerate() {
            if let Some(key) = job.meta.idempotency_key.as_deref() {
                if let Some((stream_id, fingerprint, outcome)) = used_keys.get(key) {
                    let same_command = same_command(fingerprint.as_deref(), job.command_fingerprint.as_ref());
                    verdicts.push(if *stream_id == job.stream_id && same_command {
                        Verdict::Duplicate(outcome.clone())
                    } else {
                        Verdict::Refused(AppendError::IdempotencyKeyReused { key: key.to_owned() })
                    });
                    continue;
                }
                if let Some(&earlier) = keys_in_batch.get(key) {
                    let first = &$jobs[earlier];
                    let same_command = same_command(
                        first.command_fingerprint.as_ref().map(|f| f.as_slice()),
                        job.command_fingerprint.as_ref(),
                    );
                    verdicts.push(if first.stream_id == job.stream_id && same_command {
                        Verdict::SameAsJob(earlier)
                    } else {
                        Verdict::Refused(AppendError::IdempotencyKeyReused { key: key.to_owned() })
                    });
                    continue;
                }
            }
            if job.new_keys.iter().any(|(subject, wrapped)| {
                stored_keys.get(subject).is_some_and(|stored| stored.as_ref() != Some(wrapped))
            }) {
                verdicts.push(Verdict::Refused(AppendError::Storage(
                    "a data key for this person was created by another process at the same time; retry".into(),
                )));
                continue;
            }
            let current = *versions
                .get(job.stream_id.as_str())
                .or_else(|| $self.stream_versions.get(&job.stream_id))
                .expect("every stream in the batch was looked up");
            if !job.expected.allows(current) {
                $self.metrics.conflicts.inc();
                verdicts.push(Verdict::Refused(AppendError::Conflict {
                    stream_id: job.stream_id.clone(),
                    expected: job.expected.as_version(),
                    actual: current,
                }));
                continue;
            }
            if let Some(key) = job.meta.idempotency_key.as_deref() {
                keys_in_batch.insert(key, index);
            }
            let first_position = position + 1;
            let mut stream_version = current;
            for event in &job.events {
                position += 1;
                stream_version += 1;
                let event_id = event.event_id.as_bytes();
                let hash = event_hash(
                    &prev_hash,
                    &ChainFields {
                        tenant: &$self.tenant,
                        position,
                        event_id,
                        stream_id: &job.stream_id,
                        stream_version,
                        event_type: &event.event_type,
                        schema_version: event.schema_version,
                        recorded_at_micros,
                        actor: &job.meta.actor.encode(),
                        purpose: &job.meta.purpose,
                        correlation_id: job.meta.correlation_id.as_bytes(),
                        causation_id: job.meta.causation_id.as_ref().map(|id| id.as_bytes().as_slice()),
                        idempotency_key: job.meta.idempotency_key.as_deref(),
                        subject_id: event.subject_id.as_ref().map(|id| id.as_bytes().as_slice()),
                        payload: &event.payload,
                        personal: event.personal.as_deref(),
                    },
                );
                rows.push(Row {
                    job: index,
                    position,
                    stream_version,
                    event,
                    meta: &job.meta,
                    stream_id: &job.stream_id,
                    prev_hash,
                    hash,
                });
                prev_hash = hash;
                if let Some(tree) = tree.as_mut() {
                    tree_rows.extend(tree.append(&hash));
                }
            }
            versions.insert(job.stream_id.as_str(), stream_version);
            verdicts.push(Verdict::Append { first_position, last_position: position, stream_version });
        }

        for chunk in rows.chunks(INSERT_ROWS_MAX) {
            let mut query = QueryBuilder::<$database>::new(
                "INSERT INTO events (tenant, position, event_id, stream_id, stream_version, event_type, \
                 schema_version, recorded_at, actor, purpose, correlation_id, causation_id, idempotency_key, \
                 command_fingerprint, subject_id, payload, personal, prev_hash, hash) ",
            );
            query.push_values(chunk, |mut values, row| {
                debug_assert!(row.job < $jobs.len());
                values
                    .push_bind($self.tenant.as_str())
                    .push_bind(row.position)
                    .push_bind(row.event.event_id.as_bytes().as_slice())
                    .push_bind(row.stream_id)
                    .push_bind(row.stream_version)
                    .push_bind(row.event.event_type.as_str())
                    .push_bind(row.event.schema_version)
                    .push_bind(recorded_at_micros)
                    .push_bind(row.meta.actor.encode())
                    .push_bind(row.meta.purpose.as_str())
                    .push_bind(row.meta.correlation_id.as_bytes().as_slice())
                    .push_bind(row.meta.causation_id.as_ref().map(|id| id.as_bytes().as_slice()))
                    .push_bind(row.meta.idempotency_key.as_deref())
                    .push_bind(
                        row.meta
                            .idempotency_key
                            .as_ref()
                            .and($jobs[row.job].command_fingerprint.as_ref())
                            .map(|fingerprint| fingerprint.as_slice()),
                    )
                    .push_bind(row.event.subject_id.as_ref().map(|id| id.as_bytes().as_slice()))
                    .push_bind(row.event.payload.as_slice())
                    .push_bind(row.event.personal.as_deref())
                    .push_bind(row.prev_hash.as_slice())
                    .push_bind(row.hash.as_slice());
            });
            query.build().execute(&mut *tx).await?;
        }
        crate::merkle::insert_hashes!(tx, $self.tenant.as_str(), &tree_rows, $database);
        let mut keys_to_store: Vec<(Uuid, &[u8])> = Vec::new();
        for (job, verdict) in $jobs.iter().zip(&verdicts) {
            if let Verdict::Append { .. } = verdict {
                for (subject, wrapped) in &job.new_keys {
                    if !stored_keys.contains_key(subject) && !keys_to_store.iter().any(|(s, _)| s == subject) {
                        keys_to_store.push((*subject, wrapped.as_slice()));
                    }
                }
            }
        }
        for chunk in keys_to_store.chunks(INSERT_ROWS_MAX) {
            let mut query = QueryBuilder::<$database>::new(
                "INSERT INTO person_keys (tenant, subject_id, wrapped_key, created_at) ",
            );
            query.push_values(chunk, |mut values, (subject, wrapped)| {
                values
                    .push_bind($self.tenant.as_str())
                    .push_bind(subject.as_bytes().as_slice())
                    .push_bind(*wrapped)
                    .push_bind(recorded_at_micros);
            });
            query.build().execute(&mut *tx).await?;
        }
        let tokens: Vec<&crate::SearchToken> = $jobs
            .iter()
            .zip(&verdicts)
            .filter(|(_, verdict)| matches!(verdict, Verdict::Append { .. }))
            .flat_map(|(job, _)| job.search_tokens.iter())
            .collect();
        for chunk in tokens.chunks(INSERT_ROWS_MAX) {
            let mut query =
                QueryBuilder::<$database>::new("INSERT INTO person_search (tenant, kind, token, person_id) ");
            query.push_values(chunk, |mut values, token| {
                values
                    .push_bind($self.tenant.as_str())
                    .push_bind(token.kind)
                    .push_bind(token.token.as_slice())
                    .push_bind(token.person_id.as_bytes().as_slice());
            });
            query.push(" ON CONFLICT (tenant, kind, token, person_id) DO NOTHING");
            query.build().execute(&mut *tx).await?;
        }
        if head.position == 0 && position > 0 {
            sqlx::query("INSERT INTO tenants (code, created_at) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING")
                .bind($self.tenant.as_str())
                .bind(recorded_at_micros)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        $self.tree = tree;

        for (job, verdict) in $jobs.iter().zip(&verdicts) {
            for (subject, wrapped) in &job.new_keys {
                match (verdict, stored_keys.get(subject)) {
                    (_, Some(stored)) if stored.as_ref() != Some(wrapped) => {
                        $self.keyring.lost_race(&$self.tenant, *subject)
                    }
                    (Verdict::Append { .. }, _) | (_, Some(_)) => $self.keyring.persisted(&$self.tenant, *subject),
                    _ => {}
                }
            }
        }
        for (stream, version) in versions {
            $self.stream_versions.insert(stream.to_owned(), version);
        }
        let new_head =
            if position == head.position { head } else { Head { position, hash: prev_hash, recorded_at_micros } };
        Ok((verdicts, new_head, recorded_at_micros))
    }};
}

impl Writer {
    pub(crate) fn new(
        db: Db,
        tenant: String,
        lock_key: i64,
        keyring: Arc<Keyring>,
        metrics: Arc<StoreMetrics>,
        clock: Clock,
        commits: watch::Sender<u64>,
    ) -> Writer {
        Writer {
            db,
            tenant,
            lock_key,
            head: None,
            stream_versions: HashMap::new(),
            keyring,
            metrics,
            clock,
            commits,
            tree: None,
            maintain_tree: true,
        }
    }

    /// A writer that does not maintain the Merkle tree (`EventStore::without_merkle_tree`).
    pub(crate) fn maintaining_tree(mut self, maintain_tree: bool) -> Writer {
        self.maintain_tree = maintain_tree;
        self
    }

    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Job>) {
        // Ends when every sender is gone and the queue is drained: in-flight commands commit.
        // Callers answered by the last commit usually send their next command within
        // microseconds; a batch started before they do carries half of them, and the next
        // commit the rest. So the writer lingers briefly (a few scheduler turns, bounded in time)
        // until the callers it just answered are back, as PostgreSQL's commit_delay does.
        let mut answered = 0;
        while let Some(first) = queue.recv().await {
            let mut events = first.events.len();
            let mut jobs = vec![first];
            let expected = (answered + queue.len() + 1).min(BATCH_COMMANDS_MAX);
            let lingering_since = Instant::now();
            let mut idle_turns = 0;
            loop {
                let before = jobs.len();
                while jobs.len() < BATCH_COMMANDS_MAX && events < BATCH_EVENTS_MAX {
                    match queue.try_recv() {
                        Ok(job) => {
                            events += job.events.len();
                            jobs.push(job);
                        }
                        Err(_) => break,
                    }
                }
                idle_turns = if jobs.len() == before { idle_turns + 1 } else { 0 };
                let full = jobs.len() >= expected || jobs.len() >= BATCH_COMMANDS_MAX || events >= BATCH_EVENTS_MAX;
                if full || idle_turns > LINGER_IDLE_TURNS_MAX || lingering_since.elapsed() > LINGER_MAX {
                    break;
                }
                tokio::task::yield_now().await;
            }
            answered = jobs.len();
            self.commit_batch(jobs).await;
        }
    }

    async fn commit_batch(&mut self, jobs: Vec<Job>) {
        let started = Instant::now();
        let db = self.db.clone();
        let result = match &db {
            Db::Sqlite(pool) => self.write_sqlite(pool, &jobs).await,
            Db::Postgres(pool) => self.write_postgres(pool, &jobs).await,
        };
        match result {
            Ok((verdicts, head, recorded_at_micros)) => {
                let appended = head.position - self.head.map_or(0, |h| h.position);
                self.metrics.observe_commit(jobs.len(), appended, started.elapsed());
                self.head = Some(head);
                self.answer(jobs, verdicts, recorded_at_micros);
                self.commits.send_modify(|count| *count += 1);
            }
            Err(error) => {
                tracing::error!(tenant = %self.tenant, %error, "append batch failed; nothing was written");
                self.head = None;
                self.tree = None;
                self.stream_versions.clear();
                for job in jobs {
                    let _ = job.reply.send(Err(AppendError::Storage(error.to_string())));
                }
            }
        }
    }

    async fn write_sqlite(&mut self, pool: &SqlitePool, jobs: &[Job]) -> sqlx::Result<(Vec<Verdict>, Head, i64)> {
        write_batch!(self, pool, jobs, sqlx::Sqlite)
    }

    async fn write_postgres(&mut self, pool: &PgPool, jobs: &[Job]) -> sqlx::Result<(Vec<Verdict>, Head, i64)> {
        write_batch!(self, pool, jobs, sqlx::Postgres)
    }

    fn answer(&self, jobs: Vec<Job>, verdicts: Vec<Verdict>, recorded_at_micros: i64) {
        let recorded_at = from_micros(recorded_at_micros);
        let outcomes: Vec<Option<AppendOutcome>> = verdicts
            .iter()
            .map(|verdict| match verdict {
                Verdict::Append { first_position, last_position, stream_version } => Some(AppendOutcome {
                    first_position: *first_position,
                    last_position: *last_position,
                    stream_version: *stream_version,
                    recorded_at,
                    duplicate: false,
                }),
                _ => None,
            })
            .collect();
        for ((job, verdict), index) in jobs.into_iter().zip(verdicts).zip(0..) {
            let answer = match verdict {
                Verdict::Append { .. } => Ok(outcomes[index].clone().expect("appended")),
                Verdict::Refused(error) => Err(error),
                Verdict::Duplicate(outcome) => Ok(outcome),
                Verdict::SameAsJob(earlier) => {
                    let mut outcome = outcomes[earlier].clone().expect("an earlier job in the batch appended");
                    outcome.duplicate = true;
                    Ok(outcome)
                }
            };
            // The caller may have given up waiting; the commit stands either way.
            let _ = job.reply.send(answer);
        }
    }
}

/// Whether a retry carries the command its key was first used with. A key stored without a
/// fingerprint (written before fingerprints, or by a caller that gives none) is bound to its
/// stream only; so is a retry that gives none.
pub(crate) fn same_command(stored: Option<&[u8]>, given: Option<&[u8; 32]>) -> bool {
    match (stored, given) {
        (Some(stored), Some(given)) => stored == given.as_slice(),
        _ => true,
    }
}
