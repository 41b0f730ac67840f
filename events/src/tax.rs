//! Payloads of NHI tax (国民健康保険税): assessments (賦課), reassessments (更正), the ones held
//! for a person to decide, and the facts a tax section records on application (docs/domain.md §5).
//!
//! The amounts of each part, the total and the installments are in clear (like payments): the
//! tax lists and the collection area read them without decrypting. The breakdown by member —
//! income bases, the reduction test, the reductions applied to whom — is personal and sealed
//! with the taxpayer's key.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Acquisition, Personal};

/// One part's amount for the year (`medical`, `support`, `care`, `child_support`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxPartAmount {
    pub part: String,
    pub amount_yen: i64,
    /// Months in which the part was levied.
    pub months: u32,
    /// The part's limit cut it.
    pub capped: bool,
}

/// One installment (期別).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxInstallment {
    pub number: u32,
    /// Calendar month it falls due.
    pub month: u32,
    pub amount_yen: i64,
}

/// What an assessment decided, in clear, and the rules it applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxFigures {
    pub total_yen: i64,
    pub parts: Vec<TaxPartAmount>,
    pub installments: Vec<TaxInstallment>,
    /// `statutory_seven_tenths`, `statutory_five_tenths`, `statutory_two_tenths`, or `None`.
    pub statutory_reduction: Option<String>,
    /// The city's rule file (`112020/2025/tax.toml`) and its SHA-256, and the statutory file's.
    pub rules_file: String,
    pub rules_sha256: String,
    pub national_sha256: String,
}

/// A household's NHI tax for a fiscal year was assessed (本算定) (v1). The taxpayer is the head
/// of household, insured or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxAssessed {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub taxpayer_person_id: Uuid,
    pub figures: TaxFigures,
    /// The whole breakdown (`kokuho_domain::tax::Assessment`), sealed with the taxpayer's key.
    #[serde(default)]
    pub personal: Personal<serde_json::Value>,
}

/// An issued assessment was corrected (更正) because what it was computed from changed (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxReassessed {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub taxpayer_person_id: Uuid,
    pub figures: TaxFigures,
    pub previous_total_yen: i64,
    /// New total − previous total.
    pub difference_yen: i64,
    /// What led to it: `eligibility`, `income`, `household`, `tax_facts`, `staff`, `rules`.
    pub reason: String,
    /// The ledger position of the event that triggered it, when a policy issued it.
    pub triggered_by: Option<i64>,
    #[serde(default)]
    pub personal: Personal<serde_json::Value>,
}

/// A change would alter an assessment of a fiscal year older than the law lets the city correct
/// on its own (地方税法 §17の5): the new figures are recorded for a person to decide, and the
/// assessment stays as issued (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxReassessmentHeld {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub taxpayer_person_id: Uuid,
    pub figures: TaxFigures,
    pub previous_total_yen: i64,
    pub difference_yen: i64,
    pub reason: String,
    pub triggered_by: Option<i64>,
    #[serde(default)]
    pub personal: Personal<serde_json::Value>,
}

/// 非自発的失業 (離職理由コード and day of separation), on the person's application (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnemploymentFacts {
    pub separated_on: NaiveDate,
    pub reason_code: String,
}

/// A person applied for the involuntary-unemployment reduction (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnemploymentRecorded {
    pub person_id: Uuid,
    pub recorded_on: NaiveDate,
    pub acquisition: Acquisition,
    #[serde(default)]
    pub personal: Personal<UnemploymentFacts>,
}

/// A birth (or due date) for the childbirth exemption (産前産後免除) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildbirthFacts {
    pub born_on: NaiveDate,
    pub multiple: bool,
}

/// A mother notified a birth or a due date (出産予定日) for the childbirth exemption (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildbirthRecorded {
    pub person_id: Uuid,
    pub recorded_on: NaiveDate,
    pub acquisition: Acquisition,
    #[serde(default)]
    pub personal: Personal<ChildbirthFacts>,
}
