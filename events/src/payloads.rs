//! The payload structs, one per event type, at their current schema version.
//!
//! Field names are the glossary's (`domain.md` §7). Dates are valid time (when a fact is true in
//! the world); the envelope's `recorded_at` is transaction time and never appears here.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Personal;

/// Where a piece of personal information came from (入手元) and the law that allows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acquisition {
    /// e.g. `resident_registry` (住民記録), `person_or_agent` (本人又は代理人), `resident_tax`.
    pub source: String,
    /// e.g. `番号利用法 第9条第1項 別表 第30の項`.
    pub legal_basis: String,
}

/// The five items of the resident registry (基本4情報 + 性別), encrypted per person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonDetails {
    pub name: String,
    pub name_kana: String,
    pub sex: Sex,
    pub date_of_birth: NaiveDate,
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// A person entered the ledger from the resident registry (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRegistered {
    pub person_id: Uuid,
    /// 宛名番号, the city's internal person number.
    pub atena_no: String,
    pub acquisition: Acquisition,
    #[serde(default)]
    pub personal: Personal<PersonDetails>,
}

/// Why NHI eligibility was acquired (国民健康保険法 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquisitionReason {
    MovedIn,
    LeftEmployeeInsurance,
    Birth,
    PublicAssistanceEnded,
}

/// A person became insured (資格取得) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityAcquired {
    pub person_id: Uuid,
    pub reason: AcquisitionReason,
    /// The date of the event in the world (moving in, leaving employment, birth, …).
    pub event_date: NaiveDate,
    /// The first day insured, derived from `event_date` by the reason's rule.
    pub effective_on: NaiveDate,
    /// The day the notification reached the city.
    pub notified_on: NaiveDate,
}

/// How a payment reached the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentChannel {
    Counter,
    BankTransfer,
    PensionWithholding,
}

/// A payment of NHI tax was received (収納) (v2; v1 called the amount `amount` and had no channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentReceived {
    pub person_id: Uuid,
    /// 年度: 2025 means 2025-04-01..2026-03-31.
    pub fiscal_year: i32,
    pub amount_yen: i64,
    pub received_on: NaiveDate,
    pub channel: PaymentChannel,
}

/// A staff account was created (one account per person; no shared accounts) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffUserCreated {
    pub user_id: Uuid,
    pub login: String,
    /// A `kokuho_auth::Role` name, e.g. `eligibility_clerk`.
    pub role: String,
    /// The administrator who created it, or `None` for the first one (created from the command line).
    pub created_by: Option<Uuid>,
}

/// A staff account was disabled (transfer, retirement); its sessions ended at once (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffUserDisabled {
    pub user_id: Uuid,
    pub disabled_by: Option<Uuid>,
    pub reason: String,
}

/// A staff member signed in with password and second factor (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSignedIn {
    pub user_id: Uuid,
    /// Identifies the session in the record without revealing its token.
    pub session_id: Uuid,
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    UnknownLogin,
    WrongPassword,
    WrongCode,
    CodeAlreadyUsed,
    AccountLocked,
    AccountDisabled,
}

/// A sign-in was refused (v1). The password and code tried are never recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSignInFailed {
    pub login: String,
    pub user_id: Option<Uuid>,
    pub failure: SignInFailure,
}

/// A staff member signed out (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSignedOut {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// An authenticated request was refused by authorization (role, purpose or tenant) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRefused {
    pub user_id: Uuid,
    /// The route template (`/v1/{tenant}/persons/{person_id}`), never the raw path.
    pub route: String,
    pub method: String,
    /// The problem code the caller received, e.g. `role_not_permitted`.
    pub code: String,
    pub purpose: Option<String>,
}

/// Staff read a person's data (the access record, III-3 risk 2), committed before the
/// response was sent (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataAccessed {
    pub user_id: Uuid,
    pub role: String,
    pub person_id: Uuid,
    /// Which items were shown, e.g. `["name", "address", "eligibility"]`.
    pub items: Vec<String>,
    /// The NHI affair the read was for (a `kokuho_auth::Purpose` name).
    pub purpose: String,
}
