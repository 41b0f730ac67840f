//! Reading the ledger: a stream, a stream as recorded at an instant, the whole ledger in pages.

use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

use crate::envelope::{from_micros, to_micros, PersonalData, RecordedEvent};
use crate::keys::{KeyLookup, Keyring};
use crate::{on_db, Db, StoreError};

pub(crate) const COLUMNS: &str = "tenant, position, event_id, stream_id, stream_version, event_type, schema_version, \
     recorded_at, actor, purpose, correlation_id, causation_id, idempotency_key, subject_id, payload, personal, \
     prev_hash, hash";

/// The largest page a ledger read returns (memory stays bounded whatever the ledger's size).
pub const PAGE_EVENTS_MAX: i64 = 10_000;

/// Whether a read decrypts personal parts. Projections never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decrypt {
    Yes,
    No,
}

fn uuid_from(bytes: Vec<u8>) -> Result<Uuid, StoreError> {
    Uuid::from_slice(&bytes).map_err(|_| StoreError::Corrupt("an id column does not hold 16 bytes".into()))
}

fn hash_from(bytes: Vec<u8>) -> [u8; 32] {
    // A wrong length can only come from tampering; verify reports it as a hash mismatch.
    bytes.try_into().unwrap_or([0; 32])
}

/// Decodes one row selected with [`COLUMNS`]; the personal part stays sealed.
macro_rules! decode_row {
    ($row:expr) => {{
        let row = $row;
        let personal: Option<Vec<u8>> = row.try_get(15)?;
        Ok::<(RecordedEvent, Option<Vec<u8>>), StoreError>((
            RecordedEvent {
                tenant: row.try_get(0)?,
                position: row.try_get(1)?,
                event_id: uuid_from(row.try_get(2)?)?,
                stream_id: row.try_get(3)?,
                stream_version: row.try_get(4)?,
                event_type: row.try_get(5)?,
                schema_version: row.try_get(6)?,
                recorded_at: from_micros(row.try_get(7)?),
                actor: row.try_get(8)?,
                purpose: row.try_get(9)?,
                correlation_id: uuid_from(row.try_get(10)?)?,
                causation_id: row.try_get::<Option<Vec<u8>>, _>(11)?.map(uuid_from).transpose()?,
                idempotency_key: row.try_get(12)?,
                subject_id: row.try_get::<Option<Vec<u8>>, _>(13)?.map(uuid_from).transpose()?,
                payload: row.try_get(14)?,
                personal: if personal.is_some() { PersonalData::Sealed } else { PersonalData::None },
                prev_hash: hash_from(row.try_get(16)?),
                hash: hash_from(row.try_get(17)?),
            },
            personal,
        ))
    }};
}

/// Runs `sql` (selecting [`COLUMNS`]) with `binds`, then opens personal parts if asked.
macro_rules! fetch_events {
    ($db:expr, $sql:expr, [$($bind:expr),*]) => {
        on_db!($db, pool => {
            let rows = sqlx::query($sql)$(.bind($bind))*.fetch_all(pool).await?;
            rows.iter().map(|row| decode_row!(row)).collect::<Result<Vec<_>, StoreError>>()?
        })
    };
}

pub(crate) async fn stream(
    db: &Db,
    keyring: &Keyring,
    tenant: &str,
    stream_id: &str,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    decrypt: Decrypt,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = match as_of {
        None => fetch_events!(
            db,
            &format!("SELECT {COLUMNS} FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY stream_version"),
            [tenant, stream_id]
        ),
        Some(at) => fetch_events!(
            db,
            &format!(
                "SELECT {COLUMNS} FROM events WHERE tenant = $1 AND stream_id = $2 AND recorded_at <= $3 \
                 ORDER BY stream_version"
            ),
            [tenant, stream_id, to_micros(at)]
        ),
    };
    open_all(keyring, rows, decrypt).await
}

pub(crate) async fn page(
    db: &Db,
    keyring: &Keyring,
    tenant: &str,
    after_position: i64,
    limit: i64,
    decrypt: Decrypt,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let limit = limit.clamp(1, PAGE_EVENTS_MAX);
    let rows = fetch_events!(
        db,
        &format!("SELECT {COLUMNS} FROM events WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3"),
        [tenant, after_position, limit]
    );
    let mut keys = HashMap::new();
    if let (Decrypt::Yes, Some((last, _))) = (decrypt, rows.last()) {
        // Every subject's key of the page in one query.
        keys = keyring.lookup_range(tenant, after_position, last.position).await?;
    }
    open_all_with(keyring, rows, decrypt, keys).await
}

/// A page of rows with their personal parts as stored (for verification).
pub(crate) async fn sealed_page(
    db: &Db,
    tenant: &str,
    after_position: i64,
    limit: i64,
) -> Result<Vec<(RecordedEvent, Option<Vec<u8>>)>, StoreError> {
    Ok(fetch_events!(
        db,
        &format!("SELECT {COLUMNS} FROM events WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3"),
        [tenant, after_position, limit.clamp(1, PAGE_EVENTS_MAX)]
    ))
}

async fn open_all(
    keyring: &Keyring,
    rows: Vec<(RecordedEvent, Option<Vec<u8>>)>,
    decrypt: Decrypt,
) -> Result<Vec<RecordedEvent>, StoreError> {
    open_all_with(keyring, rows, decrypt, HashMap::new()).await
}

/// Opens the personal parts of `rows` (one tenant's), with `keys` already looked up; a subject
/// not among them is looked up once.
async fn open_all_with(
    keyring: &Keyring,
    rows: Vec<(RecordedEvent, Option<Vec<u8>>)>,
    decrypt: Decrypt,
    mut keys: HashMap<Uuid, KeyLookup>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut events = Vec::with_capacity(rows.len());
    for (mut event, sealed) in rows {
        if let (Decrypt::Yes, Some(sealed), Some(subject)) = (decrypt, sealed, event.subject_id) {
            let key = match keys.get(&subject) {
                Some(key) => key.clone(),
                None => {
                    let key = keyring.lookup(&event.tenant, subject).await?;
                    keys.insert(subject, key.clone());
                    key
                }
            };
            event.personal = match key {
                KeyLookup::Live(key) => {
                    PersonalData::Plain(key.open(&sealed, &seal_context(&event.tenant, event.event_id)).map_err(
                        |_| StoreError::Corrupt(format!("personal part of event {} does not open", event.event_id)),
                    )?)
                }
                KeyLookup::Destroyed | KeyLookup::Missing => PersonalData::Erased,
            };
        }
        events.push(event);
    }
    Ok(events)
}

/// An event as projections read it: the clear part and what orders it, nothing else (no
/// hashes, no ids, no ciphertext), so a rebuild moves as few bytes as possible.
#[derive(Debug, Clone)]
pub struct ClearEvent {
    pub position: i64,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub stream_id: String,
    pub event_type: String,
    pub schema_version: i64,
    pub payload: Vec<u8>,
    pub has_personal: bool,
}

pub(crate) async fn clear_page(
    db: &Db,
    tenant: &str,
    after_position: i64,
    limit: i64,
) -> Result<Vec<ClearEvent>, StoreError> {
    let limit = limit.clamp(1, PAGE_EVENTS_MAX);
    on_db!(db, pool => {
        let rows = sqlx::query(
            "SELECT position, recorded_at, stream_id, event_type, schema_version, payload, personal IS NOT NULL \
             FROM events WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3",
        )
        .bind(tenant)
        .bind(after_position)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClearEvent {
                    position: row.try_get(0)?,
                    recorded_at: from_micros(row.try_get(1)?),
                    stream_id: row.try_get(2)?,
                    event_type: row.try_get(3)?,
                    schema_version: row.try_get(4)?,
                    payload: row.try_get(5)?,
                    has_personal: row.try_get(6)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })
}

/// What a personal part is bound to: its tenant and its event.
pub(crate) fn seal_context(tenant: &str, event_id: Uuid) -> Vec<u8> {
    let mut context = Vec::with_capacity(tenant.len() + 17);
    context.extend_from_slice(tenant.as_bytes());
    context.push(b'/');
    context.extend_from_slice(event_id.as_bytes());
    context
}
