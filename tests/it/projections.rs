//! Projections: following commits, rebuild equal to the incremental path, atomic swap.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kokuho::Ledgerd;
use kokuho_domain::person::PersonCommand;
use kokuho_domain::PersonId;
use kokuho_projections::models::{PaymentTotals, PersonRegistry};
use proptest::prelude::*;

use crate::harness::*;

async fn open(db: &TestDb) -> Ledgerd {
    Ledgerd::open(&db.config(), kokuho_ledger::system_clock()).await.unwrap()
}

async fn dump_all(ledgerd: &Ledgerd) -> Vec<Vec<Vec<Option<String>>>> {
    let mut dumps = Vec::new();
    for name in ledgerd.projector.projection_names() {
        dumps.push(ledgerd.projector.dump(name).await.unwrap());
    }
    dumps
}

#[tokio::test]
async fn projections_follow_new_commits() {
    let db = TestDb::fresh().await;
    let mut ledgerd = open(&db).await;
    ledgerd.start_following();
    let person = PersonId::new();
    for command in [register("熊谷 花子"), acquire(), pay(12_300), pay(4_500)] {
        ledgerd.ledger.execute(kumagaya(), person, command, meta(None)).await.unwrap();
    }
    let db_handle = ledgerd.store.db().clone();
    eventually("the payments to reach payment_totals", || {
        let db_handle = db_handle.clone();
        async move {
            let totals = PaymentTotals::of_person(&db_handle, KUMAGAYA, person.as_uuid()).await.unwrap();
            totals.first().map(|row| (row.paid_yen, row.payments)) == Some((16_800, 2))
        }
    })
    .await;
    assert_eq!(PersonRegistry::count(&db_handle, KUMAGAYA).await.unwrap(), 1);
    // Nothing personal in any read model.
    for rows in dump_all(&ledgerd).await {
        for row in rows {
            assert!(!row.iter().flatten().any(|cell| cell.contains("花子")), "{row:?}");
        }
    }
    ledgerd.shutdown().await;
}

/// One step of a generated history: which person (of a few) and what command.
#[derive(Debug, Clone)]
enum Step {
    Register(usize),
    Acquire(usize),
    Pay(usize, i64),
    CatchUp,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..6usize).prop_map(Step::Register),
        (0..6usize).prop_map(Step::Acquire),
        ((0..6usize), -100i64..50_000).prop_map(|(p, a)| Step::Pay(p, a)),
        Just(Step::CatchUp),
    ]
}

async fn rebuild_equals_incremental(steps: Vec<Step>) {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons: Vec<PersonId> = (0..6).map(|_| PersonId::new()).collect();
    for step in steps {
        let (person, command): (usize, PersonCommand) = match step {
            Step::Register(p) => (p, register("x")),
            Step::Acquire(p) => (p, acquire()),
            Step::Pay(p, amount) => (p, pay(amount)),
            Step::CatchUp => {
                ledgerd.projector.catch_up(kumagaya()).await.unwrap();
                continue;
            }
        };
        // Rejections (unregistered, not insured, amount ≤ 0) are part of a real history too.
        let _ = ledgerd.ledger.execute(kumagaya(), persons[person], command, meta(None)).await;
    }
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();
    let incremental = dump_all(&ledgerd).await;
    ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    assert_eq!(dump_all(&ledgerd).await, incremental, "rebuild differs from the incremental path");

    // Dropping every projection table and starting again gives the same tables.
    for name in ["person_registry", "eligibility_periods", "payment_totals"] {
        db.raw_execute(&format!("DROP TABLE {name}")).await;
    }
    ledgerd.shutdown().await;
    let reopened = open(&db).await;
    reopened.projector.catch_up(kumagaya()).await.unwrap();
    assert_eq!(dump_all(&reopened).await, incremental, "a fresh catch-up differs from the incremental path");
    reopened.shutdown().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
    #[test]
    fn rebuild_gives_the_same_tables_as_the_incremental_path(steps in prop::collection::vec(step(), 1..60)) {
        tokio::runtime::Runtime::new().unwrap().block_on(rebuild_equals_incremental(steps));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_never_shows_a_reader_an_empty_or_partial_table() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = 120;
    for _ in 0..persons {
        let person = PersonId::new();
        ledgerd.ledger.execute(kumagaya(), person, register("x"), meta(None)).await.unwrap();
        ledgerd.ledger.execute(kumagaya(), person, acquire(), meta(None)).await.unwrap();
        ledgerd.ledger.execute(kumagaya(), person, pay(1_000), meta(None)).await.unwrap();
    }
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();

    // A reader on its own connections, as the server's handlers are.
    let reader_store = db.store().await;
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let db_handle = reader_store.db().clone();
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) {
                let registered = PersonRegistry::count(&db_handle, KUMAGAYA).await.expect("the table is always there");
                let paid: i64 = kokuho_store::on_db!(&db_handle, pool => {
                    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM payment_totals WHERE tenant = '112020'")
                        .fetch_one(pool).await.expect("the table is always there")
                });
                assert_eq!((registered, paid), (persons, persons), "a reader saw a partial table");
                reads += 1;
            }
            reads
        })
    };
    for _ in 0..3 {
        ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let reads = reader.await.expect("the reader never saw a partial table");
    assert!(reads > 0);
    ledgerd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_during_a_rebuild_are_in_the_swapped_tables() {
    let db = TestDb::fresh().await;
    let mut ledgerd = open(&db).await;
    ledgerd.start_following();
    let writer = {
        let ledger = ledgerd.ledger.clone();
        tokio::spawn(async move {
            for _ in 0..60 {
                let person = PersonId::new();
                ledger.execute(kumagaya(), person, register("x"), meta(None)).await.unwrap();
                ledger.execute(kumagaya(), person, acquire(), meta(None)).await.unwrap();
                ledger.execute(kumagaya(), person, pay(500), meta(None)).await.unwrap();
            }
        })
    };
    for _ in 0..3 {
        ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    }
    writer.await.unwrap();
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();
    let followed = dump_all(&ledgerd).await;
    assert_eq!(PersonRegistry::count(ledgerd.store.db(), KUMAGAYA).await.unwrap(), 60);
    ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    assert_eq!(dump_all(&ledgerd).await, followed);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn an_unknown_projection_name_is_refused() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let refused = ledgerd.projector.rebuild(Some("no_such_table"), &mut |_, _| {}).await;
    assert!(matches!(refused, Err(kokuho_projections::ProjectionError::UnknownProjection(_))));
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn a_projection_table_of_an_older_shape_is_rebuilt_at_start() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let person = PersonId::new();
    for command in [register("x"), acquire(), pay(2_000)] {
        ledgerd.ledger.execute(kumagaya(), person, command, meta(None)).await.unwrap();
    }
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();
    let expected = dump_all(&ledgerd).await;
    ledgerd.shutdown().await;
    // An older release's table: a column the current definition has is missing.
    db.raw_execute("DROP TABLE payment_totals").await;
    db.raw_execute("CREATE TABLE payment_totals (tenant TEXT NOT NULL, person_id TEXT NOT NULL, fiscal_year BIGINT NOT NULL, paid_yen BIGINT NOT NULL)").await;
    let reopened = open(&db).await;
    reopened.projector.catch_up(kumagaya()).await.unwrap();
    assert_eq!(dump_all(&reopened).await, expected);
    reopened.shutdown().await;
}
