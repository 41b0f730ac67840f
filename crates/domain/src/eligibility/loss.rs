//! When eligibility ends (資格喪失日), 国民健康保険法 §8, docs/domain.md §4.
//!
//! The ledger's convention: a loss date is the **first day not insured**, so an
//! [`EligibilityPeriod`](super::EligibilityPeriod) is the half-open range
//! `effective_on..lost_on`. The last insured day is the day before `lost_on`.

use chrono::{Days, NaiveDate};

use super::settings::{EligibilityRules, LateStageTransition};

pub use kokuho_events::LossReason;

/// The first day not insured for a loss of `reason` on `event_date`.
///
/// For [`LossReason::ReachedLateStageElderly`], `event_date` is the 75th birthday (see
/// [`seventy_fifth_birthday`](super::seventy_fifth_birthday)), and the result follows
/// [`EligibilityRules::late_stage_transition`].
pub fn loss_effective_on(reason: LossReason, event_date: NaiveDate, rules: &EligibilityRules) -> NaiveDate {
    let day_after = event_date + Days::new(1);
    match reason {
        // §8①: the day after no longer having an address in the prefecture, or after falling
        // under one of the exclusions of §6 (employee insurance) — and the day after death.
        LossReason::MovedOut | LossReason::JoinedEmployeeInsurance | LossReason::Death => day_after,
        // §8②: public assistance (§6 九) ends eligibility on the day itself.
        LossReason::PublicAssistanceStarted => event_date,
        // Sources differ (docs/domain.md §4), hence the setting.
        LossReason::ReachedLateStageElderly => match rules.late_stage_transition {
            LateStageTransition::OnBirthday => event_date,
            LateStageTransition::DayAfterBirthday => day_after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn every_loss_reason_has_its_first_day_not_insured() {
        use LateStageTransition::{DayAfterBirthday, OnBirthday};
        use LossReason::*;
        // (reason, event date, late-stage setting, first day not insured) — docs/domain.md §4.
        let table = [
            (MovedOut, date(2025, 4, 10), OnBirthday, date(2025, 4, 11)),
            (JoinedEmployeeInsurance, date(2025, 3, 31), OnBirthday, date(2025, 4, 1)),
            (Death, date(2024, 2, 28), OnBirthday, date(2024, 2, 29)),
            (Death, date(2025, 12, 31), OnBirthday, date(2026, 1, 1)),
            (PublicAssistanceStarted, date(2025, 6, 1), OnBirthday, date(2025, 6, 1)),
            (ReachedLateStageElderly, date(2025, 6, 10), OnBirthday, date(2025, 6, 10)),
            (ReachedLateStageElderly, date(2025, 6, 10), DayAfterBirthday, date(2025, 6, 11)),
            // The setting only changes the late-stage rule.
            (MovedOut, date(2025, 4, 10), DayAfterBirthday, date(2025, 4, 11)),
            (PublicAssistanceStarted, date(2025, 6, 1), DayAfterBirthday, date(2025, 6, 1)),
        ];
        for (reason, event_date, transition, lost_on) in table {
            let rules = EligibilityRules { late_stage_transition: transition, ..EligibilityRules::national_defaults() };
            assert_eq!(loss_effective_on(reason, event_date, &rules), lost_on, "{reason:?} {transition:?}");
        }
    }
}
