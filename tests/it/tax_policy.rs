//! The tax correction policy: a retroactive loss of eligibility after an assessment produces one
//! reassessment (更正) with the difference, also after a restart and a re-run from position 0;
//! `kokuho assessment run` is idempotent and `rules diff` lists exactly the households a rate
//! change moves. Kumagaya FY2025 rules (the shipped file).

use kokuho::Ledgerd;
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::{LossNotice, Person, PersonCommand};
use kokuho_domain::tax::{AssessmentId, TaxAssessment, TaxCommand};
use kokuho_domain::PersonId;
use kokuho_events::{Acquisition, AcquisitionReason, IncomeFigures, LossReason, PersonDetails, Sex};
use kokuho_jobs::assessment;
use kokuho_store::Decrypt;
use uuid::Uuid;

use crate::support::*;

fn source() -> Acquisition {
    Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() }
}

/// A one-person household: born 1975-05-01, insured since 2024-04-01, 総所得 `income` in 2024.
async fn household_of_one(ledgerd: &Ledgerd, income: i64) -> (PersonId, Uuid) {
    let ledger = &ledgerd.ledger;
    let person = PersonId::new();
    let register = PersonCommand::Register {
        atena_no: format!("T{}", &Uuid::new_v4().simple().to_string()[..9]),
        details: PersonDetails {
            name: "熊谷 花子".into(),
            name_kana: "クマガヤ ハナコ".into(),
            sex: Sex::Female,
            date_of_birth: date(1975, 5, 1),
            address: "埼玉県熊谷市宮町二丁目47番地1".into(),
        },
        acquisition: source(),
    };
    ledger.execute::<Person>(kumagaya(), person, register, meta(None)).await.unwrap();
    let acquire = PersonCommand::AcquireEligibility {
        period_id: Uuid::now_v7(),
        reason: AcquisitionReason::MovedIn,
        event_date: date(2024, 4, 1),
        notified_on: date(2024, 4, 1),
        acquisition: source(),
        former_municipality: None,
        loss: None,
    };
    ledger.execute::<Person>(kumagaya(), person, acquire, meta(None)).await.unwrap();
    let figures = IncomeFigures {
        total_income_yen: income,
        taxable_income_yen: income,
        salary_income_yen: 0,
        pension_income_yen: 0,
        declared: true,
    };
    let report = PersonCommand::ReportIncome { income_year: 2024, figures, acquisition: source() };
    ledger.execute::<Person>(kumagaya(), person, report, meta(None)).await.unwrap();
    let household = Uuid::now_v7();
    let establish = HouseholdCommand::Establish {
        head_person_id: person.as_uuid(),
        established_on: date(2024, 4, 1),
        acquisition: source(),
    };
    ledger.execute::<Household>(kumagaya(), household, establish, meta(None)).await.unwrap();
    (person, household)
}

/// (event type, total, difference) of the household's tax stream for FY2025.
async fn tax_history(ledgerd: &Ledgerd, household: Uuid) -> Vec<(String, i64, i64)> {
    let id = AssessmentId { household_id: household, fiscal_year: 2025 };
    let view = ledgerd.ledger.replay::<TaxAssessment>(kumagaya(), id, None, Decrypt::No).await.unwrap();
    view.events
        .iter()
        .map(|(recorded, _)| {
            let payload: serde_json::Value = serde_json::from_slice(&recorded.payload).unwrap();
            (
                recorded.event_type.clone(),
                payload["figures"]["total_yen"].as_i64().unwrap(),
                payload["difference_yen"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_retroactive_loss_of_eligibility_is_reassessed_once_also_after_a_restart() {
    let db = TestDb::fresh().await;
    let today = date(2025, 7, 1);
    let ledgerd = ledgerd_on(&db, today).await;
    let (person, household) = household_of_one(&ledgerd, 2_000_000).await;
    let id = AssessmentId { household_id: household, fiscal_year: 2025 };
    ledgerd.ledger.execute::<TaxAssessment>(kumagaya(), id, TaxCommand::Assess, meta(None)).await.unwrap();
    // Kumagaya (2方式): medical 1,570,000 × 6.92% + 31,500 = 140,144 → 140,100; support 36,424 +
    // 13,500 → 49,900; care (aged 50) 29,202 + 13,500 → 42,700.
    assert_eq!(tax_history(&ledgerd, household).await, [("TaxAssessed".to_owned(), 232_700, 0)]);

    // Notified late: joined an employee plan on 10 June 2025. Insured April and May: 2 months.
    let lose = PersonCommand::LoseEligibility {
        loss: LossNotice {
            reason: LossReason::JoinedEmployeeInsurance,
            event_date: Some(date(2025, 6, 10)),
            notified_on: today,
        },
        acquisition: source(),
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, lose, meta(None)).await.unwrap();
    drop(ledgerd);

    // The policy reacts after a restart: 140,144 × 2/12 = 23,357 → 23,300; 49,924 × 2/12 → 8,300;
    // 42,702 × 2/12 → 7,100: 38,700, 194,000 less.
    let ledgerd = restarted(&db, today).await;
    let expected = vec![("TaxAssessed".to_owned(), 232_700, 0), ("TaxReassessed".to_owned(), 38_700, -194_000)];
    assert_eq!(tax_history(&ledgerd, household).await, expected);
    ledgerd.shutdown().await;

    // Re-running every policy from the start records nothing twice.
    let store = db.store().await;
    kokuho_store::on_db!(store.db(), pool => {
        sqlx::query("UPDATE policy_checkpoints SET position = 0").execute(pool).await.unwrap();
    });
    store.db().close().await;
    let ledgerd = restarted(&db, today).await;
    assert_eq!(tax_history(&ledgerd, household).await, expected, "one correction");
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn the_annual_run_is_idempotent_and_rules_diff_lists_exactly_the_households_a_rate_change_moves() {
    let db = TestDb::fresh().await;
    let today = date(2025, 7, 1);
    let ledgerd = ledgerd_on(&db, today).await;
    // Two households with income (the income levy moves with the rate), one without (7割: only
    // the per-capita levy, which the change leaves alone).
    let (_, rich) = household_of_one(&ledgerd, 3_000_000).await;
    let (_, modest) = household_of_one(&ledgerd, 1_500_000).await;
    let (_, none) = household_of_one(&ledgerd, 0).await;
    let options = assessment::RunOptions { tenant: kumagaya(), fiscal_year: 2025, reassess: false };
    let first = assessment::run(&ledgerd.assessment_deps(), &options, &mut |_| {}).await.unwrap();
    assert_eq!((first.households, first.assessed), (3, 3), "{first}");
    let again = assessment::run(&ledgerd.assessment_deps(), &options, &mut |_| {}).await.unwrap();
    assert_eq!((again.assessed, again.unchanged), (0, 3), "{again}");
    ledgerd.shutdown().await;

    // The medical income rate goes from 6.92% to 7.50% for FY2025 (an operator's override).
    let mut rules = kokuho_rules::Rules::shipped();
    let edited =
        kokuho_rules::shipped::KUMAGAYA_TAX_2025.replacen("income_rate = \"6.92%\"", "income_rate = \"7.50%\"", 1);
    rules.insert(kokuho_rules::RuleSource::new("112020/2025/tax.toml", "edited/112020/2025/tax.toml", edited)).unwrap();
    let ledgerd = ledgerd_with_rules_on(&db, today, Some(rules)).await;
    let head = ledgerd.store.head(kumagaya()).await.unwrap();
    let diff = assessment::diff(
        &ledgerd.assessment_deps(),
        &assessment::DiffOptions { tenant: kumagaya(), fiscal_year: 2025 },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(ledgerd.store.head(kumagaya()).await.unwrap(), head, "the diff writes nothing");
    let moved: Vec<Uuid> = diff.lines.iter().map(|line| line.household_id).collect();
    let mut expected = vec![rich, modest];
    expected.sort();
    assert_eq!(moved, expected, "{diff}");
    assert!(!moved.contains(&none));
    // 2,570,000 × 6.92% = 177,844 + 31,500 → 209,300 issued; × 7.50% = 192,750 + 31,500 → 224,200.
    let rich_line = diff.lines.iter().find(|line| line.household_id == rich).unwrap();
    assert_eq!(rich_line.parts, vec![(kokuho_domain::tax::Part::Medical, 209_300, 224_200)]);
    assert_eq!(rich_line.new_total_yen - rich_line.issued_total_yen, 14_900);

    // --reassess issues exactly those corrections; a second run finds nothing left.
    let options = assessment::RunOptions { tenant: kumagaya(), fiscal_year: 2025, reassess: true };
    let reassessed = assessment::run(&ledgerd.assessment_deps(), &options, &mut |_| {}).await.unwrap();
    assert_eq!((reassessed.reassessed, reassessed.unchanged), (2, 1), "{reassessed}");
    let again = assessment::run(&ledgerd.assessment_deps(), &options, &mut |_| {}).await.unwrap();
    assert_eq!(again.reassessed, 0, "{again}");
    ledgerd.shutdown().await;
}

/// `examples/rate_change.rs`: the annual run, an edited rate, the diff, the corrections, the
/// rebuild and an empty diff, end to end (it exits non-zero on any other outcome).
#[test]
fn the_rate_change_example_runs_end_to_end() {
    let example = std::path::PathBuf::from(env!("CARGO_BIN_EXE_kokuho"))
        .parent()
        .expect("the binary's folder")
        .join("examples")
        .join("rate_change");
    assert!(example.exists(), "{} is missing: build the examples (cargo test --workspace)", example.display());
    let output = std::process::Command::new(&example).output().expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("2 would change"), "{stdout}");
    assert!(stdout.contains("0 would change"), "{stdout}");
}
