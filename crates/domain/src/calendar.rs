//! The fiscal year (年度): April to March.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// `FiscalYear(2025)` runs from 2025-04-01 to 2026-03-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FiscalYear(i32);

impl FiscalYear {
    pub fn new(year: i32) -> FiscalYear {
        FiscalYear(year)
    }
    pub fn containing(date: NaiveDate) -> FiscalYear {
        FiscalYear(if date.month() >= 4 { date.year() } else { date.year() - 1 })
    }
    pub fn year(self) -> i32 {
        self.0
    }
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 4, 1).expect("1 April exists")
    }
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0 + 1, 3, 31).expect("31 March exists")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn march_belongs_to_the_previous_fiscal_year() {
        assert_eq!(FiscalYear::containing(date(2026, 3, 31)), FiscalYear::new(2025));
        assert_eq!(FiscalYear::containing(date(2026, 4, 1)), FiscalYear::new(2026));
        assert_eq!(FiscalYear::new(2025).last_day(), date(2026, 3, 31));
    }
}
