//! Installments (納期): the split of an annual amount, ordinary (普通徴収) or withheld from the
//! pension (特別徴収), and the re-spread of a reassessment over the installments not yet due.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::eligibility::age;
use crate::tax::Assessment;
use crate::{FiscalYear, Yen};

use super::rules::{last_day_of_month, CollectionRules};
use super::CollectionRejection;

/// How an installment is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 普通徴収: paid by the household (bank, convenience store, counter, account transfer).
    Ordinary,
    /// 特別徴収: withheld from the head's pension by the pension payer.
    Special,
}

/// One installment: its number (期), how it is collected, its due date and amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    pub number: u32,
    pub method: Method,
    pub due: NaiveDate,
    pub amount: i64,
}

fn check_amount(field: &'static str, amount: i64) -> Result<(), CollectionRejection> {
    if (0..=Yen::AMOUNT_MAX.amount()).contains(&amount) {
        Ok(())
    } else {
        Err(CollectionRejection::AmountOutOfRange { field })
    }
}

/// Splits `total` into `count` amounts (地方税法 §20の4の2 ⑥): every one after the first is
/// total ÷ count truncated to `unit`; the first takes what is left (the remainders below the
/// unit, or the whole amount when each share is below it), so they sum to `total`.
pub fn split(total: i64, count: usize, unit: i64) -> Result<Vec<i64>, CollectionRejection> {
    check_amount("total", total)?;
    if count == 0 {
        return Err(CollectionRejection::Invalid { field: "installments", accepts: "at least one installment" });
    }
    if unit <= 0 {
        return Err(CollectionRejection::Invalid { field: "unit", accepts: "1, 10, 100 or 1000" });
    }
    let count = i64::try_from(count)
        .map_err(|_| CollectionRejection::Invalid { field: "installments", accepts: "at most 12 installments" })?;
    // total ÷ count, truncated to the unit.
    let later = total / count / unit * unit;
    // The first: total − later × (count − 1) ≥ later ≥ 0.
    let first = total - later * (count - 1);
    let mut amounts = vec![later; count as usize];
    amounts[0] = first;
    Ok(amounts)
}

/// The ordinary installments of `total` for the rules' fiscal year: one per month of
/// `ordinary.months`, due on the month's last day (or its `due_days` day) moved to the next open
/// day.
pub fn ordinary(total: i64, rules: &CollectionRules) -> Result<Vec<Installment>, CollectionRejection> {
    let months = &rules.city.ordinary.months;
    let amounts = split(total, months.len(), rules.city.ordinary.unit)?;
    months
        .iter()
        .zip(amounts)
        .enumerate()
        .map(|(index, (month, amount))| {
            Ok(Installment {
                number: index as u32 + 1,
                method: Method::Ordinary,
                due: rules.ordinary_due(*month)?,
                amount,
            })
        })
        .collect()
}

/// The ordinary installments of `total` for an assessment made on `on`. Assessed before the
/// first due date, they are [`ordinary`]'s. Assessed later in the year (a household that joined
/// in November, a past year assessed after a backdated enrolment), the installments already due
/// on `on` are not charged: the total is shared by those not yet due, as a re-spread of zero
/// amounts over them ([`respread`], so with the same split and unit), and when none is left it is
/// one installment due on the last day of the month after `on` (moved to an open day). Nobody is
/// in arrears, or owes a late fee, for a day before the tax existed: a household that joins
/// mid-year pays in the installments left in the year (加茂市, "年度途中の加入と脱退",
/// city.kamo.niigata.jp/docs/37650.html: joined in October, billed in November, five
/// installments November to March; docs/domain.md §5).
pub fn ordinary_from(
    total: i64,
    on: NaiveDate,
    rules: &CollectionRules,
) -> Result<Vec<Installment>, CollectionRejection> {
    let mut installments = ordinary(total, rules)?;
    if total == 0 || installments.iter().all(|installment| installment.due >= on) {
        return Ok(installments);
    }
    for installment in &mut installments {
        installment.amount = 0;
    }
    Ok(respread(&installments, total, on, rules)?
        .into_iter()
        .filter(|installment| installment.due >= on || installment.amount > 0)
        .collect())
}

/// The ordinary installments of an assessment (its annual total), for the same fiscal year.
pub fn ordinary_from_assessment(
    assessment: &Assessment,
    rules: &CollectionRules,
) -> Result<Vec<Installment>, CollectionRejection> {
    if assessment.fiscal_year != rules.fiscal_year {
        return Err(CollectionRejection::Invalid {
            field: "fiscal_year",
            accepts: "the fiscal year of the collection rules",
        });
    }
    ordinary(assessment.total, rules)
}

/// The withholdings of a year and what the provisional ones took beyond the annual amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialSchedule {
    pub installments: Vec<Installment>,
    /// Σ provisional − total when the provisional withholdings exceed the annual amount (the
    /// 本徴収 are then 0 and the excess is refunded or applied).
    pub overpayment: i64,
}

/// The six withholdings of `total`: the provisional ones (仮徴収, April, June, August) at
/// `provisional_each` (fixed before the assessment, from the previous year), the rest (本徴収,
/// October, December, February) sharing total − Σ provisional by [`split`] with the city's
/// special unit (the first takes the remainder). Each is due on the pension day of its month.
pub fn special(
    total: i64,
    provisional_each: i64,
    rules: &CollectionRules,
) -> Result<SpecialSchedule, CollectionRejection> {
    check_amount("total", total)?;
    check_amount("provisional_each", provisional_each)?;
    let special = &rules.national.special_collection;
    let provisional = special.provisional as usize;
    let provisional_total = provisional_each
        .checked_mul(provisional as i64)
        .ok_or(CollectionRejection::AmountOutOfRange { field: "provisional_each" })?;
    let remaining = total - provisional_total;
    let main = split(remaining.max(0), special.months.len() - provisional, rules.city.special.unit)?;
    let amounts = std::iter::repeat_n(provisional_each, provisional).chain(main);
    let installments = special
        .months
        .iter()
        .zip(amounts)
        .enumerate()
        .map(|(index, (month, amount))| {
            Ok(Installment {
                number: index as u32 + 1,
                method: Method::Special,
                due: rules.special_due(*month)?,
                amount,
            })
        })
        .collect::<Result<Vec<_>, CollectionRejection>>()?;
    Ok(SpecialSchedule { installments, overpayment: (-remaining).max(0) })
}

/// What decides whether the tax is withheld from the head's pension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialInput {
    pub fiscal_year: FiscalYear,
    /// The head of household is insured (not a 擬制世帯主).
    pub head_insured: bool,
    /// The dates of birth of every insured member, the head included when insured.
    pub insured_dates_of_birth: Vec<NaiveDate>,
    /// The head's annual pension subject to withholding.
    pub head_annual_pension: i64,
    /// The household's NHI tax for the year.
    pub annual_tax: i64,
    /// The head's care premium (介護保険料) for the year.
    pub care_premium: i64,
    /// The head's care premium is itself withheld from the pension.
    pub care_premium_withheld: bool,
}

/// A condition of pension withholding a household does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "condition", rename_all = "snake_case")]
pub enum SpecialCondition {
    /// The head of household is not insured.
    HeadNotInsured,
    /// Insured member `index` is below `min_age` on 1 April or reaches `below_age` during the
    /// fiscal year (後期高齢者医療).
    MemberAge { index: usize },
    /// The head's annual pension is below the minimum.
    PensionBelowMinimum,
    /// NHI tax + care premium is more than the share of the pension.
    AboveShareOfPension,
    /// The head's care premium is not withheld.
    CarePremiumNotWithheld,
}

impl SpecialCondition {
    pub fn code(&self) -> &'static str {
        match self {
            SpecialCondition::HeadNotInsured => "head_not_insured",
            SpecialCondition::MemberAge { .. } => "member_age",
            SpecialCondition::PensionBelowMinimum => "pension_below_minimum",
            SpecialCondition::AboveShareOfPension => "above_share_of_pension",
            SpecialCondition::CarePremiumNotWithheld => "care_premium_not_withheld",
        }
    }
}

/// The conditions of pension withholding the household fails; empty when it qualifies
/// (地方税法 §706 ②, §706の2; the figures of `[special_collection]`).
pub fn special_conditions(
    input: &SpecialInput,
    rules: &CollectionRules,
) -> Result<Vec<SpecialCondition>, CollectionRejection> {
    check_amount("head_annual_pension", input.head_annual_pension)?;
    check_amount("annual_tax", input.annual_tax)?;
    check_amount("care_premium", input.care_premium)?;
    if input.insured_dates_of_birth.is_empty() {
        return Err(CollectionRejection::Invalid {
            field: "insured_dates_of_birth",
            accepts: "the date of birth of every insured member (at least one)",
        });
    }
    let special = &rules.national.special_collection;
    let mut failed = Vec::new();
    if !input.head_insured {
        failed.push(SpecialCondition::HeadNotInsured);
    }
    let (first, last) = (input.fiscal_year.first_day(), input.fiscal_year.last_day());
    for (index, born) in input.insured_dates_of_birth.iter().enumerate() {
        // At least min_age by the legal count on 1 April, and not reaching below_age (the day
        // 後期高齢者医療 begins, the birthday itself) by 31 March.
        let old_enough = age::legal_age_on(*born, first).is_some_and(|years| years >= special.min_age);
        let stays_below = age::birthday(*born, special.below_age) > last;
        if !old_enough || !stays_below {
            failed.push(SpecialCondition::MemberAge { index });
        }
    }
    if input.head_annual_pension < special.min_annual_pension {
        failed.push(SpecialCondition::PensionBelowMinimum);
    }
    // (tax + care) ≤ pension × share, compared exactly: (tax + care) × den ≤ pension × num.
    let charged = i128::from(input.annual_tax) + i128::from(input.care_premium);
    let share = &special.max_share;
    if charged * i128::from(share.denominator) > i128::from(input.head_annual_pension) * i128::from(share.numerator) {
        failed.push(SpecialCondition::AboveShareOfPension);
    }
    if special.requires_care_premium_withheld && !input.care_premium_withheld {
        failed.push(SpecialCondition::CarePremiumNotWithheld);
    }
    Ok(failed)
}

/// The installments after a reassessment to `new_total` decided on `on`.
///
/// - Installments due before `on` (already due) keep their amounts; those due on or after it
///   (not yet due) share new_total − Σ already due by [`split`], the first of them taking the
///   remainder, with the unit of its method.
/// - When nothing is left to spread over and the total rises, the difference is one more
///   ordinary installment due on the last day of the month after `on` (moved to an open day).
/// - When the new total is below what was already due, the installments not yet due become 0 and
///   the already-due ones are lowered from the latest back; what was paid beyond the new amounts
///   is the account's overpayment ([`super::Account::overpayment`]).
pub fn respread(
    installments: &[Installment],
    new_total: i64,
    on: NaiveDate,
    rules: &CollectionRules,
) -> Result<Vec<Installment>, CollectionRejection> {
    check_amount("new_total", new_total)?;
    let mut result = installments.to_vec();
    result.sort_by_key(|installment| (installment.due, installment.number));
    let already_due: i64 = result.iter().filter(|i| i.due < on).map(|i| i.amount).sum();
    let open: Vec<usize> = (0..result.len()).filter(|index| result[*index].due >= on).collect();
    if new_total >= already_due {
        let left = new_total - already_due;
        if let Some(&first) = open.first() {
            let unit = match result[first].method {
                Method::Ordinary => rules.city.ordinary.unit,
                Method::Special => rules.city.special.unit,
            };
            for (index, amount) in open.iter().zip(split(left, open.len(), unit)?) {
                result[*index].amount = amount;
            }
        } else if left > 0 {
            let next = on.with_day(1).and_then(|day| day.checked_add_months(chrono::Months::new(1)));
            let nominal = next
                .and_then(|day| last_day_of_month(day.year(), day.month()))
                .ok_or(CollectionRejection::CalendarNotCovered { year: on.year() })?;
            let number = result.iter().map(|i| i.number).max().unwrap_or(0) + 1;
            result.push(Installment {
                number,
                method: Method::Ordinary,
                due: rules.open_on_or_after(nominal)?,
                amount: left,
            });
        }
    } else {
        for index in open {
            result[index].amount = 0;
        }
        let mut excess = already_due - new_total;
        for installment in result.iter_mut().rev().filter(|i| i.due < on) {
            let cut = excess.min(installment.amount);
            installment.amount -= cut;
            excess -= cut;
        }
    }
    Ok(result)
}
