//! The share of medical costs the insured person pays (一部負担金割合), 国民健康保険法 §42①.

use chrono::{Datelike, NaiveDate};

use super::age::{attains_age_on, seventy_fifth_birthday, SCHOOL_AGE};
use super::elderly::{decide_elderly_share, elderly_share_starts_on, ElderlyMember};
use super::error::{EligibilityError, RULE_DATE_OF_BIRTH, RULE_LATE_STAGE_ELDERLY};
use super::loss::{loss_effective_on, LossReason};
use super::settings::EligibilityRules;

pub use kokuho_events::CostShare;

/// The first day a child is no longer pre-school (義務教育就学前): the day after the first
/// 31 March on or after the day the child attains 6 (国民健康保険法 §42①二, using the legal
/// age of 年齢計算ニ関スル法律).
///
/// Equivalently, the first 1 April on or after the 6th birthday. The difference from a naive
/// "1 April after the 6th birthday" shows for a child born on 1 April: they attain 6 on
/// 31 March, start school that 1 April (学校教育法 §17), and pay 3割 from their 6th birthday.
pub fn pre_school_ends_on(date_of_birth: NaiveDate) -> NaiveDate {
    let attains = attains_age_on(date_of_birth, SCHOOL_AGE);
    let april_first = |year| NaiveDate::from_ymd_opt(year, 4, 1).expect("1 April exists");
    // The first 31 March on or after `attains` is in its own year when `attains` is on or
    // before 31 March, otherwise in the next; the end is the 1 April after it.
    if attains.month() <= 3 {
        april_first(attains.year())
    } else {
        april_first(attains.year() + 1)
    }
}

/// Whether the child is pre-school on `on` (born on or before `on`, and before
/// [`pre_school_ends_on`]).
pub fn is_pre_school(date_of_birth: NaiveDate, on: NaiveDate) -> bool {
    date_of_birth <= on && on < pre_school_ends_on(date_of_birth)
}

/// The pre-school share (2割 by default) when the child is pre-school on `on`, else `None`.
pub fn pre_school_share(date_of_birth: NaiveDate, on: NaiveDate, rules: &EligibilityRules) -> Option<CostShare> {
    is_pre_school(date_of_birth, on).then_some(rules.pre_school_share)
}

/// The share of a person born on `date_of_birth` on `on` (国民健康保険法 §42①):
///
/// - pre-school ([`pre_school_ends_on`]) → `pre_school_share` (2割);
/// - from [`elderly_share_starts_on`] until NHI ends at 75 → the household's 70–74 decision
///   ([`decide_elderly_share`]) over `household_elderly`, the household's 70–74 insured
///   members (including this person) with the figures of the income year that applies on `on`
///   ([`elderly_share_income_year`](super::elderly_share_income_year));
/// - otherwise → `standard_share` (3割), including the month in which the person attains 70.
///
/// Refused with `date_beyond_rule` before the birth, and from the day NHI ends at 75 (the
/// person is then in 後期高齢者医療, whose shares are not NHI's).
pub fn applicable_share(
    date_of_birth: NaiveDate,
    on: NaiveDate,
    household_elderly: &[ElderlyMember],
    rules: &EligibilityRules,
) -> Result<CostShare, EligibilityError> {
    if on < date_of_birth {
        return Err(EligibilityError::DateBeyondRule { date: on, rule: RULE_DATE_OF_BIRTH, limit: date_of_birth });
    }
    let late_stage_from =
        loss_effective_on(LossReason::ReachedLateStageElderly, seventy_fifth_birthday(date_of_birth), rules);
    if on >= late_stage_from {
        return Err(EligibilityError::DateBeyondRule {
            date: on,
            rule: RULE_LATE_STAGE_ELDERLY,
            limit: late_stage_from,
        });
    }
    if let Some(share) = pre_school_share(date_of_birth, on, rules) {
        return Ok(share);
    }
    if on >= elderly_share_starts_on(date_of_birth) {
        return Ok(decide_elderly_share(household_elderly, rules));
    }
    Ok(rules.standard_share)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eligibility::LateStageTransition;
    use crate::Yen;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn shares_display_as_wari() {
        // (share, display, tenths)
        let table = [(CostShare::ThreeTenths, "3割", 3), (CostShare::TwoTenths, "2割", 2)];
        for (share, text, tenths) in table {
            assert_eq!((share.to_string(), share.tenths()), (text.to_string(), tenths));
        }
    }

    #[test]
    fn pre_school_ends_with_the_first_31_march_after_attaining_6() {
        let rules = EligibilityRules::national_defaults();
        // (born, on, pre-school share or None)
        let table = [
            (date(2019, 4, 1), date(2025, 3, 31), Some(CostShare::TwoTenths)), // attains 6 on 31 March
            (date(2019, 4, 1), date(2025, 4, 1), None),                        // school from 6th birthday
            (date(2019, 4, 2), date(2025, 4, 1), Some(CostShare::TwoTenths)),  // attains 6 on 1 April
            (date(2019, 4, 2), date(2026, 3, 31), Some(CostShare::TwoTenths)),
            (date(2019, 4, 2), date(2026, 4, 1), None),
            (date(2019, 3, 31), date(2025, 3, 31), Some(CostShare::TwoTenths)), // 6th birthday, still pre-school
            (date(2019, 3, 31), date(2025, 4, 1), None),
            (date(2018, 12, 25), date(2025, 3, 31), Some(CostShare::TwoTenths)),
            (date(2018, 12, 25), date(2025, 4, 1), None),
            (date(2020, 2, 29), date(2026, 3, 31), Some(CostShare::TwoTenths)), // attains 6 on 28 Feb 2026
            (date(2020, 2, 29), date(2026, 4, 1), None),
            (date(2025, 6, 1), date(2025, 6, 1), Some(CostShare::TwoTenths)), // day of birth
            (date(2025, 6, 1), date(2025, 5, 31), None),                      // not yet born
        ];
        for (born, on, share) in table {
            assert_eq!(pre_school_share(born, on, &rules), share, "born {born} on {on}");
        }
    }

    fn elderly_member(taxable: i64) -> ElderlyMember {
        ElderlyMember {
            taxable_income: Yen::new(taxable),
            kyu_tadashigaki_income: Yen::new(3_000_000),
            income: Yen::new(6_000_000),
            applied_for_income_exception: false,
        }
    }

    #[test]
    fn the_share_of_a_person_on_a_date() {
        use CostShare::{ThreeTenths, TwoTenths};
        use LateStageTransition::{DayAfterBirthday, OnBirthday};
        let active = [elderly_member(2_000_000)];
        let general = [elderly_member(0)];
        let born = date(1955, 3, 2); // attains 70 on 2025-03-01; 75th birthday 2030-03-02
                                     // (on, household 70–74, late-stage setting, result)
        type Row<'a> = (NaiveDate, &'a [ElderlyMember], LateStageTransition, Result<CostShare, EligibilityError>);
        let table: Vec<Row> = vec![
            (
                date(1955, 3, 1),
                &general,
                OnBirthday,
                Err(EligibilityError::DateBeyondRule { date: date(1955, 3, 1), rule: RULE_DATE_OF_BIRTH, limit: born }),
            ),
            (date(1960, 1, 1), &general, OnBirthday, Ok(TwoTenths)), // pre-school
            (date(1961, 4, 1), &general, OnBirthday, Ok(ThreeTenths)), // school age
            (date(2025, 3, 31), &general, OnBirthday, Ok(ThreeTenths)), // the month of attaining 70
            (date(2025, 4, 1), &general, OnBirthday, Ok(TwoTenths)), // the month after: 一般
            (date(2025, 4, 1), &active, OnBirthday, Ok(ThreeTenths)), // the month after: 現役並み
            (date(2030, 3, 1), &general, OnBirthday, Ok(TwoTenths)), // last NHI day
            (
                date(2030, 3, 2),
                &general,
                OnBirthday,
                Err(EligibilityError::DateBeyondRule {
                    date: date(2030, 3, 2),
                    rule: RULE_LATE_STAGE_ELDERLY,
                    limit: date(2030, 3, 2),
                }),
            ),
            (date(2030, 3, 2), &general, DayAfterBirthday, Ok(TwoTenths)), // still NHI on the birthday
            (
                date(2030, 3, 3),
                &general,
                DayAfterBirthday,
                Err(EligibilityError::DateBeyondRule {
                    date: date(2030, 3, 3),
                    rule: RULE_LATE_STAGE_ELDERLY,
                    limit: date(2030, 3, 3),
                }),
            ),
        ];
        for (on, household, transition, result) in table {
            let rules = EligibilityRules { late_stage_transition: transition, ..EligibilityRules::national_defaults() };
            assert_eq!(applicable_share(born, on, household, &rules), result, "on {on} {transition:?}");
        }
    }

    #[test]
    fn a_person_born_on_the_1st_pays_the_70_to_74_share_from_the_birthday_month() {
        let rules = EligibilityRules::national_defaults();
        let born = date(1955, 3, 1);
        let general = [elderly_member(0)];
        // (on, share)
        let table = [(date(2025, 2, 28), CostShare::ThreeTenths), (date(2025, 3, 1), CostShare::TwoTenths)];
        for (on, share) in table {
            assert_eq!(applicable_share(born, on, &general, &rules), Ok(share), "on {on}");
        }
    }
}
