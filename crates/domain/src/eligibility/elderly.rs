//! Ages 70–74 (前期高齢者): when the 70–74 share starts, the 現役並み (3割) decision, and its
//! yearly re-decision on 1 August. 国民健康保険法 §42①三・四; docs/domain.md §4 and §6.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::age::{attains_age_on, ELDERLY_SHARE_AGE};
use super::cost_share::CostShare;
use super::settings::EligibilityRules;
use crate::{FiscalYear, Yen};

/// The first day of the 70–74 share: the first day of the month after the month in which the
/// person attains 70 (国民健康保険法 §42①三, "七十歳に達する日の属する月の翌月以後").
///
/// Attaining 70 is the day before the 70th birthday (年齢計算ニ関スル法律), so a person born
/// on the 1st attains 70 on the last day of the previous month, and the share starts on the
/// 1st of the birthday month itself (docs/domain.md §4: "same month if born on the 1st").
pub fn elderly_share_starts_on(date_of_birth: NaiveDate) -> NaiveDate {
    let attains = attains_age_on(date_of_birth, ELDERLY_SHARE_AGE);
    let (year, month) =
        if attains.month() == 12 { (attains.year() + 1, 1) } else { (attains.year(), attains.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1).expect("the 1st of a month exists")
}

/// One insured member of the household aged 70–74 on the decision date, with the figures of the
/// income year that applies ([`elderly_share_income_year`]). Money in yen.
///
/// Pass only the 70–74 insured members of the household: members under 70, members who are
/// not insured (擬制世帯主) and members in 後期高齢者医療 do not take part in the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElderlyMember {
    /// 課税所得 (住民税の課税標準額).
    pub taxable_income: Yen,
    /// 旧ただし書所得: total income etc. less the basic deduction (基礎控除後の総所得金額等).
    pub kyu_tadashigaki_income: Yen,
    /// 収入: gross income, for the 基準収入額適用申請.
    pub income: Yen,
    /// Whether the household applied for the 基準収入額 exception. The head of household
    /// applies for the whole household, so the application counts when any member carries it;
    /// it can only lower the share, never raise it.
    pub applied_for_income_exception: bool,
}

/// Why the household's 70–74 members have the share they have: the branch of the decision,
/// with the figures it compared, so a decision event can record its ground.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "basis")]
pub enum ElderlyShareBasis {
    /// No 70–74 member's taxable income reaches the threshold: 一般 (2割).
    NoMemberAtThreshold,
    /// A member reaches the threshold, but the 70–74 members' 旧ただし書所得 add up to at most
    /// the limit: 一般 (2割). No application needed.
    KyuTadashigakiWithinLimit { total: Yen, limit: Yen },
    /// A member reaches the threshold, and on application the 70–74 members' income is below
    /// the limit for their number: 一般 (2割).
    IncomeUnderApplicationLimit { total_income: Yen, limit: Yen, members: usize },
    /// 現役並み (3割): the highest taxable income reaches the threshold and no exception applies.
    ActiveIncome { highest_taxable_income: Yen, applied_for_income_exception: bool },
}

impl ElderlyShareBasis {
    /// The share this ground gives under `rules`.
    pub fn share(&self, rules: &EligibilityRules) -> CostShare {
        match self {
            ElderlyShareBasis::ActiveIncome { .. } => rules.elderly.active_income_share,
            ElderlyShareBasis::NoMemberAtThreshold
            | ElderlyShareBasis::KyuTadashigakiWithinLimit { .. }
            | ElderlyShareBasis::IncomeUnderApplicationLimit { .. } => rules.elderly.general_share,
        }
    }
}

fn sum(amounts: impl Iterator<Item = Yen>) -> Yen {
    // Saturate: a corrupted figure must not wrap a sum round to a small income.
    amounts.fold(Yen::ZERO, |total, amount| Yen::new(total.amount().saturating_add(amount.amount())))
}

/// The ground of the household's 70–74 share (docs/domain.md §4):
///
/// 1. 3割 only if some 70–74 member has taxable income ≥ `taxable_income_threshold` (1,450,000);
/// 2. unless the members' 旧ただし書所得 add up to ≤ `kyu_tadashigaki_total_limit` (2,100,000) —
///    the rule for households with a member born on or after 1945-01-02, which every 70–74
///    person has been since 2020, so it is applied without a birth-date check;
/// 3. or, on application, the income of a single member is < `income_limit_one_person`
///    (3,830,000), or of two or more members together < `income_limit_two_or_more` (5,200,000).
///
/// Not modelled: the one-member household whose former member moved to 後期高齢者医療
/// (旧国保被保険者), whose combined income is compared with the two-person limit.
pub fn elderly_share_basis(household_members: &[ElderlyMember], rules: &EligibilityRules) -> ElderlyShareBasis {
    let thresholds = &rules.elderly;
    let highest_taxable_income = household_members.iter().map(|m| m.taxable_income).max();
    let highest_taxable_income = match highest_taxable_income {
        Some(highest) if highest >= thresholds.taxable_income_threshold => highest,
        _ => return ElderlyShareBasis::NoMemberAtThreshold,
    };

    let kyu_total = sum(household_members.iter().map(|m| m.kyu_tadashigaki_income));
    if kyu_total <= thresholds.kyu_tadashigaki_total_limit {
        return ElderlyShareBasis::KyuTadashigakiWithinLimit {
            total: kyu_total,
            limit: thresholds.kyu_tadashigaki_total_limit,
        };
    }

    let applied = household_members.iter().any(|m| m.applied_for_income_exception);
    if applied {
        let members = household_members.len();
        let limit = if members == 1 { thresholds.income_limit_one_person } else { thresholds.income_limit_two_or_more };
        let total_income = sum(household_members.iter().map(|m| m.income));
        // "未満": strictly below the limit.
        if total_income < limit {
            return ElderlyShareBasis::IncomeUnderApplicationLimit { total_income, limit, members };
        }
    }
    ElderlyShareBasis::ActiveIncome { highest_taxable_income, applied_for_income_exception: applied }
}

/// The household's 70–74 share: 3割 (現役並み) or 2割 (一般). See [`elderly_share_basis`].
///
/// With no members nobody reaches the threshold, which gives the general share.
pub fn decide_elderly_share(household_members: &[ElderlyMember], rules: &EligibilityRules) -> CostShare {
    elderly_share_basis(household_members, rules).share(rules)
}

/// The calendar year whose income decides the 70–74 share on `on`: the previous year for
/// August–December, two years before for January–July (docs/domain.md §6; the share is re-decided
/// every 1 August, docs/domain.md §4, when the new year's resident-tax figures are available).
pub fn elderly_share_income_year(on: NaiveDate) -> i32 {
    if on.month() >= 8 {
        on.year() - 1
    } else {
        on.year() - 2
    }
}

/// The first 1 August strictly after `after`: the next re-decision of the 70–74 share.
pub fn next_elderly_share_redecision(after: NaiveDate) -> NaiveDate {
    let this_year = NaiveDate::from_ymd_opt(after.year(), 8, 1).expect("1 August exists");
    if this_year > after {
        this_year
    } else {
        NaiveDate::from_ymd_opt(after.year() + 1, 8, 1).expect("1 August exists")
    }
}

/// The latest 1 August on or before `on`: the re-decision of the 70–74 share in force on `on`.
pub fn latest_elderly_share_redecision(on: NaiveDate) -> NaiveDate {
    let a_year_before = on.checked_sub_months(chrono::Months::new(12)).expect("a year before exists");
    next_elderly_share_redecision(a_year_before)
}

/// The first day whose 70–74 share the income of `income_year` decides: 1 August of the next
/// year (see [`elderly_share_income_year`]).
pub fn first_day_decided_by_income_of(income_year: i32) -> NaiveDate {
    let last_day = NaiveDate::from_ymd_opt(income_year, 12, 31).expect("31 December exists");
    next_elderly_share_redecision(last_day)
}

/// The re-decision day (1 August) within a fiscal year (April–March): FY2025 → 2025-08-01.
pub fn elderly_share_redecision_in(fiscal_year: FiscalYear) -> NaiveDate {
    next_elderly_share_redecision(fiscal_year.first_day() - Days::new(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn member(taxable: i64, kyu: i64, income: i64, applied: bool) -> ElderlyMember {
        ElderlyMember {
            taxable_income: Yen::new(taxable),
            kyu_tadashigaki_income: Yen::new(kyu),
            income: Yen::new(income),
            applied_for_income_exception: applied,
        }
    }

    #[test]
    fn the_70_to_74_share_starts_the_month_after_attaining_70() {
        // (born, first day of the 70–74 share)
        let table = [
            (date(1955, 3, 1), date(2025, 3, 1)),   // born on the 1st: the birthday month
            (date(1955, 3, 2), date(2025, 4, 1)),   // attains 70 on 1 March: April
            (date(1955, 3, 31), date(2025, 4, 1)),  // end of month
            (date(1955, 1, 1), date(2025, 1, 1)),   // born 1 January: attains 70 on 31 December
            (date(1955, 12, 2), date(2026, 1, 1)),  // December birthday: January next year
            (date(1955, 12, 1), date(2025, 12, 1)), // born 1 December: December
            (date(1956, 2, 29), date(2026, 3, 1)),  // 29 Feb, common year: attains 70 on 28 Feb
            (date(1954, 2, 28), date(2024, 3, 1)),  // attains 70 on 27 Feb
        ];
        for (born, starts_on) in table {
            assert_eq!(elderly_share_starts_on(born), starts_on, "born {born}");
        }
    }

    #[test]
    fn every_branch_of_the_70_to_74_decision() {
        use CostShare::{ThreeTenths, TwoTenths};
        let rules = EligibilityRules::national_defaults();
        let two_person_limit = Yen::new(5_200_000);
        let one_person_limit = Yen::new(3_830_000);
        // (household's 70–74 members, share, ground)
        let table: Vec<(Vec<ElderlyMember>, CostShare, ElderlyShareBasis)> = vec![
            (vec![], TwoTenths, ElderlyShareBasis::NoMemberAtThreshold),
            (vec![member(1_449_999, 3_000_000, 5_000_000, false)], TwoTenths, ElderlyShareBasis::NoMemberAtThreshold),
            (
                vec![member(1_450_000, 2_100_001, 5_000_000, false)],
                ThreeTenths,
                ElderlyShareBasis::ActiveIncome {
                    highest_taxable_income: Yen::new(1_450_000),
                    applied_for_income_exception: false,
                },
            ),
            // 旧ただし書所得 exactly at the 2,100,000 limit ("以下"): 2割.
            (
                vec![member(1_450_000, 2_100_000, 5_000_000, false)],
                TwoTenths,
                ElderlyShareBasis::KyuTadashigakiWithinLimit { total: Yen::new(2_100_000), limit: Yen::new(2_100_000) },
            ),
            // The 旧ただし書所得 of both members add up.
            (
                vec![member(1_500_000, 1_100_000, 0, false), member(0, 1_000_000, 0, false)],
                TwoTenths,
                ElderlyShareBasis::KyuTadashigakiWithinLimit { total: Yen::new(2_100_000), limit: Yen::new(2_100_000) },
            ),
            (
                vec![member(1_500_000, 1_100_001, 0, false), member(0, 1_000_000, 0, false)],
                ThreeTenths,
                ElderlyShareBasis::ActiveIncome {
                    highest_taxable_income: Yen::new(1_500_000),
                    applied_for_income_exception: false,
                },
            ),
            // Application, one person: income below 3,830,000.
            (
                vec![member(1_600_000, 2_500_000, 3_829_999, true)],
                TwoTenths,
                ElderlyShareBasis::IncomeUnderApplicationLimit {
                    total_income: Yen::new(3_829_999),
                    limit: one_person_limit,
                    members: 1,
                },
            ),
            // Application, one person: exactly 3,830,000 is not below ("未満").
            (
                vec![member(1_600_000, 2_500_000, 3_830_000, true)],
                ThreeTenths,
                ElderlyShareBasis::ActiveIncome {
                    highest_taxable_income: Yen::new(1_600_000),
                    applied_for_income_exception: true,
                },
            ),
            // No application: the same low income does not help.
            (
                vec![member(1_600_000, 2_500_000, 3_000_000, false)],
                ThreeTenths,
                ElderlyShareBasis::ActiveIncome {
                    highest_taxable_income: Yen::new(1_600_000),
                    applied_for_income_exception: false,
                },
            ),
            // Application, two persons: together below 5,200,000 (each above the one-person limit
            // would not matter; the two-person limit applies to the sum).
            (
                vec![member(1_600_000, 2_000_000, 4_000_000, true), member(0, 500_000, 1_199_999, false)],
                TwoTenths,
                ElderlyShareBasis::IncomeUnderApplicationLimit {
                    total_income: Yen::new(5_199_999),
                    limit: two_person_limit,
                    members: 2,
                },
            ),
            // Application, two persons: together exactly 5,200,000.
            (
                vec![member(1_600_000, 2_000_000, 4_000_000, true), member(0, 500_000, 1_200_000, true)],
                ThreeTenths,
                ElderlyShareBasis::ActiveIncome {
                    highest_taxable_income: Yen::new(1_600_000),
                    applied_for_income_exception: true,
                },
            ),
            // Application, three persons: the two-or-more limit.
            (
                vec![
                    member(1_600_000, 2_000_000, 3_000_000, true),
                    member(0, 200_000, 1_000_000, true),
                    member(0, 100_000, 1_000_000, true),
                ],
                TwoTenths,
                ElderlyShareBasis::IncomeUnderApplicationLimit {
                    total_income: Yen::new(5_000_000),
                    limit: two_person_limit,
                    members: 3,
                },
            ),
            // The member at the threshold need not be the one who applied: the application is
            // the household's.
            (
                vec![member(0, 500_000, 1_000_000, true), member(2_000_000, 3_000_000, 3_000_000, false)],
                TwoTenths,
                ElderlyShareBasis::IncomeUnderApplicationLimit {
                    total_income: Yen::new(4_000_000),
                    limit: two_person_limit,
                    members: 2,
                },
            ),
        ];
        for (members, share, basis) in table {
            assert_eq!(elderly_share_basis(&members, &rules), basis, "{members:?}");
            assert_eq!(decide_elderly_share(&members, &rules), share, "{members:?}");
        }
    }

    #[test]
    fn the_decision_follows_the_rule_file() {
        let mut rules = EligibilityRules::national_defaults();
        rules.elderly.taxable_income_threshold = Yen::new(2_000_000);
        let members = [member(1_450_000, 3_000_000, 6_000_000, false)];
        assert_eq!(decide_elderly_share(&members, &rules), CostShare::TwoTenths);
        rules.elderly.taxable_income_threshold = Yen::new(1_450_000);
        assert_eq!(decide_elderly_share(&members, &rules), CostShare::ThreeTenths);
    }

    #[test]
    fn income_year_and_redecision_turn_on_1_august() {
        // (date, income year, next re-decision)
        let table = [
            (date(2025, 1, 1), 2023, date(2025, 8, 1)),
            (date(2025, 7, 31), 2023, date(2025, 8, 1)),
            (date(2025, 8, 1), 2024, date(2026, 8, 1)), // the re-decision day itself
            (date(2025, 12, 31), 2024, date(2026, 8, 1)),
            (date(2026, 1, 1), 2024, date(2026, 8, 1)),
            (date(2026, 3, 31), 2024, date(2026, 8, 1)),
        ];
        for (on, income_year, next) in table {
            assert_eq!((elderly_share_income_year(on), next_elderly_share_redecision(on)), (income_year, next), "{on}");
        }
    }

    #[test]
    fn the_redecision_in_force_is_the_latest_1_august() {
        assert_eq!(latest_elderly_share_redecision(date(2026, 8, 1)), date(2026, 8, 1));
        assert_eq!(latest_elderly_share_redecision(date(2026, 7, 31)), date(2025, 8, 1));
        assert_eq!(latest_elderly_share_redecision(date(2028, 2, 29)), date(2027, 8, 1));
    }

    #[test]
    fn the_income_of_a_year_decides_from_1_august_of_the_next() {
        assert_eq!(first_day_decided_by_income_of(2024), date(2025, 8, 1));
        assert_eq!(elderly_share_income_year(first_day_decided_by_income_of(2024)), 2024);
        assert_eq!(elderly_share_income_year(first_day_decided_by_income_of(2024).pred_opt().unwrap()), 2023);
    }

    #[test]
    fn each_fiscal_year_has_one_redecision_on_1_august() {
        assert_eq!(elderly_share_redecision_in(FiscalYear::new(2025)), date(2025, 8, 1));
        assert_eq!(elderly_share_redecision_in(FiscalYear::new(2026)), date(2026, 8, 1));
    }
}
