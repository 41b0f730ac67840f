//! Projections: following commits, rebuild equal to the incremental path, atomic swap.

use kokuho_domain::person::Person;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{Days, Months, NaiveDate, TimeDelta};
use kokuho::Ledgerd;
use kokuho_domain::eligibility::MoveContinuity;
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::{CertificateStatus, LossNotice, PersonCommand};
use kokuho_domain::PersonId;
use kokuho_events::{
    Acquisition, AcquisitionReason, CorrectionReason, CostShare, FormerMunicipality, LedgerEvent, LossReason,
};
use kokuho_projections::models::{
    Certificates, ElderlyCostShares, EligibilityPeriods, NotificationKind, PaymentTotals, PersonRegistry,
    RetentionDates, RetentionFold,
};
use kokuho_store::Decrypt;
use proptest::prelude::*;
use uuid::Uuid;

use crate::support::*;

mod eligibility_rows;

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
    for command in [register("熊谷 花子"), acquire()] {
        ledgerd.ledger.execute::<Person>(kumagaya(), person, command, meta(None)).await.unwrap();
    }
    for amount in [12_300, 4_500] {
        legacy_payment(&ledgerd.ledger, kumagaya(), person, amount).await;
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

/// The first day of generated histories; every generated date is on or after it and, by at most
/// 1,000 days, before the real today the ledger decides with.
fn day(offset: u16) -> NaiveDate {
    date(2024, 1, 1) + Days::new(u64::from(offset))
}

fn source() -> Acquisition {
    Acquisition { source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into() }
}

/// One step of a generated history: which person (of a few) and what command.
#[derive(Debug, Clone)]
enum Step {
    Register(usize),
    Acquire(usize),
    /// A period from `day`, maybe a move (former city's loss `former` days from it), maybe
    /// already ended `closed` days later; notified `late` days after.
    AcquireOn {
        person: usize,
        day: u16,
        late: u16,
        former: Option<i8>,
        closed: Option<u16>,
    },
    Lose {
        person: usize,
        day: u16,
        late: u16,
        reason: u8,
    },
    /// Restates the person's `which`-th period acquired so far.
    Correct {
        person: usize,
        which: usize,
        day: u16,
        end: Option<u16>,
    },
    Withdraw {
        person: usize,
        which: usize,
    },
    Die {
        person: usize,
        day: u16,
    },
    Certificate {
        person: usize,
        day: u16,
        days_valid: u16,
    },
    Share {
        person: usize,
        day: u16,
        three_tenths: bool,
        household: Option<usize>,
    },
    /// 0: establish with the person as head, 1: join, 2: leave.
    Household {
        household: usize,
        person: usize,
        action: u8,
        day: u16,
    },
    /// A payment on the person's stream as recorded before the household account.
    Pay(usize, i64),
    CatchUp,
}

const PERSONS: usize = 6;
const HOUSEHOLDS: usize = 2;

fn step() -> impl Strategy<Value = Step> {
    let person = 0..PERSONS;
    let days = 0..900u16;
    prop_oneof![
        person.clone().prop_map(Step::Register),
        person.clone().prop_map(Step::Acquire),
        (person.clone(), days.clone(), 0..30u16, prop::option::of(-4..4i8), prop::option::of(1..90u16))
            .prop_map(|(person, day, late, former, closed)| Step::AcquireOn { person, day, late, former, closed }),
        (person.clone(), days.clone(), 0..30u16, 0..3u8).prop_map(|(person, day, late, reason)| Step::Lose {
            person,
            day,
            late,
            reason
        }),
        (person.clone(), 0..3usize, days.clone(), prop::option::of(1..200u16))
            .prop_map(|(person, which, day, end)| Step::Correct { person, which, day, end }),
        (person.clone(), 0..3usize).prop_map(|(person, which)| Step::Withdraw { person, which }),
        (person.clone(), days.clone()).prop_map(|(person, day)| Step::Die { person, day }),
        (person.clone(), days.clone(), 0..400u16).prop_map(|(person, day, days_valid)| Step::Certificate {
            person,
            day,
            days_valid
        }),
        (person.clone(), days.clone(), any::<bool>(), prop::option::of(0..HOUSEHOLDS))
            .prop_map(|(person, day, three_tenths, household)| Step::Share { person, day, three_tenths, household }),
        (0..HOUSEHOLDS, person.clone(), 0..3u8, days.clone())
            .prop_map(|(household, person, action, day)| Step::Household { household, person, action, day }),
        (person, -100i64..50_000).prop_map(|(p, a)| Step::Pay(p, a)),
        Just(Step::CatchUp),
    ]
}

/// Runs `steps` against the ledger; rejections (unregistered, not insured, overlapping, …) are
/// part of a real history too.
async fn play(ledgerd: &Ledgerd, persons: &[PersonId], households: &[Uuid], steps: Vec<Step>) {
    let mut periods: Vec<Vec<Uuid>> = vec![Vec::new(); persons.len()];
    for (index, step) in steps.into_iter().enumerate() {
        let (person, command): (usize, PersonCommand) = match step {
            Step::Register(p) => (p, register("x")),
            Step::Acquire(p) => (p, acquire()),
            Step::AcquireOn { person, day: start, late, former, closed } => {
                let event_date = day(start);
                let command = PersonCommand::AcquireEligibility {
                    period_id: Uuid::now_v7(),
                    reason: if former.is_some() {
                        AcquisitionReason::MovedIn
                    } else {
                        AcquisitionReason::LeftEmployeeInsurance
                    },
                    event_date,
                    notified_on: event_date + Days::new(u64::from(late)),
                    acquisition: source(),
                    former_municipality: former.map(|offset| FormerMunicipality {
                        municipality_code: "112062".into(),
                        lost_on: event_date.checked_add_signed(TimeDelta::days(i64::from(offset))).unwrap(),
                    }),
                    loss: closed.map(|length| LossNotice {
                        reason: LossReason::MovedOut,
                        event_date: Some(event_date + Days::new(u64::from(length))),
                        notified_on: event_date + Days::new(u64::from(length + late)),
                    }),
                };
                (person, command)
            }
            Step::Lose { person, day: on, late, reason } => {
                let reason =
                    [LossReason::MovedOut, LossReason::JoinedEmployeeInsurance, LossReason::PublicAssistanceStarted]
                        [usize::from(reason)];
                let loss =
                    LossNotice { reason, event_date: Some(day(on)), notified_on: day(on) + Days::new(u64::from(late)) };
                (person, PersonCommand::LoseEligibility { loss, acquisition: source() })
            }
            Step::Correct { person, which, day: start, end } => {
                let Some(period_id) = periods[person].get(which).copied() else { continue };
                let command = PersonCommand::CorrectEligibility {
                    period_id,
                    reason: AcquisitionReason::MovedIn,
                    event_date: day(start),
                    notified_on: day(start) + Days::new(3),
                    former_municipality: (which == 1)
                        .then(|| FormerMunicipality { municipality_code: "112071".into(), lost_on: day(start) }),
                    loss: end.map(|length| LossNotice {
                        reason: LossReason::JoinedEmployeeInsurance,
                        event_date: Some(day(start) + Days::new(u64::from(length))),
                        notified_on: day(start) + Days::new(u64::from(length) + 20),
                    }),
                    correction_reason: CorrectionReason::EntryError,
                };
                (person, command)
            }
            Step::Withdraw { person, which } => {
                let Some(period_id) = periods[person].get(which).copied() else { continue };
                (
                    person,
                    PersonCommand::WithdrawEligibility { period_id, correction_reason: CorrectionReason::NewEvidence },
                )
            }
            Step::Die { person, day: on } => (
                person,
                PersonCommand::RecordDeath {
                    died_on: day(on),
                    notified_on: day(on) + Days::new(2),
                    acquisition: source(),
                },
            ),
            Step::Certificate { person, day: on, days_valid } => (
                person,
                PersonCommand::IssueCertificate {
                    certificate_no: format!("C{index:04}"),
                    issued_on: day(on),
                    valid_until: day(on) + Days::new(u64::from(days_valid)),
                },
            ),
            Step::Share { person, day: on, three_tenths, household } => (
                person,
                PersonCommand::RecordElderlyShare {
                    valid_from: day(on),
                    share: if three_tenths { CostShare::ThreeTenths } else { CostShare::TwoTenths },
                    basis: if three_tenths { "active_income".into() } else { "no_member_at_threshold".into() },
                    household_id: household.map(|h| households[h]),
                    income_year: 2024,
                    rules_sha256: "0".repeat(64),
                },
            ),
            Step::Household { household, person, action, day: on } => {
                let person_id = persons[person].as_uuid();
                let command = match action {
                    0 => HouseholdCommand::Establish {
                        head_person_id: person_id,
                        established_on: day(on),
                        acquisition: source(),
                    },
                    1 => HouseholdCommand::Join { person_id, joined_on: day(on) },
                    _ => HouseholdCommand::Leave { person_id, left_on: day(on) },
                };
                let _ =
                    ledgerd.ledger.execute::<Household>(kumagaya(), households[household], command, meta(None)).await;
                continue;
            }
            // A legacy payment, as an older release recorded one: only amounts above 0 were.
            Step::Pay(p, amount) => {
                if amount > 0 {
                    legacy_payment(&ledgerd.ledger, kumagaya(), persons[p], amount).await;
                }
                continue;
            }
            Step::CatchUp => {
                ledgerd.projector.catch_up(kumagaya()).await.unwrap();
                assert_projections_agree_with_the_aggregate(ledgerd, persons).await;
                continue;
            }
        };
        if let Ok(executed) = ledgerd.ledger.execute::<Person>(kumagaya(), persons[person], command, meta(None)).await {
            for event in &executed.events {
                if let LedgerEvent::EligibilityAcquired(acquired) = event {
                    periods[person].push(acquired.period_id);
                }
            }
        }
    }
}

/// The read models say what the person aggregate says, on every day that matters.
async fn assert_projections_agree_with_the_aggregate(ledgerd: &Ledgerd, persons: &[PersonId]) {
    let db = ledgerd.store.db();
    let mut days: Vec<NaiveDate> = (0..=36u32).map(|month| date(2024, 1, 1) + Months::new(month)).collect();
    let mut states = Vec::new();
    for person in persons {
        let view = ledgerd.ledger.replay::<Person>(kumagaya(), *person, None, Decrypt::No).await.unwrap();
        let rows = EligibilityPeriods::of_person(db, KUMAGAYA, person.as_uuid()).await.unwrap();
        let current: Vec<_> = rows.iter().filter(|row| !row.withdrawn).collect();
        assert_eq!(current.len(), view.state.periods.len(), "{person}: {rows:#?} vs {:#?}", view.state.periods);
        for (row, period) in current.iter().zip(&view.state.periods) {
            assert_eq!(row.period_id, period.period_id);
            assert_eq!(
                (row.effective_on, row.lost_on),
                (period.start.effective_on, period.end.as_ref().map(|end| end.lost_on))
            );
            assert_eq!(
                (row.acquisition_reason, row.notification_late),
                (period.start.reason, period.start.notification_late)
            );
            assert_eq!(row.loss_reason, period.end.as_ref().map(|end| end.reason));
            assert_eq!(row.former_lost_on, period.former_municipality.as_ref().map(|former| former.lost_on));
            assert_eq!(row.corrections, i64::from(period.corrections));
            days.push(period.start.effective_on);
            days.extend(period.end.as_ref().map(|end| end.lost_on));
        }
        // Retention's reading of the same periods, in SQL, is the fold `kokuho retention run`
        // re-checks streams with.
        let mut fold = RetentionFold::default();
        for (recorded, event) in &view.events {
            fold.observe(event, recorded.position, recorded.recorded_at);
        }
        let projected = RetentionDates::of_person(db, KUMAGAYA, person.as_uuid()).await.unwrap();
        assert_eq!(projected.unwrap_or_default(), fold.dates(), "{person}: retention dates");
        let certificates = Certificates::of_person(db, KUMAGAYA, person.as_uuid()).await.unwrap();
        assert_eq!(certificates.len(), view.state.certificates.len());
        for certificate in &view.state.certificates {
            days.extend([certificate.valid_from, certificate.valid_until, certificate.valid_until + Days::new(1)]);
        }
        for decision in &view.state.elderly_shares {
            days.push(decision.valid_from);
        }
        states.push((person.as_uuid(), view.state));
    }
    days.sort();
    days.dedup();
    for on in days {
        let insured = states.iter().filter(|(_, state)| state.period_on(on).is_some()).count() as i64;
        assert_eq!(EligibilityPeriods::insured_count(db, KUMAGAYA, on).await.unwrap(), insured, "insured on {on}");

        let mut valid: Vec<(Uuid, String)> = states
            .iter()
            .flat_map(|(person, state)| {
                state
                    .certificates
                    .iter()
                    .filter(move |c| state.certificate_status(c, on) == CertificateStatus::Valid)
                    .map(move |c| (*person, c.certificate_no.clone()))
            })
            .collect();
        valid.sort();
        let outstanding: Vec<(Uuid, String)> = Certificates::outstanding(db, KUMAGAYA, on)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.person_id, c.certificate_no))
            .collect();
        assert_eq!(outstanding, valid, "certificates outstanding on {on}");

        let mut shares: Vec<(Uuid, CostShare, NaiveDate)> = states
            .iter()
            .filter_map(|(person, state)| state.elderly_share_on(on).map(|d| (*person, d.share, d.valid_from)))
            .collect();
        shares.sort_by_key(|(person, _, _)| *person);
        let in_force: Vec<(Uuid, CostShare, NaiveDate)> = ElderlyCostShares::in_force(db, KUMAGAYA, on)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.person_id, d.share, d.valid_from))
            .collect();
        assert_eq!(in_force, shares, "shares in force on {on}");
    }
}

async fn rebuild_equals_incremental(steps: Vec<Step>) {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons: Vec<PersonId> = (0..PERSONS).map(|_| PersonId::new()).collect();
    let households: Vec<Uuid> = (0..HOUSEHOLDS).map(|_| Uuid::now_v7()).collect();
    play(&ledgerd, &persons, &households, steps).await;
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();
    assert_projections_agree_with_the_aggregate(&ledgerd, &persons).await;
    let incremental = dump_all(&ledgerd).await;
    ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    assert_eq!(dump_all(&ledgerd).await, incremental, "rebuild differs from the incremental path");

    // Dropping every projection table and starting again gives the same tables.
    for projection in kokuho_projections::all() {
        for table in projection.tables() {
            db.raw_execute(&format!("DROP TABLE {}", table.name)).await;
        }
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
    fn rebuild_gives_the_same_tables_as_the_incremental_path(steps in prop::collection::vec(step(), 1..80)) {
        tokio::runtime::Runtime::new().unwrap().block_on(rebuild_equals_incremental(steps));
    }
}

/// A history that exercises every eligibility event, with catch-ups between them: rebuild,
/// incremental and catch-up agree, and the read models agree with the aggregate (the proptest's
/// check, on a history known to be accepted).
#[tokio::test]
async fn a_full_eligibility_history_projects_the_same_every_way() {
    let steps = vec![
        Step::Register(0),
        Step::Register(1),
        Step::Register(2),
        Step::AcquireOn { person: 0, day: 10, late: 20, former: Some(-2), closed: Some(40) },
        Step::AcquireOn { person: 0, day: 100, late: 3, former: None, closed: None },
        Step::Certificate { person: 0, day: 120, days_valid: 365 },
        Step::CatchUp,
        Step::Lose { person: 0, day: 300, late: 16, reason: 0 },
        Step::AcquireOn { person: 1, day: 50, late: 0, former: Some(3), closed: None },
        Step::Certificate { person: 1, day: 60, days_valid: 200 },
        Step::Household { household: 0, person: 1, action: 0, day: 50 },
        Step::Household { household: 0, person: 0, action: 1, day: 100 },
        Step::Share { person: 1, day: 80, three_tenths: false, household: Some(0) },
        Step::Share { person: 1, day: 80, three_tenths: true, household: Some(0) },
        Step::CatchUp,
        Step::Correct { person: 0, which: 1, day: 101, end: None },
        Step::Withdraw { person: 0, which: 0 },
        Step::Household { household: 0, person: 0, action: 2, day: 400 },
        Step::AcquireOn { person: 2, day: 30, late: 1, former: None, closed: None },
        Step::Certificate { person: 2, day: 40, days_valid: 300 },
        Step::Die { person: 2, day: 200 },
        Step::Pay(1, 4_000),
    ];
    rebuild_equals_incremental(steps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_never_shows_a_reader_an_empty_or_partial_table() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = 120;
    for _ in 0..persons {
        let person = PersonId::new();
        ledgerd.ledger.execute::<Person>(kumagaya(), person, register("x"), meta(None)).await.unwrap();
        ledgerd.ledger.execute::<Person>(kumagaya(), person, acquire(), meta(None)).await.unwrap();
        legacy_payment(&ledgerd.ledger, kumagaya(), person, 1_000).await;
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
                ledger.execute::<Person>(kumagaya(), person, register("x"), meta(None)).await.unwrap();
                ledger.execute::<Person>(kumagaya(), person, acquire(), meta(None)).await.unwrap();
                legacy_payment(&ledger, kumagaya(), person, 500).await;
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
    for command in [register("x"), acquire()] {
        ledgerd.ledger.execute::<Person>(kumagaya(), person, command, meta(None)).await.unwrap();
    }
    legacy_payment(&ledgerd.ledger, kumagaya(), person, 2_000).await;
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
