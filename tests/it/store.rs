//! The event store: appends, concurrency, idempotency, reads, encryption, erasure, verification.

use std::sync::Arc;

use kokuho_store::{AppendError, AppendRequest, Break, Decrypt, EventStore, ExpectedVersion, NewEvent, PersonalData};
use uuid::Uuid;

use crate::support::*;

fn event(payload: &str) -> NewEvent {
    NewEvent {
        event_type: "PaymentReceived".into(),
        schema_version: 2,
        subject_id: None,
        payload: payload.as_bytes().to_vec(),
        personal: None,
    }
}

fn request(stream: &str, expected: ExpectedVersion, key: Option<&str>, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        stream_id: stream.into(),
        expected_version: expected,
        meta: meta(key),
        events,
        search_tokens: vec![],
        command_fingerprint: None,
    }
}

async fn verify_ok(store: &EventStore) -> u64 {
    let reports = store.verify(&mut |_, _| {}).await.unwrap();
    reports
        .iter()
        .map(|(tenant, report)| {
            assert_eq!(report.first_break, None, "tenant {tenant}");
            report.events
        })
        .sum()
}

#[tokio::test]
async fn concurrent_appends_get_gapless_positions_and_a_chain_that_verifies() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    let mut tasks = Vec::new();
    for client in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let stream = format!("person-{client}");
            for version in 0..20 {
                let outcome = store
                    .append(
                        kumagaya(),
                        request(&stream, ExpectedVersion::from_current(version), None, vec![event("{}")]),
                    )
                    .await
                    .unwrap();
                assert_eq!(outcome.stream_version, version + 1);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let page = store.read_page(kumagaya(), 0, 1000, Decrypt::No).await.unwrap();
    let positions: Vec<i64> = page.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=320).collect::<Vec<_>>());
    assert!(page.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at), "recorded_at never goes back");
    assert_eq!(verify_ok(&store).await, 320);
    assert_eq!(store.head(kumagaya()).await.unwrap(), 320);
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_writes_nothing() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    store
        .append(kumagaya(), request("person-a", ExpectedVersion::NoStream, None, vec![event("{}"), event("{}")]))
        .await
        .unwrap();
    let refused =
        store.append(kumagaya(), request("person-a", ExpectedVersion::Exact(1), None, vec![event("{}")])).await;
    assert_eq!(refused, Err(AppendError::Conflict { stream_id: "person-a".into(), expected: 1, actual: 2 }));
    let refused =
        store.append(kumagaya(), request("person-a", ExpectedVersion::NoStream, None, vec![event("{}")])).await;
    assert!(matches!(refused, Err(AppendError::Conflict { actual: 2, .. })));
    assert_eq!(store.read_stream(kumagaya(), "person-a", Decrypt::No).await.unwrap().len(), 2);
    assert_eq!(store.head(kumagaya()).await.unwrap(), 2);
}

#[tokio::test]
async fn a_retried_idempotency_key_returns_the_first_result_and_appends_nothing() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    let first = store
        .append(kumagaya(), request("person-a", ExpectedVersion::NoStream, Some("k-1"), vec![event("{}")]))
        .await
        .unwrap();
    assert!(!first.duplicate);
    // A retry carries the same key and the version the client saw before its first attempt.
    let retry = store
        .append(kumagaya(), request("person-a", ExpectedVersion::NoStream, Some("k-1"), vec![event("{}")]))
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        (retry.first_position, retry.last_position, retry.stream_version),
        (first.first_position, first.last_position, 1)
    );
    // Two identical requests in flight at once: one appends, the other gets its result.
    let (a, b) = tokio::join!(
        store.append(kumagaya(), request("person-b", ExpectedVersion::NoStream, Some("k-2"), vec![event("{}")])),
        store.append(kumagaya(), request("person-b", ExpectedVersion::NoStream, Some("k-2"), vec![event("{}")])),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.first_position, b.first_position);
    assert!(a.duplicate != b.duplicate, "exactly one of the two appended");
    assert_eq!(store.head(kumagaya()).await.unwrap(), 2);
}

#[tokio::test]
async fn an_idempotency_key_cannot_be_reused_for_another_stream() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    store
        .append(kumagaya(), request("person-a", ExpectedVersion::NoStream, Some("k"), vec![event("{}")]))
        .await
        .unwrap();
    let refused =
        store.append(kumagaya(), request("person-b", ExpectedVersion::NoStream, Some("k"), vec![event("{}")])).await;
    assert_eq!(refused, Err(AppendError::IdempotencyKeyReused { key: "k".into() }));
    assert_eq!(store.head(kumagaya()).await.unwrap(), 1);
}

#[tokio::test]
async fn a_command_must_append_between_one_and_the_limit_of_events() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    let empty = store.append(kumagaya(), request("person-a", ExpectedVersion::NoStream, None, vec![])).await;
    assert!(matches!(empty, Err(AppendError::Invalid(_))));
    let many = vec![event("{}"); kokuho_store::COMMAND_EVENTS_MAX + 1];
    let too_many = store.append(kumagaya(), request("person-a", ExpectedVersion::NoStream, None, many)).await;
    assert!(matches!(too_many, Err(AppendError::Invalid(_))));
    assert_eq!(store.head(kumagaya()).await.unwrap(), 0);
}

#[tokio::test]
async fn reading_as_recorded_at_an_instant_shows_only_what_was_known_then() {
    let db = TestDb::fresh().await;
    let clock = TestClock::new();
    let store = db.store().await.with_clock(clock.as_clock());
    let first = store
        .append(kumagaya(), request("person-a", ExpectedVersion::NoStream, None, vec![event("{}")]))
        .await
        .unwrap();
    clock.advance(chrono::TimeDelta::seconds(1));
    let between = clock.now();
    clock.advance(chrono::TimeDelta::seconds(1));
    store.append(kumagaya(), request("person-a", ExpectedVersion::Exact(1), None, vec![event("{}")])).await.unwrap();
    assert_eq!(store.read_stream_as_of(kumagaya(), "person-a", between, Decrypt::No).await.unwrap().len(), 1);
    assert_eq!(store.read_stream_as_of(kumagaya(), "person-a", first.recorded_at, Decrypt::No).await.unwrap().len(), 1);
    assert_eq!(store.read_stream(kumagaya(), "person-a", Decrypt::No).await.unwrap().len(), 2);
    let before = first.recorded_at - chrono::Duration::microseconds(1);
    assert!(store.read_stream_as_of(kumagaya(), "person-a", before, Decrypt::No).await.unwrap().is_empty());
}

/// `recorded_at` is the store's clock's instant; a clock that goes back (here, or in another
/// process writing the same ledger) leaves it where the head is: it never decreases along
/// positions (invariant 2), and the chain still verifies.
#[tokio::test]
async fn recorded_at_is_the_clocks_instant_and_does_not_decrease_when_the_clock_goes_back() {
    let db = TestDb::fresh().await;
    let start: chrono::DateTime<chrono::Utc> = "2026-04-01T00:00:00.123456Z".parse().unwrap();
    let clock = TestClock::at(start);
    let store = db.store().await.with_clock(clock.as_clock());
    let append = |store: &EventStore, stream: &str| {
        let (store, stream) = (store.clone(), stream.to_owned());
        async move {
            let version = store.read_stream(kumagaya(), &stream, Decrypt::No).await.unwrap().len() as i64;
            let request =
                request(&stream, ExpectedVersion::from_current(version), None, vec![event("{}"), event("{}")]);
            store.append(kumagaya(), request).await.unwrap().recorded_at
        }
    };

    // A fixed clock: every batch is stamped with its instant.
    assert_eq!(append(&store, "person-a").await, start);
    assert_eq!(append(&store, "person-b").await, start, "two batches at the same instant");
    clock.advance(chrono::TimeDelta::seconds(90));
    assert_eq!(append(&store, "person-a").await, start + chrono::TimeDelta::seconds(90));

    // The clock goes back an hour: recorded_at stays at the head's instant.
    clock.advance(chrono::TimeDelta::hours(-1));
    assert_eq!(append(&store, "person-c").await, start + chrono::TimeDelta::seconds(90));
    // Another store on the same ledger, whose clock is a day behind, re-reads the head.
    let behind = db.store().await.with_clock(TestClock::at(start - chrono::TimeDelta::days(1)).as_clock());
    assert_eq!(append(&behind, "person-d").await, start + chrono::TimeDelta::seconds(90));
    // Once the clock is past the head again, its instant is used.
    clock.advance(chrono::TimeDelta::hours(2));
    assert_eq!(append(&store, "person-a").await, start + chrono::TimeDelta::seconds(90) + chrono::TimeDelta::hours(1));

    let stored = store.read_page(kumagaya(), 0, 100, Decrypt::No).await.unwrap();
    assert_eq!(stored.len(), 12);
    assert!(stored.windows(2).all(|pair| pair[0].recorded_at <= pair[1].recorded_at), "{stored:?}");
    assert_eq!(stored[0].recorded_at, start, "as stored, to the microsecond");
    assert_eq!(verify_ok(&store).await, 12);
}

#[tokio::test]
async fn ledger_pages_are_bounded_and_continue_where_the_last_ended() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    for version in 0..7 {
        store
            .append(kumagaya(), request("s", ExpectedVersion::from_current(version), None, vec![event("{}")]))
            .await
            .unwrap();
    }
    let first = store.read_page(kumagaya(), 0, 3, Decrypt::No).await.unwrap();
    let second = store.read_page(kumagaya(), 3, 3, Decrypt::No).await.unwrap();
    let last = store.read_page(kumagaya(), 6, 3, Decrypt::No).await.unwrap();
    assert_eq!(first.iter().map(|e| e.position).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(second.iter().map(|e| e.position).collect::<Vec<_>>(), [4, 5, 6]);
    assert_eq!(last.iter().map(|e| e.position).collect::<Vec<_>>(), [7]);
    // A caller asking for everything still gets at most one page.
    assert!(
        store.read_page(kumagaya(), 0, i64::MAX, Decrypt::No).await.unwrap().len()
            <= kokuho_store::PAGE_EVENTS_MAX as usize
    );
}

#[tokio::test]
async fn personal_parts_are_ciphertext_at_rest_and_plain_for_a_reader_with_the_key() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    let subject = Uuid::now_v7();
    let name = "熊谷 花子";
    let personal = NewEvent {
        event_type: "PersonRegistered".into(),
        schema_version: 1,
        subject_id: Some(subject),
        payload: br#"{"atena_no":"000123"}"#.to_vec(),
        personal: Some(format!(r#"{{"name":"{name}"}}"#).into_bytes()),
    };
    store.append(kumagaya(), request("person-x", ExpectedVersion::NoStream, None, vec![personal])).await.unwrap();

    for row in db.raw_bytes("SELECT personal FROM events").await {
        assert!(!contains(&row, name.as_bytes()), "the name is not stored in clear");
    }
    for row in db.raw_bytes("SELECT payload FROM events").await {
        assert!(!contains(&row, name.as_bytes()));
    }
    let read = store.read_stream(kumagaya(), "person-x", Decrypt::Yes).await.unwrap();
    assert_eq!(read[0].personal, PersonalData::Plain(format!(r#"{{"name":"{name}"}}"#).into_bytes()));
    let sealed = store.read_stream(kumagaya(), "person-x", Decrypt::No).await.unwrap();
    assert_eq!(sealed[0].personal, PersonalData::Sealed);

    // Another master key opens nothing.
    let db_handle = kokuho_store::Db::connect(&db.url).await.unwrap();
    let stranger =
        EventStore::new(db_handle, kokuho_vault::MasterKey::ephemeral(), kokuho_store::StoreMetrics::unregistered());
    let refused = stranger.read_stream(kumagaya(), "person-x", Decrypt::Yes).await;
    assert!(matches!(refused, Err(kokuho_store::StoreError::WrongMasterKey)), "{refused:?}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn destroying_a_persons_key_erases_them_everywhere_and_the_chain_still_verifies() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    let subject = Uuid::now_v7();
    let personal = NewEvent {
        event_type: "PersonRegistered".into(),
        schema_version: 1,
        subject_id: Some(subject),
        payload: b"{}".to_vec(),
        personal: Some(br#"{"name":"x"}"#.to_vec()),
    };
    store
        .append(kumagaya(), request("person-x", ExpectedVersion::NoStream, None, vec![personal.clone()]))
        .await
        .unwrap();
    assert!(store.destroy_subject_key(kumagaya(), subject).await.unwrap());
    assert!(!store.destroy_subject_key(kumagaya(), subject).await.unwrap(), "a second destruction finds nothing");

    let read = store.read_stream(kumagaya(), "person-x", Decrypt::Yes).await.unwrap();
    assert_eq!(read[0].personal, PersonalData::Erased);
    // A process that never cached the key sees the same.
    let other = db.store().await;
    assert_eq!(
        other.read_stream(kumagaya(), "person-x", Decrypt::Yes).await.unwrap()[0].personal,
        PersonalData::Erased
    );
    // Nothing personal can be added for an erased person.
    let refused = other.append(kumagaya(), request("person-x", ExpectedVersion::Exact(1), None, vec![personal])).await;
    assert_eq!(refused, Err(AppendError::SubjectErased { subject }));
    assert_eq!(verify_ok(&other).await, 1);
}

#[tokio::test]
async fn verify_names_the_first_altered_or_missing_position() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    for version in 0..10 {
        store
            .append(
                kumagaya(),
                request("s", ExpectedVersion::from_current(version), None, vec![event(r#"{"amount_yen":100}"#)]),
            )
            .await
            .unwrap();
    }
    assert_eq!(verify_ok(&store).await, 10);

    // One forged amount, with plain SQL.
    let forged = if db.is_postgres() {
        "UPDATE events SET payload = convert_to('{\"amount_yen\":900}', 'UTF8') WHERE position = 5"
    } else {
        "UPDATE events SET payload = CAST('{\"amount_yen\":900}' AS BLOB) WHERE position = 5"
    };
    assert_eq!(db.raw_execute(forged).await, 1);
    let reports = store.verify(&mut |_, _| {}).await.unwrap();
    let chain_break = reports[0].1.first_break.clone().expect("the forgery is caught");
    assert_eq!((chain_break.position, chain_break.problem), (5, Break::Hash));
    assert_eq!(reports[0].1.events, 4);

    // A deleted row is caught too, at the position after the gap.
    let db2 = TestDb::fresh().await;
    let store2 = db2.store().await;
    for version in 0..4 {
        store2
            .append(gyoda(), request("s", ExpectedVersion::from_current(version), None, vec![event("{}")]))
            .await
            .unwrap();
    }
    db2.raw_execute("DELETE FROM events WHERE position = 3").await;
    let reports = store2.verify(&mut |_, _| {}).await.unwrap();
    let chain_break = reports[0].1.first_break.clone().unwrap();
    assert_eq!((chain_break.position, chain_break.problem), (4, Break::Gap { expected: 3 }));
}

#[tokio::test]
async fn two_processes_writing_one_tenant_keep_one_gapless_chain() {
    let db = TestDb::fresh().await;
    let (first, second) = (db.store().await, db.store().await);
    let mut tasks = Vec::new();
    for (index, store) in [first.clone(), second.clone()].into_iter().enumerate() {
        for client in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let stream = format!("p{index}-{client}");
                for version in 0..25 {
                    store
                        .append(
                            kumagaya(),
                            request(&stream, ExpectedVersion::from_current(version), None, vec![event("{}")]),
                        )
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(verify_ok(&first).await, 200);
    // The same stream from both processes: the loser of the race sees a conflict, never a fork.
    let (a, b) = tokio::join!(
        first.append(kumagaya(), request("shared", ExpectedVersion::NoStream, None, vec![event("{}")])),
        second.append(kumagaya(), request("shared", ExpectedVersion::NoStream, None, vec![event("{}")])),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one wins: {a:?} {b:?}");
    assert_eq!(verify_ok(&second).await, 201);
}

#[tokio::test]
async fn tenants_have_separate_ledgers() {
    let db = TestDb::fresh().await;
    let store = db.store().await;
    store.append(kumagaya(), request("person-a", ExpectedVersion::NoStream, None, vec![event("{}")])).await.unwrap();
    store.append(gyoda(), request("person-a", ExpectedVersion::NoStream, None, vec![event("{}")])).await.unwrap();
    assert_eq!(store.head(kumagaya()).await.unwrap(), 1);
    assert_eq!(store.head(gyoda()).await.unwrap(), 1);
    let kumagaya_stream = store.read_stream(kumagaya(), "person-a", Decrypt::No).await.unwrap();
    assert_eq!(kumagaya_stream.len(), 1);
    assert_eq!(kumagaya_stream[0].tenant, KUMAGAYA);
    assert_eq!(store.tenants().await.unwrap(), vec![kumagaya(), gyoda()]);
    assert_eq!(verify_ok(&store).await, 2);
}

#[tokio::test]
async fn shutdown_lets_every_queued_command_commit() {
    let db = TestDb::fresh().await;
    let store = Arc::new(db.store().await);
    let mut tasks = Vec::new();
    for client in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append(kumagaya(), request(&format!("s{client}"), ExpectedVersion::NoStream, None, vec![event("{}")]))
                .await
        }));
    }
    tokio::task::yield_now().await;
    store.shutdown().await;
    let mut committed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => committed += 1,
            Err(AppendError::ShuttingDown) => {}
            Err(other) => panic!("a queued command failed instead of committing: {other}"),
        }
    }
    // Every command that was told "ok" is in the ledger, and nothing else is.
    let reopened = db.store().await;
    assert_eq!(reopened.head(kumagaya()).await.unwrap(), committed);
}

#[tokio::test]
async fn a_key_destroyed_by_another_process_is_seen_at_once_by_a_process_that_cached_it() {
    let db = TestDb::fresh().await;
    let server = db.store().await;
    let subject = Uuid::now_v7();
    let personal = NewEvent {
        event_type: "PersonRegistered".into(),
        schema_version: 1,
        subject_id: Some(subject),
        payload: b"{}".to_vec(),
        personal: Some(br#"{"name":"x"}"#.to_vec()),
    };
    server
        .append(kumagaya(), request("person-x", ExpectedVersion::NoStream, None, vec![personal.clone()]))
        .await
        .unwrap();
    // The server has the key cached from reading.
    assert!(matches!(
        server.read_stream(kumagaya(), "person-x", Decrypt::Yes).await.unwrap()[0].personal,
        PersonalData::Plain(_)
    ));
    // `kokuho retention run`, in another process, destroys it.
    let retention = db.store().await;
    assert!(retention.destroy_subject_key(kumagaya(), subject).await.unwrap());
    assert_eq!(
        server.read_stream(kumagaya(), "person-x", Decrypt::Yes).await.unwrap()[0].personal,
        PersonalData::Erased
    );
    let refused = server.append(kumagaya(), request("person-x", ExpectedVersion::Exact(1), None, vec![personal])).await;
    assert_eq!(refused, Err(AppendError::SubjectErased { subject }));
}

/// The embedded database is created readable by its owner only, and so are its WAL and shared
/// memory files (SQLite gives them the database file's permissions).
#[cfg(unix)]
#[tokio::test]
async fn a_new_sqlite_database_is_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::fresh().await;
    if db.is_postgres() {
        return;
    }
    let store = db.store().await;
    let mut meta = meta(None);
    meta.idempotency_key = None;
    let ledger = kokuho_ledger::Ledger::new(store.clone(), kokuho_ledger::system_clock());
    ledger
        .execute::<kokuho_domain::person::Person>(
            kumagaya(),
            kokuho_domain::PersonId::new(),
            register("熊谷 花子"),
            meta,
        )
        .await
        .unwrap();
    for file in ["ledger.db", "ledger.db-wal", "ledger.db-shm"] {
        let path = db.dir.path().join(file);
        let mode = std::fs::metadata(&path).unwrap_or_else(|error| panic!("{file}: {error}")).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
    store.db().close().await;
}
