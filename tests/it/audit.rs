//! What an auditor holding a signed checkpoint and the municipality's public key can check
//! without the database: inclusion of events, consistency of later checkpoints, and what that
//! catches — an edited payload, a deleted event, a reordered pair, an inserted event, and a whole
//! history rewritten with recomputed hashes (which `kokuho verify` cannot see).

use kokuho_audit::verify::{verify_consistency, verify_inclusion, VerifyError};
use kokuho_audit::{origin_for, Checkpoint, CheckpointKey};
use kokuho_store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

use crate::support::*;

fn payment(amount: i64) -> NewEvent {
    NewEvent {
        event_type: "PaymentReceived".into(),
        schema_version: 2,
        subject_id: None,
        payload: format!(r#"{{"amount_yen":{amount}}}"#).into_bytes(),
        personal: None,
    }
}

/// `count` events, one per command, over three streams.
async fn fill(store: &EventStore, count: usize) {
    for i in 0..count {
        let request = AppendRequest {
            stream_id: format!("person-{}", i % 3),
            expected_version: ExpectedVersion::Any,
            meta: meta(None),
            events: vec![payment(100 + i as i64)],
            search_tokens: vec![],
        };
        store.append(kumagaya(), request).await.unwrap();
    }
}

async fn checkpoint(store: &EventStore, key: &CheckpointKey) -> Checkpoint {
    let published = store.publish_checkpoint(kumagaya(), key).await.unwrap();
    // The auditor opens what was published with the public key only.
    Checkpoint::open(&published.note, &key.verifier_key(&origin_for(KUMAGAYA))).unwrap()
}

/// A byte string as a literal of the backend's SQL.
fn bytes_sql(db: &TestDb, bytes: &[u8]) -> String {
    if db.is_postgres() {
        format!("decode('{}', 'hex')", hex(bytes))
    } else {
        format!("X'{}'", hex(bytes))
    }
}

/// Moves every event at `from` or later by `by` positions (two steps, so that no intermediate
/// row collides with another on the unique position).
async fn shift(db: &TestDb, from: i64, by: i64) {
    db.raw_execute(&format!("UPDATE events SET position = -position WHERE position >= {from}")).await;
    db.raw_execute(&format!("UPDATE events SET position = -position + ({by}) WHERE position < 0")).await;
}

/// The tamperings an administrator with write access could make, with plain SQL.
#[derive(Debug, Clone, Copy)]
enum Tampering {
    EditPayload,
    DeleteEvent,
    ReorderPair,
    InsertEvent,
}

async fn tamper(db: &TestDb, tampering: Tampering) {
    match tampering {
        Tampering::EditPayload => {
            let forged = if db.is_postgres() {
                "UPDATE events SET payload = convert_to('{\"amount_yen\":1}', 'UTF8') WHERE position = 5"
            } else {
                "UPDATE events SET payload = CAST('{\"amount_yen\":1}' AS BLOB) WHERE position = 5"
            };
            assert_eq!(db.raw_execute(forged).await, 1);
        }
        Tampering::DeleteEvent => {
            assert_eq!(db.raw_execute("DELETE FROM events WHERE position = 5").await, 1);
            shift(db, 6, -1).await;
        }
        Tampering::ReorderPair => {
            db.raw_execute("UPDATE events SET position = -5 WHERE position = 5").await;
            db.raw_execute("UPDATE events SET position = 5 WHERE position = 6").await;
            db.raw_execute("UPDATE events SET position = 6 WHERE position = -5").await;
        }
        Tampering::InsertEvent => {
            shift(db, 5, 1).await;
            let id = bytes_sql(db, Uuid::now_v7().as_bytes());
            let inserted = db
                .raw_execute(&format!(
                    "INSERT INTO events (tenant, position, event_id, stream_id, stream_version, event_type, \
                     schema_version, recorded_at, actor, purpose, correlation_id, causation_id, idempotency_key, \
                     subject_id, payload, personal, prev_hash, hash) \
                     SELECT tenant, 5, {id}, 'person-forged', 1, event_type, schema_version, recorded_at, actor, \
                     purpose, correlation_id, NULL, NULL, NULL, payload, NULL, prev_hash, hash FROM events WHERE position = 4"
                ))
                .await;
            assert_eq!(inserted, 1);
        }
    }
}

/// What a thorough insider does next: recompute every chain hash from the first event, rebuild
/// the Merkle tree from them, so that `kokuho verify` and every fresh proof agree again.
async fn rewrite_history(db: &TestDb) -> EventStore {
    let store = db.store().await;
    let head = store.head(kumagaya()).await.unwrap();
    let exported = store.export_events(kumagaya(), 0, 10_000).await.unwrap();
    assert_eq!(exported.len() as i64, head);
    let mut prev = kokuho_store::chain::GENESIS;
    for mut event in exported {
        event.prev_hash = hex(&prev);
        let hash = event.recompute_hash().unwrap();
        db.raw_execute(&format!(
            "UPDATE events SET prev_hash = {}, hash = {} WHERE position = {}",
            bytes_sql(db, &prev),
            bytes_sql(db, &hash),
            event.position
        ))
        .await;
        prev = hash;
    }
    store.shutdown().await;
    db.raw_execute("DELETE FROM merkle_hashes").await;
    db.raw_execute("DELETE FROM checkpoints").await;
    let store = db.store().await;
    assert_eq!(store.catch_up_tree(kumagaya()).await.unwrap(), head as u64);
    store
}

#[tokio::test]
async fn proofs_from_the_writers_tree_verify_offline_and_each_tampering_is_caught() {
    for tampering in [Tampering::EditPayload, Tampering::DeleteEvent, Tampering::ReorderPair, Tampering::InsertEvent] {
        let db = TestDb::fresh().await;
        let key = CheckpointKey::ephemeral();
        let store = db.store().await;
        fill(&store, 12).await;
        let last_month = checkpoint(&store, &key).await;
        assert_eq!(last_month.size, 12);
        for position in 1..=12 {
            let proof = store.inclusion_proof(kumagaya(), position, 12).await.unwrap();
            verify_inclusion(&last_month, &proof).unwrap();
        }
        fill(&store, 5).await;
        let this_month = checkpoint(&store, &key).await;
        let proof = store.consistency_proof(kumagaya(), 12, 17).await.unwrap();
        verify_consistency(&last_month, &this_month, &proof).unwrap();
        store.shutdown().await;

        // The naive edit: the auditor's proof for position 5 carries the row as it now is, and
        // its recomputed chain hash is not the entry the checkpoint signed.
        tamper(&db, tampering).await;
        let store = db.store().await;
        let proof = store.inclusion_proof(kumagaya(), 5, 12).await.unwrap();
        assert_eq!(
            verify_inclusion(&last_month, &proof),
            Err(VerifyError::EventAltered { position: 5 }),
            "{tampering:?}"
        );
        verify_inclusion(&last_month, &store.inclusion_proof(kumagaya(), 4, 12).await.unwrap()).unwrap();
        store.shutdown().await;

        // The thorough rewrite: chain and tree recomputed, so the chain verifies and fresh proofs
        // agree with a freshly signed checkpoint — but not with the one the auditor kept.
        let store = rewrite_history(&db).await;
        let reports = store.verify(&mut |_, _| {}).await.unwrap();
        assert_eq!(reports[0].1.first_break, None, "{tampering:?}: the rewritten chain verifies");
        fill(&store, 3).await;
        let rewritten = checkpoint(&store, &key).await;
        let head = store.head(kumagaya()).await.unwrap() as u64;
        assert_eq!(rewritten.size, head);
        let proof = store.inclusion_proof(kumagaya(), 5, head).await.unwrap();
        verify_inclusion(&rewritten, &proof).unwrap();
        let proof = store.consistency_proof(kumagaya(), last_month.size, rewritten.size).await.unwrap();
        assert_eq!(
            verify_consistency(&last_month, &rewritten, &proof),
            Err(VerifyError::Inconsistent { old_size: 12, new_size: head }),
            "{tampering:?}: caught by the checkpoint the auditor kept"
        );
        store.shutdown().await;
    }
}
