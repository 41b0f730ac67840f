//! A person's cost share on a day (一部負担金割合, 国民健康保険法 §42①), from their record and their
//! household's as folded at some instant: the answer to "which share did we know applied on D".

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use crate::eligibility::{
    applicable_share, elderly_share_basis, elderly_share_income_year, elderly_share_starts_on, is_pre_school,
    loss_effective_on, next_elderly_share_redecision, seventy_fifth_birthday, CostShare, ElderlyMember,
    ElderlyShareBasis, EligibilityRules, LossReason,
};
use crate::household::HouseholdState;
use crate::person::PersonState;
use crate::{PersonId, Rejection, Yen};

/// The share and the rule that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareAnswer {
    pub share: CostShare,
    #[serde(flatten)]
    pub rule: ShareRule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum ShareRule {
    /// 義務教育就学前: 2割.
    PreSchool,
    /// 3割 (school age to the month of attaining 70).
    Standard,
    /// 70–74 (前期高齢者): the household's decision, on the income of `income_year`.
    Elderly { income_year: i32, members_70_to_74: usize, basis: ElderlyShareBasis },
}

/// The days on which a person's 70–74 share must be decided again after facts that changed on
/// `changed_on` (valid time), as of `today`: each change date that has come, every 1 August
/// since the earliest (the yearly re-decision, whose income year differs), the first day of the
/// 70–74 share when it falls after the earliest change, and today. A retroactive change can move
/// the share of every day since, so deciding only on the change date would leave later decisions
/// standing on the old facts. Only days the person is aged 70–74 are kept; in date order.
pub fn elderly_share_days_to_decide(
    changed_on: &[NaiveDate],
    today: NaiveDate,
    date_of_birth: NaiveDate,
    rules: &EligibilityRules,
) -> Vec<NaiveDate> {
    let mut days: std::collections::BTreeSet<NaiveDate> =
        changed_on.iter().copied().filter(|day| *day <= today).collect();
    let Some(earliest) = days.first().copied() else { return Vec::new() };
    days.insert(today);
    let mut august = next_elderly_share_redecision(earliest);
    while august <= today {
        days.insert(august);
        august = next_elderly_share_redecision(august);
    }
    let reaches_70 = elderly_share_starts_on(date_of_birth);
    if earliest < reaches_70 && reaches_70 <= today {
        days.insert(reaches_70);
    }
    days.into_iter().filter(|on| in_elderly_share(date_of_birth, *on, rules)).collect()
}

/// Whether a person born on `date_of_birth` is in the 70–74 share on `on`.
pub fn in_elderly_share(date_of_birth: NaiveDate, on: NaiveDate, rules: &EligibilityRules) -> bool {
    let late_stage_from =
        loss_effective_on(LossReason::ReachedLateStageElderly, seventy_fifth_birthday(date_of_birth), rules);
    elderly_share_starts_on(date_of_birth) <= on && on < late_stage_from
}

/// The 70–74 figures of a member for the income year that applies on `on`. A year with no
/// report (or figures not readable) counts as no income: the resident-tax department reports
/// every resident, so a missing report means nothing was assessed.
fn elderly_member(person: &PersonState, on: NaiveDate, applied: bool, rules: &EligibilityRules) -> ElderlyMember {
    let figures = person.incomes.get(&elderly_share_income_year(on)).cloned().flatten();
    let (taxable, total, gross) = figures.map_or((0, 0, 0), |f| {
        (f.taxable_income_yen, f.total_income_yen, f.salary_income_yen.saturating_add(f.pension_income_yen))
    });
    ElderlyMember {
        taxable_income: Yen::new(taxable),
        // 旧ただし書所得 = 総所得金額等 − 基礎控除, never below 0.
        kyu_tadashigaki_income: Yen::new((total - rules.elderly.basic_deduction.amount()).max(0)),
        income: Yen::new(gross),
        applied_for_income_exception: applied,
    }
}

/// The share of `person` on `on`. `household` is the household they belong to on `on` (if
/// any) and `members` the states of its members, by person id; the 70–74 decision takes the
/// insured 70–74 members among them (the person included).
///
/// Refused with `not_insured` when the person is not insured on `on`, `empty_field` when the
/// date of birth is not readable, and `date_beyond_rule` from the day NHI ends at 75.
pub fn share_on(
    person_id: PersonId,
    person: &PersonState,
    on: NaiveDate,
    household: Option<&HouseholdState>,
    members: &[(Uuid, PersonState)],
    rules: &EligibilityRules,
) -> Result<ShareAnswer, Rejection> {
    if person.period_on(on).is_none() {
        return Err(Rejection::NotInsured { person_id });
    }
    let Some(date_of_birth) = person.date_of_birth() else {
        return Err(Rejection::EmptyField { field: "date_of_birth" });
    };
    let applied = household.is_some_and(|h| h.income_exception_applied(on));
    let mut elderly: Vec<ElderlyMember> = Vec::new();
    if in_elderly_share(date_of_birth, on, rules) {
        elderly.push(elderly_member(person, on, applied, rules));
        if let Some(household) = household {
            for member_id in household.members_on(on) {
                if member_id == person_id.as_uuid() {
                    continue;
                }
                let Some((_, member)) = members.iter().find(|(id, _)| *id == member_id) else { continue };
                let insured_elderly = member.period_on(on).is_some()
                    && member.date_of_birth().is_some_and(|dob| in_elderly_share(dob, on, rules));
                if insured_elderly {
                    elderly.push(elderly_member(member, on, applied, rules));
                }
            }
        }
    }
    let share = applicable_share(date_of_birth, on, &elderly, rules)
        .map_err(|error| Rejection::Eligibility { person_id, error })?;
    let rule = if is_pre_school(date_of_birth, on) {
        ShareRule::PreSchool
    } else if !elderly.is_empty() {
        ShareRule::Elderly {
            income_year: elderly_share_income_year(on),
            members_70_to_74: elderly.len(),
            basis: elderly_share_basis(&elderly, rules),
        }
    } else {
        ShareRule::Standard
    };
    Ok(ShareAnswer { share, rule })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::person::{decide, evolve, PersonCommand};
    use crate::Context;
    use kokuho_events::{Acquisition, AcquisitionReason, IncomeFigures, PersonDetails, Sex};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_retroactive_change_is_decided_again_on_each_day_it_can_move() {
        let rules = EligibilityRules::national_defaults();
        // Born 1954-05-20: 70–74 share from 2024-06-01; today 2025-09-10.
        let born = date(1954, 5, 20);
        let today = date(2025, 9, 10);
        // A change dated 2024-04-01 (before 70): reaching 70, 1 August 2024 and 2025, today.
        assert_eq!(
            elderly_share_days_to_decide(&[date(2024, 4, 1)], today, born, &rules),
            vec![date(2024, 6, 1), date(2024, 8, 1), date(2025, 8, 1), today]
        );
        // A change after today decides nothing yet; nor does anything for someone under 70.
        assert!(elderly_share_days_to_decide(&[date(2025, 9, 11)], today, born, &rules).is_empty());
        assert!(elderly_share_days_to_decide(&[date(2025, 1, 1)], today, date(1980, 1, 1), &rules).is_empty());
    }

    fn source() -> Acquisition {
        Acquisition { source: "resident_tax".into(), legal_basis: "番号利用法".into() }
    }

    /// A person born on `born`, insured from `insured_from`, with income `taxable` in 2024.
    fn person(n: u128, born: NaiveDate, insured_from: NaiveDate, taxable: i64, total: i64) -> (PersonId, PersonState) {
        let id = PersonId::from_uuid(Uuid::from_u128(n));
        let context = Context::national(date(2026, 6, 1));
        let commands = [
            PersonCommand::Register {
                atena_no: format!("{n}"),
                details: PersonDetails {
                    name: "x".into(),
                    name_kana: "x".into(),
                    sex: Sex::Male,
                    date_of_birth: born,
                    address: "x".into(),
                },
                acquisition: source(),
            },
            PersonCommand::AcquireEligibility {
                period_id: Uuid::from_u128(n + 1000),
                reason: AcquisitionReason::MovedIn,
                event_date: insured_from,
                notified_on: insured_from,
                acquisition: source(),
                former_municipality: None,
                loss: None,
            },
            PersonCommand::ReportIncome {
                income_year: 2024,
                figures: IncomeFigures {
                    total_income_yen: total,
                    taxable_income_yen: taxable,
                    salary_income_yen: 0,
                    pension_income_yen: total,
                    declared: true,
                },
                acquisition: source(),
            },
        ];
        let mut state = PersonState::default();
        for command in commands {
            for event in decide(id, &state, command, &context).unwrap() {
                state = evolve(state, &event);
            }
        }
        (id, state)
    }

    #[test]
    fn a_person_turning_70_in_the_middle_of_the_year_moves_to_the_elderly_share() {
        let rules = EligibilityRules::national_defaults();
        // Born 1955-09-15: attains 70 on 2025-09-14, 70–74 share from 1 October 2025.
        let (id, state) = person(1, date(1955, 9, 15), date(2020, 4, 1), 0, 0);
        let share = |on| {
            share_on(id, &state, on, None, &[], &rules).map(|a| (a.share, matches!(a.rule, ShareRule::Elderly { .. })))
        };
        assert_eq!(share(date(2025, 9, 30)), Ok((CostShare::ThreeTenths, false)));
        assert_eq!(share(date(2025, 10, 1)), Ok((CostShare::TwoTenths, true)));
        // NHI ends on the 75th birthday (2030-09-15): no share from then on.
        assert_eq!(share(date(2030, 9, 15)).unwrap_err().code(), "date_beyond_rule");
    }

    #[test]
    fn the_household_decides_the_70_to_74_share_together() {
        let rules = EligibilityRules::national_defaults();
        let mut household = HouseholdState::default();
        for event in [
            kokuho_events::LedgerEvent::HouseholdEstablished(kokuho_events::HouseholdEstablished {
                household_id: Uuid::from_u128(9),
                head_person_id: Uuid::from_u128(1),
                established_on: date(2020, 4, 1),
                acquisition: source(),
            }),
            kokuho_events::LedgerEvent::HouseholdMemberJoined(kokuho_events::HouseholdMemberJoined {
                household_id: Uuid::from_u128(9),
                person_id: Uuid::from_u128(2),
                joined_on: date(2020, 4, 1),
            }),
        ] {
            household = crate::household::evolve(household, &event);
        }
        // On 2025-09-01 the 2024 income applies. Member 1 has taxable income ≥ 1,450,000 and
        // the two 旧ただし書所得 exceed 2,100,000: 3割 for both, 2割 for neither.
        let (id1, one) = person(1, date(1953, 5, 5), date(2020, 4, 1), 2_000_000, 3_000_000);
        let (_, two) = person(2, date(1954, 6, 6), date(2020, 4, 1), 0, 500_000);
        let members = vec![(Uuid::from_u128(1), one.clone()), (Uuid::from_u128(2), two.clone())];
        let answer = share_on(id1, &one, date(2025, 9, 1), Some(&household), &members, &rules).unwrap();
        assert_eq!(answer.share, CostShare::ThreeTenths);
        let ShareRule::Elderly { members_70_to_74, income_year, .. } = answer.rule else { panic!("{answer:?}") };
        assert_eq!((members_70_to_74, income_year), (2, 2024));
        // On application, two members' income 3,500,000 < 5,200,000: 2割.
        household.income_exception_applied_on.push(date(2025, 8, 20));
        let answer = share_on(id1, &one, date(2025, 9, 1), Some(&household), &members, &rules).unwrap();
        assert_eq!(answer.share, CostShare::TwoTenths);
        assert!(matches!(
            answer.rule,
            ShareRule::Elderly { basis: ElderlyShareBasis::IncomeUnderApplicationLimit { .. }, .. }
        ));
    }

    #[test]
    fn a_pre_school_child_pays_two_tenths() {
        let rules = EligibilityRules::national_defaults();
        let (id, state) = person(3, date(2020, 5, 1), date(2020, 5, 1), 0, 0);
        let answer = share_on(id, &state, date(2026, 3, 31), None, &[], &rules).unwrap();
        assert_eq!((answer.share, answer.rule), (CostShare::TwoTenths, ShareRule::PreSchool));
        let answer = share_on(id, &state, date(2026, 4, 1), None, &[], &rules).unwrap();
        // Attains 6 on 2026-04-30, so pre-school until 31 March 2027.
        assert_eq!(answer.rule, ShareRule::PreSchool);
        assert_eq!(share_on(id, &state, date(2027, 4, 1), None, &[], &rules).unwrap().rule, ShareRule::Standard);
        assert_eq!(share_on(id, &state, date(2020, 4, 1), None, &[], &rules).unwrap_err().code(), "not_insured");
    }
}
