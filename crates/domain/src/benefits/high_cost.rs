//! The high-cost medical expense benefit (高額療養費) of one household for one month: a pure
//! calculation over the household's members, their medical-cost records and the rules
//! (docs/domain.md §6; 国民健康保険法 §57の2, 施行令 §29の2–§29の4).
//!
//! # The steps, in the order the law takes them
//!
//! 1. **Records.** Charges are summed per person, provider, kind of care (inpatient,
//!    outpatient, dental) and month. Under 70 (up to the month in which the person attains
//!    70), a sum counts only when it is at least `under_70_threshold` (21,000; 10,500 for a
//!    person whose limits are halved this month); from 70 every charge counts.
//! 2. **70–74 outpatient, per person.** 一般 and 低所得 have an outpatient limit per person
//!    (18,000 / 8,000; halved in the month of turning 75); the excess is paid. Then the yearly
//!    outpatient limit (144,000, August–July) on the person's running total.
//! 3. **The month of turning 75** (unless the 75th birthday is the 1st), and a dependant who came
//!    to NHI that month because the employee turned 75: that person's own charges are capped at
//!    half the class's limit (the 1% part over half the cost threshold).
//! 4. **70–74 household.** What the 70–74 members still bear (outpatient after step 2, and
//!    inpatient) is capped by their class's household limit.
//! 5. **Whole household** (when any under-70 charge counted): the counted under-70 charges
//!    plus what the 70–74 members still bear, capped by the household's under-70 class limit
//!    (ア–オ), whose 1% part is taken on the total cost of every charge in the sum.
//!
//! 多数回該当: when `many_times_after` (3) earlier months of the last twelve had a household
//! benefit, the limits of steps 4 and 5 are the `many_times` amounts; a month with only the
//! outpatient benefit of step 2 does not count (the decision says whether this month counts).
//!
//! # Rounding (written beside each formula)
//!
//! - the 1% part: (total cost − threshold) × 1/100, **rounded half up to the yen** (国民健康保険法
//!   施行令 §29の3, as 健康保険法施行令 §42: 五十銭未満切捨て・五十銭以上切上げ);
//! - halved limits are exact (the rule files refuse odd amounts);
//! - a household benefit is shared among the persons in proportion to what each bears at that
//!   step, truncated, the yen left over going to the largest remainders (kokuho's own choice: the
//!   law pays the household, so only the record of who it is for depends on it).
//!
//! All amounts are i64 yen; sums use checked arithmetic and refuse rather than wrap.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{BenefitRules, ElderlyClasses, HighCostPeriod, Limit, Under70Classes};
use super::BenefitRejection;
use crate::eligibility::elderly::{elderly_share_starts_on, ElderlyShareBasis};
use crate::eligibility::seventy_fifth_birthday;
use crate::tax::Fraction;

/// The largest amount one record may carry (total cost or paid), in yen.
pub const RECORD_AMOUNT_MAX: i64 = 10_000_000_000;

/// Kinds of care summed separately under 70 (入院・外来・歯科は別計算). From 70, dental is
/// outpatient care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Care {
    Inpatient,
    Outpatient,
    Dental,
}

/// The household's class under 70 (所得区分 ア–オ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Under70Class {
    /// ア: 旧ただし書所得 over 9,010,000, or some income undeclared.
    A,
    /// イ: over 6,000,000.
    I,
    /// ウ: over 2,100,000.
    U,
    /// エ: at most 2,100,000.
    E,
    /// オ: the head and every insured member exempt from resident tax.
    O,
}

/// The class of the household's 70–74 members (現役並みⅢ/Ⅱ/Ⅰ, 一般, 低所得Ⅱ/Ⅰ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElderlyClass {
    Active3,
    Active2,
    Active1,
    General,
    Low2,
    Low1,
}

impl Under70Class {
    fn limit(self, period: &HighCostPeriod) -> Limit {
        let limits = &period.under_70;
        match self {
            Under70Class::A => limits.a,
            Under70Class::I => limits.i,
            Under70Class::U => limits.u,
            Under70Class::E => limits.e,
            Under70Class::O => limits.o,
        }
    }
}

impl ElderlyClass {
    fn limit(self, period: &HighCostPeriod) -> Limit {
        let limits = &period.elderly;
        match self {
            ElderlyClass::Active3 => limits.active_3,
            ElderlyClass::Active2 => limits.active_2,
            ElderlyClass::Active1 => limits.active_1,
            ElderlyClass::General => limits.general,
            ElderlyClass::Low2 => limits.low_2,
            ElderlyClass::Low1 => limits.low_1,
        }
    }

    /// The monthly outpatient limit per person, for the classes that have one.
    fn outpatient_limit(self, period: &HighCostPeriod) -> Option<i64> {
        match self {
            ElderlyClass::General => Some(period.elderly.outpatient_general),
            ElderlyClass::Low2 | ElderlyClass::Low1 => Some(period.elderly.outpatient_low),
            ElderlyClass::Active3 | ElderlyClass::Active2 | ElderlyClass::Active1 => None,
        }
    }
}

/// How the under-70 class was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "basis")]
pub enum Under70ClassBasis {
    /// Some insured member's income is undeclared: ア.
    Undeclared,
    /// The head and every insured member are exempt from resident tax: オ.
    ResidentTaxExempt,
    /// By Σ 旧ただし書所得 of the insured members.
    Income { total: i64 },
}

/// The household's under-70 class (docs/domain.md §6): ア when any insured member's income is
/// undeclared (`None`); オ when the head and every insured member are exempt from resident tax;
/// otherwise by Σ 旧ただし書所得 (each member's 総所得金額等 − 430,000, at least 0) of the
/// insured members: over `a_over` ア, over `i_over` イ, over `u_over` ウ, else エ.
pub fn under_70_class(
    kyu_tadashigaki: &[Option<i64>],
    resident_tax_exempt: bool,
    classes: &Under70Classes,
) -> (Under70Class, Under70ClassBasis) {
    if kyu_tadashigaki.iter().any(Option::is_none) {
        return (Under70Class::A, Under70ClassBasis::Undeclared);
    }
    if resident_tax_exempt {
        return (Under70Class::O, Under70ClassBasis::ResidentTaxExempt);
    }
    // Saturate: a corrupted figure must not wrap round to a low class.
    let total = kyu_tadashigaki.iter().flatten().fold(0_i64, |sum, income| sum.saturating_add((*income).max(0)));
    let class = if total > classes.a_over {
        Under70Class::A
    } else if total > classes.i_over {
        Under70Class::I
    } else if total > classes.u_over {
        Under70Class::U
    } else {
        Under70Class::E
    };
    (class, Under70ClassBasis::Income { total })
}

/// The class of the household's 70–74 members from the ground of their cost share (the 70–74
/// share decision, `eligibility::elderly::elderly_share_basis`): 現役並み (3割) households by the
/// highest 課税所得 — Ⅲ from `active_3_from`, Ⅱ from `active_2_from`, else Ⅰ; any other
/// household 低所得Ⅱ when the head and every insured member are exempt from resident tax,
/// 低所得Ⅰ when, besides, every member's income is 0 (pensions with an 800,000 deduction), else
/// 一般.
pub fn elderly_class(
    share_basis: &ElderlyShareBasis,
    resident_tax_exempt: bool,
    every_income_zero: bool,
    classes: &ElderlyClasses,
) -> ElderlyClass {
    match share_basis {
        ElderlyShareBasis::ActiveIncome { highest_taxable_income, .. } => {
            let highest = highest_taxable_income.amount();
            if highest >= classes.active_3_from {
                ElderlyClass::Active3
            } else if highest >= classes.active_2_from {
                ElderlyClass::Active2
            } else {
                ElderlyClass::Active1
            }
        }
        _ if resident_tax_exempt && every_income_zero => ElderlyClass::Low1,
        _ if resident_tax_exempt => ElderlyClass::Low2,
        _ => ElderlyClass::General,
    }
}

/// A member of the household insured in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighCostMember {
    pub person_id: Uuid,
    pub date_of_birth: NaiveDate,
    /// Came to NHI this month because the employee whose dependant they were turned 75
    /// (被扶養者の特例): their limits are halved this month, as for the person turning 75.
    #[serde(default)]
    pub joined_at_employees_75: bool,
    /// 70–74 一般 and 低所得 only: the outpatient charges the person bore in the August–July
    /// year before this month, after that year's outpatient benefits (for the yearly limit).
    #[serde(default)]
    pub outpatient_borne_this_year: i64,
}

/// One monthly medical-cost record (レセプト): what a provider charged for a person's care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedicalRecord {
    pub person_id: Uuid,
    /// The provider (医療機関コード); a pharmacy filling the provider's prescriptions is given
    /// the provider's id (院外処方は合算).
    pub provider: String,
    pub care: Care,
    /// 総医療費 (10割), yen.
    pub total_cost: i64,
    /// 一部負担金: what the person paid, yen.
    pub paid: i64,
}

/// One household-month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighCostInput {
    /// Any day of the service month (診療月).
    pub month: NaiveDate,
    /// Required when a member is under 70 in the month ([`under_70_class`]).
    pub under_70_class: Option<Under70Class>,
    /// Required when a member is 70–74 in the month ([`elderly_class`]).
    pub elderly_class: Option<ElderlyClass>,
    /// How many of the eleven months before this one had a household benefit (the 多数回 count,
    /// carried over a move within the prefecture).
    pub prior_benefit_months: u32,
    pub members: Vec<HighCostMember>,
    pub records: Vec<MedicalRecord>,
}

/// Which rules a member falls under in the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Up to the month in which the person attains 70.
    Under70,
    /// From the month after (from the birthday month for a birthday on the 1st) until 75.
    Elderly,
}

/// One step of the calculation, as the decision records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum Step {
    /// A person's charges at one provider for one kind of care count. `threshold` is the
    /// under-70 threshold it met (none from 70).
    RecordCounted { person_id: Uuid, provider: String, care: Care, paid: i64, total_cost: i64, threshold: Option<i64> },
    /// Under 70, below the threshold: not counted.
    RecordDropped { person_id: Uuid, provider: String, care: Care, paid: i64, threshold: i64 },
    /// 70–74 outpatient limit per person.
    OutpatientLimit { person_id: Uuid, outpatient: i64, limit: i64, benefit: i64 },
    /// 70–74 yearly outpatient limit.
    AnnualOutpatientLimit { person_id: Uuid, borne_before: i64, borne_this_month: i64, limit: i64, benefit: i64 },
    /// The month of turning 75: the person's own charges at half the limit.
    HalvedPersonalLimit { person_id: Uuid, borne: i64, total_cost: i64, limit: i64, benefit: i64 },
    /// The 70–74 members together at their class's household limit.
    ElderlyHouseholdLimit {
        class: ElderlyClass,
        borne: i64,
        total_cost: i64,
        many_times: bool,
        limit: i64,
        benefit: i64,
    },
    /// The whole household at its under-70 class's limit.
    HouseholdLimit { class: Under70Class, borne: i64, total_cost: i64, many_times: bool, limit: i64, benefit: i64 },
}

/// What one person paid, what counted, and the benefit that is theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonBenefit {
    pub person_id: Uuid,
    pub band: Band,
    /// Limits halved this month (turning 75, or a dependant who came to NHI at the employee's 75).
    pub halved: bool,
    /// Everything the person paid in the month.
    pub paid: i64,
    /// What counted (under 70: the sums at or above the threshold).
    pub counted: i64,
    pub benefit: i64,
    /// 70–74 一般 and 低所得: the outpatient running total of the year after this month.
    pub outpatient_borne_this_year: Option<i64>,
}

/// The decision for one household-month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighCostDecision {
    /// The first day of the service month.
    pub month: NaiveDate,
    /// The `from` of the rule period applied.
    pub period_from: NaiveDate,
    /// The period's figures are marked `assumed` in the rule file (not checked against a
    /// published 政令): a decision under them deserves a second look.
    pub period_assumed: bool,
    /// 多数回該当 applied.
    pub many_times: bool,
    /// The household limit applied last (step 5, else step 4); none when nothing counted.
    pub limit: Option<i64>,
    /// Σ paid of every record.
    pub paid: i64,
    /// Σ counted charges.
    pub counted: i64,
    /// The household's benefit: Σ of the persons'.
    pub benefit: i64,
    pub persons: Vec<PersonBenefit>,
    pub steps: Vec<Step>,
    /// Whether this month counts towards a later 多数回 (a household-level benefit was paid).
    pub counts_toward_many_times: bool,
}

fn add(a: i64, b: i64) -> Result<i64, BenefitRejection> {
    a.checked_add(b).ok_or(BenefitRejection::AmountOutOfRange)
}

/// `base` + (cost − over) × rate, the product rounded half up to the yen; or the 多数回 amount.
///
/// Rounding: 国民健康保険法施行令 §29の3 (as 健康保険法施行令 §42): "一円未満の端数がある場合
/// において、その端数金額が五十銭未満であるときは、これを切り捨て、五十銭以上であるときは、これを
/// 一円に切り上げ".
pub fn limit_amount(limit: Limit, total_cost: i64, many_times: bool, rate: Fraction) -> Result<i64, BenefitRejection> {
    if many_times {
        if let Some(amount) = limit.many_times {
            return Ok(amount);
        }
    }
    let Some(over) = limit.cost_over else { return Ok(limit.base) };
    let excess = i128::from(total_cost.saturating_sub(over).max(0));
    let numerator = excess * i128::from(rate.numerator);
    let denominator = i128::from(rate.denominator);
    // Half up: ⌊(2n + d) / 2d⌋ for n ≥ 0.
    let part = (2 * numerator + denominator) / (2 * denominator);
    let part = i64::try_from(part).map_err(|_| BenefitRejection::AmountOutOfRange)?;
    add(limit.base, part)
}

/// Shares `total` among `weights` in proportion, truncated, the yen left over going one by one to
/// the largest remainders (earlier first on a tie). With `total` ≤ Σ weights, no share exceeds
/// its weight.
fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&weight| i128::from(weight)).sum();
    if total <= 0 || sum <= 0 {
        return vec![0; weights.len()];
    }
    let total = i128::from(total);
    let mut shares: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (index, &weight) in weights.iter().enumerate() {
        let product = total * i128::from(weight);
        shares.push(i64::try_from(product / sum).expect("a share is at most the total"));
        remainders.push((product % sum, index));
    }
    let given: i128 = shares.iter().map(|&share| i128::from(share)).sum();
    let mut left = total - given;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if left == 0 {
            break;
        }
        shares[index] += 1;
        left -= 1;
    }
    shares
}

struct Person {
    id: Uuid,
    band: Band,
    halved: bool,
    paid: i64,
    counted: i64,
    counted_cost: i64,
    /// What the person still bears of the counted charges.
    borne: i64,
    outpatient: i64,
    benefit: i64,
    outpatient_borne_before: i64,
    outpatient_borne_this_year: Option<i64>,
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a 1st")
}

fn same_month(a: NaiveDate, b: NaiveDate) -> bool {
    a.year() == b.year() && a.month() == b.month()
}

/// The member's band in `month`, whether their limits are halved, or the refusal when they are
/// not in NHI's ages that month.
fn band_of(index: usize, member: &HighCostMember, month: NaiveDate) -> Result<(Band, bool), BenefitRejection> {
    let month_end = first_of_month(month)
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .ok_or(BenefitRejection::AmountOutOfRange)?;
    if member.date_of_birth > month_end {
        return Err(BenefitRejection::Invalid {
            field: format!("members[{index}].date_of_birth"),
            accepts: "a date on or before the last day of the month",
        });
    }
    let turns_75 = seventy_fifth_birthday(member.date_of_birth);
    // NHI ends on the 75th birthday (or the day after, by the eligibility setting): a member
    // whose 75th birthday fell in an earlier month is in 後期高齢者医療 for the whole month. A
    // birthday on the 1st leaves at most that day in NHI (under the day-after setting), without
    // the halving.
    if turns_75 < month {
        return Err(BenefitRejection::MemberInLateStage { index });
    }
    let halved = (same_month(turns_75, month) && turns_75.day() != 1) || member.joined_at_employees_75;
    let band = if elderly_share_starts_on(member.date_of_birth) <= month { Band::Elderly } else { Band::Under70 };
    Ok((band, halved))
}

fn check_amount(field: String, value: i64) -> Result<(), BenefitRejection> {
    if !(0..=RECORD_AMOUNT_MAX).contains(&value) {
        return Err(BenefitRejection::Invalid { field, accepts: "an amount of yen from 0 to 10,000,000,000" });
    }
    Ok(())
}

/// Decides the high-cost benefit of one household-month. Refused when no rule period covers
/// the month, a class the members need is missing, a record names someone not a member, a
/// member is not in NHI's ages, or an amount is out of range.
pub fn decide(input: &HighCostInput, rules: &BenefitRules) -> Result<HighCostDecision, BenefitRejection> {
    let month = first_of_month(input.month);
    let period = rules.high_cost_on(month).ok_or(BenefitRejection::RulesUnavailable { on: month })?;
    let rate = period.excess_rate;
    if input.prior_benefit_months > 11 {
        return Err(BenefitRejection::Invalid {
            field: "prior_benefit_months".into(),
            accepts: "the number of the eleven months before this one with a benefit, 0 to 11",
        });
    }
    let many_times = input.prior_benefit_months >= period.many_times_after;

    let mut persons: Vec<Person> = Vec::with_capacity(input.members.len());
    for (index, member) in input.members.iter().enumerate() {
        if persons.iter().any(|person| person.id == member.person_id) {
            return Err(BenefitRejection::DuplicateMember { index });
        }
        check_amount(format!("members[{index}].outpatient_borne_this_year"), member.outpatient_borne_this_year)?;
        let (band, halved) = band_of(index, member, month)?;
        persons.push(Person {
            id: member.person_id,
            band,
            halved,
            paid: 0,
            counted: 0,
            counted_cost: 0,
            borne: 0,
            outpatient: 0,
            benefit: 0,
            outpatient_borne_before: member.outpatient_borne_this_year,
            outpatient_borne_this_year: None,
        });
    }
    let under_70_class = if persons.iter().any(|person| person.band == Band::Under70) {
        Some(input.under_70_class.ok_or(BenefitRejection::ClassMissing { field: "under_70_class" })?)
    } else {
        None
    };
    let elderly_class = if persons.iter().any(|person| person.band == Band::Elderly) {
        Some(input.elderly_class.ok_or(BenefitRejection::ClassMissing { field: "elderly_class" })?)
    } else {
        None
    };

    // Step 1: sum per person, provider and kind of care, in the order first seen.
    struct Group<'a> {
        person: usize,
        provider: &'a str,
        care: Care,
        paid: i64,
        cost: i64,
    }
    let mut groups: Vec<Group> = Vec::new();
    for (index, record) in input.records.iter().enumerate() {
        check_amount(format!("records[{index}].total_cost"), record.total_cost)?;
        check_amount(format!("records[{index}].paid"), record.paid)?;
        if record.paid > record.total_cost {
            return Err(BenefitRejection::Invalid {
                field: format!("records[{index}].paid"),
                accepts: "an amount of yen from 0 to the record's total_cost",
            });
        }
        if record.provider.trim().is_empty() || record.provider.len() > 64 {
            return Err(BenefitRejection::Invalid {
                field: format!("records[{index}].provider"),
                accepts: "a provider id of 1 to 64 bytes",
            });
        }
        let person = persons
            .iter()
            .position(|person| person.id == record.person_id)
            .ok_or(BenefitRejection::RecordPersonNotMember { index })?;
        persons[person].paid = add(persons[person].paid, record.paid)?;
        match groups
            .iter_mut()
            .find(|group| group.person == person && group.provider == record.provider && group.care == record.care)
        {
            Some(group) => {
                group.paid = add(group.paid, record.paid)?;
                group.cost = add(group.cost, record.total_cost)?;
            }
            None => groups.push(Group {
                person,
                provider: &record.provider,
                care: record.care,
                paid: record.paid,
                cost: record.total_cost,
            }),
        }
    }
    let mut steps = Vec::new();
    for group in &groups {
        let person = &mut persons[group.person];
        let threshold = match person.band {
            // Halved in the month of turning 75 (10,500).
            Band::Under70 if person.halved => Some(period.under_70_threshold / 2),
            Band::Under70 => Some(period.under_70_threshold),
            Band::Elderly => None,
        };
        let provider = group.provider.to_owned();
        if let Some(threshold) = threshold.filter(|&threshold| group.paid < threshold) {
            steps.push(Step::RecordDropped {
                person_id: person.id,
                provider,
                care: group.care,
                paid: group.paid,
                threshold,
            });
            continue;
        }
        person.counted = add(person.counted, group.paid)?;
        person.counted_cost = add(person.counted_cost, group.cost)?;
        if person.band == Band::Elderly && group.care != Care::Inpatient {
            person.outpatient = add(person.outpatient, group.paid)?;
        }
        steps.push(Step::RecordCounted {
            person_id: person.id,
            provider,
            care: group.care,
            paid: group.paid,
            total_cost: group.cost,
            threshold,
        });
    }
    for person in &mut persons {
        person.borne = person.counted;
    }

    // Step 2: 70–74 outpatient per person, monthly then yearly.
    if let Some(class) = elderly_class {
        if let Some(monthly) = class.outpatient_limit(period) {
            for person in persons.iter_mut().filter(|person| person.band == Band::Elderly) {
                // Halved in the month of turning 75.
                let limit = if person.halved { monthly / 2 } else { monthly };
                let benefit = (person.outpatient - limit).max(0);
                if person.outpatient > 0 {
                    steps.push(Step::OutpatientLimit {
                        person_id: person.id,
                        outpatient: person.outpatient,
                        limit,
                        benefit,
                    });
                }
                let borne_this_month = person.outpatient - benefit;
                let annual = period.elderly.annual_outpatient;
                let room = (annual - person.outpatient_borne_before).max(0);
                let annual_benefit = (borne_this_month - room).max(0);
                if borne_this_month > 0 && annual_benefit > 0 {
                    steps.push(Step::AnnualOutpatientLimit {
                        person_id: person.id,
                        borne_before: person.outpatient_borne_before,
                        borne_this_month,
                        limit: annual,
                        benefit: annual_benefit,
                    });
                }
                let total_benefit = benefit + annual_benefit;
                person.benefit += total_benefit;
                person.borne -= total_benefit;
                person.outpatient_borne_this_year =
                    Some(add(person.outpatient_borne_before, borne_this_month - annual_benefit)?);
            }
        }
    }

    // Step 3: the month of turning 75, each halved person's own charges.
    let mut household_benefit_paid = false;
    for person in persons.iter_mut().filter(|person| person.halved && person.borne > 0) {
        // Both classes were required above for the bands present.
        let limit = match person.band {
            Band::Elderly => elderly_class.map(|class| class.limit(period)),
            Band::Under70 => under_70_class.map(|class| class.limit(period)),
        };
        let limit = limit.ok_or(BenefitRejection::ClassMissing {
            field: if person.band == Band::Elderly { "elderly_class" } else { "under_70_class" },
        })?;
        let limit = limit_amount(limit.halved(), person.counted_cost, many_times, rate)?;
        let benefit = (person.borne - limit).max(0);
        steps.push(Step::HalvedPersonalLimit {
            person_id: person.id,
            borne: person.borne,
            total_cost: person.counted_cost,
            limit,
            benefit,
        });
        person.benefit += benefit;
        person.borne -= benefit;
        household_benefit_paid |= benefit > 0;
    }

    // Step 4: the 70–74 members together.
    let mut last_limit = None;
    if let Some(class) = elderly_class {
        let members: Vec<usize> = (0..persons.len()).filter(|&i| persons[i].band == Band::Elderly).collect();
        let borne = members.iter().try_fold(0, |sum, &i| add(sum, persons[i].borne))?;
        let total_cost = members.iter().try_fold(0, |sum, &i| add(sum, persons[i].counted_cost))?;
        if total_cost > 0 || borne > 0 {
            let class_many_times = many_times && class.limit(period).many_times.is_some();
            let limit = limit_amount(class.limit(period), total_cost, many_times, rate)?;
            let benefit = (borne - limit).max(0);
            steps.push(Step::ElderlyHouseholdLimit {
                class,
                borne,
                total_cost,
                many_times: class_many_times,
                limit,
                benefit,
            });
            let weights: Vec<i64> = members.iter().map(|&i| persons[i].borne).collect();
            for (&i, share) in members.iter().zip(allocate(benefit, &weights)) {
                persons[i].benefit += share;
                persons[i].borne -= share;
            }
            household_benefit_paid |= benefit > 0;
            last_limit = Some(limit);
        }
    }

    // Step 5: the whole household, when an under-70 charge counted.
    if let Some(class) = under_70_class {
        let any_counted = persons.iter().any(|person| person.band == Band::Under70 && person.counted > 0);
        if any_counted {
            let borne = persons.iter().try_fold(0, |sum, person| add(sum, person.borne))?;
            let total_cost = persons.iter().try_fold(0, |sum, person| add(sum, person.counted_cost))?;
            let class_many_times = many_times && class.limit(period).many_times.is_some();
            let limit = limit_amount(class.limit(period), total_cost, many_times, rate)?;
            let benefit = (borne - limit).max(0);
            steps.push(Step::HouseholdLimit { class, borne, total_cost, many_times: class_many_times, limit, benefit });
            let weights: Vec<i64> = persons.iter().map(|person| person.borne).collect();
            for (person, share) in persons.iter_mut().zip(allocate(benefit, &weights)) {
                person.benefit += share;
                person.borne -= share;
            }
            household_benefit_paid |= benefit > 0;
            last_limit = Some(limit);
        }
    }

    let paid = persons.iter().try_fold(0, |sum, person| add(sum, person.paid))?;
    let counted = persons.iter().try_fold(0, |sum, person| add(sum, person.counted))?;
    let benefit = persons.iter().try_fold(0, |sum, person| add(sum, person.benefit))?;
    let applied_many_times = steps.iter().any(|step| {
        matches!(
            step,
            Step::ElderlyHouseholdLimit { many_times: true, .. } | Step::HouseholdLimit { many_times: true, .. }
        )
    });
    Ok(HighCostDecision {
        month,
        period_from: period.from,
        period_assumed: period.assumed.is_some(),
        many_times: applied_many_times,
        limit: last_limit,
        paid,
        counted,
        benefit,
        persons: persons
            .into_iter()
            .map(|person| PersonBenefit {
                person_id: person.id,
                band: person.band,
                halved: person.halved,
                paid: person.paid,
                counted: person.counted,
                benefit: person.benefit,
                outpatient_borne_this_year: person.outpatient_borne_this_year,
            })
            .collect(),
        steps,
        counts_toward_many_times: household_benefit_paid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_exact_and_never_exceeds_a_weight() {
        assert_eq!(allocate(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(allocate(0, &[5, 5]), vec![0, 0]);
        assert_eq!(allocate(7, &[0, 7]), vec![0, 7]);
        assert_eq!(allocate(100, &[30_000, 60_000, 10_000]), vec![30, 60, 10]);
    }

    #[test]
    fn the_one_percent_part_is_rounded_half_up() {
        let limit = Limit { base: 80_100, cost_over: Some(267_000), many_times: Some(44_400) };
        let rate = Fraction::new(1, 100);
        // (267,050 − 267,000) × 1% = 0.5 → 1; 267,040 → 0.4 → 0.
        assert_eq!(limit_amount(limit, 267_050, false, rate).unwrap(), 80_101);
        assert_eq!(limit_amount(limit, 267_040, false, rate).unwrap(), 80_100);
        assert_eq!(limit_amount(limit, 100_000, false, rate).unwrap(), 80_100, "below the threshold: the base");
        assert_eq!(limit_amount(limit, 9_000_000, true, rate).unwrap(), 44_400, "多数回 replaces the formula");
        assert_eq!(limit_amount(limit.halved(), 300_000, false, rate).unwrap(), 40_050 + 1_665);
    }
}
