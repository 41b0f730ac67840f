//! Per-person data keys: created on first need, cached unwrapped in memory (bounded), destroyed
//! at the end of retention.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use kokuho_vault::{DataKey, MasterKey};
use uuid::Uuid;

use crate::{on_db, Db, StoreError};

/// How many unwrapped keys stay in memory; past that the cache starts over.
const CACHED_KEYS_MAX: usize = 50_000;

#[derive(Clone)]
enum KeyState {
    Live(DataKey),
    Destroyed,
}

/// A key created but not yet stored: the key and its wrapped form.
type PendingKey = (DataKey, Vec<u8>);

pub(crate) struct Keyring {
    db: Db,
    master: Arc<MasterKey>,
    cache: Mutex<HashMap<(String, Uuid), KeyState>>,
    /// Keys created here but not yet committed: every event sealed with one carries it to the
    /// writer, which stores it in the same transaction as the event (no separate commit, and no
    /// event can commit sealed with a key that was never stored).
    pending: Mutex<HashMap<(String, Uuid), PendingKey>>,
}

/// A key to seal with; `wrapped` is set while the key still has to be stored with the event.
pub(crate) struct WritingKey {
    pub key: DataKey,
    pub wrapped: Option<Vec<u8>>,
}

/// The person's key, or the fact that it was destroyed.
#[derive(Clone)]
pub(crate) enum KeyLookup {
    Live(DataKey),
    Destroyed,
    Missing,
}

impl Keyring {
    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    pub(crate) fn new(db: Db, master: Arc<MasterKey>) -> Keyring {
        Keyring { db, master, cache: Mutex::new(HashMap::new()), pending: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, tenant: &str, subject: Uuid) -> Option<KeyState> {
        self.cache.lock().expect("key cache lock").get(&(tenant.to_owned(), subject)).cloned()
    }

    fn remember(&self, tenant: &str, subject: Uuid, state: KeyState) {
        let mut cache = self.cache.lock().expect("key cache lock");
        if cache.len() >= CACHED_KEYS_MAX {
            cache.clear();
        }
        cache.insert((tenant.to_owned(), subject), state);
    }

    fn wrap_context(tenant: &str, subject: Uuid) -> Vec<u8> {
        format!("{tenant}/{subject}").into_bytes()
    }

    /// The person's key. Destruction is final, so a cached destruction is trusted; a cached live
    /// key is not: the row is read every time, because another process (`kokuho retention run`)
    /// may have destroyed it since. The cache only saves unwrapping.
    pub(crate) async fn lookup(&self, tenant: &str, subject: Uuid) -> Result<KeyLookup, StoreError> {
        let cached = self.cached(tenant, subject);
        if let Some(KeyState::Destroyed) = cached {
            return Ok(KeyLookup::Destroyed);
        }
        let row: Option<(Option<Vec<u8>>,)> = on_db!(&self.db, pool => {
            sqlx::query_as("SELECT wrapped_key FROM person_keys WHERE tenant = $1 AND subject_id = $2")
                .bind(tenant)
                .bind(subject.as_bytes().as_slice())
                .fetch_optional(pool)
                .await?
        });
        Ok(match row {
            None => KeyLookup::Missing,
            Some((None,)) => {
                self.remember(tenant, subject, KeyState::Destroyed);
                KeyLookup::Destroyed
            }
            Some((Some(wrapped),)) => {
                if let Some(KeyState::Live(key)) = cached {
                    return Ok(KeyLookup::Live(key));
                }
                let key = self
                    .master
                    .unwrap(&wrapped, &Self::wrap_context(tenant, subject))
                    .map_err(|_| StoreError::WrongMasterKey)?;
                self.remember(tenant, subject, KeyState::Live(key.clone()));
                KeyLookup::Live(key)
            }
        })
    }

    /// The keys of every subject of the events at positions `after` (exclusive) to `last`
    /// (inclusive): one query for a page, rather than one per subject. Read fresh, like
    /// [`Keyring::lookup`]; only unwrapping is cached.
    pub(crate) async fn lookup_range(
        &self,
        tenant: &str,
        after: i64,
        last: i64,
    ) -> Result<HashMap<Uuid, KeyLookup>, StoreError> {
        let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT subject_id, wrapped_key FROM person_keys WHERE tenant = $1 AND subject_id IN \
                 (SELECT subject_id FROM events WHERE tenant = $1 AND position > $2 AND position <= $3 \
                  AND subject_id IS NOT NULL)",
            )
            .bind(tenant)
            .bind(after)
            .bind(last)
            .fetch_all(pool)
            .await?
        });
        let mut keys = HashMap::with_capacity(rows.len());
        for (subject, wrapped) in rows {
            let subject = Uuid::from_slice(&subject)
                .map_err(|_| StoreError::Corrupt("person_keys holds a subject that is not 16 bytes".into()))?;
            let lookup = match wrapped {
                None => {
                    self.remember(tenant, subject, KeyState::Destroyed);
                    KeyLookup::Destroyed
                }
                Some(wrapped) => match self.cached(tenant, subject) {
                    Some(KeyState::Live(key)) => KeyLookup::Live(key),
                    _ => {
                        let key = self
                            .master
                            .unwrap(&wrapped, &Self::wrap_context(tenant, subject))
                            .map_err(|_| StoreError::WrongMasterKey)?;
                        self.remember(tenant, subject, KeyState::Live(key.clone()));
                        KeyLookup::Live(key)
                    }
                },
            };
            keys.insert(subject, lookup);
        }
        Ok(keys)
    }

    /// The key to seal new personal data of `subject` with, created when they have none.
    pub(crate) async fn key_for_writing(&self, tenant: &str, subject: Uuid) -> Result<WritingKey, StoreError> {
        if let Some((key, wrapped)) = self.pending.lock().expect("pending keys lock").get(&(tenant.to_owned(), subject))
        {
            return Ok(WritingKey { key: key.clone(), wrapped: Some(wrapped.clone()) });
        }
        match self.lookup(tenant, subject).await? {
            KeyLookup::Live(key) => Ok(WritingKey { key, wrapped: None }),
            KeyLookup::Destroyed => Err(StoreError::SubjectErased { subject }),
            KeyLookup::Missing => {
                let mut pending = self.pending.lock().expect("pending keys lock");
                // Another task may have created one while we looked it up.
                let (key, wrapped) = pending.entry((tenant.to_owned(), subject)).or_insert_with(|| {
                    let key = DataKey::generate();
                    let wrapped = self.master.wrap(&key, &Self::wrap_context(tenant, subject));
                    (key, wrapped)
                });
                Ok(WritingKey { key: key.clone(), wrapped: Some(wrapped.clone()) })
            }
        }
    }

    /// The writer committed `subject`'s pending key.
    pub(crate) fn persisted(&self, tenant: &str, subject: Uuid) {
        let entry = self.pending.lock().expect("pending keys lock").remove(&(tenant.to_owned(), subject));
        if let Some((key, _)) = entry {
            self.remember(tenant, subject, KeyState::Live(key));
        }
    }

    /// Another process stored a different key for `subject` first: drop ours (the events sealed
    /// with it were refused) and use theirs from now on.
    pub(crate) fn lost_race(&self, tenant: &str, subject: Uuid) {
        self.pending.lock().expect("pending keys lock").remove(&(tenant.to_owned(), subject));
        self.cache.lock().expect("key cache lock").remove(&(tenant.to_owned(), subject));
    }

    /// Destroys `subject`'s key (recording `now` as when). Returns false when there was no live
    /// key to destroy.
    pub(crate) async fn destroy(&self, tenant: &str, subject: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        // The key, the person's search tokens and the fingerprints of the commands on their
        // events go together: an erased person can no longer be found by name, nor their
        // values tested against a command's keyed digest.
        let result = on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let destroyed = sqlx::query(
                "UPDATE person_keys SET wrapped_key = NULL, destroyed_at = $1 \
                 WHERE tenant = $2 AND subject_id = $3 AND wrapped_key IS NOT NULL",
            )
            .bind(now.timestamp_micros())
            .bind(tenant)
            .bind(subject.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM person_search WHERE tenant = $1 AND person_id = $2")
                .bind(tenant)
                .bind(subject.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE events SET command_fingerprint = NULL \
                 WHERE tenant = $1 AND subject_id = $2 AND command_fingerprint IS NOT NULL",
            )
            .bind(tenant)
            .bind(subject.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            destroyed
        });
        self.remember(tenant, subject, KeyState::Destroyed);
        Ok(result > 0)
    }
}
