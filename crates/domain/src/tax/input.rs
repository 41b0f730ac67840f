//! The household of a fiscal year as the assessment sees it, from the folded streams: who was
//! a member and insured on each month's last day, who moved to 後期高齢者医療, incomes of the
//! year before, and the facts recorded on application. Pure: the ledger replays the streams.

use std::collections::HashMap;

use kokuho_events::LossReason;
use uuid::Uuid;

use super::assessment::TaxRejection;
use super::calc::{month_end, ChildbirthInput, HouseholdInput, IncomeInput, MemberInput, Months, UnemploymentInput};
use crate::household::HouseholdState;
use crate::person::PersonState;

/// Every person who was a member of `household` on some month-end of `fiscal_year`.
pub fn members_in_year(household: &HouseholdState, fiscal_year: i32) -> Vec<Uuid> {
    let mut members: Vec<Uuid> = Vec::new();
    for index in 0..12 {
        for person in household.members_on(month_end(fiscal_year, index)) {
            if !members.contains(&person) {
                members.push(person);
            }
        }
    }
    members
}

/// The assessment's input for `household_id` in `fiscal_year`. `persons` holds the folded
/// (decrypted) state of every member in the year.
pub fn household_input(
    household_id: Uuid,
    household: &HouseholdState,
    persons: &HashMap<Uuid, PersonState>,
    fiscal_year: i32,
) -> Result<HouseholdInput, TaxRejection> {
    if !household.is_established() {
        return Err(TaxRejection::HouseholdNotFound { household_id });
    }
    let mut members = Vec::new();
    for person_id in members_in_year(household, fiscal_year) {
        let Some(person) = persons.get(&person_id) else { continue };
        let membership = |end| household.memberships.iter().any(|m| m.person_id == person_id && m.contains(end));
        let insured = Months::where_last_day(fiscal_year, |end| membership(end) && person.period_on(end).is_some());
        let late_stage_since = person
            .periods
            .iter()
            .filter_map(|period| period.end.as_ref())
            .filter(|end| end.reason == LossReason::ReachedLateStageElderly)
            .map(|end| end.lost_on)
            .max();
        // 特定同一世帯所属者: left this household's NHI at 75 and a member of it ever since (one
        // membership covering the last insured day and the month-end).
        let stayed_since = |since: chrono::NaiveDate, end| {
            let last_insured = since.pred_opt().unwrap_or(since);
            household
                .memberships
                .iter()
                .any(|m| m.person_id == person_id && m.contains(last_insured) && m.contains(end))
        };
        let late_stage = Months::where_last_day(fiscal_year, |end| {
            membership(end)
                && person.period_on(end).is_none()
                && late_stage_since.is_some_and(|since| since <= end && stayed_since(since, end))
                && person.died_on.is_none_or(|died| died > end)
        });
        let date_of_birth = person.date_of_birth().ok_or(TaxRejection::DateOfBirthUnknown { person_id })?;
        let income = person.incomes.get(&(fiscal_year - 1)).cloned().flatten().map(|figures| IncomeInput {
            total_income: figures.total_income_yen,
            salary_revenue: figures.salary_income_yen,
            pension_revenue: figures.pension_income_yen,
            declared: figures.declared,
        });
        // Born after the income year: no income to declare (a newborn does not bar the reduction).
        let born_after =
            chrono::NaiveDate::from_ymd_opt(fiscal_year - 1, 12, 31).is_some_and(|last| date_of_birth > last);
        let income = income.or_else(|| {
            born_after.then_some(IncomeInput { total_income: 0, salary_revenue: 0, pension_revenue: 0, declared: true })
        });
        members.push(MemberInput {
            person_id,
            date_of_birth,
            insured,
            late_stage,
            late_stage_since: late_stage_since.filter(|_| late_stage.count() > 0),
            income,
            fixed_asset_tax: 0,
            unemployment: person
                .unemployment
                .iter()
                .map(|facts| UnemploymentInput {
                    separated_on: facts.separated_on,
                    reason_code: facts.reason_code.clone(),
                })
                .collect(),
            childbirths: person
                .childbirths
                .iter()
                .map(|facts| ChildbirthInput { born_on: facts.born_on, multiple: facts.multiple })
                .collect(),
        });
    }
    // The taxpayer: the head on the first month-end anyone is insured (the test day), else the
    // current head.
    let first_insured = (0..12).find(|index| members.iter().any(|member| member.insured.contains(*index)));
    let head = first_insured
        .and_then(|index| household.head_on(month_end(fiscal_year, index)))
        .or_else(|| household.head())
        .ok_or(TaxRejection::HouseholdNotFound { household_id })?;
    if first_insured.is_none() {
        return Err(TaxRejection::NobodyInsured { fiscal_year });
    }
    Ok(HouseholdInput { fiscal_year, head, members })
}
