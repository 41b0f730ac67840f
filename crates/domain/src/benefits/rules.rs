//! The benefit rule files: the statutory figures by effective date (`rules/benefits_national.toml`)
//! and a municipality's own amounts for one fiscal year (`rules/<tenant>/<year>/benefits.toml`).
//! Documented in `rules/README.md` and docs/domain.md §6; every figure carries its `source`, and
//! one that could not be checked against a public page says so in `assumed`.
//!
//! Both are parsed strictly (`deny_unknown_fields`) and then checked by [`BenefitRules::new`],
//! which refuses periods out of order, negative or odd amounts (the month of turning 75 halves
//! them), class boundaries out of order, and a city file in the wrong folder, naming the key.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::tax::Fraction;

/// One monthly limit (高額療養費算定基準額): `base`, plus `excess_rate` × (total cost −
/// `cost_over`) when the limit has a 1% part, or `many_times` from the fourth month with a
/// benefit in twelve (多数回該当) when the class has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub base: i64,
    /// The total cost (10割) above which the 1% part is added (267,000 for ウ).
    #[serde(default)]
    pub cost_over: Option<i64>,
    /// The limit from the fourth time in twelve months; absent when the class has none
    /// (低所得Ⅱ・Ⅰ).
    #[serde(default)]
    pub many_times: Option<i64>,
}

impl Limit {
    /// The same limit with every amount halved: the month of turning 75 (国民健康保険法施行令
    /// §29の3 ⑥ and following: 本来額の2分の1). [`BenefitRules::new`] refuses odd amounts, so
    /// the halves are exact.
    pub fn halved(self) -> Limit {
        Limit {
            base: self.base / 2,
            cost_over: self.cost_over.map(|over| over / 2),
            many_times: self.many_times.map(|amount| amount / 2),
        }
    }
}

/// The under-70 limits by income class (区分ア–オ, 国民健康保険法施行令 §29の3 ①).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Under70Limits {
    /// ア: 旧ただし書所得 over `a_over` (or undeclared).
    pub a: Limit,
    /// イ.
    pub i: Limit,
    /// ウ.
    pub u: Limit,
    /// エ.
    pub e: Limit,
    /// オ: the household is exempt from resident tax.
    pub o: Limit,
    pub source: String,
}

/// Where the under-70 classes start: the household's Σ 旧ただし書所得 *over* each figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Under70Classes {
    pub a_over: i64,
    pub i_over: i64,
    pub u_over: i64,
    pub source: String,
}

/// The 70–74 limits by class (国民健康保険法施行令 §29の3 ②–⑤, §29の2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElderlyLimits {
    /// 現役並みⅢ, Ⅱ, Ⅰ: the formulas of ア, イ, ウ; no separate outpatient limit.
    pub active_3: Limit,
    pub active_2: Limit,
    pub active_1: Limit,
    /// 一般: the household limit (外来+入院).
    pub general: Limit,
    /// 低所得Ⅱ.
    pub low_2: Limit,
    /// 低所得Ⅰ.
    pub low_1: Limit,
    /// The monthly outpatient limit per person (外来・個人ごと) of 一般…
    pub outpatient_general: i64,
    /// …and of 低所得Ⅱ・Ⅰ.
    pub outpatient_low: i64,
    /// The yearly outpatient limit (August–July) of 一般 and 低所得 (年間上限, 144,000).
    pub annual_outpatient: i64,
    pub source: String,
}

/// Where the 現役並み classes start: the highest 課税所得 of the household's 70–74 members *at
/// or above* each figure (the household being 現役並み at all is the 70–74 share decision,
/// docs/domain.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElderlyClasses {
    pub active_3_from: i64,
    pub active_2_from: i64,
    pub active_1_from: i64,
    pub source: String,
}

/// The high-cost figures in force from `from` (a service month on or after it) until the next
/// period's `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighCostPeriod {
    pub from: NaiveDate,
    pub source: String,
    /// Under 70, only charges of at least this much per person, provider, kind of care and month
    /// count (21,000; halved in the month of turning 75).
    pub under_70_threshold: i64,
    /// 多数回該当: the limit falls to `many_times` when this many earlier months of the last
    /// twelve had a benefit (3, so from the fourth).
    pub many_times_after: u32,
    /// The rate of the part above `cost_over` (`"1/100"`), rounded to the yen half up
    /// (国民健康保険法施行令 §29の3, as 健康保険法施行令 §42: 五十銭未満切捨て・五十銭以上切上げ).
    pub excess_rate: Fraction,
    pub under_70: Under70Limits,
    pub under_70_classes: Under70Classes,
    pub elderly: ElderlyLimits,
    pub elderly_classes: ElderlyClasses,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// The childbirth lump sum (出産育児一時金, 国民健康保険法 §58 ①, in the amount of 健康保険法施行令
/// §36 that municipal 条例 follow) per child, for births on or after `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildbirthPeriod {
    pub from: NaiveDate,
    /// A birth at `scheme_min_weeks` or later at an institution in the obstetric compensation
    /// scheme (産科医療補償制度).
    pub amount: i64,
    /// Any other birth of at least `min_weeks` (outside the scheme, abroad, or before
    /// `scheme_min_weeks`).
    pub outside_scheme: i64,
    /// A birth (生産・死産) counts from this many weeks of pregnancy (12: 85 days).
    pub min_weeks: u32,
    pub scheme_min_weeks: u32,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// How long a benefit can be claimed (国民健康保険法 §110: 2 years).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub years: u32,
    pub source: String,
}

/// The national part of the funeral expense: when the former employee plan pays instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FuneralNational {
    /// A person who dies within this many months of leaving an employee plan as its insured
    /// person gets the burial allowance (埋葬料) from that plan (健康保険法 §105), and NHI pays
    /// no funeral expense (国民健康保険法 §56 ①).
    pub former_plan_months: u32,
    pub source: String,
}

/// When a high-cost service month may be decided: kokuho's setting, not a statutory figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighCostDecisionTiming {
    /// Whole months waited after the service month has ended before it may be decided: 0 decides
    /// a month from the 1st of the next (JST), 1 from the 1st of the one after, ….
    pub months_after_service: u32,
    pub source: String,
}

/// `rules/benefits_national.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalBenefits {
    pub claims: Claims,
    pub funeral: FuneralNational,
    /// Absent: a month may be decided once it has ended (`months_after_service = 0`).
    #[serde(default)]
    pub high_cost_decision: Option<HighCostDecisionTiming>,
    /// By ascending `from`.
    pub high_cost: Vec<HighCostPeriod>,
    /// By ascending `from`.
    pub childbirth: Vec<ChildbirthPeriod>,
}

/// A municipality's funeral expense (葬祭費, 国民健康保険法 §58 ①: set by 条例).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityFuneral {
    pub amount: i64,
    pub source: String,
    #[serde(default)]
    pub assumed: Option<String>,
}

/// `rules/<tenant>/<year>/benefits.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityBenefits {
    pub tenant: String,
    pub fiscal_year: i32,
    pub source: String,
    pub funeral: CityFuneral,
}

/// Why a benefit rule file cannot be used: the key at fault (dotted) and the reason.
pub type BenefitRulesError = crate::rule_check::RuleCheckError;
use crate::rule_check::refuse;

/// The rules a benefit decision applies: the statutory figures (all periods) and the city's
/// amounts of one fiscal year, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BenefitRules {
    pub fiscal_year: i32,
    pub national: NationalBenefits,
    pub city: CityBenefits,
}

const AMOUNT_MAX: i64 = 100_000_000;

fn check_amount(key: String, value: i64) -> Result<(), BenefitRulesError> {
    if !(0..=AMOUNT_MAX).contains(&value) {
        return Err(refuse(key, "must be an amount of yen from 0 to 100,000,000"));
    }
    Ok(())
}

/// An amount the month of turning 75 halves must be even, so the half is exact.
fn check_halvable(key: String, value: i64) -> Result<(), BenefitRulesError> {
    check_amount(key.clone(), value)?;
    if value % 2 != 0 {
        return Err(refuse(key, "must be an even number of yen (the month of turning 75 halves it)"));
    }
    Ok(())
}

fn check_limit(key: String, limit: &Limit) -> Result<(), BenefitRulesError> {
    check_halvable(format!("{key}.base"), limit.base)?;
    if let Some(over) = limit.cost_over {
        check_halvable(format!("{key}.cost_over"), over)?;
    }
    if let Some(many) = limit.many_times {
        check_halvable(format!("{key}.many_times"), many)?;
        if many > limit.base && limit.cost_over.is_none() {
            return Err(refuse(format!("{key}.many_times"), "must be at most `base`"));
        }
    }
    Ok(())
}

fn check_high_cost(index: usize, period: &HighCostPeriod) -> Result<(), BenefitRulesError> {
    let at = |field: &str| format!("high_cost[{index}].{field}");
    check_halvable(at("under_70_threshold"), period.under_70_threshold)?;
    if period.many_times_after == 0 || period.many_times_after > 11 {
        return Err(refuse(at("many_times_after"), "must be from 1 to 11 (earlier months of the last twelve)"));
    }
    let under = &period.under_70;
    for (name, limit) in [("a", &under.a), ("i", &under.i), ("u", &under.u), ("e", &under.e), ("o", &under.o)] {
        check_limit(at(&format!("under_70.{name}")), limit)?;
    }
    let elderly = &period.elderly;
    for (name, limit) in [
        ("active_3", &elderly.active_3),
        ("active_2", &elderly.active_2),
        ("active_1", &elderly.active_1),
        ("general", &elderly.general),
        ("low_2", &elderly.low_2),
        ("low_1", &elderly.low_1),
    ] {
        check_limit(at(&format!("elderly.{name}")), limit)?;
    }
    check_halvable(at("elderly.outpatient_general"), elderly.outpatient_general)?;
    check_halvable(at("elderly.outpatient_low"), elderly.outpatient_low)?;
    check_amount(at("elderly.annual_outpatient"), elderly.annual_outpatient)?;
    let classes = &period.under_70_classes;
    for (name, value) in [("a_over", classes.a_over), ("i_over", classes.i_over), ("u_over", classes.u_over)] {
        check_amount(at(&format!("under_70_classes.{name}")), value)?;
    }
    if !(classes.u_over < classes.i_over && classes.i_over < classes.a_over) {
        return Err(refuse(at("under_70_classes"), "must rise: u_over < i_over < a_over"));
    }
    let classes = &period.elderly_classes;
    for (name, value) in [
        ("active_3_from", classes.active_3_from),
        ("active_2_from", classes.active_2_from),
        ("active_1_from", classes.active_1_from),
    ] {
        check_amount(at(&format!("elderly_classes.{name}")), value)?;
    }
    if !(classes.active_1_from < classes.active_2_from && classes.active_2_from < classes.active_3_from) {
        return Err(refuse(at("elderly_classes"), "must rise: active_1_from < active_2_from < active_3_from"));
    }
    Ok(())
}

fn check_national(national: &NationalBenefits) -> Result<(), BenefitRulesError> {
    if national.claims.years == 0 || national.claims.years > 10 {
        return Err(refuse("claims.years", "must be from 1 to 10"));
    }
    if national.funeral.former_plan_months > 12 {
        return Err(refuse("funeral.former_plan_months", "must be from 0 to 12"));
    }
    if national.high_cost_decision.as_ref().is_some_and(|timing| timing.months_after_service > 12) {
        return Err(refuse("high_cost_decision.months_after_service", "must be from 0 to 12"));
    }
    if national.high_cost.is_empty() {
        return Err(refuse("high_cost", "must list at least one period ([[high_cost]])"));
    }
    if national.high_cost.windows(2).any(|pair| pair[0].from >= pair[1].from) {
        return Err(refuse("high_cost", "periods must be listed by strictly ascending `from`"));
    }
    for (index, period) in national.high_cost.iter().enumerate() {
        check_high_cost(index, period)?;
    }
    if national.childbirth.is_empty() {
        return Err(refuse("childbirth", "must list at least one period ([[childbirth]])"));
    }
    if national.childbirth.windows(2).any(|pair| pair[0].from >= pair[1].from) {
        return Err(refuse("childbirth", "periods must be listed by strictly ascending `from`"));
    }
    for (index, period) in national.childbirth.iter().enumerate() {
        let at = |field: &str| format!("childbirth[{index}].{field}");
        check_amount(at("amount"), period.amount)?;
        check_amount(at("outside_scheme"), period.outside_scheme)?;
        if period.outside_scheme > period.amount {
            return Err(refuse(at("outside_scheme"), "must be at most `amount`"));
        }
        if period.min_weeks == 0 || period.min_weeks > period.scheme_min_weeks || period.scheme_min_weeks > 45 {
            return Err(refuse(at("min_weeks"), "must be from 1 to scheme_min_weeks (at most 45)"));
        }
    }
    Ok(())
}

impl BenefitRules {
    /// The rules of `fiscal_year` for `tenant`: every statutory period and the city's amounts,
    /// refused when a figure does not check or the city file is in the wrong place.
    pub fn new(
        national: NationalBenefits,
        city: CityBenefits,
        tenant: &str,
        fiscal_year: i32,
    ) -> Result<BenefitRules, BenefitRulesError> {
        check_national(&national)?;
        if city.tenant != tenant {
            return Err(refuse("tenant", "is not the municipality whose folder holds the file"));
        }
        if city.fiscal_year != fiscal_year {
            return Err(refuse(
                "fiscal_year",
                format!("must be the fiscal year the file is looked up for ({fiscal_year})"),
            ));
        }
        check_amount("funeral.amount".into(), city.funeral.amount)?;
        Ok(BenefitRules { fiscal_year, national, city })
    }

    /// The whole months a high-cost service month waits after it has ended before it may be
    /// decided (`[high_cost_decision] months_after_service`; 0 when absent).
    pub fn decision_wait_months(&self) -> u32 {
        self.national.high_cost_decision.as_ref().map_or(0, |timing| timing.months_after_service)
    }

    /// The high-cost figures in force in the month containing `month`, if any period covers it.
    pub fn high_cost_on(&self, month: NaiveDate) -> Option<&HighCostPeriod> {
        self.national.high_cost.iter().rev().find(|period| period.from <= month)
    }

    /// The childbirth figures for a birth on `born_on`, if any period covers it.
    pub fn childbirth_on(&self, born_on: NaiveDate) -> Option<&ChildbirthPeriod> {
        self.national.childbirth.iter().rev().find(|period| period.from <= born_on)
    }
}
