//! The collection rule files: the national figures (`rules/collection_national.toml`: the
//! calendar that moves a due date, the reminder deadline, the late-fee rates of each calendar
//! year, the conditions of pension withholding) and a municipality's own for one fiscal year
//! (`rules/<tenant>/<year>/collection.toml`: its ordinary installments and rounding unit).
//! Documented in `rules/README.md` and docs/domain.md §5; every figure carries its `source`, and
//! one that could not be checked against a public page says so in `assumed`.
//!
//! Both are parsed strictly (`deny_unknown_fields`) and then checked by [`CollectionRules::new`],
//! which names the key at fault.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::tax::{Fraction, Rate};

use super::CollectionRejection;

/// When a due date falls on a day the offices are closed (地方税法 §20の5 ②).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueDates {
    /// Days closed every year, as `"MM-DD"`: 29–31 December (named by §20の5 ②) and 1–3 January
    /// (一般の休日).
    pub year_end: Vec<String>,
    /// The national holidays (国民の祝日に関する法律: 祝日, 振替休日, 国民の休日), ascending.
    pub holidays: Vec<NaiveDate>,
    /// The calendar years the holiday list is complete for; a date in another year is refused
    /// rather than computed without its holidays.
    pub holidays_from: i32,
    pub holidays_through: i32,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// The reminder (督促状): issued within `days_after_due` days after the due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderRules {
    pub days_after_due: u32,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// The late-fee rates in force for the days of one calendar year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LateFeeYear {
    pub year: i32,
    /// For the days up to the end of the first month after the due date (延滞金特例基準割合 + 1%).
    pub within_month: Rate,
    /// For the days after (延滞金特例基準割合 + 7.3%).
    pub after: Rate,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// How a late fee (延滞金) is computed (地方税法 §20の4の2 ②⑤, §723, 附則 §3の2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LateFeeRules {
    /// The months after the due date charged at `within_month` (1).
    pub within_months: u32,
    /// The statutory rates the yearly ones may not exceed (7.3% and 14.6%).
    pub cap_within_month: Rate,
    pub cap_after: Rate,
    /// The principal is truncated to this unit (1,000)…
    pub principal_unit: i64,
    /// …and bears no fee when below this (2,000).
    pub principal_minimum: i64,
    /// The fee is truncated to this unit (100)…
    pub fee_unit: i64,
    /// …and is not charged when below this (1,000).
    pub fee_minimum: i64,
    /// Days in a year for the daily rate, leap years included (365).
    pub days_in_year: i64,
    pub source: String,
    /// By ascending `year`, without gaps.
    pub years: Vec<LateFeeYear>,
}

impl LateFeeRules {
    /// The rates for days of `year`.
    pub fn year(&self, year: i32) -> Option<&LateFeeYear> {
        self.years.iter().find(|entry| entry.year == year)
    }
}

/// Who has the tax withheld from the pension (年金特別徴収, 地方税法 §706 ②, §706の2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialCollectionRules {
    /// The calendar months of the six withholdings, in fiscal order (4, 6, 8, 10, 12, 2).
    pub months: Vec<u32>,
    /// How many of them are provisional (仮徴収: April, June, August), at the amount fixed
    /// before the year's assessment; the rest (本徴収) share what remains.
    pub provisional: u32,
    /// The day of the month the pension is paid (15); a closed day moves it to the business day
    /// before.
    pub pension_day: u32,
    /// Every insured member, the head included, is at least this old…
    pub min_age: u32,
    /// …and below this age for the whole fiscal year (75: 後期高齢者医療).
    pub below_age: u32,
    /// The head's annual pension is at least this (180,000).
    pub min_annual_pension: i64,
    /// NHI tax + care premium is at most this share of the annual pension (1/2).
    pub max_share: Fraction,
    /// The head's care premium (介護保険料) must itself be withheld.
    pub requires_care_premium_withheld: bool,
    pub source: String,
}

/// `rules/collection_national.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalCollection {
    pub due_dates: DueDates,
    pub reminder: ReminderRules,
    pub late_fee: LateFeeRules,
    pub special_collection: SpecialCollectionRules,
}

/// A due day other than the month's last day, for one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueDay {
    pub month: u32,
    pub day: u32,
}

/// A municipality's ordinary installments (普通徴収).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ordinary {
    /// The calendar months of the installments, in fiscal order (Kumagaya: 7 … 2).
    pub months: Vec<u32>,
    /// Months whose due date is not the last day (e.g. 25 December in some towns).
    #[serde(default)]
    pub due_days: Vec<DueDay>,
    /// Every installment after the first is a multiple of this (地方税法 §20の4の2 ⑥: 1,000, or
    /// what the 条例 sets, commonly 100); the first takes the remainder.
    pub unit: i64,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// The rounding of the withheld amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitySpecial {
    /// Every 本徴収 after the first is a multiple of this; the first takes the remainder.
    pub unit: i64,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// `rules/<tenant>/<year>/collection.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityCollection {
    pub tenant: String,
    pub fiscal_year: i32,
    pub source: String,
    pub ordinary: Ordinary,
    pub special: CitySpecial,
}

/// A check of a collection file that failed: the dotted key and why.
pub type CollectionRulesError = crate::rule_check::RuleCheckError;
use crate::rule_check::refuse as fault;

/// The collection rules of one municipality and fiscal year, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRules {
    pub fiscal_year: i32,
    pub national: NationalCollection,
    pub city: CityCollection,
    /// `year_end` parsed: (month, day).
    closed_every_year: Vec<(u32, u32)>,
}

/// Whether `months` are distinct calendar months in fiscal order (April … March).
fn in_fiscal_order(months: &[u32]) -> bool {
    let order = |month: u32| (month + 8) % 12; // April → 0, March → 11
    months.iter().all(|month| (1..=12).contains(month)) && months.windows(2).all(|w| order(w[0]) < order(w[1]))
}

const UNITS: [i64; 4] = [1, 10, 100, 1000];

impl CollectionRules {
    /// Checks the two files against each other and themselves: the city file is the tenant's for
    /// `fiscal_year`; months are in fiscal order; units are 1, 10, 100 or 1,000; the holidays are
    /// ascending and within `holidays_through`; the late-fee years ascend without gaps and their
    /// rates stay within the statutory caps.
    pub fn new(
        national: NationalCollection,
        city: CityCollection,
        tenant: &str,
        fiscal_year: i32,
    ) -> Result<CollectionRules, CollectionRulesError> {
        if city.tenant != tenant {
            return Err(fault("tenant", "must be the municipality whose folder holds the file"));
        }
        if city.fiscal_year != fiscal_year {
            return Err(fault("fiscal_year", "must be the fiscal year whose folder holds the file"));
        }
        let ordinary = &city.ordinary;
        if ordinary.months.is_empty() || !in_fiscal_order(&ordinary.months) {
            return Err(fault(
                "ordinary.months",
                "must be distinct calendar months (1–12) in fiscal order, April first",
            ));
        }
        for (index, due) in ordinary.due_days.iter().enumerate() {
            if !ordinary.months.contains(&due.month) || !(1..=28).contains(&due.day) {
                return Err(fault(
                    format!("ordinary.due_days[{index}]"),
                    "must name one of ordinary.months and a day from 1 to 28",
                ));
            }
        }
        if !UNITS.contains(&ordinary.unit) {
            return Err(fault("ordinary.unit", "must be 1, 10, 100 or 1000"));
        }
        if !UNITS.contains(&city.special.unit) {
            return Err(fault("special.unit", "must be 1, 10, 100 or 1000"));
        }
        let dates = &national.due_dates;
        let mut closed_every_year = Vec::new();
        for text in &dates.year_end {
            let parsed = text
                .split_once('-')
                .and_then(|(month, day)| Some((month.parse::<u32>().ok()?, day.parse::<u32>().ok()?)))
                .filter(|(month, day)| NaiveDate::from_ymd_opt(2024, *month, *day).is_some());
            let Some(parsed) = parsed else {
                return Err(fault("due_dates.year_end", "each day must be written \"MM-DD\", e.g. \"12-29\""));
            };
            closed_every_year.push(parsed);
        }
        if !dates.holidays.windows(2).all(|w| w[0] < w[1]) {
            return Err(fault("due_dates.holidays", "must be distinct dates in ascending order"));
        }
        if dates.holidays.last().is_some_and(|last| last.year() > dates.holidays_through) {
            return Err(fault("due_dates.holidays_through", "must be at least the year of the last holiday listed"));
        }
        if dates.holidays.first().is_some_and(|first| first.year() < dates.holidays_from)
            || dates.holidays_from > dates.holidays_through
        {
            return Err(fault(
                "due_dates.holidays_from",
                "must be at most the year of the first holiday listed and of holidays_through",
            ));
        }
        let reminder = &national.reminder;
        if reminder.days_after_due == 0 || reminder.days_after_due > 366 {
            return Err(fault("reminder.days_after_due", "must be from 1 to 366"));
        }
        let fee = &national.late_fee;
        let positive = [
            ("late_fee.principal_unit", fee.principal_unit),
            ("late_fee.principal_minimum", fee.principal_minimum),
            ("late_fee.fee_unit", fee.fee_unit),
            ("late_fee.fee_minimum", fee.fee_minimum),
            ("late_fee.days_in_year", fee.days_in_year),
        ];
        for (key, value) in positive {
            if !(1..=1_000_000).contains(&value) {
                return Err(fault(key, "must be an amount from 1 to 1,000,000"));
            }
        }
        if fee.within_months == 0 || fee.within_months > 12 {
            return Err(fault("late_fee.within_months", "must be from 1 to 12"));
        }
        if fee.years.is_empty() {
            return Err(fault("late_fee.years", "must list the rates of at least one calendar year"));
        }
        for (index, entry) in fee.years.iter().enumerate() {
            if index > 0 && entry.year != fee.years[index - 1].year + 1 {
                return Err(fault(
                    format!("late_fee.years[{index}].year"),
                    "must be consecutive calendar years in ascending order",
                ));
            }
            if entry.within_month > fee.cap_within_month {
                return Err(fault(format!("late_fee.years[{index}].within_month"), "must not exceed cap_within_month"));
            }
            if entry.after > fee.cap_after {
                return Err(fault(format!("late_fee.years[{index}].after"), "must not exceed cap_after"));
            }
        }
        let special = &national.special_collection;
        if special.months.is_empty() || !in_fiscal_order(&special.months) {
            return Err(fault(
                "special_collection.months",
                "must be distinct calendar months (1–12) in fiscal order, April first",
            ));
        }
        if special.provisional as usize >= special.months.len() {
            return Err(fault("special_collection.provisional", "must be fewer than the months listed"));
        }
        if !(1..=28).contains(&special.pension_day) {
            return Err(fault("special_collection.pension_day", "must be a day from 1 to 28"));
        }
        if special.min_age >= special.below_age {
            return Err(fault("special_collection.below_age", "must be above min_age"));
        }
        if special.min_annual_pension < 0 {
            return Err(fault("special_collection.min_annual_pension", "must be an amount of yen, 0 or more"));
        }
        Ok(CollectionRules { fiscal_year, national, city, closed_every_year })
    }

    /// Whether the offices are closed on `date` for the purpose of a due date: a Saturday, a
    /// Sunday, a day of `year_end`, or a listed national holiday. Refused for a year outside
    /// `holidays_from..=holidays_through`.
    pub fn is_closed(&self, date: NaiveDate) -> Result<bool, CollectionRejection> {
        let dates = &self.national.due_dates;
        if !(dates.holidays_from..=dates.holidays_through).contains(&date.year()) {
            return Err(CollectionRejection::CalendarNotCovered { year: date.year() });
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let year_end = self.closed_every_year.contains(&(date.month(), date.day()));
        Ok(weekend || year_end || dates.holidays.binary_search(&date).is_ok())
    }

    /// `date`, or the next day the offices are open when it is closed (地方税法 §20の5 ②: the
    /// due date becomes the day after).
    pub fn open_on_or_after(&self, mut date: NaiveDate) -> Result<NaiveDate, CollectionRejection> {
        while self.is_closed(date)? {
            date = date.succ_opt().ok_or(CollectionRejection::CalendarNotCovered { year: date.year() })?;
        }
        Ok(date)
    }

    /// `date`, or the last open day before it when it is closed (the pension is paid early).
    pub fn open_on_or_before(&self, mut date: NaiveDate) -> Result<NaiveDate, CollectionRejection> {
        while self.is_closed(date)? {
            date = date.pred_opt().ok_or(CollectionRejection::CalendarNotCovered { year: date.year() })?;
        }
        Ok(date)
    }

    /// The calendar year of `month` in this fiscal year (April–December: the year itself;
    /// January–March: the next).
    pub fn calendar_year(&self, month: u32) -> i32 {
        if month >= 4 {
            self.fiscal_year
        } else {
            self.fiscal_year + 1
        }
    }

    /// The due date of the ordinary installment in `month`: the month's last day (or the day of
    /// `due_days`), moved to the next open day.
    pub fn ordinary_due(&self, month: u32) -> Result<NaiveDate, CollectionRejection> {
        let year = self.calendar_year(month);
        let day = self.city.ordinary.due_days.iter().find(|due| due.month == month).map(|due| due.day);
        let nominal = match day {
            Some(day) => NaiveDate::from_ymd_opt(year, month, day),
            None => last_day_of_month(year, month),
        }
        .ok_or(CollectionRejection::CalendarNotCovered { year })?;
        self.open_on_or_after(nominal)
    }

    /// The date of the withholding in `month`: the pension day, moved to the open day before.
    pub fn special_due(&self, month: u32) -> Result<NaiveDate, CollectionRejection> {
        let year = self.calendar_year(month);
        let nominal = NaiveDate::from_ymd_opt(year, month, self.national.special_collection.pension_day)
            .ok_or(CollectionRejection::CalendarNotCovered { year })?;
        self.open_on_or_before(nominal)
    }

    /// The last day a reminder for an installment due on `due` is issued in time.
    pub fn reminder_deadline(&self, due: NaiveDate) -> NaiveDate {
        due.checked_add_days(Days::new(u64::from(self.national.reminder.days_after_due))).unwrap_or(NaiveDate::MAX)
    }
}

/// The last day of `month` in `year`.
pub fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()
}
