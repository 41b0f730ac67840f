//! The scheduled age transitions (`kokuho eligibility run`, in process): the loss of eligibility
//! at 75 and the 70–74 cost share on its start and on 1 August.

use kokuho_domain::person::Person;

use chrono::NaiveDate;
use kokuho::jobs::eligibility_run::{self, EligibilityRunReport, RunOptions};
use kokuho::Ledgerd;
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::PersonCommand;
use kokuho_domain::share::ShareRule;
use kokuho_domain::PersonId;
use kokuho_events::{
    Acquisition, AcquisitionReason, CostShare, IncomeFigures, LedgerEvent, LossReason, PersonDetails, Sex,
};
use kokuho_store::{Actor, Decrypt};
use uuid::Uuid;

use crate::support::*;

fn source() -> Acquisition {
    Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() }
}

/// Registers a person born on `born`, insured (moved in) from `insured_from`.
async fn insured_person(ledgerd: &Ledgerd, born: NaiveDate, insured_from: NaiveDate) -> PersonId {
    let person = PersonId::new();
    let register = PersonCommand::Register {
        atena_no: format!("A{}", &Uuid::new_v4().simple().to_string()[..9]),
        details: PersonDetails {
            name: "熊谷 一郎".into(),
            name_kana: "クマガヤ イチロウ".into(),
            sex: Sex::Male,
            date_of_birth: born,
            address: "埼玉県熊谷市宮町二丁目47番地1".into(),
        },
        acquisition: source(),
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, register, meta(None)).await.unwrap();
    let acquire = PersonCommand::AcquireEligibility {
        period_id: Uuid::now_v7(),
        reason: AcquisitionReason::MovedIn,
        event_date: insured_from,
        notified_on: insured_from,
        acquisition: source(),
        former_municipality: None,
        loss: None,
    };
    ledgerd.ledger.execute::<Person>(kumagaya(), person, acquire, meta(None)).await.unwrap();
    person
}

async fn run_on(ledgerd: &Ledgerd, on: NaiveDate) -> EligibilityRunReport {
    let mut last_progress = (0, 0);
    let report = eligibility_run::run(ledgerd, &RunOptions { tenant: kumagaya(), on }, &mut |done, total| {
        last_progress = (done, total)
    })
    .await
    .unwrap();
    assert_eq!(last_progress.0, last_progress.1, "the progress reaches its end");
    assert!(report.refusals.is_empty(), "{:?}", report.refusals);
    report
}

async fn event_count(ledgerd: &Ledgerd, person: PersonId) -> usize {
    ledgerd.ledger.replay::<Person>(kumagaya(), person, None, Decrypt::No).await.unwrap().events.len()
}

#[tokio::test]
async fn a_person_turning_75_is_lost_on_their_75th_birthday_by_the_run_once() {
    let db = TestDb::fresh().await;
    let ledgerd = ledgerd_on(&db, date(2026, 11, 26)).await;
    let turning_75 = insured_person(&ledgerd, date(1951, 6, 15), date(2020, 4, 1)).await;
    let younger = insured_person(&ledgerd, date(1980, 5, 5), date(2020, 4, 1)).await;

    // The day before the birthday: still insured, nothing to lose yet.
    let before = run_on(&ledgerd, date(2026, 6, 14)).await;
    assert_eq!((before.examined, before.insured), (2, 2));
    assert!(before.losses_at_75.is_empty(), "{before:?}");
    let state = ledgerd.ledger.replay::<Person>(kumagaya(), turning_75, None, Decrypt::No).await.unwrap().state;
    assert!(state.open_period().is_some());

    let report = run_on(&ledgerd, date(2026, 11, 26)).await;
    assert_eq!(report.losses_at_75, vec![turning_75.as_uuid()]);
    let summary = report.lines().join("\n");
    assert!(summary.contains("2 persons examined (2 insured), 1 losses at 75 recorded"), "{summary}");
    let view = ledgerd.ledger.replay::<Person>(kumagaya(), turning_75, None, Decrypt::No).await.unwrap();
    let period = &view.state.periods[0];
    let end = period.end.as_ref().expect("the period ended");
    assert_eq!(end.reason, LossReason::ReachedLateStageElderly);
    assert_eq!(end.event_date, date(2026, 6, 15), "the 75th birthday, derived");
    assert_eq!(end.lost_on, date(2026, 6, 15), "NHI ends on the 75th birthday (the rule setting on_birthday)");
    assert_eq!(end.notified_on, date(2026, 11, 26));
    assert!(view.state.period_on(date(2026, 6, 14)).is_some());
    assert!(view.state.period_on(date(2026, 6, 15)).is_none());
    let (recorded, event) = view.events.last().unwrap();
    let LedgerEvent::EligibilityLost(lost) = event else { panic!("{event:?}") };
    assert_eq!(lost.acquisition.legal_basis, "高齢者の医療の確保に関する法律 第50条");
    assert_eq!(lost.acquisition.source, "resident_registry");
    assert_eq!(Actor::decode(&recorded.actor), Some(Actor::System("eligibility-run".into())));
    assert!(ledgerd
        .ledger
        .replay::<Person>(kumagaya(), younger, None, Decrypt::No)
        .await
        .unwrap()
        .state
        .open_period()
        .is_some());

    // Again: the person lost is skipped; nothing new is recorded for anyone.
    let counts = (event_count(&ledgerd, turning_75).await, event_count(&ledgerd, younger).await);
    let again = run_on(&ledgerd, date(2026, 11, 26)).await;
    assert!(again.losses_at_75.is_empty() && again.share_decisions.is_empty(), "{again:?}");
    assert_eq!((again.examined, again.insured), (2, 1));
    assert_eq!((event_count(&ledgerd, turning_75).await, event_count(&ledgerd, younger).await), counts);
    ledgerd.shutdown().await;
}

#[tokio::test]
async fn the_run_refuses_a_day_after_today() {
    let db = TestDb::fresh().await;
    let ledgerd = ledgerd_on(&db, date(2026, 11, 26)).await;
    let error =
        eligibility_run::run(&ledgerd, &RunOptions { tenant: kumagaya(), on: date(2026, 11, 27) }, &mut |_, _| {})
            .await
            .expect_err("a day in the future");
    assert!(error.to_string().contains("after today (2026-11-26 in Japan)"), "{error}");
    ledgerd.shutdown().await;
}

fn income(taxable: i64, total: i64) -> IncomeFigures {
    IncomeFigures {
        total_income_yen: total,
        taxable_income_yen: taxable,
        salary_income_yen: 0,
        pension_income_yen: total,
        declared: true,
    }
}

#[tokio::test]
async fn a_person_turning_70_gets_2_tenths_from_the_next_month_and_3_tenths_on_1_august_when_household_income_rises() {
    let db = TestDb::fresh().await;
    let ledgerd = ledgerd_on(&db, date(2026, 11, 26)).await;
    // Attains 70 on 9 March 2026: the 70–74 share starts on 1 April 2026.
    let turning_70 = insured_person(&ledgerd, date(1956, 3, 10), date(2020, 4, 1)).await;
    // The spouse, 70–74 since February 2025, whose income decides the household.
    let spouse = insured_person(&ledgerd, date(1955, 1, 20), date(2020, 4, 1)).await;
    let household = Uuid::now_v7();
    let establish = HouseholdCommand::Establish {
        head_person_id: turning_70.as_uuid(),
        established_on: date(2020, 4, 1),
        acquisition: source(),
    };
    ledgerd.ledger.execute::<Household>(kumagaya(), household, establish, meta(None)).await.unwrap();
    let join = HouseholdCommand::Join { person_id: spouse.as_uuid(), joined_on: date(2020, 4, 1) };
    ledgerd.ledger.execute::<Household>(kumagaya(), household, join, meta(None)).await.unwrap();
    // The share from April to July 2026 is on the income of 2024; from 1 August 2026 on 2025's
    // (elderly_share_income_year). 2025: 課税所得 2,000,000 and 旧ただし書所得 2,570,000 → 現役並み.
    for (year, figures) in [(2024, income(600_000, 1_800_000)), (2025, income(2_000_000, 3_000_000))] {
        let report = PersonCommand::ReportIncome { income_year: year, figures, acquisition: source() };
        ledgerd.ledger.execute::<Person>(kumagaya(), spouse, report, meta(None)).await.unwrap();
    }

    // The month of attaining 70 is still 3割 (standard); no decision yet.
    let march = run_on(&ledgerd, date(2026, 3, 31)).await;
    assert!(!march.share_decisions.contains(&(turning_70.as_uuid(), date(2026, 4, 1))));
    let state = ledgerd.ledger.replay::<Person>(kumagaya(), turning_70, None, Decrypt::No).await.unwrap().state;
    assert!(state.elderly_shares.is_empty(), "{:?}", state.elderly_shares);

    let july = run_on(&ledgerd, date(2026, 7, 31)).await;
    assert!(july.share_decisions.contains(&(turning_70.as_uuid(), date(2026, 4, 1))), "{july:?}");
    let state = ledgerd.ledger.replay::<Person>(kumagaya(), turning_70, None, Decrypt::No).await.unwrap().state;
    assert_eq!(state.elderly_shares.len(), 1, "{:?}", state.elderly_shares);
    let april = state.elderly_share_on(date(2026, 4, 1)).expect("decided from 1 April");
    assert_eq!(
        (april.share, april.income_year, april.basis.as_str()),
        (CostShare::TwoTenths, 2024, "no_member_at_threshold")
    );
    assert_eq!(april.household_id, Some(household));
    assert!(state.elderly_share_on(date(2026, 3, 31)).is_none(), "nothing before the month after attaining 70");

    // 1 August: the household's 2025 income makes it 3割.
    let august = run_on(&ledgerd, date(2026, 8, 1)).await;
    assert!(august.share_decisions.contains(&(turning_70.as_uuid(), date(2026, 8, 1))), "{august:?}");
    assert!(august.share_decisions.contains(&(spouse.as_uuid(), date(2026, 8, 1))), "{august:?}");
    let state = ledgerd.ledger.replay::<Person>(kumagaya(), turning_70, None, Decrypt::No).await.unwrap().state;
    assert_eq!(state.elderly_shares.len(), 2, "{:?}", state.elderly_shares);
    let redecided = state.elderly_share_on(date(2026, 8, 1)).unwrap();
    assert_eq!(
        (redecided.share, redecided.income_year, redecided.basis.as_str()),
        (CostShare::ThreeTenths, 2025, "active_income")
    );
    assert_eq!(
        state.elderly_share_on(date(2026, 7, 31)).unwrap().share,
        CostShare::TwoTenths,
        "July keeps its decision"
    );

    // The answer the ledger gives agrees with the decisions.
    let households = [household];
    let answer = |on| ledgerd.ledger.eligibility_on(kumagaya(), turning_70, None, on, &households);
    let in_march = answer(date(2026, 3, 31)).await.unwrap().share.unwrap();
    assert_eq!((in_march.share, &in_march.rule), (CostShare::ThreeTenths, &ShareRule::Standard));
    assert_eq!(answer(date(2026, 7, 31)).await.unwrap().share.unwrap().share, CostShare::TwoTenths);
    assert_eq!(answer(date(2026, 8, 1)).await.unwrap().share.unwrap().share, CostShare::ThreeTenths);

    // Running again on the same day decides nothing new.
    let counts = (event_count(&ledgerd, turning_70).await, event_count(&ledgerd, spouse).await);
    let again = run_on(&ledgerd, date(2026, 8, 1)).await;
    assert!(again.share_decisions.is_empty(), "{again:?}");
    assert_eq!((event_count(&ledgerd, turning_70).await, event_count(&ledgerd, spouse).await), counts);
    let summary = again.lines().join("\n");
    assert!(summary.contains("0 losses at 75 recorded, 0 share decisions recorded"), "{summary}");
    ledgerd.shutdown().await;
}
