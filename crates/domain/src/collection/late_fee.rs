//! The late fee (延滞金) of one installment (地方税法 §20の4の2 ②⑤, §723; rates: 附則 §3の2).
//!
//! For every day from the day after the due date to the day of payment, the principal still
//! unpaid that day bears the rate of its calendar year: the lower rate up to the day one month
//! after the due date passes (民法 §143: the day before the day of the same number, or the
//! month's last day), the higher one after. Days are grouped into steps of the same principal,
//! rate and period; each step is
//!
//! ```text
//! base   = unpaid principal truncated to 1,000 yen; 0 when the unpaid principal is below 2,000
//! amount = base × yearly rate × days ÷ 365, truncated to the yen      (Rate::for_days)
//! ```
//!
//! and the fee is Σ amounts truncated to 100 yen, 0 when that is below 1,000. Each step is
//! truncated to the yen before the sum, as in 豊橋市's published example (docs/domain.md §5);
//! consecutive days at the same rate form one step even across a new year.
//!
//! A payment made after the due date lowers the principal from the next day: its own day bears
//! the principal before it, as the day of a payment in full does ("納付の日まで").

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::tax::Rate;

use super::rules::LateFeeRules;
use super::CollectionRejection;

/// Days charged alike: the same principal, rate and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateFeeStep {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    /// The unpaid principal truncated to the unit.
    pub base: i64,
    pub rate: Rate,
    /// Within the first month after the due date (the lower rate).
    pub within_month: bool,
    pub days: i64,
    /// base × rate × days ÷ days_in_year, truncated to the yen.
    pub amount: i64,
}

/// A late fee with every step that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateFee {
    pub due: NaiveDate,
    /// The last day charged: the day of payment (or the day asked about).
    pub through: NaiveDate,
    pub steps: Vec<LateFeeStep>,
    /// Σ step amounts, before the final rounding.
    pub computed: i64,
    /// `computed` truncated to the fee unit; 0 below the fee minimum.
    pub fee: i64,
}

/// The last day of the first `months` months counted from `start` (its own day included): the
/// day before the day of `start`'s number `months` later, or that month's last day when it has
/// no such day (民法 §143 ②).
pub fn months_end(start: NaiveDate, months: u32) -> NaiveDate {
    match start.checked_add_months(Months::new(months)) {
        Some(later) if later.day() == start.day() => later.pred_opt().unwrap_or(later),
        // Clamped to the month's last day: that month has no day of `start`'s number.
        Some(later) => later,
        None => NaiveDate::MAX,
    }
}

/// The late fee of an installment of `principal` due on `due`, with `payments` (date, amount)
/// applied to it, charged through `through`. Payments on or before the due date lower the
/// principal from the start. Refused when a day charged falls in a calendar year without rates.
pub fn late_fee(
    principal: i64,
    due: NaiveDate,
    payments: &[(NaiveDate, i64)],
    through: NaiveDate,
    rules: &LateFeeRules,
) -> Result<LateFee, CollectionRejection> {
    let mut steps: Vec<LateFeeStep> = Vec::new();
    let first_day = due.succ_opt().unwrap_or(NaiveDate::MAX);
    let first_month_end = months_end(first_day, rules.within_months);
    let mut day = first_day;
    while day <= through {
        // Unpaid principal on `day`: payments made on an earlier day are off.
        let paid_before = payments
            .iter()
            .filter(|(on, _)| *on < day)
            .try_fold(0i64, |sum, (_, amount)| sum.checked_add(*amount))
            .ok_or(CollectionRejection::AmountOutOfRange { field: "payments" })?;
        let unpaid = principal.saturating_sub(paid_before).max(0);
        if unpaid == 0 {
            break;
        }
        // The principal is truncated to 1,000 yen; none below 2,000 (地方税法 §20の4の2 ②).
        let base = if unpaid < rules.principal_minimum { 0 } else { unpaid - unpaid.rem_euclid(rules.principal_unit) };
        let year = rules.year(day.year()).ok_or(CollectionRejection::LateFeeRatesUnavailable { year: day.year() })?;
        let within_month = day <= first_month_end;
        let rate = if within_month { year.within_month } else { year.after };
        match steps.last_mut() {
            Some(step)
                if step.base == base
                    && step.rate == rate
                    && step.within_month == within_month
                    && step.to.succ_opt() == Some(day) =>
            {
                step.to = day;
                step.days += 1;
            }
            _ => steps.push(LateFeeStep { from: day, to: day, base, rate, within_month, days: 1, amount: 0 }),
        }
        day = match day.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    steps.retain(|step| step.base > 0);
    let mut computed = 0i64;
    for step in &mut steps {
        // base × rate × days ÷ 365, truncated to the yen.
        step.amount = step
            .rate
            .for_days(step.base, step.days, rules.days_in_year)
            .ok_or(CollectionRejection::AmountOutOfRange { field: "principal" })?;
        computed =
            computed.checked_add(step.amount).ok_or(CollectionRejection::AmountOutOfRange { field: "principal" })?;
    }
    // The fee is truncated to 100 yen; none below 1,000 (地方税法 §20の4の2 ⑤).
    let truncated = computed - computed.rem_euclid(rules.fee_unit);
    let fee = if truncated < rules.fee_minimum { 0 } else { truncated };
    Ok(LateFee { due, through, steps, computed, fee })
}
