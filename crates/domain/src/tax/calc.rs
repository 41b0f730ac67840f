//! The assessment (賦課) of one household for one fiscal year: a pure calculation over the
//! household's members, their incomes and the rules (docs/domain.md §5).
//!
//! # The month model
//!
//! Everything that can change during a year is judged on the last day of each month of the
//! fiscal year (April … March), which gives the statutory counting rules at once:
//!
//! - a person counts from the month of acquisition up to the month before the loss (insured on
//!   the month's last day);
//! - the care part (介護分) counts a person from the month that contains the day before the 40th
//!   birthday up to the month before the one containing the day before the 65th (aged 40–64,
//!   by the legal count, on the month's last day);
//! - pre-school and under-18 status, the childbirth and unemployment months and the
//!   後期高齢者 transition household are judged month by month the same way.
//!
//! For each month and part the *annual* amount the household would pay if the month's situation
//! held all year is computed (income levy + asset levy + per-capita + per-household, capped by
//! the part's limit); the part's amount for the year is the sum over the months divided by 12,
//! truncated to the yen, then to 100 yen. A household whose situation never changes pays
//! exactly the annual amount; one insured for k months pays annual × k / 12.
//!
//! # Rounding (written beside each formula below)
//!
//! - rate × income: truncated to the yen (地方税法 §20の4の2 ①… applied to each product);
//! - the reduced per-capita levy (均等割額 × 人数 × the part left) and per-household levy:
//!   truncated to the yen;
//! - each part: truncated to 100 yen (地方税法 §20の4の2 ③).
//!
//! The statutory reduction (7/5/2割) is judged on the household as it is on the *test day*: 1
//! April, or the first month-end on which anyone is insured, with the income adjustments in
//! force in the month being charged.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{IncomeTables, Part, TaxRules};
use crate::eligibility::cost_share::is_pre_school;
use crate::eligibility::legal_age_on;
use crate::Yen;

/// A member's income of the year before the fiscal year, as the resident-tax department
/// reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomeInput {
    /// 総所得金額等.
    pub total_income: i64,
    /// 給与収入 (revenue).
    pub salary_revenue: i64,
    /// 公的年金等収入 (revenue).
    pub pension_revenue: i64,
    /// Whether it was declared (申告); undeclared income bars the statutory reduction.
    pub declared: bool,
}

/// 非自発的失業: the day of separation (離職日) and the reason code (離職理由コード).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnemploymentInput {
    pub separated_on: NaiveDate,
    pub reason_code: String,
}

/// A birth (or its due date) of a child of this member (the mother).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildbirthInput {
    /// The day of birth, or the due date when notified before the birth.
    pub born_on: NaiveDate,
    /// Twins or more (多胎).
    pub multiple: bool,
}

/// The months of the fiscal year, April first: bit 0 is April, bit 11 March.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Months(pub u16);

impl Months {
    pub const ALL: Months = Months(0x0fff);

    pub fn contains(self, index: usize) -> bool {
        index < 12 && self.0 & (1 << index) != 0
    }

    pub fn insert(&mut self, index: usize) {
        if index < 12 {
            self.0 |= 1 << index;
        }
    }

    pub fn count(self) -> u32 {
        (self.0 & 0x0fff).count_ones()
    }

    /// The months whose last day satisfies `test`.
    pub fn where_last_day(fiscal_year: i32, mut test: impl FnMut(NaiveDate) -> bool) -> Months {
        let mut months = Months::default();
        for index in 0..12 {
            if test(month_end(fiscal_year, index)) {
                months.insert(index);
            }
        }
        months
    }

    /// Calendar months (4 … 12, 1 … 3) in fiscal order.
    pub fn calendar_months(self) -> Vec<u32> {
        (0..12).filter(|index| self.contains(*index)).map(calendar_month).collect()
    }
}

/// The calendar month of fiscal month `index` (0 = April).
pub fn calendar_month(index: usize) -> u32 {
    ((index as u32 + 3) % 12) + 1
}

/// The first day of fiscal month `index` (0 = April) of `fiscal_year`.
pub fn month_start(fiscal_year: i32, index: usize) -> NaiveDate {
    let month = calendar_month(index);
    let year = if month >= 4 { fiscal_year } else { fiscal_year + 1 };
    NaiveDate::from_ymd_opt(year, month, 1).expect("the first of a month exists")
}

/// The last day of fiscal month `index` (0 = April) of `fiscal_year`.
pub fn month_end(fiscal_year: i32, index: usize) -> NaiveDate {
    let start = month_start(fiscal_year, index);
    let next = if start.month() == 12 {
        NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
    };
    next.expect("the first of the next month exists").pred_opt().expect("a day before the first of a month")
}

/// Months since year 0 of a date's month (for "n months before the birth month").
fn month_number(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// One person of the household in the fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInput {
    pub person_id: Uuid,
    pub date_of_birth: NaiveDate,
    /// The month-ends on which the person is insured in NHI *and* a member of this household.
    pub insured: Months,
    /// The month-ends on which the person is a member having moved from this household's NHI to
    /// 後期高齢者医療 (特定同一世帯所属者), with the day they left NHI.
    #[serde(default)]
    pub late_stage: Months,
    #[serde(default)]
    pub late_stage_since: Option<NaiveDate>,
    /// Income of the year before the fiscal year; `None` when none was reported.
    pub income: Option<IncomeInput>,
    /// 固定資産税額 within the municipality, for the asset levy (4方式 only).
    #[serde(default)]
    pub fixed_asset_tax: i64,
    /// Every involuntary-unemployment application (a month is reduced when any qualifying one
    /// covers it).
    #[serde(default)]
    pub unemployment: Vec<UnemploymentInput>,
    #[serde(default)]
    pub childbirths: Vec<ChildbirthInput>,
}

/// The household of one fiscal year, as the assessment sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdInput {
    pub fiscal_year: i32,
    /// The head of household (世帯主) and taxpayer, insured or not.
    pub head: Uuid,
    /// Every person who was a member in the year (the head among them).
    pub members: Vec<MemberInput>,
}

/// The statutory reduction level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReductionLevel {
    SevenTenths,
    FiveTenths,
    TwoTenths,
}

impl ReductionLevel {
    pub fn code(self) -> &'static str {
        match self {
            ReductionLevel::SevenTenths => "statutory_seven_tenths",
            ReductionLevel::FiveTenths => "statutory_five_tenths",
            ReductionLevel::TwoTenths => "statutory_two_tenths",
        }
    }
}

/// The statutory reduction test of one month (軽減判定).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReductionTest {
    /// 軽減判定所得: the tested persons' 総所得金額等 with the adjustments for the test.
    pub income: i64,
    /// 給与所得者等 among the tested persons.
    pub earners: u32,
    /// Insured persons plus 特定同一世帯所属者.
    pub counted: u32,
    pub seven_up_to: i64,
    pub five_up_to: i64,
    pub two_up_to: i64,
    pub level: Option<ReductionLevel>,
    /// A tested person's income is undeclared or unreported: no reduction.
    pub undeclared: bool,
}

/// One part's amount for the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartAssessment {
    pub part: Part,
    /// Each component prorated over the months (Σ monthly annual amounts ÷ 12, truncated).
    pub income_levy: i64,
    pub asset_levy: i64,
    pub per_capita: i64,
    pub per_household: i64,
    /// Σ of the components before the limit.
    pub before_limit: i64,
    pub limit: i64,
    /// The limit cut the amount in some month.
    pub capped: bool,
    /// Months in which the part was levied on anyone.
    pub months: u32,
    /// The annual amount (each month's annual amount, capped) by fiscal month, April first.
    pub by_month: Vec<i64>,
    /// The part: Σ by_month ÷ 12 truncated to the yen, then to 100 yen.
    pub amount: i64,
}

/// A reduction or exemption applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedReduction {
    /// `statutory_seven_tenths`, `statutory_five_tenths`, `statutory_two_tenths`,
    /// `no_reduction_undeclared_income`, `pre_school`, `childbirth`,
    /// `involuntary_unemployment`, `late_stage_transition_household`,
    /// `child_support_under_18`.
    pub code: String,
    /// The person it concerns, for a personal one.
    pub person_id: Option<Uuid>,
    /// The calendar months it applied in.
    pub months: Vec<u32>,
    /// The fraction taken off the levy it applies to ("7/10"), when one.
    pub fraction: Option<String>,
}

/// One member's share of the levies (annual basis, in the first month charged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAssessment {
    pub person_id: Uuid,
    /// Calendar months insured in this household.
    pub months: Vec<u32>,
    /// Calendar months the care part applies (aged 40–64).
    pub care_months: Vec<u32>,
    /// max(0, 総所得金額等 − basic deduction), adjusted for unemployment where it applies.
    pub income_base: i64,
    pub counted_as_late_stage: bool,
}

/// An installment (期別): due month and amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    pub number: u32,
    pub month: u32,
    pub amount: i64,
}

/// The assessment of a household for a fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub fiscal_year: i32,
    pub taxpayer: Uuid,
    /// 2方式, 3方式, 4方式.
    pub method: String,
    pub parts: Vec<PartAssessment>,
    pub total: i64,
    pub test: Option<ReductionTest>,
    pub reductions: Vec<AppliedReduction>,
    pub members: Vec<MemberAssessment>,
    pub installments: Vec<Installment>,
}

impl Assessment {
    pub fn part(&self, part: Part) -> Option<&PartAssessment> {
        self.parts.iter().find(|assessed| assessed.part == part)
    }

    pub fn amount(&self, part: Part) -> i64 {
        self.part(part).map_or(0, |assessed| assessed.amount)
    }

    /// The parts whose amount differs from `other`'s.
    pub fn parts_that_moved(&self, other: &Assessment) -> Vec<Part> {
        Part::ALL.into_iter().filter(|part| self.amount(*part) != other.amount(*part)).collect()
    }
}

/// Why a household cannot be assessed from what is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessmentError {
    #[error("no member of the household is insured in fiscal year {0}")]
    NobodyInsured(i32),
    #[error("the head of household is not among its members")]
    HeadNotMember,
    #[error("an amount is out of range (negative, or above 1,000,000,000,000 yen)")]
    AmountOutOfRange,
}

/// A member's figures for one month.
struct MonthFigures {
    /// 総所得金額等, unemployment-adjusted.
    total: i64,
    unemployed: bool,
    childbirth_exempt: bool,
}

impl MemberInput {
    fn age_on(&self, on: NaiveDate) -> u32 {
        legal_age_on(self.date_of_birth, on).unwrap_or(0)
    }

    /// 65 or over on 31 December of the income year (公的年金等控除, the pension special
    /// deduction and the earner threshold all use that day).
    fn senior(&self, fiscal_year: i32) -> bool {
        let last_day = NaiveDate::from_ymd_opt(fiscal_year - 1, 12, 31).expect("31 December exists");
        self.age_on(last_day) >= 65
    }

    fn figures(&self, rules: &TaxRules, index: usize) -> MonthFigures {
        let fiscal_year = rules.fiscal_year;
        let year = &rules.national;
        let total = self.income.as_ref().map_or(0, |income| income.total_income);
        let unemployed = self.unemployment.iter().any(|unemployment| {
            let rule = &year.unemployment;
            let day_after = unemployment.separated_on.succ_opt().unwrap_or(unemployment.separated_on);
            let first = month_number(day_after);
            // To the end of the fiscal year after the one containing the day after separation.
            let last = month_number(crate::FiscalYear::containing(day_after).last_day()) + 12;
            let month = month_number(month_start(fiscal_year, index));
            rule.reason_codes.contains(&unemployment.reason_code)
                && self.age_on(unemployment.separated_on) < rule.under_age
                && (first..=last).contains(&month)
        });
        let total = match (&self.income, unemployed) {
            (Some(income), true) => {
                // Salary income (給与所得) from its revenue; only it counts at 30/100.
                let salary = IncomeTables::income(&year.income_tables.salary, income.salary_revenue).min(total);
                total - salary + year.unemployment.salary_counts.of(salary)
            }
            _ => total,
        };
        let month = month_number(month_start(fiscal_year, index));
        let exemption_began = month_number(year.childbirth.applies_from);
        let childbirth_exempt = month >= exemption_began
            && self.childbirths.iter().any(|birth| {
                let rule = &year.childbirth;
                let (before, count) = if birth.multiple {
                    (rule.multiple_months_before, rule.multiple_months)
                } else {
                    (rule.months_before, rule.months)
                };
                let first = month_number(birth.born_on) - i64::from(before);
                (first..first + i64::from(count)).contains(&month)
            });
        MonthFigures { total, unemployed, childbirth_exempt }
    }

    /// Public-pension income (公的年金等所得) from its revenue.
    fn pension_income(&self, rules: &TaxRules) -> i64 {
        let tables = &rules.national.income_tables;
        let table = if self.senior(rules.fiscal_year) { &tables.pension_65 } else { &tables.pension_under_65 };
        self.income.as_ref().map_or(0, |income| IncomeTables::income(table, income.pension_revenue))
    }

    fn is_earner(&self, rules: &TaxRules) -> bool {
        let reduction = &rules.national.reduction;
        self.income.as_ref().is_some_and(|income| {
            let pension_over = if self.senior(rules.fiscal_year) {
                reduction.pension_earner_over_65
            } else {
                reduction.pension_earner_over_under_65
            };
            income.salary_revenue > reduction.salary_earner_over || income.pension_revenue > pension_over
        })
    }
}

fn check_amounts(input: &HouseholdInput) -> Result<(), AssessmentError> {
    let range = 0..=Yen::AMOUNT_MAX.amount();
    for member in &input.members {
        let mut amounts = vec![member.fixed_asset_tax];
        if let Some(income) = &member.income {
            amounts.extend([income.total_income, income.salary_revenue, income.pension_revenue]);
        }
        if amounts.iter().any(|amount| !range.contains(amount)) {
            return Err(AssessmentError::AmountOutOfRange);
        }
    }
    Ok(())
}

/// The statutory reduction test of fiscal month `index`, on the household as it is in the test
/// month.
fn reduction_test(input: &HouseholdInput, rules: &TaxRules, test_month: usize, index: usize) -> ReductionTest {
    let reduction = &rules.national.reduction;
    let tested: Vec<&MemberInput> = input
        .members
        .iter()
        .filter(|member| {
            member.person_id == input.head
                || member.insured.contains(test_month)
                || member.late_stage.contains(test_month)
        })
        .collect();
    let counted = input
        .members
        .iter()
        .filter(|member| member.insured.contains(test_month) || member.late_stage.contains(test_month))
        .count() as u32;
    let undeclared = tested.iter().any(|member| member.income.as_ref().is_none_or(|income| !income.declared));
    let mut income = 0i64;
    let mut earners = 0u32;
    for member in &tested {
        let figures = member.figures(rules, index);
        let mut tested_income = figures.total;
        if member.senior(rules.fiscal_year) {
            // 65歳以上の公的年金等所得から15万円を控除 (for the test only).
            tested_income -= member.pension_income(rules).min(reduction.pension_special_deduction).min(tested_income);
        }
        income = income.saturating_add(tested_income);
        if member.is_earner(rules) {
            earners += 1;
        }
    }
    let seven_up_to = reduction.base + reduction.per_extra_earner * i64::from(earners.saturating_sub(1));
    let five_up_to = seven_up_to + reduction.five_per_insured * i64::from(counted);
    let two_up_to = seven_up_to + reduction.two_per_insured * i64::from(counted);
    // "≤": a household exactly on a threshold is reduced.
    let level = if undeclared {
        None
    } else if income <= seven_up_to {
        Some(ReductionLevel::SevenTenths)
    } else if income <= five_up_to {
        Some(ReductionLevel::FiveTenths)
    } else if income <= two_up_to {
        Some(ReductionLevel::TwoTenths)
    } else {
        None
    };
    ReductionTest { income, earners, counted, seven_up_to, five_up_to, two_up_to, level, undeclared }
}

/// Assesses `input` under `rules`.
pub fn assess(input: &HouseholdInput, rules: &TaxRules) -> Result<Assessment, AssessmentError> {
    check_amounts(input)?;
    let fiscal_year = rules.fiscal_year;
    let year = &rules.national;
    if !input.members.iter().any(|member| member.person_id == input.head) {
        return Err(AssessmentError::HeadNotMember);
    }
    let any_insured = |index: usize| input.members.iter().any(|member| member.insured.contains(index));
    let Some(test_month) = (0..12).find(|index| any_insured(*index)) else {
        return Err(AssessmentError::NobodyInsured(fiscal_year));
    };
    let fraction_of = |level: ReductionLevel| match level {
        ReductionLevel::SevenTenths => year.reduction.seven,
        ReductionLevel::FiveTenths => year.reduction.five,
        ReductionLevel::TwoTenths => year.reduction.two,
    };

    let mut reductions: Vec<AppliedReduction> = Vec::new();
    let mut note = |code: &str, person_id: Option<Uuid>, index: usize, fraction: Option<String>| {
        let month = calendar_month(index);
        match reductions.iter_mut().find(|r| r.code == code && r.person_id == person_id && r.fraction == fraction) {
            Some(existing) => {
                if !existing.months.contains(&month) {
                    existing.months.push(month);
                }
            }
            None => {
                reductions.push(AppliedReduction { code: code.to_owned(), person_id, months: vec![month], fraction })
            }
        }
    };

    let mut tests: Vec<Option<ReductionTest>> = vec![None; 12];
    let mut parts = Vec::new();
    for (part, rates) in rules.parts() {
        let mut by_month = vec![0i64; 12];
        let (mut income_sum, mut asset_sum, mut capita_sum, mut household_sum, mut before_sum) =
            (0i64, 0i64, 0i64, 0i64, 0i64);
        let mut capped = false;
        let mut months = 0u32;
        for index in 0..12 {
            let end = month_end(fiscal_year, index);
            let charged: Vec<&MemberInput> = input
                .members
                .iter()
                .filter(|member| member.insured.contains(index))
                .filter(|member| part != Part::Care || (40..65).contains(&member.age_on(end)))
                .collect();
            if charged.is_empty() {
                continue;
            }
            months += 1;
            let test = tests[index].get_or_insert_with(|| reduction_test(input, rules, test_month, index)).clone();
            let level = test.level;
            if let Some(level) = level {
                note(level.code(), None, index, Some(fraction_of(level).to_string()));
            } else if test.undeclared {
                note("no_reduction_undeclared_income", None, index, None);
            }

            let mut income_base = 0i64;
            let mut assets = 0i64;
            let (mut levied, mut pre_school) = (0i64, 0i64);
            for member in &charged {
                let figures = member.figures(rules, index);
                if figures.unemployed {
                    note(
                        "involuntary_unemployment",
                        Some(member.person_id),
                        index,
                        Some(year.unemployment.salary_counts.to_string()),
                    );
                }
                if figures.childbirth_exempt {
                    // 所得割 and 均等割 of the mother are exempt in these months.
                    note("childbirth", Some(member.person_id), index, None);
                    continue;
                }
                income_base += (figures.total - year.basic_deduction).max(0);
                assets += member.fixed_asset_tax;
                if part == Part::ChildSupport
                    && child_support_exempt(member, year.children.child_support_exempt_through_age, end)
                {
                    note("child_support_under_18", Some(member.person_id), index, Some("1/1".to_owned()));
                    continue;
                }
                levied += 1;
                if is_pre_school(member.date_of_birth, end) {
                    pre_school += 1;
                    note("pre_school", Some(member.person_id), index, Some(year.children.pre_school.to_string()));
                }
            }
            // The statutory reduction of the per-capita levy is taken on 均等割額 × 人数 and
            // truncated to the yen once (瀬戸内市: 26,663円 × 2人 × 0.5 = 26,663円; 成田市:
            // 66,300 × 50%). The pre-school reduction then takes, per child, the fraction of
            // the reduced per-person amount, truncated to the yen (新座市: 32,000 → 7割 9,600 →
            // 4,800).
            let reduce = |amount: i64| level.map_or(amount, |level| fraction_of(level).remainder_of(amount));
            let per_capita =
                reduce(rates.per_capita * levied) - pre_school * year.children.pre_school.of(reduce(rates.per_capita));
            // rate × Σ bases, truncated to the yen.
            let income_levy = rates.income_rate.apply(income_base);
            let asset_levy = rates.asset_rate.map_or(0, |rate| rate.apply(assets));
            let mut per_household =
                level.map_or(rates.per_household, |level| fraction_of(level).remainder_of(rates.per_household));
            if matches!(part, Part::Medical | Part::Support) && rates.per_household > 0 {
                if let Some(fraction) = transition_reduction(input, rules, index) {
                    per_household = fraction.remainder_of(per_household);
                    note("late_stage_transition_household", None, index, Some(fraction.to_string()));
                }
            }
            let before = income_levy + asset_levy + per_capita + per_household;
            let amount = before.min(rates.limit);
            capped |= before > rates.limit;
            by_month[index] = amount;
            income_sum += income_levy;
            asset_sum += asset_levy;
            capita_sum += per_capita;
            household_sum += per_household;
            before_sum += before;
        }
        // Σ monthly annual amounts ÷ 12, truncated to the yen, then to 100 yen.
        let amount = Yen::new(by_month.iter().sum::<i64>() / 12).truncate_to_100().amount();
        parts.push(PartAssessment {
            part,
            income_levy: income_sum / 12,
            asset_levy: asset_sum / 12,
            per_capita: capita_sum / 12,
            per_household: household_sum / 12,
            before_limit: before_sum / 12,
            limit: rates.limit,
            capped,
            months,
            by_month,
            amount,
        });
    }

    let total = parts.iter().map(|part| part.amount).sum::<i64>();
    let members = input
        .members
        .iter()
        .filter(|member| member.insured.count() > 0 || member.late_stage.count() > 0)
        .map(|member| {
            let first = (0..12).find(|index| member.insured.contains(*index)).unwrap_or(test_month);
            let care =
                Months::where_last_day(fiscal_year, |end| (40..65).contains(&member.age_on(end))).0 & member.insured.0;
            MemberAssessment {
                person_id: member.person_id,
                months: member.insured.calendar_months(),
                care_months: Months(care).calendar_months(),
                income_base: (member.figures(rules, first).total - year.basic_deduction).max(0),
                counted_as_late_stage: member.late_stage.count() > 0,
            }
        })
        .collect();
    let installments = installments(total, &rules.city.installments.months, rules.city.installments.unit);
    let test = tests[test_month].clone().or_else(|| Some(reduction_test(input, rules, test_month, test_month)));
    Ok(Assessment {
        fiscal_year,
        taxpayer: input.head,
        method: rules.city.method().to_owned(),
        parts,
        total,
        test,
        reductions,
        members,
        installments,
    })
}

/// Whether the child-support per-capita levy of `member` is exempt on `end`: up to the first
/// 31 March on or after the day they attain `age` (18歳に達する日以後の最初の3月31日以前).
fn child_support_exempt(member: &MemberInput, age: u32, end: NaiveDate) -> bool {
    let attains = crate::eligibility::age::attains_age_on(member.date_of_birth, age);
    let last = crate::FiscalYear::containing(attains).last_day();
    end <= last
}

/// The reduction of the per-household levy of a 特定世帯 (½ for 5 years from the move to
/// 後期高齢者医療) or 特定継続世帯 (¼ for the 3 years after): one insured member left, with a
/// 特定同一世帯所属者 in the household.
fn transition_reduction(input: &HouseholdInput, rules: &TaxRules, index: usize) -> Option<super::rate::Fraction> {
    let insured = input.members.iter().filter(|member| member.insured.contains(index)).count();
    if insured != 1 {
        return None;
    }
    let month = month_number(month_start(rules.fiscal_year, index));
    let rule = &rules.national.transition;
    input
        .members
        .iter()
        .filter(|member| member.late_stage.contains(index))
        .filter_map(|member| member.late_stage_since)
        .map(|since| month - month_number(since))
        .filter(|elapsed| *elapsed >= 0)
        .min()
        .and_then(|elapsed| {
            if elapsed < i64::from(rule.first_years) * 12 {
                Some(rule.first)
            } else if elapsed < i64::from(rule.first_years + rule.then_years) * 12 {
                Some(rule.then)
            } else {
                None
            }
        })
}

/// Splits `total` into installments: every one but the first is total ÷ count truncated to
/// `unit`; the first takes the remainder, so they sum to the total.
pub fn installments(total: i64, months: &[u32], unit: i64) -> Vec<Installment> {
    let count = months.len() as i64;
    if count == 0 {
        return Vec::new();
    }
    let unit = unit.max(1);
    let later = total / count / unit * unit;
    months
        .iter()
        .enumerate()
        .map(|(number, month)| Installment {
            number: number as u32 + 1,
            month: *month,
            amount: if number == 0 { total - later * (count - 1) } else { later },
        })
        .collect()
}
