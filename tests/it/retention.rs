//! Erasure at the end of retention: `kokuho retention run` (crates/jobs/src/retention.rs).
//!
//! Two persons throughout: one registered and never insured, whose retention (registration,
//! 7 years in the shipped rules) can end, and one insured, whose retention cannot end while they
//! are insured.

use chrono::{Months, NaiveDate};
use kokuho::jobs::retention::{self, RetentionReport, RetentionRules, RunOptions};
use kokuho::Ledgerd;
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::{PersonId, Rejection};
use kokuho_events::{Acquisition, LedgerEvent, PersonDetails, PersonRegistered, Personal, RetentionKind, Sex};
use kokuho_ledger::{CommandError, LedgerError};
use kokuho_projections::models::RetentionDates;
use kokuho_store::{AppendError, Decrypt, EventStore, PersonalData};

use crate::support::*;

async fn open(db: &TestDb) -> Ledgerd {
    Ledgerd::open(&db.config(), kokuho_ledger::system_clock()).await.unwrap()
}

struct Persons {
    /// Registered, never insured.
    left: PersonId,
    /// Registered, insured, paying.
    insured: PersonId,
}

async fn two_persons(ledgerd: &Ledgerd) -> Persons {
    let left = PersonId::new();
    // With a key: the registration's fingerprint (a keyed digest of the name, the address …) is
    // stored with it until the person is erased.
    let key = format!("register-{left}");
    ledgerd.ledger.execute::<Person>(kumagaya(), left, register("熊谷 花子"), meta(Some(&key))).await.unwrap();
    let insured = PersonId::new();
    for command in [register("行田 太郎"), acquire()] {
        ledgerd.ledger.execute::<Person>(kumagaya(), insured, command, meta(None)).await.unwrap();
    }
    // A payment from before the household account: its retention is still kept.
    legacy_payment(&ledgerd.ledger, kumagaya(), insured, 5_000).await;
    Persons { left, insured }
}

async fn run(ledgerd: &Ledgerd, as_of: NaiveDate, dry_run: bool) -> RetentionReport {
    let rules = RetentionRules::load(None).expect("the shipped rules");
    let mut calls = 0;
    let report = retention::run(ledgerd, &rules, &RunOptions { tenant: None, as_of, dry_run }, &mut |_, _| calls += 1)
        .await
        .expect("the retention run");
    assert!(calls > 0, "progress is reported");
    report
}

/// The JST day the ledger recorded the person's registration (their first event).
async fn registered_on(ledgerd: &Ledgerd, person: PersonId) -> NaiveDate {
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), person, None, Decrypt::No).await.unwrap();
    kokuho_ledger::jst_date(view.events[0].0.recorded_at)
}

async fn verify_ok(store: &EventStore) -> u64 {
    let reports = store.verify(&mut |_, _| {}).await.unwrap();
    assert!(!reports.is_empty());
    reports
        .iter()
        .map(|(tenant, report)| {
            assert_eq!(report.first_break, None, "tenant {tenant}");
            report.events
        })
        .sum()
}

/// Subjects whose data key is destroyed (`wrapped_key IS NULL`), read with plain SQL.
async fn destroyed_keys(db: &TestDb) -> Vec<Vec<u8>> {
    db.raw_bytes("SELECT subject_id FROM person_keys WHERE wrapped_key IS NULL ORDER BY subject_id").await
}

fn bytes(person: PersonId) -> Vec<u8> {
    person.as_uuid().as_bytes().to_vec()
}

fn erasures_in(events: &[(kokuho_store::RecordedEvent, LedgerEvent)]) -> usize {
    events.iter().filter(|(_, event)| matches!(event, LedgerEvent::PersonErased(_))).count()
}

#[tokio::test]
async fn a_person_whose_retention_has_ended_is_erased_and_the_chain_still_verifies() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = two_persons(&ledgerd).await;
    let registered = registered_on(&ledgerd, persons.left).await;

    let report = run(&ledgerd, date(2040, 1, 1), false).await;
    assert_eq!(report.examined, 2);
    assert_eq!(report.erasures.len(), 1, "{:?}", report.lines());
    let erasure = &report.erasures[0];
    assert_eq!((erasure.tenant, erasure.person_id), (kumagaya(), persons.left.as_uuid()));
    assert_eq!(erasure.end.kind, RetentionKind::Registration);
    assert_eq!(erasure.end.ends_on, registered + Months::new(7 * 12));
    assert!(report
        .lines()
        .last()
        .unwrap()
        .starts_with("erased 1 persons of 2 examined in 1 tenant(s) as of 2040-01-01"));

    // Their personal fields read as erased; what was in clear is still there.
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), persons.left, None, Decrypt::Yes).await.unwrap();
    let registration = view.state.registered.clone().expect("still on file");
    assert_eq!(registration.details, None);
    assert!(!registration.atena_no.is_empty());
    let (recorded, LedgerEvent::PersonErased(erased)) = view.events.last().unwrap() else {
        panic!("the erasure is the last event of their stream: {:?}", view.events.last())
    };
    assert_eq!(erased.person_id, persons.left.as_uuid());
    assert_eq!((erased.retention_kind, erased.retention_ended_on), (RetentionKind::Registration, erasure.end.ends_on));
    assert_eq!(erased.rule_source, "municipal setting: 7 years after registration");
    assert_eq!(erased.rules_sha256, report.rules_sha256);
    assert_eq!(recorded.actor, "system:retention");
    assert_eq!(recorded.personal, PersonalData::None, "the erasure carries nothing personal");
    // Another process, which never cached the key, reads the same.
    let other = db.store().await;
    let stream = other.read_stream(kumagaya(), &persons.left.stream_id(), Decrypt::Yes).await.unwrap();
    assert_eq!(stream[0].personal, PersonalData::Erased);

    // The insured person is untouched.
    let kept = ledgerd.ledger.replay::<Person>(kumagaya(), persons.insured, None, Decrypt::Yes).await.unwrap();
    assert_eq!(kept.state.registered.unwrap().details.map(|details| details.name), Some("行田 太郎".to_owned()));
    assert_eq!(erasures_in(&kept.events), 0);

    // The key itself is gone from the database.
    assert_eq!(destroyed_keys(&db).await, vec![bytes(persons.left)]);
    let live = db.raw_bytes("SELECT subject_id FROM person_keys WHERE wrapped_key IS NOT NULL").await;
    assert_eq!(live, vec![bytes(persons.insured)]);

    // The chain verifies, erasure included.
    assert_eq!(verify_ok(&ledgerd.store).await as i64, ledgerd.store.head(kumagaya()).await.unwrap());

    // Projections know the person was erased, and hold nothing personal.
    let dates = RetentionDates::of_person(ledgerd.store.db(), KUMAGAYA, persons.left.as_uuid()).await.unwrap().unwrap();
    assert_eq!(dates.erased_position, Some(recorded.position));
    let followed = ledgerd.projector.dump("retention_dates").await.unwrap();
    ledgerd.projector.rebuild(None, &mut |_, _| {}).await.unwrap();
    assert_eq!(ledgerd.projector.dump("retention_dates").await.unwrap(), followed, "a rebuild gives the same rows");
    for name in ledgerd.projector.projection_names() {
        for row in ledgerd.projector.dump(name).await.unwrap() {
            assert!(
                !row.iter().flatten().any(|cell| cell.contains("花子") || cell.contains("熊谷市")),
                "{name}: {row:?}"
            );
        }
    }

    // Nothing personal can be added for them again.
    let again = LedgerEvent::PersonRegistered(PersonRegistered {
        person_id: persons.left.as_uuid(),
        atena_no: registration.atena_no,
        acquisition: Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() },
        personal: Personal::Present(PersonDetails {
            name: "熊谷 花子".into(),
            name_kana: "クマガヤ ハナコ".into(),
            sex: Sex::Female,
            date_of_birth: date(1980, 5, 5),
            address: "埼玉県熊谷市宮町二丁目47番地1".into(),
        }),
    });
    let refused = ledgerd.ledger.record(kumagaya(), persons.left.stream_id(), &[again], meta(None)).await;
    assert!(
        matches!(refused, Err(LedgerError::Append(AppendError::SubjectErased { subject })) if subject == persons.left.as_uuid()),
        "{refused:?}"
    );
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn nobody_is_erased_on_or_before_the_last_day_of_their_retention() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = two_persons(&ledgerd).await;
    let last_day = registered_on(&ledgerd, persons.left).await + Months::new(7 * 12);
    let head = ledgerd.store.head(kumagaya()).await.unwrap();

    for as_of in [registered_on(&ledgerd, persons.left).await, last_day] {
        let report = run(&ledgerd, as_of, false).await;
        assert!(report.erasures.is_empty(), "as of {as_of}: {:?}", report.lines());
        assert_eq!(report.examined, 2);
    }
    assert_eq!(ledgerd.store.head(kumagaya()).await.unwrap(), head, "nothing was appended");
    assert!(destroyed_keys(&db).await.is_empty());

    let report = run(&ledgerd, last_day.succ_opt().unwrap(), false).await;
    assert_eq!(report.erasures.iter().map(|e| e.person_id).collect::<Vec<_>>(), vec![persons.left.as_uuid()]);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn a_second_run_erases_nothing_more_and_appends_nothing() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = two_persons(&ledgerd).await;
    assert_eq!(run(&ledgerd, date(2040, 1, 1), false).await.erasures.len(), 1);
    let head = ledgerd.store.head(kumagaya()).await.unwrap();

    let second = run(&ledgerd, date(2040, 1, 1), false).await;
    assert!(second.erasures.is_empty(), "{:?}", second.lines());
    assert_eq!(second.examined, 1, "the erased person is no longer examined");
    assert_eq!(ledgerd.store.head(kumagaya()).await.unwrap(), head);
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), persons.left, None, Decrypt::No).await.unwrap();
    assert_eq!(erasures_in(&view.events), 1);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_lists_who_would_be_erased_and_changes_nothing() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = two_persons(&ledgerd).await;
    let head = ledgerd.store.head(kumagaya()).await.unwrap();

    let dry = run(&ledgerd, date(2040, 1, 1), true).await;
    assert_eq!(dry.erasures.iter().map(|e| e.person_id).collect::<Vec<_>>(), vec![persons.left.as_uuid()]);
    let lines = dry.lines();
    assert_eq!(
        lines[0],
        format!(
            "would erase {KUMAGAYA} {}: registration retention ended on {}",
            persons.left, dry.erasures[0].end.ends_on
        )
    );
    assert!(lines[1].starts_with("would erase 1 persons of 2 examined"), "{lines:?}");
    assert!(lines[1].ends_with("nothing was changed (dry run)"), "{lines:?}");
    assert!(!lines.iter().any(|line| line.contains("花子")), "nothing personal is listed");

    assert_eq!(ledgerd.store.head(kumagaya()).await.unwrap(), head);
    assert!(destroyed_keys(&db).await.is_empty());
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), persons.left, None, Decrypt::Yes).await.unwrap();
    assert!(view.state.registered.unwrap().details.is_some());

    // The real run erases exactly whom the dry run listed.
    let real = run(&ledgerd, date(2040, 1, 1), false).await;
    assert_eq!(real.erasures, dry.erasures);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn a_run_stopped_between_destroying_the_key_and_recording_it_is_completed_by_the_next() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = two_persons(&ledgerd).await;
    // What a run that stopped after step 2 leaves behind: the key gone, no PersonErased.
    assert!(ledgerd.store.destroy_subject_key(kumagaya(), persons.left.as_uuid()).await.unwrap());

    let report = run(&ledgerd, date(2040, 1, 1), false).await;
    assert_eq!(report.erasures.len(), 1);
    assert_eq!(report.keys_already_destroyed, 1);
    assert!(
        report.lines().last().unwrap().contains("1 of them had their key destroyed by an earlier run"),
        "{:?}",
        report.lines()
    );
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), persons.left, None, Decrypt::No).await.unwrap();
    assert_eq!(erasures_in(&view.events), 1);
    assert_eq!(destroyed_keys(&db).await, vec![bytes(persons.left)]);
    verify_ok(&ledgerd.store).await;
    ledgerd.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_record_one_erasure() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let mut left = Vec::new();
    for _ in 0..12 {
        let person = PersonId::new();
        ledgerd.ledger.execute::<Person>(kumagaya(), person, register("x"), meta(None)).await.unwrap();
        left.push(person);
    }
    // A second process, with its own caches, as a second `kokuho retention run` would be.
    let other = open(&db).await;
    let (first, second) = tokio::join!(run(&ledgerd, date(2040, 1, 1), false), run(&other, date(2040, 1, 1), false));
    assert_eq!(first.erasures.len() + second.erasures.len(), 12, "{:?} {:?}", first.lines(), second.lines());
    for person in left {
        let view = ledgerd.ledger.replay::<Person>(kumagaya(), person, None, Decrypt::No).await.unwrap();
        assert_eq!(erasures_in(&view.events), 1, "person {person}");
    }
    assert_eq!(destroyed_keys(&db).await.len(), 12);
    verify_ok(&ledgerd.store).await;
    other.shutdown().await;
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn the_command_line_erases_prints_a_summary_and_verify_still_passes() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = two_persons(&ledgerd).await;
    ledgerd.shutdown().await;

    let (code, stdout, stderr) = output(kokuho(&db).args(["retention", "run", "--as-of", "2040-01-01", "--dry-run"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("would erase {KUMAGAYA} {}: registration retention ended on", persons.left)),
        "{stdout}"
    );
    assert!(stdout.contains("would erase 1 persons of 2 examined in 1 tenant(s) as of 2040-01-01"), "{stdout}");
    assert!(!stdout.contains("花子") && !stdout.contains(&persons.insured.to_string()), "{stdout}");
    assert!(destroyed_keys(&db).await.is_empty(), "a dry run destroys nothing");

    let (code, stdout, stderr) = output(kokuho(&db).args(["retention", "run", "--as-of", "2040-01-01"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("erased 1 persons of 2 examined in 1 tenant(s) as of 2040-01-01"), "{stdout}");
    assert_eq!(destroyed_keys(&db).await, vec![bytes(persons.left)]);

    let (code, stdout, stderr) =
        output(kokuho(&db).args(["retention", "run", "--tenant", KUMAGAYA, "--as-of", "2040-01-01"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("erased 0 persons of 1 examined"), "{stdout}");

    let (code, stdout, _) = output(kokuho(&db).arg("verify"));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("5 events, chain intact"), "{stdout}");

    // Replay through the binary shows the erasure, and nothing personal.
    let (code, stdout, stderr) =
        output(kokuho(&db).args(["replay", "--tenant", KUMAGAYA, "--person", &persons.left.to_string()]));
    assert_eq!(code, 0, "{stderr}");
    let view: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(view["history"][1]["event_type"], "PersonErased");
    assert_eq!(view["state"]["registered"]["details"], serde_json::Value::Null);

    // A rules file that cannot be used is refused before anyone is erased, naming the line.
    let rules = db.dir.path().join("retention.toml");
    std::fs::write(&rules, retention::BUILT_IN_RULES.replace("years = 5", "years = 0")).unwrap();
    let (code, _, stderr) = output(kokuho(&db).args(["retention", "run", "--rules"]).arg(&rules));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("payment.years must be between 1 and 100, not 0"), "{stderr}");
    assert!(stderr.contains(", line "), "{stderr}");
}

/// A person's eligibility record is kept for its period counted from the loss: once that (and
/// every other kind's period) has run out they are erased; a person still insured, or whose loss
/// was corrected away, is not.
#[tokio::test]
async fn a_person_who_lost_eligibility_is_erased_once_the_period_from_the_loss_has_run_out() {
    use kokuho_domain::person::{LossNotice, PersonCommand};
    use kokuho_events::{CorrectionReason, LossReason};

    let db = TestDb::fresh().await;
    // The registrations are recorded now; the losses are decided and recorded in mid-2030, so
    // the loss is later than the registration and its period is the one that runs out last.
    let clock = TestClock::new();
    let ledgerd = Ledgerd::open(&db.config(), clock.as_clock()).await.unwrap();
    let source =
        || Acquisition { source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into() };
    let moved_out = || PersonCommand::LoseEligibility {
        loss: LossNotice {
            reason: LossReason::MovedOut,
            event_date: Some(date(2030, 5, 31)),
            notified_on: date(2030, 6, 3),
        },
        acquisition: source(),
    };
    let (lost, insured, corrected) = (PersonId::new(), PersonId::new(), PersonId::new());
    for person in [lost, insured, corrected] {
        for command in [register("熊谷 花子"), acquire()] {
            ledgerd.ledger.execute::<Person>(kumagaya(), person, command, meta(None)).await.unwrap();
        }
        legacy_payment(&ledgerd.ledger, kumagaya(), person, 5_000).await;
    }
    clock.advance(chrono::DateTime::parse_from_rfc3339("2030-07-01T03:00:00Z").unwrap().to_utc() - clock.now());
    ledgerd.ledger.execute::<Person>(kumagaya(), lost, moved_out(), meta(None)).await.unwrap();
    let executed = ledgerd.ledger.execute::<Person>(kumagaya(), corrected, moved_out(), meta(None)).await.unwrap();
    let LedgerEvent::EligibilityLost(loss) = &executed.events[0] else { panic!("{:?}", executed.events) };
    // The loss was entered for the wrong person: restated as open, they are insured again.
    let reopen = PersonCommand::CorrectEligibility {
        period_id: loss.period_id,
        reason: kokuho_events::AcquisitionReason::MovedIn,
        event_date: date(2025, 4, 1),
        notified_on: date(2025, 4, 3),
        former_municipality: None,
        loss: None,
        correction_reason: CorrectionReason::EntryError,
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), corrected, reopen, meta(None)).await.unwrap();
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();

    // First day not insured: 2030-06-01; kept 7 years: through 2037-06-01.
    let dates = RetentionDates::of_person(ledgerd.store.db(), KUMAGAYA, lost.as_uuid()).await.unwrap().unwrap();
    assert_eq!((dates.insured, dates.eligibility_on), (Some(false), Some(date(2030, 6, 1))));
    for person in [insured, corrected] {
        let dates = RetentionDates::of_person(ledgerd.store.db(), KUMAGAYA, person.as_uuid()).await.unwrap().unwrap();
        assert_eq!(dates.insured, Some(true), "{person}");
    }
    let last_day = date(2037, 6, 1);
    let report = run(&ledgerd, last_day, false).await;
    assert!(report.erasures.is_empty(), "{:?}", report.lines());
    ledgerd.shutdown().await;

    // `kokuho retention run` the day after.
    let (code, stdout, stderr) = output(kokuho(&db).args(["retention", "run", "--as-of", "2037-06-02"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("erased 1 persons of 3 examined in 1 tenant(s) as of 2037-06-02"), "{stdout}");
    assert_eq!(destroyed_keys(&db).await, vec![bytes(lost)]);
    let ledgerd = open(&db).await;
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), lost, None, Decrypt::No).await.unwrap();
    let (_, LedgerEvent::PersonErased(erased)) = view.events.last().unwrap() else {
        panic!("{:?}", view.events.last())
    };
    assert_eq!((erased.retention_kind, erased.retention_ended_on), (RetentionKind::Eligibility, last_day));
    assert_eq!(erased.rule_source, "municipal setting: 7 years after eligibility ends");

    // Whoever is insured is never erased, however late the run.
    let report = run(&ledgerd, date(2200, 1, 1), false).await;
    assert!(report.erasures.is_empty(), "{:?}", report.lines());
    assert_eq!(report.examined, 2);
    ledgerd.shutdown().await;
}

/// A 宛名番号 is registered once while its person's record lives; a person erased at the end of
/// retention no longer holds it, so someone who comes back can be registered anew (the person
/// registry keeps the erased row, and the check passes over it).
#[tokio::test]
async fn an_erased_persons_atena_no_may_be_registered_again_a_live_ones_may_not() {
    let db = TestDb::fresh().await;
    let ledgerd = open(&db).await;
    let persons = two_persons(&ledgerd).await;
    let atena_no = |person: PersonId| {
        let ledgerd = &ledgerd;
        async move {
            let view = ledgerd.ledger.replay::<Person>(kumagaya(), person, None, Decrypt::No).await.unwrap();
            view.state.registered.expect("registered").atena_no
        }
    };
    let with_atena = |atena_no: String| {
        let PersonCommand::Register { details, acquisition, .. } = register("熊谷 花子") else { unreachable!() };
        PersonCommand::Register { atena_no, details, acquisition }
    };
    let (left, insured) = (atena_no(persons.left).await, atena_no(persons.insured).await);
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();
    let taken = ledgerd.ledger.execute::<Person>(kumagaya(), PersonId::new(), with_atena(insured), meta(None)).await;
    assert!(
        matches!(&taken, Err(CommandError::Refused(Rejection::AtenaNoRegistered { existing })) if *existing == persons.insured),
        "{taken:?}"
    );

    let fingerprinted = "SELECT subject_id FROM events WHERE command_fingerprint IS NOT NULL ORDER BY subject_id";
    assert_eq!(db.raw_bytes(fingerprinted).await, vec![bytes(persons.left)]);

    let report = run(&ledgerd, date(2040, 1, 1), false).await;
    assert_eq!(report.erasures.len(), 1, "{:?}", report.lines());
    // Erasure clears the keyed digests of the commands on the person's events.
    assert_eq!(db.raw_bytes(fingerprinted).await, Vec::<Vec<u8>>::new());
    ledgerd.projector.catch_up(kumagaya()).await.unwrap();
    let again = PersonId::new();
    ledgerd.ledger.execute::<Person>(kumagaya(), again, with_atena(left), meta(None)).await.expect("registered anew");
    ledgerd.shutdown().await;
}
