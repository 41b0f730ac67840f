//! The childbirth lump sum (出産育児一時金, 国民健康保険法 §58 ①; docs/domain.md §6): an amount
//! per child by the birth date, the obstetric compensation scheme (産科医療補償制度) and the weeks
//! of pregnancy; paid to the institution (直接支払制度) up to the cost, the difference to the
//! head of household, or all of it to the head of household.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::rules::BenefitRules;
use super::{claim_deadline, BenefitRejection};

/// How the lump sum is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payment {
    /// 直接支払制度: the institution receives up to its charge; any difference goes to the head
    /// of household on application.
    Direct,
    /// 償還払い: everything to the head of household.
    ToHousehold,
}

/// A claim for one birth (生産・死産).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildbirthClaim {
    pub born_on: NaiveDate,
    /// Completed weeks of pregnancy (在胎週数).
    pub weeks: u32,
    /// Children born (1, or more for a multiple birth).
    pub children: u32,
    /// Born at an institution in the obstetric compensation scheme (false abroad).
    pub in_scheme: bool,
    pub payment: Payment,
    /// The institution's charge for the birth (出産費用), yen.
    pub cost: i64,
    /// The mother receives the lump sum from her former employee plan (1 year insured, birth
    /// within 6 months of leaving, and she chose it).
    pub former_plan_pays: bool,
    /// The day the claim is made.
    pub claimed_on: NaiveDate,
}

/// What is paid, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildbirthDecision {
    /// The amount per child applied.
    pub per_child: i64,
    /// Whether the full amount applied (in the scheme, at or after `scheme_min_weeks`).
    pub full_amount: bool,
    /// per_child × children.
    pub amount: i64,
    /// Paid to the institution (direct payment only): min(amount, cost).
    pub to_institution: i64,
    /// Paid to the head of household: the difference when the cost was lower, or everything.
    pub to_household: i64,
    /// The `from` of the rule period applied.
    pub period_from: NaiveDate,
    /// The last day the claim could be made.
    pub claim_deadline: NaiveDate,
}

/// Decides a childbirth lump sum. Refused before `min_weeks` of pregnancy, when the former
/// employee plan pays, when the two-year claim period has passed, or when no period covers the
/// birth date.
pub fn decide(claim: &ChildbirthClaim, rules: &BenefitRules) -> Result<ChildbirthDecision, BenefitRejection> {
    let period = rules.childbirth_on(claim.born_on).ok_or(BenefitRejection::RulesUnavailable { on: claim.born_on })?;
    if claim.children == 0 || claim.children > 10 {
        return Err(BenefitRejection::Invalid {
            field: "children".into(),
            accepts: "a number of children from 1 to 10",
        });
    }
    if !(0..=super::high_cost::RECORD_AMOUNT_MAX).contains(&claim.cost) {
        return Err(BenefitRejection::Invalid {
            field: "cost".into(),
            accepts: "an amount of yen from 0 to 10,000,000,000",
        });
    }
    if claim.weeks > 45 {
        return Err(BenefitRejection::Invalid {
            field: "weeks".into(),
            accepts: "completed weeks of pregnancy, 0 to 45",
        });
    }
    if claim.weeks < period.min_weeks {
        return Err(BenefitRejection::PregnancyTooShort { min_weeks: period.min_weeks });
    }
    if claim.claimed_on < claim.born_on {
        return Err(BenefitRejection::ClaimBeforeEvent);
    }
    // The right arises on the day of the birth; two years from the day after.
    let deadline = claim_deadline(claim.born_on, rules.national.claims.years);
    if claim.claimed_on > deadline {
        return Err(BenefitRejection::ClaimLapsed { last_day: deadline });
    }
    if claim.former_plan_pays {
        return Err(BenefitRejection::FormerPlanPays);
    }
    let full_amount = claim.in_scheme && claim.weeks >= period.scheme_min_weeks;
    let per_child = if full_amount { period.amount } else { period.outside_scheme };
    let amount = per_child.checked_mul(i64::from(claim.children)).ok_or(BenefitRejection::AmountOutOfRange)?;
    let (to_institution, to_household) = match claim.payment {
        Payment::Direct => {
            let to_institution = amount.min(claim.cost);
            (to_institution, amount - to_institution)
        }
        Payment::ToHousehold => (0, amount),
    };
    Ok(ChildbirthDecision {
        per_child,
        full_amount,
        amount,
        to_institution,
        to_household,
        period_from: period.from,
        claim_deadline: deadline,
    })
}
