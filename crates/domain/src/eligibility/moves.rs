//! Moves between municipalities of the same prefecture: the aggregation system (国保情報集約
//! システム) checks the old city's end date against the new city's start date for gaps and
//! overlaps (seed system 11, docs/seed.md; docs/domain.md §4).
//!
//! Convention: the former city's end date is its **loss date, the first day not insured
//! there** — the same convention as [`loss_effective_on`](super::loss_effective_on) and
//! [`EligibilityPeriod::lost_on`](super::EligibilityPeriod). A system that records the last
//! insured day instead must add one day before calling [`move_continuity`]. Under that
//! convention a seamless move has the old loss date equal to the new start date.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// How the old and new cities' periods meet. `from` and `to` are both inclusive days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MoveContinuity {
    /// The new city's period starts the day the old city's ends: no day uninsured or twice insured.
    Continuous,
    /// `days` days (`from..=to`) insured by neither city.
    Gap { days: i64, from: NaiveDate, to: NaiveDate },
    /// `days` days (`from..=to`) insured by both cities.
    Overlap { days: i64, from: NaiveDate, to: NaiveDate },
}

/// Compares the former city's loss date (first day not insured there) with the new city's
/// first insured day.
pub fn move_continuity(former_lost_on: NaiveDate, new_effective_on: NaiveDate) -> MoveContinuity {
    let days = (new_effective_on - former_lost_on).num_days();
    if days == 0 {
        MoveContinuity::Continuous
    } else if days > 0 {
        // Uninsured: from the old loss date through the day before the new start.
        MoveContinuity::Gap { days, from: former_lost_on, to: new_effective_on - Days::new(1) }
    } else {
        // Twice insured: from the new start through the old last insured day.
        MoveContinuity::Overlap { days: -days, from: new_effective_on, to: former_lost_on - Days::new(1) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn gaps_and_overlaps_between_cities() {
        // (former city's first day not insured, new city's first day insured, continuity)
        let table = [
            (date(2025, 4, 10), date(2025, 4, 10), MoveContinuity::Continuous),
            (
                date(2025, 4, 10),
                date(2025, 4, 11),
                MoveContinuity::Gap { days: 1, from: date(2025, 4, 10), to: date(2025, 4, 10) },
            ),
            (
                date(2025, 4, 10),
                date(2025, 4, 13),
                MoveContinuity::Gap { days: 3, from: date(2025, 4, 10), to: date(2025, 4, 12) },
            ),
            (
                date(2025, 4, 10),
                date(2025, 4, 9),
                MoveContinuity::Overlap { days: 1, from: date(2025, 4, 9), to: date(2025, 4, 9) },
            ),
            (
                date(2025, 4, 10),
                date(2025, 4, 8),
                MoveContinuity::Overlap { days: 2, from: date(2025, 4, 8), to: date(2025, 4, 9) },
            ),
            // Across the end of February in a leap year.
            (
                date(2024, 2, 28),
                date(2024, 3, 1),
                MoveContinuity::Gap { days: 2, from: date(2024, 2, 28), to: date(2024, 2, 29) },
            ),
            (
                date(2024, 3, 1),
                date(2024, 2, 28),
                MoveContinuity::Overlap { days: 2, from: date(2024, 2, 28), to: date(2024, 2, 29) },
            ),
        ];
        for (former_lost_on, new_effective_on, continuity) in table {
            assert_eq!(
                move_continuity(former_lost_on, new_effective_on),
                continuity,
                "{former_lost_on} → {new_effective_on}"
            );
        }
    }
}
