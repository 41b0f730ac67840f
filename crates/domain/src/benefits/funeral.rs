//! The funeral expense (葬祭費, 国民健康保険法 §58 ①; docs/domain.md §6): the municipality's
//! amount, paid to whoever held the funeral (喪主), claimable for two years from the day after
//! the funeral, and not paid when the former employee plan pays its burial allowance (埋葬料).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::rules::BenefitRules;
use super::{claim_deadline, months_after, BenefitRejection};

/// A claim for the funeral of an insured person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuneralClaim {
    pub died_on: NaiveDate,
    pub funeral_on: NaiveDate,
    pub claimed_on: NaiveDate,
    /// The day the deceased stopped being insured by an employee plan *as its insured person*
    /// (被保険者本人), if they were; a death within `former_plan_months` of it is that plan's.
    pub left_employee_plan_on: Option<NaiveDate>,
    /// The former plan paid (or will pay) a burial allowance for other reasons.
    pub former_plan_paid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuneralDecision {
    pub amount: i64,
    /// The last day the claim could be made.
    pub claim_deadline: NaiveDate,
    /// The fiscal year of the city's file applied.
    pub fiscal_year: i32,
}

/// Decides a funeral expense with the city's amount in `rules` (the caller loads the rules of
/// the fiscal year of the death). Refused when the funeral predates the death, when the former
/// employee plan pays, or when the two-year claim period has passed.
pub fn decide(claim: &FuneralClaim, rules: &BenefitRules) -> Result<FuneralDecision, BenefitRejection> {
    if claim.funeral_on < claim.died_on {
        return Err(BenefitRejection::FuneralBeforeDeath);
    }
    if claim.claimed_on < claim.funeral_on {
        return Err(BenefitRejection::ClaimBeforeEvent);
    }
    // The right arises on the day of the funeral; two years counted from the day after.
    let deadline = claim_deadline(claim.funeral_on, rules.national.claims.years);
    if claim.claimed_on > deadline {
        return Err(BenefitRejection::ClaimLapsed { last_day: deadline });
    }
    let months = rules.national.funeral.former_plan_months;
    let within_former_plan = claim.left_employee_plan_on.is_some_and(|left_on| {
        // 資格喪失後3か月以内: a death before the day `months` months after the loss.
        left_on <= claim.died_on && claim.died_on < months_after(left_on, months)
    });
    if claim.former_plan_paid || within_former_plan {
        return Err(BenefitRejection::FormerPlanPays);
    }
    Ok(FuneralDecision { amount: rules.city.funeral.amount, claim_deadline: deadline, fiscal_year: rules.fiscal_year })
}
