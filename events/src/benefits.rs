//! Payloads of benefits (給付, docs/domain.md §6): the monthly medical-cost records (レセプト) the
//! 国保連 sends in batches, the high-cost medical expense decision (高額療養費) of a household-month,
//! the childbirth (出産育児一時金) and funeral (葬祭費) claims decided or refused, the public-funds
//! receiving account (公金受取口座) a person registered, and the payment instructions.
//!
//! Amounts are in clear (the read tables show them without decrypting); the provider of a record,
//! every step of a calculation, the facts of a claim and every account number are personal and
//! sealed under `personal` with the key of the person they concern.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Personal;

/// A bank account (口座): personal data, only ever inside a `personal` part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// 金融機関コード (4 digits; ゆうちょ 9900).
    pub bank_code: String,
    /// 店番 (3 digits).
    pub branch_code: String,
    /// `ordinary` (普通), `current` (当座), `savings` (貯蓄).
    pub account_type: String,
    /// 口座番号 (7 digits).
    pub account_number: String,
    /// 口座名義 (カナ).
    pub holder_kana: String,
}

/// What a medical-cost record does not show in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicalCostDetails {
    /// 医療機関コード (a pharmacy filling the provider's prescriptions carries the provider's).
    pub provider: String,
}

/// One monthly medical-cost record (レセプト) of a person, from a 国保連 batch, in the stream of
/// the household-month it belongs to, `high-cost-<household>-<YYYY-MM>` (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicalCostRecorded {
    pub household_id: Uuid,
    pub person_id: Uuid,
    /// The first day of the service month (診療月).
    pub month: NaiveDate,
    /// The record's number in the 国保連's batch (レセプト番号): a record sent again is not
    /// recorded twice.
    pub record_id: String,
    pub batch_id: String,
    /// `inpatient`, `outpatient` or `dental`.
    pub care: String,
    /// 総医療費 (10割), yen.
    pub total_cost_yen: i64,
    /// 一部負担金, yen.
    pub paid_yen: i64,
    #[serde(default)]
    pub personal: Personal<MedicalCostDetails>,
}

/// One person's share of a household benefit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonBenefitAmount {
    pub person_id: Uuid,
    pub paid_yen: i64,
    pub benefit_yen: i64,
}

/// The high-cost medical expense benefit (高額療養費) of a household-month was decided (v1). The
/// whole calculation, step by step with the classes and their ground, is sealed with the head's
/// key; the amounts are in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighCostDecided {
    pub household_id: Uuid,
    /// The first day of the service month.
    pub month: NaiveDate,
    /// The head of household, to whom the benefit is paid.
    pub head_person_id: Uuid,
    /// Medical-cost records the decision took.
    pub records: u32,
    pub paid_yen: i64,
    pub counted_yen: i64,
    pub benefit_yen: i64,
    /// The household limit applied last, if any charge counted.
    pub limit_yen: Option<i64>,
    /// 多数回該当 applied.
    pub many_times: bool,
    /// This month counts towards a later 多数回.
    pub counts_toward_many_times: bool,
    pub persons: Vec<PersonBenefitAmount>,
    /// The city's rule file (`112020/2024/benefits.toml`), its SHA-256, and the national file's.
    pub rules_file: String,
    pub rules_sha256: String,
    pub national_sha256: String,
    /// The rule period's figures are marked assumed in the rule file.
    pub period_assumed: bool,
    /// `kokuho_domain::benefits::HighCostDecision` and the classes with their ground.
    #[serde(default)]
    pub personal: Personal<serde_json::Value>,
}

/// A childbirth or funeral claim was decided: paid (v1). The claim's facts are sealed with the
/// person's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitClaimDecided {
    pub claim_id: Uuid,
    /// The insured person the claim is for (the mother; the deceased).
    pub person_id: Uuid,
    /// `childbirth` (出産育児一時金) or `funeral` (葬祭費).
    pub kind: String,
    /// The day the right arose (birth; funeral).
    pub event_on: NaiveDate,
    pub claimed_on: NaiveDate,
    pub amount_yen: i64,
    /// Paid to the institution (直接支払制度).
    pub to_institution_yen: i64,
    /// Paid to the claimant (the difference when the cost was lower, or everything).
    pub to_claimant_yen: i64,
    pub claim_deadline: NaiveDate,
    pub rules_file: String,
    pub rules_sha256: String,
    pub national_sha256: String,
    #[serde(default)]
    pub personal: Personal<serde_json::Value>,
}

/// A childbirth or funeral claim was refused (不支給決定), with the refusal's stable code (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitClaimRefused {
    pub claim_id: Uuid,
    pub person_id: Uuid,
    pub kind: String,
    pub event_on: NaiveDate,
    pub claimed_on: NaiveDate,
    /// `claim_lapsed`, `former_plan_pays`, `pregnancy_too_short`, `benefit_rules_unavailable`.
    pub code: String,
    pub reason: String,
    #[serde(default)]
    pub personal: Personal<serde_json::Value>,
}

/// A person registered (or replaced) their public-funds receiving account (公金受取口座), with
/// whether they consent to its use for NHI benefits (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicFundsAccountRegistered {
    pub person_id: Uuid,
    pub registered_on: NaiveDate,
    /// Consent to pay NHI benefits into it.
    pub consented: bool,
    #[serde(default)]
    pub personal: Personal<BankAccount>,
}

/// A benefit is to be paid into an account (支払指示) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitPaymentInstructed {
    pub payment_id: Uuid,
    /// The person paid (the head of household; the claimant).
    pub payee_person_id: Uuid,
    /// `high_cost`, `childbirth`, `funeral`.
    pub benefit: String,
    /// The household of a high-cost benefit, or the claim.
    pub reference: String,
    pub amount_yen: i64,
    /// `public_funds_account` (公金受取口座) or `claim_account` (the account on the claim).
    pub account_source: String,
    #[serde(default)]
    pub personal: Personal<BankAccount>,
}
