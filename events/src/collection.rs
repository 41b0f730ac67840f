//! Payloads of collection (収納): the household's account per fiscal year, stream
//! `account-<household>-<fiscal year>` — its installments (納期) scheduled from the assessment and
//! re-spread after a reassessment, the payments received and where they went, the overpayment
//! applied to the household's other years (充当) or refunded (還付), the reminders (督促) — and
//! the 限度額適用認定証 issued to a person (stream `limit-certificate-<person>`)
//! (docs/domain.md §5).
//!
//! Everything is in clear, like the tax amounts: the collection lists read it without decrypting.
//! Nothing here names a person other than by the ledger's pseudonymous ids; a receipt id is the
//! bank's or the convenience store's record number.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Personal;

/// How an installment is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallmentMethod {
    /// 普通徴収: paid by the household.
    Ordinary,
    /// 特別徴収: withheld from the head's pension.
    Special,
}

/// One installment (期別) of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInstallment {
    pub number: u32,
    pub method: InstallmentMethod,
    /// The due date (納期限), moved to an open day by the rule file's calendar.
    pub due_on: NaiveDate,
    pub amount_yen: i64,
}

/// How a payment reached the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountChannel {
    /// At a bank or post office with the payment slip (金融機関).
    Bank,
    /// At a convenience store with the slip's barcode (コンビニ収納).
    ConvenienceStore,
    /// At the city office's counter (窓口).
    Counter,
    /// By account transfer on the due date (口座振替).
    AccountTransfer,
    /// Withheld from the pension (特別徴収).
    PensionWithholding,
}

/// The rule files a collection decision applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionRulesUsed {
    /// The city's file (`112020/2025/collection.toml`) and its SHA-256.
    pub rules_file: String,
    pub rules_sha256: String,
    /// SHA-256 of `collection_national.toml`.
    pub national_sha256: String,
}

/// The installments of a household's account were scheduled from its assessment (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountScheduled {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    /// The annual tax assessed (年税額).
    pub assessed_total_yen: i64,
    /// `ordinary`, or `special` when the household qualified for pension withholding.
    pub method: InstallmentMethod,
    /// The conditions of pension withholding the household failed, when they were looked at
    /// (`head_not_insured`, `member_age`, …); empty otherwise.
    pub special_conditions_failed: Vec<String>,
    pub installments: Vec<AccountInstallment>,
    /// The day the installments were spread from: the assessment's own day (JST) when a policy
    /// issued it. Installments already due that day were not charged (a late assessment).
    pub decided_on: NaiveDate,
    /// The ledger position of the assessment that led to it, when a policy issued it.
    pub triggered_by: Option<i64>,
    pub rules: CollectionRulesUsed,
}

/// A reassessment re-spread the installments not yet due (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRespread {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub previous_total_yen: i64,
    pub assessed_total_yen: i64,
    /// The installments as they are from now on.
    pub installments: Vec<AccountInstallment>,
    /// The day of the re-spread: installments due before it keep their amounts.
    pub decided_on: NaiveDate,
    /// What was received beyond the installments, before and after.
    pub overpayment_before_yen: i64,
    pub overpayment_after_yen: i64,
    pub triggered_by: Option<i64>,
    pub rules: CollectionRulesUsed,
}

/// Part of a payment that paid an installment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentApplied {
    pub installment: u32,
    pub amount_yen: i64,
}

/// A payment was received for a household's account (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountPaymentReceived {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    /// The channel's record number: a receipt is counted once per account.
    pub receipt_id: String,
    pub amount_yen: i64,
    /// The day the money was paid in (領収日), which decides lateness.
    pub received_on: NaiveDate,
    pub channel: AccountChannel,
    /// Where it went when received, oldest due first (the account derives it again after a
    /// reassessment).
    pub allocations: Vec<PaymentApplied>,
    /// What no installment needed.
    pub overpayment_yen: i64,
}

/// Where part of an overpayment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementKindRecorded {
    /// Applied to the household's arrears of another fiscal year (充当).
    Applied,
    /// Refunded (還付).
    Refunded,
}

/// A decision on an account's overpayment (v1): applied to another year's arrears, or refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverpaymentSettled {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub decided_on: NaiveDate,
    pub amount_yen: i64,
    pub settlement: SettlementKindRecorded,
    /// For `applied`: the year and installment it pays.
    pub to_fiscal_year: Option<i32>,
    pub to_installment: Option<u32>,
    /// `applied_to_arrears` (地方税法 §17の2 ①) or `refunded_no_arrears_left` (§17).
    pub reason: String,
    /// For `applied`: the day it takes effect (充当適状日, §17の2 ④, 施行令 §6の14), the later of
    /// the installment's due date and the day the overpayment arose; the installment counts as
    /// paid that day. Absent in the decisions recorded before it was kept: they took effect on
    /// `decided_on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_on: Option<NaiveDate>,
}

/// An overpayment of another year of the household was applied to this account (v1), by the
/// collection policy after the `OverpaymentSettled` at `settled_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverpaymentApplied {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub from_fiscal_year: i32,
    pub applied_on: NaiveDate,
    pub amount_yen: i64,
    /// The ledger position of the decision on the other year's account.
    pub settled_at: i64,
}

/// A reminder (督促状) was issued for an installment past due (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionReminderIssued {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    pub installment: u32,
    pub due_on: NaiveDate,
    pub issued_on: NaiveDate,
    /// The last day it is issued in time (due + the rule file's days, 地方税法 §726 ①).
    pub deadline: NaiveDate,
    pub in_time: bool,
    pub unpaid_yen: i64,
}

/// The pension payer's notice for the head of household (年金特別徴収対象者通知) was recorded on
/// the account before its installments were scheduled (v1); a later notice replaces it. The
/// schedule reads it: the tax is withheld from the head's pension when the household meets the
/// rule file's conditions. The pension and the care premium are the head's: sealed with the
/// head's key, erased with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PensionNoticeRecorded {
    pub household_id: Uuid,
    pub fiscal_year: i32,
    /// The head of household the notice is about (the key that seals `personal`).
    pub head_person_id: Uuid,
    /// The day the notice was received.
    pub notified_on: NaiveDate,
    /// The provisional withholding (仮徴収額) of each of April, June and August, fixed before the
    /// assessment; 0 when nothing is withheld before October.
    pub provisional_each_yen: i64,
    pub personal: Personal<PensionNoticeFacts>,
}

/// What the notice says of the head's pension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PensionNoticeFacts {
    /// The annual pension the tax may be withheld from.
    pub head_annual_pension_yen: i64,
    /// The head's care premium (介護保険料) of the year.
    pub care_premium_yen: i64,
    /// The care premium is itself withheld from that pension.
    pub care_premium_withheld: bool,
}

/// A 限度額適用認定証 was issued to a person for their household (v1): no account of the
/// household was in arrears that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitCertificateIssued {
    pub person_id: Uuid,
    pub household_id: Uuid,
    pub issued_on: NaiveDate,
    /// The fiscal years of the household's accounts looked at (none in arrears).
    pub accounts_checked: Vec<i32>,
}
