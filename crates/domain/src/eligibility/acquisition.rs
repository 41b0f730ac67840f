//! When eligibility starts (資格取得日), 国民健康保険法 §7, docs/domain.md §4.

use chrono::{Days, NaiveDate};
use kokuho_events::AcquisitionReason;

/// The first day insured for an acquisition of `reason` on `event_date`.
///
/// Leaving employee insurance takes effect the day after (the person was covered by the
/// employer's plan through their last day); the other reasons take effect on the day itself.
pub fn acquisition_effective_on(reason: AcquisitionReason, event_date: NaiveDate) -> NaiveDate {
    match reason {
        AcquisitionReason::LeftEmployeeInsurance => event_date + Days::new(1),
        AcquisitionReason::MovedIn | AcquisitionReason::Birth | AcquisitionReason::PublicAssistanceEnded => event_date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn every_acquisition_reason_has_its_first_insured_day() {
        // (reason, event date, first day insured) — docs/domain.md §4.
        let table = [
            (AcquisitionReason::MovedIn, date(2025, 4, 10), date(2025, 4, 10)),
            (AcquisitionReason::LeftEmployeeInsurance, date(2025, 3, 31), date(2025, 4, 1)),
            (AcquisitionReason::Birth, date(2024, 2, 29), date(2024, 2, 29)),
            (AcquisitionReason::PublicAssistanceEnded, date(2025, 12, 31), date(2025, 12, 31)),
        ];
        for (reason, event_date, effective_on) in table {
            assert_eq!(acquisition_effective_on(reason, event_date), effective_on, "{reason:?}");
        }
    }
}
