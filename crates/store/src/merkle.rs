//! The Merkle tree over each tenant's ledger (RFC 9162; `kokuho_audit::tree`), its stored hashes
//! (`merkle_hashes`), proofs read from them, and the published checkpoints (`checkpoints`).
//!
//! **The writer maintains the tree in the same transaction as the events** (ARCHITECTURE.md,
//! "Merkle tree and checkpoints"): it keeps the tree's right edge in memory, so each appended
//! event costs about two small inserts in the batch's statement and no read. A tree row can
//! therefore never be missing for a committed event, and a proof is available as soon as the
//! append is answered. When the writer cannot trust its edge (first batch, another process wrote,
//! a failed batch) it reloads it under the tenant lock; if the tree is behind the events (a
//! ledger written before the tree existed) it catches up there, from the stored chain hashes.

use std::collections::BTreeMap;

use kokuho_audit::tree::{self, Hash};
use kokuho_audit::verify::{encode_path, ConsistencyProof, ExportedEvent, InclusionProof};
use kokuho_audit::{origin_for, CheckpointKey};
use sqlx::QueryBuilder;

use crate::{on_db, Db, StoreError};

/// Hashes per INSERT statement (3 parameters each).
pub(crate) const HASH_ROWS_MAX: usize = 1000;

/// Loads the tenant's tree edge inside a write transaction holding the tenant lock, catching
/// the tree up with the events up to `$head` (their stored chain hashes) if it is behind.
/// Evaluates to `Result<Frontier, sqlx::Error>`.
macro_rules! load_tree {
    ($tx:expr, $tenant:expr, $head:expr, $database:ty) => {
        async {
            let tenant: &str = $tenant;
            let head: i64 = $head;
            let max_index: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM merkle_hashes WHERE tenant = $1")
                .bind(tenant)
                .fetch_one(&mut *$tx)
                .await?;
            let count = max_index.map_or(0, |index| index as u64 + 1);
            let size = kokuho_audit::tree::size_from_stored_count(count).ok_or_else(|| {
                sqlx::Error::Protocol(format!("tenant {tenant}: the Merkle tree's stored hashes are torn"))
            })?;
            if size as i64 > head {
                return Err(sqlx::Error::Protocol(format!(
                    "tenant {tenant}: the Merkle tree holds {size} events but the ledger {head}: events were removed"
                )));
            }
            let indexes = kokuho_audit::tree::root_indexes(size);
            let mut stored = std::collections::BTreeMap::new();
            for chunk in indexes.chunks($crate::merkle::HASH_ROWS_MAX) {
                let mut query = QueryBuilder::<$database>::new("SELECT idx, hash FROM merkle_hashes WHERE tenant = ");
                query.push_bind(tenant).push(" AND idx IN (");
                let mut separated = query.separated(", ");
                for index in chunk {
                    separated.push_bind(*index as i64);
                }
                query.push(")");
                let rows: Vec<(i64, Vec<u8>)> = query.build_query_as().fetch_all(&mut *$tx).await?;
                for (index, hash) in rows {
                    stored.insert(index as u64, $crate::merkle::hash_from(hash));
                }
            }
            let mut frontier = kokuho_audit::Frontier::from_stored(size, &stored)
                .map_err(|error| sqlx::Error::Protocol(format!("tenant {tenant}: {error}")))?;
            // Behind the events: append their stored chain hashes, a page at a time.
            while (frontier.size() as i64) < head {
                let after = frontier.size() as i64;
                let page: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT position, hash FROM events WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3",
                )
                .bind(tenant)
                .bind(after)
                .bind($crate::PAGE_EVENTS_MAX)
                .fetch_all(&mut *$tx)
                .await?;
                if page.is_empty() {
                    break;
                }
                let mut rows = Vec::with_capacity(page.len() * 2);
                for (position, hash) in page {
                    if position != frontier.size() as i64 + 1 {
                        return Err(sqlx::Error::Protocol(format!(
                            "tenant {tenant}: position {} is missing from the ledger",
                            frontier.size() + 1
                        )));
                    }
                    rows.extend(frontier.append(&hash));
                }
                $crate::merkle::insert_hashes!($tx, tenant, &rows, $database);
            }
            Ok::<kokuho_audit::Frontier, sqlx::Error>(frontier)
        }
    };
}
pub(crate) use load_tree;

/// Inserts stored hashes `(index, hash)` in a write transaction.
macro_rules! insert_hashes {
    ($tx:expr, $tenant:expr, $rows:expr, $database:ty) => {
        for chunk in $rows.chunks($crate::merkle::HASH_ROWS_MAX) {
            let mut query = QueryBuilder::<$database>::new("INSERT INTO merkle_hashes (tenant, idx, hash) ");
            query.push_values(chunk, |mut values, (index, hash)| {
                values.push_bind($tenant).push_bind(*index as i64).push_bind(hash.as_slice());
            });
            query.build().execute(&mut *$tx).await?;
        }
    };
}
pub(crate) use insert_hashes;

pub(crate) fn hash_from(bytes: Vec<u8>) -> Hash {
    bytes.try_into().unwrap_or([0; 32])
}

/// Catches the tenant's tree up with its events in a transaction of its own, under the tenant's
/// write lock (a ledger written before the tree existed). Answers the tree's size.
pub(crate) async fn catch_up(db: &Db, tenant: &str, lock_key: i64) -> Result<u64, StoreError> {
    use crate::writer::BeginLocked as _;
    let size = match db {
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_locked(lock_key).await?;
            let head: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM events WHERE tenant = $1")
                .bind(tenant)
                .fetch_one(&mut *tx)
                .await?;
            let frontier = load_tree!(tx, tenant, head.unwrap_or(0), sqlx::Sqlite).await?;
            tx.commit().await?;
            frontier.size()
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin_locked(lock_key).await?;
            let head: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM events WHERE tenant = $1")
                .bind(tenant)
                .fetch_one(&mut *tx)
                .await?;
            let frontier = load_tree!(tx, tenant, head.unwrap_or(0), sqlx::Postgres).await?;
            tx.commit().await?;
            frontier.size()
        }
    };
    Ok(size)
}

/// The tree's size: how many events its stored hashes cover.
pub(crate) async fn size(db: &Db, tenant: &str) -> Result<u64, StoreError> {
    let max_index: Option<i64> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT MAX(idx) FROM merkle_hashes WHERE tenant = $1").bind(tenant).fetch_one(pool).await?
    });
    let count = max_index.map_or(0, |index| index as u64 + 1);
    tree::size_from_stored_count(count)
        .ok_or_else(|| StoreError::Corrupt(format!("tenant {tenant}: the Merkle tree's stored hashes are torn")))
}

/// The stored hashes at `indexes`, in one query.
pub(crate) async fn read_hashes(db: &Db, tenant: &str, indexes: &[u64]) -> Result<BTreeMap<u64, Hash>, StoreError> {
    let mut hashes = BTreeMap::new();
    if indexes.is_empty() {
        return Ok(hashes);
    }
    let rows: Vec<(i64, Vec<u8>)> = on_db!(db, pool => {
        let mut query = QueryBuilder::new("SELECT idx, hash FROM merkle_hashes WHERE tenant = ");
        query.push_bind(tenant).push(" AND idx IN (");
        let mut separated = query.separated(", ");
        for index in indexes {
            separated.push_bind(*index as i64);
        }
        query.push(")");
        query.build_query_as().fetch_all(pool).await?
    });
    for (index, hash) in rows {
        hashes.insert(index as u64, hash_from(hash));
    }
    Ok(hashes)
}

fn tree_error(tenant: &str, error: tree::TreeError) -> StoreError {
    StoreError::Corrupt(format!("tenant {tenant}: {error}"))
}

pub(crate) async fn root(db: &Db, tenant: &str, size: u64) -> Result<Hash, StoreError> {
    let hashes = read_hashes(db, tenant, &tree::root_indexes(size)).await?;
    tree::root(size, &hashes).map_err(|error| tree_error(tenant, error))
}

pub(crate) async fn inclusion(
    db: &Db,
    tenant: &str,
    position: i64,
    tree_size: u64,
) -> Result<InclusionProof, StoreError> {
    let leaf = (position - 1) as u64;
    let indexes = tree::inclusion_indexes(tree_size, leaf).map_err(|error| tree_error(tenant, error))?;
    // The path's hashes and the event are two independent reads: on two connections at once.
    let (hashes, mut events) =
        tokio::try_join!(read_hashes(db, tenant, &indexes), export(db, tenant, position - 1, 1))?;
    let path = tree::inclusion_proof(tree_size, leaf, &hashes).map_err(|error| tree_error(tenant, error))?;
    let event = match events.pop() {
        Some(event) if event.position == position => event,
        _ => return Err(StoreError::Corrupt(format!("tenant {tenant}: position {position} is missing"))),
    };
    Ok(InclusionProof { tree_size, event, path: encode_path(&path) })
}

/// Up to `limit` events after `after_position`, as stored, with every field the chain hash covers.
pub(crate) async fn export(
    db: &Db,
    tenant: &str,
    after_position: i64,
    limit: i64,
) -> Result<Vec<ExportedEvent>, StoreError> {
    use base64::Engine as _;
    let base64 = base64::engine::general_purpose::STANDARD;
    let rows = crate::read::sealed_page(db, tenant, after_position, limit).await?;
    Ok(rows
        .into_iter()
        .map(|(event, sealed)| ExportedEvent {
            tenant: event.tenant,
            position: event.position,
            event_id: event.event_id,
            stream_id: event.stream_id,
            stream_version: event.stream_version,
            event_type: event.event_type,
            schema_version: event.schema_version,
            recorded_at_micros: crate::envelope::to_micros(event.recorded_at),
            actor: event.actor,
            purpose: event.purpose,
            correlation_id: event.correlation_id,
            causation_id: event.causation_id,
            idempotency_key: event.idempotency_key,
            subject_id: event.subject_id,
            payload: base64.encode(&event.payload),
            personal: sealed.map(|bytes| base64.encode(bytes)),
            prev_hash: hex::encode(event.prev_hash),
            hash: hex::encode(event.hash),
        })
        .collect())
}

pub(crate) async fn consistency(
    db: &Db,
    tenant: &str,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, StoreError> {
    let indexes = tree::consistency_indexes(old_size, new_size).map_err(|error| tree_error(tenant, error))?;
    let hashes = read_hashes(db, tenant, &indexes).await?;
    let path = tree::consistency_proof(old_size, new_size, &hashes).map_err(|error| tree_error(tenant, error))?;
    Ok(ConsistencyProof { old_size, new_size, path: encode_path(&path) })
}

/// A checkpoint the ledger published (and keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    pub tenant: String,
    pub tree_size: u64,
    pub root_hash: Hash,
    /// The C2SP signed note.
    pub note: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
}

type CheckpointRow = (String, i64, Vec<u8>, String, i64);

fn checkpoint_from(row: CheckpointRow) -> PublishedCheckpoint {
    PublishedCheckpoint {
        tenant: row.0,
        tree_size: row.1 as u64,
        root_hash: hash_from(row.2),
        note: row.3,
        published_at: crate::envelope::from_micros(row.4),
    }
}

/// The latest checkpoint published for `tenant` (of `tree_size`, if given).
pub(crate) async fn published(
    db: &Db,
    tenant: &str,
    tree_size: Option<u64>,
) -> Result<Option<PublishedCheckpoint>, StoreError> {
    let row: Option<CheckpointRow> = on_db!(db, pool => {
        match tree_size {
            Some(size) => sqlx::query_as(
                "SELECT tenant, tree_size, root_hash, note, published_at FROM checkpoints WHERE tenant = $1 AND tree_size = $2",
            )
            .bind(tenant)
            .bind(size as i64)
            .fetch_optional(pool)
            .await?,
            None => sqlx::query_as(
                "SELECT tenant, tree_size, root_hash, note, published_at FROM checkpoints WHERE tenant = $1 \
                 ORDER BY tree_size DESC LIMIT 1",
            )
            .bind(tenant)
            .fetch_optional(pool)
            .await?,
        }
    });
    Ok(row.map(checkpoint_from))
}

/// Signs and stores a checkpoint of the tenant's tree as it is now, unless the latest published
/// one already has this size; answers the checkpoint of the current size either way.
pub(crate) async fn publish(
    db: &Db,
    tenant: &str,
    key: &CheckpointKey,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PublishedCheckpoint, StoreError> {
    let size = size(db, tenant).await?;
    if let Some(latest) = published(db, tenant, Some(size)).await? {
        return Ok(latest);
    }
    let root_hash = root(db, tenant, size).await?;
    let note = key
        .sign(&origin_for(tenant), size, &root_hash)
        .map_err(|error| StoreError::Config(format!("signing the checkpoint: {error}")))?;
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO checkpoints (tenant, tree_size, root_hash, note, published_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant, tree_size) DO NOTHING",
        )
        .bind(tenant)
        .bind(size as i64)
        .bind(root_hash.as_slice())
        .bind(note.as_str())
        .bind(crate::envelope::to_micros(now))
        .execute(pool)
        .await?;
    });
    // Another process may have published this size first: the stored one is the checkpoint.
    published(db, tenant, Some(size))
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("tenant {tenant}: a published checkpoint vanished")))
}
