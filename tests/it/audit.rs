//! What an auditor holding a signed checkpoint and the municipality's public key can check
//! without the database: inclusion of events, consistency of later checkpoints, and what that
//! catches — an edited payload, a deleted event, a reordered pair, an inserted event, and a whole
//! history rewritten with recomputed hashes (which `kokuho verify` cannot see).

use axum::http::StatusCode;
use kokuho_audit::verify::{verify_consistency, verify_inclusion, VerifyError};
use kokuho_audit::{origin_for, Checkpoint, CheckpointKey};
use kokuho_auth::Role;
use kokuho_domain::person::Person;
use kokuho_store::{AppendRequest, Decrypt, EventStore, ExpectedVersion, NewEvent, PersonalData};
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
            command_fingerprint: None,
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

#[tokio::test]
async fn an_erased_persons_events_still_prove_inclusion() {
    let db = TestDb::fresh().await;
    let ledgerd = kokuho::Ledgerd::open(&db.config(), kokuho_ledger::system_clock()).await.unwrap();
    let person = kokuho_domain::PersonId::new();
    ledgerd.ledger.execute::<Person>(kumagaya(), person, register("熊谷 花子"), meta(None)).await.unwrap();
    ledgerd.ledger.execute::<Person>(kumagaya(), person, acquire(), meta(None)).await.unwrap();
    let key = db.checkpoint_key();
    let kept = checkpoint(&ledgerd.store, &key).await;

    assert!(ledgerd.store.destroy_subject_key(kumagaya(), person.as_uuid()).await.unwrap());
    let events = ledgerd.store.read_stream(kumagaya(), &format!("person-{person}"), Decrypt::Yes).await.unwrap();
    assert_eq!(events.len(), 2);
    let mut erased = 0;
    for event in events {
        let proof = ledgerd.store.inclusion_proof(kumagaya(), event.position, kept.size).await.unwrap();
        if proof.event.personal.is_some() {
            // The ciphertext is still what was hashed, though nobody can read it any more.
            assert_eq!(event.personal, PersonalData::Erased);
            erased += 1;
        }
        verify_inclusion(&kept, &proof).unwrap();
    }
    assert_eq!(erased, 1, "the registration's personal part");
    // Nothing changed in the tree: the next checkpoint is the same one.
    let again = checkpoint(&ledgerd.store, &key).await;
    assert_eq!(again, kept);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn auditors_get_signed_checkpoints_and_proofs_over_http_and_every_request_is_recorded() {
    let api = Client::in_process().await;
    let (_, clerk) = api.signed_in(Role::EligibilityClerk).await;
    let person = PersonBuilder::new().create(&api, &clerk).await;
    let (auditor_id, auditor) = api.signed_in(Role::Auditor).await;

    let (status, first) = api.get(&auditor, "/audit/checkpoint?purpose=audit").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The auditor compares the served key with the one the municipality published.
    let published_key = api.db.checkpoint_key().verifier_key(&origin_for(KUMAGAYA));
    assert_eq!(first["verifier_key"], published_key.as_str());
    let kept = Checkpoint::open(first["note"].as_str().unwrap(), &published_key).unwrap();
    assert_eq!(kept.size, first["tree_size"].as_u64().unwrap());
    assert_eq!(kept.root_base64(), first["root_hash"].as_str().unwrap());

    PersonBuilder::new().create(&api, &clerk).await;
    let (_, second) = api.get(&auditor, "/audit/checkpoint?purpose=audit").await;
    let latest = Checkpoint::open(second["note"].as_str().unwrap(), &published_key).unwrap();
    assert!(latest.size > kept.size);
    let (status, proof) =
        api.get(&auditor, &format!("/audit/consistency?purpose=audit&from={}&to={}", kept.size, latest.size)).await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    verify_consistency(&kept, &latest, &serde_json::from_value(proof).unwrap()).unwrap();

    // Every event of the person's stream, by position and by id.
    let events = api.ledgerd.store.read_stream(kumagaya(), &format!("person-{person}"), Decrypt::No).await.unwrap();
    assert!(!events.is_empty());
    for event in &events {
        for selector in [format!("position={}", event.position), format!("event_id={}", event.event_id)] {
            let path = format!("/audit/inclusion?purpose=audit&tree_size={}&{selector}", latest.size);
            let (status, proof) = api.get(&auditor, &path).await;
            assert_eq!(status, StatusCode::OK, "{proof}");
            verify_inclusion(&latest, &serde_json::from_value(proof).unwrap()).unwrap();
        }
    }
    // Without tree_size, the latest published checkpoint's.
    let (_, proof) =
        api.get(&auditor, &format!("/audit/inclusion?purpose=audit&position={}", events[0].position)).await;
    assert_eq!(proof["tree_size"], latest.size);

    // Refusals name the field and what it accepts, never the value sent.
    let (status, problem) = api.get(&auditor, "/audit/inclusion?purpose=audit&tree_size=987654321&position=1").await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("tree_size"), "{problem}");
    assert!(!problem.to_string().contains("987654321"), "{problem}");
    let (status, problem) = api.get(&auditor, "/audit/inclusion?purpose=audit&position=1&event_id=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, problem) = api.get(&auditor, "/audit/consistency?purpose=audit&from=3&to=2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("from"), "{problem}");
    let (status, problem) = api.get(&auditor, "/audit/checkpoint?purpose=eligibility").await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("purpose_not_permitted")));
    let (status, problem) = api.get(&clerk, "/audit/checkpoint?purpose=audit").await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_permitted")));

    // Each answer was recorded before it was sent: 2 checkpoints, 1 consistency, 2 per event + 1.
    let served = api.event_types(&format!("audit-{auditor_id}")).await;
    assert_eq!(served.len(), 2 + 1 + 2 * events.len() + 1, "{served:?}");
    assert!(served.iter().all(|event_type| event_type == "LedgerProofServed"));
    api.stop().await;
}

#[tokio::test]
async fn the_command_line_writes_checkpoints_and_proofs_and_verifies_them_without_a_database() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    fill(&store, 6).await;
    let run = |args: &[&str]| {
        let (code, stdout, stderr) = output(kokuho(&db).args(args));
        assert_eq!(code, 0, "kokuho {args:?}: {stdout}{stderr}");
        stdout
    };
    let dir = db.dir.path().to_owned();
    let file = |name: &str| dir.join(name).display().to_string();
    run(&["audit", "checkpoint", "--tenant", KUMAGAYA, "--out", &file("old.note")]);
    let public_key = run(&["audit", "public-key", "--tenant", KUMAGAYA]).trim().to_owned();
    assert_eq!(public_key, db.checkpoint_key().verifier_key(&origin_for(KUMAGAYA)));
    fill(&store, 4).await;
    store.shutdown().await;
    let printed = run(&["audit", "checkpoint", "--tenant", KUMAGAYA, "--out", &file("new.note")]);
    assert_eq!(printed, std::fs::read_to_string(file("new.note")).unwrap());
    run(&["audit", "prove", "--tenant", KUMAGAYA, "--position", "3", "--tree-size", "10", "--out", &file("3.json")]);
    run(&["audit", "prove", "--tenant", KUMAGAYA, "--from", "6", "--to", "10", "--out", &file("6-10.json")]);

    // The auditor's side: files and the public key only (the database named does not exist).
    let verify = |inclusion: &str| {
        output(
            kokuho(&db)
                .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
                .args(["audit", "verify", "--public-key", &public_key, "--checkpoint", &file("new.note")])
                .args(["--old-checkpoint", &file("old.note"), "--consistency", &file("6-10.json")])
                .args(["--inclusion", inclusion]),
        )
    };
    let (code, stdout, stderr) = verify(&file("3.json"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("consistent: the ledger of 10 events extends the one of 6"), "{stdout}");
    assert!(stdout.contains("included: position 3"), "{stdout}");
    assert!(stdout.trim_end().ends_with("OK"), "{stdout}");

    // An extract whose payload was edited after the fact.
    let mut proof: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file("3.json")).unwrap()).unwrap();
    use base64::Engine as _;
    proof["event"]["payload"] = base64::engine::general_purpose::STANDARD.encode(r#"{"amount_yen":1}"#).into();
    std::fs::write(file("3-edited.json"), proof.to_string()).unwrap();
    let (code, stdout, _) = verify(&file("3-edited.json"));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("FAILED") && stdout.contains("altered"), "{stdout}");
}

#[tokio::test]
async fn the_benchmarks_of_proofs_and_of_the_append_path_without_the_tree_run() {
    let db = TestDb::fresh().await;
    let (code, stdout, stderr) =
        output(kokuho(&db).args(["bench", "--proofs-at", "300", "--as-of-reads", "20", "--json"]));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["events"], 300);
    for field in ["fill_events_per_s", "inclusion_p99_ms", "consistency_p99_ms", "checkpoint_ms"] {
        assert!(report[field].as_f64().is_some_and(|value| value > 0.0), "{field} in {report}");
    }

    // The reference run writes no tree; a store that maintains it catches up when opened.
    let db = TestDb::fresh().await;
    let args = ["bench", "--without-merkle-tree", "--persons", "8", "--clients", "2", "--as-of-reads", "4", "--json"];
    let (code, _, stderr) = output(kokuho(&db).args(args));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(db.raw_bytes("SELECT hash FROM merkle_hashes").await.len(), 0);
    let store = db.store().await;
    let tenant = kokuho_domain::TenantCode::parse(kokuho::bench::BENCH_TENANT).unwrap();
    let head = store.head(tenant).await.unwrap() as u64;
    assert_eq!(store.catch_up_tree(tenant).await.unwrap(), head);
    let key = db.checkpoint_key();
    let published = store.publish_checkpoint(tenant, &key).await.unwrap();
    let kept = Checkpoint::open(&published.note, &key.verifier_key(&origin_for(kokuho::bench::BENCH_TENANT))).unwrap();
    verify_inclusion(&kept, &store.inclusion_proof(tenant, 1, head).await.unwrap()).unwrap();
    store.shutdown().await;
}
