//! Given / when / then over the aggregates' pure decisions, through the one contract
//! (`kokuho_domain::Aggregate`) every aggregate keeps: no database, no HTTP.

use kokuho_domain::household::{Household, HouseholdCommand, HouseholdContext, OtherMembership};
use kokuho_domain::person::{LossNotice, Person, PersonCommand};
use kokuho_domain::{Context, PersonId};
use kokuho_events::{Acquisition, LedgerEvent, LossReason};
use uuid::Uuid;

use crate::support::*;

fn today() -> Context {
    Context::national(date(2025, 9, 10))
}

#[test]
fn a_person_who_moves_out_is_insured_until_the_day_of_the_move() {
    let person = PersonId::new();
    let scenario = Scenario::<Person>::given_commands(person, [register("熊谷 花子"), acquire()], &today()).when(
        PersonCommand::LoseEligibility {
            loss: LossNotice {
                reason: LossReason::MovedOut,
                event_date: Some(date(2025, 8, 31)),
                notified_on: date(2025, 9, 1),
            },
            acquisition: Acquisition {
                source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
            },
        },
        &today(),
    );
    // 国民健康保険法 §8: a move out ends eligibility on the day after the move.
    let [LedgerEvent::EligibilityLost(lost)] = scenario.then_events() else { panic!("{:?}", scenario.then_events()) };
    assert_eq!(lost.lost_on, date(2025, 9, 1));
    assert!(scenario.state().period_on(date(2025, 9, 1)).is_none());
    scenario.when(acquire(), &today()).then_refused("overlapping_period");
}

#[test]
fn a_household_head_leaves_only_after_the_head_changed() {
    let (household, head, child) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let lookups = HouseholdContext {
        today: date(2025, 9, 10),
        person_known: true,
        other_memberships: Vec::<OtherMembership>::new(),
    };
    let establish = HouseholdCommand::Establish {
        head_person_id: head,
        established_on: date(2025, 4, 1),
        acquisition: Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() },
    };
    let join = HouseholdCommand::Join { person_id: child, joined_on: date(2025, 5, 1) };
    Scenario::<Household>::given_commands(household, [establish, join], &lookups)
        .when(HouseholdCommand::Leave { person_id: head, left_on: date(2025, 8, 1) }, &lookups)
        .then_refused("head_must_change_first")
        .when(HouseholdCommand::ChangeHead { person_id: child, changed_on: date(2025, 8, 1) }, &lookups)
        .then_records(1)
        .when(HouseholdCommand::Leave { person_id: head, left_on: date(2025, 8, 1) }, &lookups)
        .then_records(1);
}
