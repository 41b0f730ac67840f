//! Properties of the high-cost decision over random households (proptest): whatever the
//! members, classes and records, the benefit is never negative, never more than what was paid,
//! and leaves the household bearing at most its limit.

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use uuid::Uuid;

use super::childbirth::{self, ChildbirthClaim, Payment};
use super::high_cost::{
    decide, limit_amount, Band, Care, ElderlyClass, HighCostInput, HighCostMember, MedicalRecord, Under70Class,
};
use super::rules::{BenefitRules, NationalBenefits};

fn rules() -> BenefitRules {
    let national: NationalBenefits = toml::from_str(include_str!("../../../../rules/benefits_national.toml")).unwrap();
    let city = toml::from_str(include_str!("../../../../rules/112020/2024/benefits.toml")).unwrap();
    BenefitRules::new(national, city, "112020", 2024).unwrap()
}

const UNDER_70: [Under70Class; 5] =
    [Under70Class::A, Under70Class::I, Under70Class::U, Under70Class::E, Under70Class::O];
const ELDERLY: [ElderlyClass; 6] = [
    ElderlyClass::Active3,
    ElderlyClass::Active2,
    ElderlyClass::Active1,
    ElderlyClass::General,
    ElderlyClass::Low2,
    ElderlyClass::Low1,
];
const CARE: [Care; 3] = [Care::Inpatient, Care::Outpatient, Care::Dental];

/// Members insured in October 2024: born from 1 October 1949 (turning 75 that month) to the
/// end of the month, so every band and the halved month occur.
fn member() -> impl Strategy<Value = (u64, bool, i64)> {
    (0u64..27_425, prop::bool::weighted(0.05), 0i64..200_000)
}

fn record() -> impl Strategy<Value = (usize, usize, usize, i64, u32)> {
    (0usize..4, 0usize..3, 0usize..3, 0i64..3_000_000, 0u32..=100)
}

fn input() -> impl Strategy<Value = HighCostInput> {
    (prop::collection::vec(member(), 1..5), prop::collection::vec(record(), 0..10), 0usize..5, 0usize..6, 0u32..6)
        .prop_map(|(members, records, under, elderly, prior)| {
            let first = NaiveDate::from_ymd_opt(1949, 10, 1).unwrap();
            let members: Vec<HighCostMember> = members
                .into_iter()
                .enumerate()
                .map(|(index, (offset, joined, borne))| HighCostMember {
                    person_id: Uuid::from_u128(index as u128 + 1),
                    date_of_birth: first + Days::new(offset),
                    joined_at_employees_75: joined,
                    outpatient_borne_this_year: borne,
                })
                .collect();
            let records = records
                .into_iter()
                .map(|(person, provider, care, cost, percent)| MedicalRecord {
                    person_id: members[person % members.len()].person_id,
                    provider: format!("P{provider}"),
                    care: CARE[care],
                    total_cost: cost,
                    paid: cost * i64::from(percent) / 100,
                })
                .collect();
            HighCostInput {
                month: NaiveDate::from_ymd_opt(2024, 10, 1).unwrap(),
                under_70_class: Some(UNDER_70[under]),
                elderly_class: Some(ELDERLY[elderly]),
                prior_benefit_months: prior,
                members,
                records,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_benefit_is_never_negative_nor_more_than_was_paid(input in input()) {
        let decision = decide(&input, &rules()).unwrap();
        prop_assert!(decision.benefit >= 0);
        prop_assert!(decision.benefit <= decision.paid);
        prop_assert!(decision.counted <= decision.paid);
        prop_assert_eq!(decision.benefit, decision.persons.iter().map(|person| person.benefit).sum::<i64>());
        for person in &decision.persons {
            prop_assert!(person.benefit >= 0 && person.benefit <= person.counted, "{:?}", person);
        }
    }

    #[test]
    fn the_household_never_bears_more_than_its_limit_after_the_benefit(input in input()) {
        let decision = decide(&input, &rules()).unwrap();
        match decision.limit {
            Some(limit) => prop_assert!(decision.counted - decision.benefit <= limit,
                "bears {} over the limit {}", decision.counted - decision.benefit, limit),
            None => prop_assert_eq!(decision.benefit, 0),
        }
    }

    #[test]
    fn an_under_70_household_gets_exactly_what_its_counted_charges_exceed(input in input()) {
        let rules = rules();
        let period = rules.high_cost_on(input.month).unwrap().clone();
        let mut input = input;
        for member in &mut input.members {
            member.date_of_birth = NaiveDate::from_ymd_opt(1980, 5, 5).unwrap();
            member.joined_at_employees_75 = false;
        }
        let decision = decide(&input, &rules).unwrap();
        prop_assert!(decision.persons.iter().all(|person| person.band == Band::Under70));
        let class = input.under_70_class.unwrap();
        let limit = match class {
            Under70Class::A => period.under_70.a,
            Under70Class::I => period.under_70.i,
            Under70Class::U => period.under_70.u,
            Under70Class::E => period.under_70.e,
            Under70Class::O => period.under_70.o,
        };
        let cost: i64 = decision.steps.iter().map(|step| match step {
            super::Step::RecordCounted { total_cost, .. } => *total_cost,
            _ => 0,
        }).sum();
        let expected = if decision.counted == 0 {
            0
        } else {
            (decision.counted - limit_amount(limit, cost, input.prior_benefit_months >= 3, period.excess_rate).unwrap()).max(0)
        };
        prop_assert_eq!(decision.benefit, expected);
    }

    #[test]
    fn a_childbirth_lump_sum_is_split_without_loss_and_the_institution_gets_at_most_its_charge(
        offset in 0u64..4_000, weeks in 12u32..45, children in 1u32..4, in_scheme: bool, direct: bool, cost in 0i64..2_000_000,
    ) {
        let born_on = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + Days::new(offset);
        let claim = ChildbirthClaim {
            born_on,
            weeks,
            children,
            in_scheme,
            payment: if direct { Payment::Direct } else { Payment::ToHousehold },
            cost,
            former_plan_pays: false,
            claimed_on: born_on,
        };
        let decision = childbirth::decide(&claim, &rules()).unwrap();
        prop_assert_eq!(decision.to_institution + decision.to_household, decision.amount);
        prop_assert!(decision.to_institution >= 0 && decision.to_household >= 0);
        prop_assert!(decision.to_institution <= cost);
        prop_assert_eq!(decision.amount, decision.per_child * i64::from(children));
        prop_assert!([404_000, 408_000, 420_000, 488_000, 500_000].contains(&decision.per_child));
    }
}
