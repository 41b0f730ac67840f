//! The tax rule files: the statutory figures of each fiscal year (`rules/tax_national.toml`) and
//! a municipality's rates for one fiscal year (`rules/<tenant>/<year>/tax.toml`). Documented in
//! `rules/README.md` and docs/domain.md §5; every figure carries its `source`, and one that could
//! not be checked against a public page says so in `assumed`.
//!
//! Both are parsed strictly (`deny_unknown_fields`, rates as exact decimal strings) and then
//! checked by [`TaxRules::new`], which refuses a city limit above the statutory one, a
//! child-support part outside the years that have it, installments that are not months, and
//! brackets out of order, naming the key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rate::{Fraction, Rate};

/// The parts of NHI tax (国民健康保険税の区分).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// 医療分 (基礎課税額).
    Medical,
    /// 後期高齢者支援金等分.
    Support,
    /// 介護納付金分: only insured persons aged 40–64.
    Care,
    /// 子ども・子育て支援納付金分, from FY2026.
    ChildSupport,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Medical, Part::Support, Part::Care, Part::ChildSupport];

    pub fn key(self) -> &'static str {
        match self {
            Part::Medical => "medical",
            Part::Support => "support",
            Part::Care => "care",
            Part::ChildSupport => "child_support",
        }
    }
}

/// One part's rates in a municipality (`[medical]`, `[support]`, `[care]`, `[child_support]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRates {
    /// 所得割率, applied to Σ max(0, 総所得金額等 − basic deduction) of the insured members.
    pub income_rate: Rate,
    /// 均等割 per insured person, yen a year.
    pub per_capita: i64,
    /// 平等割 per household, yen a year (0 in a 2方式 city).
    #[serde(default)]
    pub per_household: i64,
    /// 資産割率 on the members' 固定資産税額 (4方式 only; absent elsewhere).
    #[serde(default)]
    pub asset_rate: Option<Rate>,
    /// 賦課限度額 of the part, yen a year: at most the statutory limit of the year.
    pub limit: i64,
    pub source: String,
    /// Why a figure is assumed rather than read from a public page, when it is.
    #[serde(default)]
    pub assumed: Option<String>,
}

/// When the annual amount is collected (普通徴収の納期).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installments {
    /// The calendar months of the due dates, in order (熊谷市: 7, 8, …, 12, 1, 2).
    pub months: Vec<u32>,
    /// Every installment but the first is the annual amount ÷ the count truncated to this many
    /// yen; the first takes the remainder (100 or 1,000 in most cities).
    pub unit: i64,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// A municipality's tax rates for one fiscal year: `rules/<tenant>/<year>/tax.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityRates {
    /// The municipality's 6-digit code; must be the folder's.
    pub tenant: String,
    /// The fiscal year the rates apply to; must be the folder's.
    pub fiscal_year: i32,
    /// The page (条例, 税率表) the rates were taken from.
    pub source: String,
    pub medical: PartRates,
    pub support: PartRates,
    pub care: PartRates,
    /// From FY2026 (子ども・子育て支援納付金分); required exactly in the years whose statutory
    /// figures have a child-support limit.
    #[serde(default)]
    pub child_support: Option<PartRates>,
    pub installments: Installments,
}

impl CityRates {
    pub fn part(&self, part: Part) -> Option<&PartRates> {
        match part {
            Part::Medical => Some(&self.medical),
            Part::Support => Some(&self.support),
            Part::Care => Some(&self.care),
            Part::ChildSupport => self.child_support.as_ref(),
        }
    }

    /// "2方式" (income and per-capita levies), "3方式" (with a per-household levy) or "4方式"
    /// (with an asset levy), judged on the medical part.
    pub fn method(&self) -> &'static str {
        if self.medical.asset_rate.is_some_and(|rate| !rate.is_zero()) {
            "4方式"
        } else if self.medical.per_household > 0 {
            "3方式"
        } else {
            "2方式"
        }
    }
}

/// The statutory limits (賦課限度額, 地方税法施行令 §56の88の2) of one fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub medical: i64,
    pub support: i64,
    pub care: i64,
    /// From FY2026.
    #[serde(default)]
    pub child_support: Option<i64>,
    pub source: String,
}

impl Limits {
    pub fn of(&self, part: Part) -> Option<i64> {
        match part {
            Part::Medical => Some(self.medical),
            Part::Support => Some(self.support),
            Part::Care => Some(self.care),
            Part::ChildSupport => self.child_support,
        }
    }
}

/// The statutory reduction of the per-capita and per-household levies (7割・5割・2割軽減,
/// 地方税法 §703の5, 施行令 §56の89).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReductionRules {
    /// How much of the levy each level takes off: "7/10", "5/10", "2/10".
    pub seven: Fraction,
    pub five: Fraction,
    pub two: Fraction,
    /// 7割: income ≤ base + per_extra_earner × (earners − 1).
    pub base: i64,
    pub per_extra_earner: i64,
    /// 5割: … + five_per_insured × (insured + 特定同一世帯所属者).
    pub five_per_insured: i64,
    /// 2割: … + two_per_insured × (insured + 特定同一世帯所属者).
    pub two_per_insured: i64,
    /// An earner (給与所得者等) has a salary revenue above this…
    pub salary_earner_over: i64,
    /// …or a public-pension revenue above this when under 65 on 31 December of the income year…
    pub pension_earner_over_under_65: i64,
    /// …or above this at 65 or over.
    pub pension_earner_over_65: i64,
    /// Taken from the public-pension income of persons 65 or over, for the test only.
    pub pension_special_deduction: i64,
    pub source: String,
}

/// One bracket of a deduction table: revenue up to `up_to` (inclusive; the last bracket has
/// none) gives income = max(0, keep × (revenue rounded down to `round_down_to`) + plus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bracket {
    #[serde(default)]
    pub up_to: Option<i64>,
    pub keep: Fraction,
    pub plus: i64,
    #[serde(default)]
    pub round_down_to: Option<i64>,
}

/// Revenue → income tables (給与所得控除, 公的年金等控除), for the figures the ledger keeps as
/// revenues (給与収入, 公的年金等収入).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeTables {
    pub salary: Vec<Bracket>,
    pub pension_under_65: Vec<Bracket>,
    pub pension_65: Vec<Bracket>,
    pub source: String,
}

impl IncomeTables {
    /// Income from a revenue by `table` (the revenue itself when no bracket matches, which the
    /// checks of [`TaxRules::new`] rule out).
    pub fn income(table: &[Bracket], revenue: i64) -> i64 {
        if revenue <= 0 {
            return 0;
        }
        let bracket = table.iter().find(|bracket| bracket.up_to.is_none_or(|up_to| revenue <= up_to));
        let Some(bracket) = bracket else { return revenue };
        let rounded = match bracket.round_down_to {
            Some(unit) if unit > 0 => revenue - revenue.rem_euclid(unit),
            _ => revenue,
        };
        (bracket.keep.of(rounded) + bracket.plus).max(0)
    }
}

/// The childbirth exemption (産前産後期間の保険税免除, 地方税法 §703の5の2): income and
/// per-capita levies of the mother.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildbirthRules {
    /// Exempt months start this many months before the birth (or due) month…
    pub months_before: u32,
    /// …and run for this many months.
    pub months: u32,
    pub multiple_months_before: u32,
    pub multiple_months: u32,
    /// No month before this one is exempt (the exemption began with January 2024).
    pub applies_from: chrono::NaiveDate,
    pub source: String,
}

/// Involuntary unemployment (非自発的失業者の軽減, 地方税法施行令 §56の89の2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnemploymentRules {
    /// How much of the salary income counts (30/100).
    pub salary_counts: Fraction,
    /// 離職理由コード that qualify.
    pub reason_codes: Vec<String>,
    /// Only persons under this age on the day of separation.
    pub under_age: u32,
    pub source: String,
}

/// The household one of whose members moved to 後期高齢者医療 (特定世帯・特定継続世帯).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionRules {
    /// For this many years from the month of the move, the per-household levy of the medical
    /// and support parts is reduced by `first` (1/2)…
    pub first_years: u32,
    pub first: Fraction,
    /// …then for this many years by `then` (1/4).
    pub then_years: u32,
    pub then: Fraction,
    pub source: String,
}

/// Per-capita reductions by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildrenRules {
    /// 未就学児の均等割軽減: how much is taken off (1/2), after the statutory reduction.
    pub pre_school: Fraction,
    /// The child-support part's per-capita levy of persons up to the 31 March after their
    /// 18th birthday is exempt (子ども・子育て支援納付金分の18歳以下の均等割10割軽減).
    pub child_support_exempt_through_age: u32,
    pub source: String,
}

/// The statutory figures of one fiscal year (`[years.<year>]` in `rules/tax_national.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalYear {
    /// 基礎控除 (地方税法 §314の2②): taken from each member's 総所得金額等 for the income levy.
    pub basic_deduction: i64,
    pub basic_deduction_source: String,
    /// How many fiscal years back an assessment may be corrected (地方税法 §17の5).
    pub reassessment_years_back: i32,
    pub limits: Limits,
    pub reduction: ReductionRules,
    pub children: ChildrenRules,
    pub childbirth: ChildbirthRules,
    pub unemployment: UnemploymentRules,
    pub transition: TransitionRules,
    pub income_tables: IncomeTables,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// `rules/tax_national.toml`: the statutory figures by fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalTax {
    pub years: BTreeMap<String, NationalYear>,
}

/// Why a tax rule file cannot be used: the key at fault (dotted) and the reason.
pub type TaxRulesError = crate::rule_check::RuleCheckError;
use crate::rule_check::refuse;

/// The rules one assessment applies: the statutory figures of its fiscal year and the city's
/// rates, checked against each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxRules {
    pub fiscal_year: i32,
    pub national: NationalYear,
    pub city: CityRates,
}

impl NationalTax {
    /// The figures of `fiscal_year`, checked.
    pub fn year(&self, fiscal_year: i32) -> Result<&NationalYear, TaxRulesError> {
        for (key, year) in &self.years {
            if key.parse::<i32>().map_or(true, |year| !(1990..=2200).contains(&year)) {
                return Err(refuse(format!("years.{key}"), "is not a fiscal year (4 digits, e.g. 2025)"));
            }
            check_national(key, year)?;
        }
        self.years.get(&fiscal_year.to_string()).ok_or_else(|| {
            refuse(
                "years",
                format!("has no statutory figures for fiscal year {fiscal_year} (add [years.{fiscal_year}])"),
            )
        })
    }
}

fn check_national(key: &str, year: &NationalYear) -> Result<(), TaxRulesError> {
    let at = |field: &str| format!("years.{key}.{field}");
    let non_negative = [
        ("basic_deduction", year.basic_deduction),
        ("limits.medical", year.limits.medical),
        ("limits.support", year.limits.support),
        ("limits.care", year.limits.care),
        ("reduction.base", year.reduction.base),
        ("reduction.per_extra_earner", year.reduction.per_extra_earner),
        ("reduction.five_per_insured", year.reduction.five_per_insured),
        ("reduction.two_per_insured", year.reduction.two_per_insured),
        ("reduction.pension_special_deduction", year.reduction.pension_special_deduction),
    ];
    for (field, value) in non_negative {
        if !(0..=crate::Yen::AMOUNT_MAX.amount()).contains(&value) {
            return Err(refuse(at(field), "must be an amount of yen from 0 to 1,000,000,000,000"));
        }
    }
    if year.reassessment_years_back < 0 || year.reassessment_years_back > 10 {
        return Err(refuse(at("reassessment_years_back"), "must be from 0 to 10"));
    }
    if year.reduction.two_per_insured < year.reduction.five_per_insured {
        return Err(refuse(at("reduction.two_per_insured"), "must be at least five_per_insured"));
    }
    for (field, table) in [
        ("income_tables.salary", &year.income_tables.salary),
        ("income_tables.pension_under_65", &year.income_tables.pension_under_65),
        ("income_tables.pension_65", &year.income_tables.pension_65),
    ] {
        let ascending = table.windows(2).all(|pair| match (pair[0].up_to, pair[1].up_to) {
            (Some(lower), Some(upper)) => lower < upper,
            (Some(_), None) => true,
            (None, _) => false,
        });
        if table.is_empty() || !ascending || table.last().is_some_and(|last| last.up_to.is_some()) {
            return Err(refuse(
                at(field),
                "must list brackets by ascending `up_to`, the last without one (it covers every larger revenue)",
            ));
        }
    }
    if year.childbirth.months == 0 || year.childbirth.multiple_months == 0 {
        return Err(refuse(at("childbirth"), "exempt months must be at least 1"));
    }
    Ok(())
}

impl TaxRules {
    /// The rules of `fiscal_year` for `tenant`: the year's statutory figures and the city's
    /// rates, refused when they do not fit each other.
    pub fn new(
        national: &NationalTax,
        city: CityRates,
        tenant: &str,
        fiscal_year: i32,
    ) -> Result<TaxRules, TaxRulesError> {
        let year = national.year(fiscal_year)?.clone();
        if city.tenant != tenant {
            return Err(refuse("tenant", "is not the municipality whose folder holds the file"));
        }
        if city.fiscal_year != fiscal_year {
            return Err(refuse(
                "fiscal_year",
                format!("must be the fiscal year the file is looked up for ({fiscal_year})"),
            ));
        }
        for part in Part::ALL {
            let statutory = year.limits.of(part);
            match (city.part(part), statutory) {
                (Some(_), None) => {
                    return Err(refuse(
                        part.key(),
                        format!(
                            "is not levied in fiscal year {fiscal_year} (no statutory limit for it); remove the table"
                        ),
                    ))
                }
                (None, Some(_)) => {
                    return Err(refuse(part.key(), format!("is required in fiscal year {fiscal_year}")));
                }
                (Some(rates), Some(statutory)) => {
                    let key = |field: &str| format!("{}.{field}", part.key());
                    if !(0..=statutory).contains(&rates.limit) {
                        return Err(refuse(
                            key("limit"),
                            format!("must be from 0 to the statutory limit ({statutory})"),
                        ));
                    }
                    for (field, value) in [("per_capita", rates.per_capita), ("per_household", rates.per_household)] {
                        if !(0..=10_000_000).contains(&value) {
                            return Err(refuse(key(field), "must be an amount of yen from 0 to 10,000,000"));
                        }
                    }
                }
                (None, None) => {}
            }
        }
        let installments = &city.installments;
        if installments.months.is_empty()
            || installments.months.len() > 12
            || installments.months.iter().any(|month| !(1..=12).contains(month))
        {
            return Err(refuse("installments.months", "must list 1 to 12 calendar months (1–12)"));
        }
        if ![1, 10, 100, 1000].contains(&installments.unit) {
            return Err(refuse("installments.unit", "must be 1, 10, 100 or 1000"));
        }
        Ok(TaxRules { fiscal_year, national: year, city })
    }

    /// The city's limit of a part.
    pub fn limit(&self, part: Part) -> i64 {
        self.city.part(part).map_or(0, |rates| rates.limit)
    }

    /// The parts levied this year.
    pub fn parts(&self) -> impl Iterator<Item = (Part, &PartRates)> {
        Part::ALL.into_iter().filter_map(|part| self.city.part(part).map(|rates| (part, rates)))
    }
}
