//! The notification deadline (届出期限), 国民健康保険法 §9, 施行規則 §2; docs/domain.md §4.
//!
//! A late notification still takes effect from the real date (eligibility and tax are
//! retroactive, docs/domain.md §4): lateness is recorded and reported, it never moves a date.

use chrono::{Days, NaiveDate};

use super::settings::EligibilityRules;

/// The last day a notification of an event on `event_date` is on time.
///
/// The period is counted from the day after the event (民法 §140, 初日不算入), so with 14 days
/// an event on 1 April may be notified up to and including 15 April.
pub fn notification_deadline(event_date: NaiveDate, rules: &EligibilityRules) -> NaiveDate {
    event_date + Days::new(u64::from(rules.notification_deadline_days))
}

/// Whether a notification received on `notified_on` for an event on `event_date` is late:
/// received more than `notification_deadline_days` after the event.
///
/// A notification before the event (e.g. a 転出予定 notice) is not late.
pub fn notification_is_late(event_date: NaiveDate, notified_on: NaiveDate, rules: &EligibilityRules) -> bool {
    notified_on > notification_deadline(event_date, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_notification_is_late_after_14_days() {
        let rules = EligibilityRules::national_defaults();
        // (event date, notified on, late?)
        let table = [
            (date(2025, 4, 1), date(2025, 4, 1), false),   // same day
            (date(2025, 4, 1), date(2025, 4, 15), false),  // exactly 14 days after: on time
            (date(2025, 4, 1), date(2025, 4, 16), true),   // 15 days after: late
            (date(2025, 12, 25), date(2026, 1, 8), false), // 14 days across the year end
            (date(2025, 12, 25), date(2026, 1, 9), true),  // 15 days across the year end
            (date(2024, 2, 20), date(2024, 3, 5), false),  // 14 days across 29 February
            (date(2024, 2, 20), date(2024, 3, 6), true),   // 15 days across 29 February
            (date(2025, 4, 1), date(2025, 3, 25), false),  // notified before the event
            (date(2022, 4, 1), date(2025, 4, 1), true),    // years late (still retroactive)
        ];
        for (event_date, notified_on, late) in table {
            assert_eq!(notification_is_late(event_date, notified_on, &rules), late, "{event_date} {notified_on}");
        }
    }

    #[test]
    fn the_deadline_follows_the_setting() {
        let rules = EligibilityRules { notification_deadline_days: 30, ..EligibilityRules::national_defaults() };
        assert_eq!(notification_deadline(date(2025, 4, 1), &rules), date(2025, 5, 1));
        assert!(!notification_is_late(date(2025, 4, 1), date(2025, 4, 16), &rules));
        assert!(notification_is_late(date(2025, 4, 1), date(2025, 5, 2), &rules));
    }
}
