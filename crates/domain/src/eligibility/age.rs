//! Age under Japanese law, and the birthdays the eligibility rules hang on.
//!
//! Two counts exist and the rules use both, so they are kept apart:
//!
//! - **The ordinary count** ([`age_on`], [`birthday`]): a person is N from their Nth birthday.
//!   This is what the person and the counter say; no eligibility rule decides on it directly.
//! - **The legal count** ([`attains_age_on`], [`legal_age_on`]): 年齢計算ニ関スル法律 (明治35年
//!   法律第50号) counts age from the day of birth and applies 民法 §143, so the period of N
//!   years ends at the end of the day *before* the Nth birthday: that day is the day a person
//!   "attains" (に達する) N. Statutes written as "N歳に達する日" mean this day.
//!
//! Which rule uses which:
//!
//! | rule | count | source |
//! |---|---|---|
//! | pre-school 2割 until the first 31 March on/after attaining 6 | legal | 国民健康保険法 §42①二 |
//! | 70–74 share from the month after the month of attaining 70 | legal | 国民健康保険法 §42①三 |
//! | NHI ends on reaching 75 (on or after the 75th birthday, per setting) | ordinary birthday | 高齢者の医療の確保に関する法律 §52; docs/domain.md §4 |
//!
//! **29 February.** In a common year there is no 29 February; 民法 §143② then ends the
//! period on the last day of February, so the person attains the age on 28 February and the
//! (ordinary) birthday is taken as 1 March, the day after.

use chrono::{Datelike, Days, NaiveDate};

/// 義務教育: the school age (学校教育法 §17) that ends the pre-school rule (国民健康保険法 §42①二).
pub const SCHOOL_AGE: u32 = 6;
/// The age from whose following month the 70–74 share applies (国民健康保険法 §42①三).
pub const ELDERLY_SHARE_AGE: u32 = 70;
/// The age at which a person leaves NHI for 後期高齢者医療 (高齢者の医療の確保に関する法律 §50).
pub const LATE_STAGE_AGE: u32 = 75;

/// The Nth birthday of a person born on `date_of_birth` (the ordinary count).
///
/// For a 29 February birth in a common year, 1 March (民法 §143②; see the module doc).
///
/// # Panics
/// Only when the birthday lies beyond chrono's last representable year (262,142).
pub fn birthday(date_of_birth: NaiveDate, age: u32) -> NaiveDate {
    checked_birthday(date_of_birth, age).expect("a birthday within chrono's range of years")
}

fn checked_birthday(date_of_birth: NaiveDate, age: u32) -> Option<NaiveDate> {
    let year = date_of_birth.year().checked_add(i32::try_from(age).ok()?)?;
    match NaiveDate::from_ymd_opt(year, date_of_birth.month(), date_of_birth.day()) {
        Some(day) => Some(day),
        // Only 29 February lacks a counterpart in some years.
        None if date_of_birth.month() == 2 && date_of_birth.day() == 29 => NaiveDate::from_ymd_opt(year, 3, 1),
        None => None,
    }
}

/// The day a person attains `age` under 年齢計算ニ関スル法律: the day before the birthday.
///
/// For a 29 February birth in a common year, 28 February.
///
/// # Panics
/// Only when the date lies beyond chrono's last representable year.
pub fn attains_age_on(date_of_birth: NaiveDate, age: u32) -> NaiveDate {
    birthday(date_of_birth, age) - Days::new(1)
}

/// The age on `on` by the ordinary count (birthdays passed), or `None` before the birth.
pub fn age_on(date_of_birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    if on < date_of_birth {
        return None;
    }
    let mut years = u32::try_from(on.year() - date_of_birth.year()).ok()?;
    // The birthday of this calendar year is representable: its year is `on`'s.
    if birthday(date_of_birth, years) > on {
        years -= 1;
    }
    Some(years)
}

/// The age on `on` by the legal count: the ages attained on or before `on`, which is one more
/// than [`age_on`] on the day before each birthday. `None` before the birth.
pub fn legal_age_on(date_of_birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    if on < date_of_birth {
        return None;
    }
    match on.succ_opt() {
        Some(next) => age_on(date_of_birth, next),
        None => age_on(date_of_birth, on),
    }
}

/// The 75th birthday: the event date of [`LossReason::ReachedLateStageElderly`](super::LossReason).
pub fn seventy_fifth_birthday(date_of_birth: NaiveDate) -> NaiveDate {
    birthday(date_of_birth, LATE_STAGE_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ordinary_and_legal_ages_differ_only_on_the_day_before_a_birthday() {
        // (born, on, ordinary age, legal age)
        let table = [
            (date(1980, 5, 5), date(1980, 5, 5), Some(0), Some(0)), // day of birth
            (date(1980, 5, 5), date(2025, 5, 3), Some(44), Some(44)),
            (date(1980, 5, 5), date(2025, 5, 4), Some(44), Some(45)), // attains 45
            (date(1980, 5, 5), date(2025, 5, 5), Some(45), Some(45)), // birthday
            (date(1980, 5, 5), date(1980, 5, 4), None, None),         // before birth
            (date(2000, 2, 29), date(2001, 2, 27), Some(0), Some(0)),
            (date(2000, 2, 29), date(2001, 2, 28), Some(0), Some(1)), // attains 1 (common year)
            (date(2000, 2, 29), date(2001, 3, 1), Some(1), Some(1)),  // birthday taken as 1 March
            (date(2000, 2, 29), date(2004, 2, 28), Some(3), Some(4)), // leap year: attains on 28th
            (date(2000, 2, 29), date(2004, 2, 29), Some(4), Some(4)), // leap year: real birthday
            (date(1955, 1, 1), date(2024, 12, 31), Some(69), Some(70)), // attains 70 in the old year
        ];
        for (born, on, ordinary, legal) in table {
            assert_eq!((age_on(born, on), legal_age_on(born, on)), (ordinary, legal), "born {born} on {on}");
        }
    }

    #[test]
    fn a_person_attains_an_age_on_the_day_before_the_birthday() {
        // (born, age, birthday, attains on)
        let table = [
            (date(1955, 3, 2), 70, date(2025, 3, 2), date(2025, 3, 1)),
            (date(1955, 3, 1), 70, date(2025, 3, 1), date(2025, 2, 28)), // born on the 1st
            (date(1955, 1, 1), 70, date(2025, 1, 1), date(2024, 12, 31)), // across the year
            (date(1956, 2, 29), 70, date(2026, 3, 1), date(2026, 2, 28)), // 29 Feb, common year
            (date(2000, 2, 29), 4, date(2004, 2, 29), date(2004, 2, 28)), // 29 Feb, leap year
            (date(1956, 3, 1), 68, date(2024, 3, 1), date(2024, 2, 29)), // born 1 March, leap year
        ];
        for (born, age, on_birthday, attains) in table {
            assert_eq!(
                (birthday(born, age), attains_age_on(born, age)),
                (on_birthday, attains),
                "born {born} age {age}"
            );
        }
    }

    #[test]
    fn seventy_fifth_birthdays() {
        // (born, 75th birthday)
        let table = [
            (date(1950, 6, 10), date(2025, 6, 10)),
            (date(1950, 4, 1), date(2025, 4, 1)),
            (date(1952, 2, 29), date(2027, 3, 1)), // 2027 is a common year: 1 March
            (date(1948, 2, 29), date(2023, 3, 1)), // a leap year + 75 is never a leap year
            (date(1950, 2, 28), date(2025, 2, 28)),
            (date(1949, 3, 1), date(2024, 3, 1)),
        ];
        for (born, seventy_fifth) in table {
            assert_eq!(seventy_fifth_birthday(born), seventy_fifth, "born {born}");
        }
    }
}
