//! The payload structs, one per event type, at their current schema version.
//!
//! Field names are the glossary's (`docs/domain.md` §7). Dates are valid time (when a fact is true in
//! the world); the envelope's `recorded_at` is transaction time and never appears here.

use chrono::{DateTime, NaiveDate, Utc};
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

/// A new name, from the resident registry (氏名変更).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameChange {
    pub name: String,
    pub name_kana: String,
}

/// A person's name changed (marriage, adoption, …) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonNameChanged {
    pub person_id: Uuid,
    /// The day the new name took effect in the registry.
    pub effective_on: NaiveDate,
    pub acquisition: Acquisition,
    #[serde(default)]
    pub personal: Personal<NameChange>,
}

/// A new address within the municipality, from the resident registry (転居).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressChange {
    pub address: String,
}

/// A person moved within the municipality (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonAddressChanged {
    pub person_id: Uuid,
    pub effective_on: NaiveDate,
    pub acquisition: Acquisition,
    #[serde(default)]
    pub personal: Personal<AddressChange>,
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

/// A one-time enrolment code was issued for an account (v1): with it, and only once, the staff
/// member chooses their own password and enrols their own authenticator. Recorded with
/// `StaffUserCreated`; the code itself is never recorded (the database keeps its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffEnrolmentIssued {
    pub user_id: Uuid,
    /// The administrator, or `None` from the command line.
    pub issued_by: Option<Uuid>,
    /// The code works until then.
    pub expires_at: DateTime<Utc>,
}

/// The staff member enrolled (v1): they chose their password and registered their own
/// authenticator with the enrolment code, which is used up. Nobody else ever held these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffEnrolled {
    pub user_id: Uuid,
}

/// A staff member changed their own password (v1), giving the current one; their other
/// sessions ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffPasswordChanged {
    pub user_id: Uuid,
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
    /// Only in events recorded before the back-off replaced the lockout (a throttled attempt is
    /// refused before anything is written).
    AccountLocked,
    AccountDisabled,
    /// The account has not enrolled yet: it has no password.
    NotEnrolled,
    /// An enrolment step with a wrong, expired or used enrolment code (or for a login with none).
    EnrolmentCodeInvalid,
}

/// A sign-in was refused (v2). Neither the login as typed nor the password or code tried is
/// recorded: the login only as a keyed hash, so a password typed into the login field is kept
/// nowhere and every record has the same small size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSignInFailed {
    /// HMAC-SHA256 (hex) of the login as typed, under the tenant's key derived from the master
    /// key (`MasterKey::tenant_hmac`, purpose `staff login`): the failures of one login can be
    /// found by hashing it again, and nothing else can be read from it. `None` only for events
    /// recorded as v1, whose typed text the upcaster leaves behind.
    pub login_hmac: Option<String>,
    /// The account, when the login exists.
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

/// An auditor was given a signed checkpoint or a proof of the ledger (v1): recorded in
/// `audit-<user_id>` before the answer was sent, like every audit read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerProofServed {
    pub user_id: Uuid,
    pub role: String,
    /// `checkpoint`, `inclusion` or `consistency`.
    pub proof: String,
    /// The tree size the answer is about: the proof's (larger) tree, or for a checkpoint the
    /// ledger's size when it was asked (the checkpoint answered also covers this record).
    pub tree_size: u64,
    /// The earlier tree of a consistency proof.
    pub old_size: Option<u64>,
    /// The event position of an inclusion proof.
    pub position: Option<i64>,
    /// The NHI affair declared (`audit`).
    pub purpose: String,
}

/// A kind of record with its own retention period (`rules/retention.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionKind {
    /// The person's registration from the resident registry.
    Registration,
    /// Eligibility (資格) records.
    Eligibility,
    /// Payments of NHI tax (収納).
    Payment,
    /// Provision records (情報提供等記録).
    Provision,
}

/// The person's retention ended and their data key was destroyed: every personal part of theirs
/// reads as erased from now on (v1). Carries nothing personal, so it outlives the erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonErased {
    pub person_id: Uuid,
    /// The kind of record whose retention ran out last, which decided the erasure date.
    pub retention_kind: RetentionKind,
    /// The last day of that kind's retention period.
    pub retention_ended_on: NaiveDate,
    /// Where that period comes from (the rule's `source`).
    pub rule_source: String,
    /// SHA-256 (hex) of the retention rules file applied (ARCHITECTURE.md invariant 6).
    pub rules_sha256: String,
}

/// The My Number a link request is about, sealed with the person's data key: the only place the
/// ledger stores a My Number, so erasing the person erases it (docs/domain.md §3 rule 3).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNumberPart {
    /// 個人番号, 12 digits with its check digit (validated by `kokuho_domain::my_number`).
    pub my_number: String,
}

/// Debug shows only the last four digits, as the masked form does: a `{:?}` of an event (a test
/// failure, a log line) must never print a My Number (architecture invariant 8).
impl std::fmt::Debug for MyNumberPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last_four = self.my_number.len().checked_sub(4).and_then(|start| self.my_number.get(start..)).unwrap_or("");
        f.debug_struct("MyNumberPart").field("my_number", &format_args!("********{last_four}")).finish()
    }
}

/// A staff member asked for a My Number to be linked to a person (v1). Nothing is linked until
/// two other staff confirm and a supervisor approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNumberLinkRequested {
    pub request_id: Uuid,
    pub person_id: Uuid,
    pub requested_by: Uuid,
    #[serde(default)]
    pub personal: Personal<MyNumberPart>,
}

/// A staff member other than the requester confirmed a link request against the documents, by
/// keying the number independently (v1). The keyed number is compared, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNumberLinkConfirmed {
    pub request_id: Uuid,
    pub person_id: Uuid,
    pub confirmed_by: Uuid,
}

/// A supervisor gave the final approval of a link request: from now on it is the person's
/// My Number (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNumberLinkApproved {
    pub request_id: Uuid,
    pub person_id: Uuid,
    pub approved_by: Uuid,
}

/// A link request was turned down (or withdrawn by its requester) and will never link (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNumberLinkRejected {
    pub request_id: Uuid,
    pub person_id: Uuid,
    pub rejected_by: Uuid,
    /// Checked to hold no My Number: it is kept in clear.
    pub reason: String,
}

/// The person's index of approved links (stream `mynumber-<person_id>`): appended right after a
/// `MyNumberLinkApproved`, so a person's current My Number is found without scanning the
/// ledger (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNumberLinked {
    pub person_id: Uuid,
    pub request_id: Uuid,
}

/// A staff member was shown a person's full My Number, and why (v1). Appended together with the
/// `PersonalDataAccessed` of item `my_number`, before the digits were sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNumberRevealed {
    pub person_id: Uuid,
    pub user_id: Uuid,
    /// The reason the staff member stated; checked to hold no My Number: it is kept in clear.
    pub reason: String,
}

// ---- Sensitive persons, provisions and inquiries (情報提供等記録, マイナンバー法 §23), citizens ----

/// Why a supervisor set or cleared a person's sensitivity flags. Personal: a reason such as
/// "DV等支援措置" says what happened to the person, so it is sealed with their key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivityReason {
    pub reason: String,
}

/// A supervisor set a person's sensitivity flags (取扱注意者, docs/domain.md §3 rule 4), in the stream
/// `sensitivity-<person_id>` (v1). Each event states both flags as they are from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivityFlagsSet {
    pub person_id: Uuid,
    /// 自動応答不可フラグ: a provision request waits for a supervisor's approval.
    pub no_auto_response: bool,
    /// 不開示該当フラグ: provision records made while set are hidden from the citizen's view.
    pub non_disclosure: bool,
    pub set_by: Uuid,
    #[serde(default)]
    pub personal: Personal<SensitivityReason>,
}

/// Another agency asked, through the information provision network, for a person's specific
/// personal information (stream `provision-<provision_id>`) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequested {
    pub provision_id: Uuid,
    pub person_id: Uuid,
    /// The requesting agency (情報照会者), e.g. `全国健康保険協会 埼玉支部`.
    pub requesting_agency: String,
    /// The row of the provision ordinance's table (主務省令第2条の表の項番) the request cites.
    pub legal_basis_row: String,
    /// The full citation of that row, as the allow-list states it.
    pub legal_basis: String,
    /// The categories of information asked for (利用特定個人情報), e.g. `医療保険給付関係情報`.
    pub items: Vec<String>,
    /// When the agency asked (valid time).
    pub requested_at: chrono::DateTime<chrono::Utc>,
    /// SHA-256 (hex) of the allow-list the request was checked against.
    pub allow_list_sha256: String,
}

/// The person has the no-auto-response flag: the request waits for a supervisor (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionAwaitingApproval {
    pub provision_id: Uuid,
    pub person_id: Uuid,
}

/// A supervisor approved a waiting provision after checking what is sent (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionApproved {
    pub provision_id: Uuid,
    pub person_id: Uuid,
    pub approved_by: Uuid,
}

/// The information was provided to the requesting agency: the provision record of マイナンバー法
/// §23 (requester, provider, times, items, non-disclosure) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionProvided {
    pub provision_id: Uuid,
    pub person_id: Uuid,
    pub requesting_agency: String,
    pub legal_basis: String,
    pub items: Vec<String>,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    /// When it was provided (valid time).
    pub provided_at: chrono::DateTime<chrono::Utc>,
    /// 不開示該当: copied from the person's non-disclosure flag when provided.
    pub non_disclosable: bool,
}

/// The city asked another agency, through the information provision network, for a person's
/// information, under a management number permitted for the purpose (stream
/// `inquiry-<inquiry_id>`) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InquiryMade {
    pub inquiry_id: Uuid,
    pub person_id: Uuid,
    /// The management number (情報照会の管理番号): a row of the ordinance's table.
    pub management_number: String,
    /// The citation of that row, as the allow-list states it.
    pub legal_basis: String,
    /// The NHI affair the inquiry is for (a `kokuho_auth::Purpose` name).
    pub purpose: String,
    /// The agency asked (情報提供者), e.g. `日本年金機構`.
    pub agency_asked: String,
    pub items: Vec<String>,
    pub made_by: Uuid,
    /// The inquiring staff member's role: the citizen's view names the section from it.
    pub role: String,
    /// 不開示該当: copied from the person's non-disclosure flag (seed III-6 risk 1, docs/seed.md: for sensitive
    /// persons an inquiry is made only with non-disclosure set).
    pub non_disclosable: bool,
    /// SHA-256 (hex) of the allow-list the management number was checked against.
    pub allow_list_sha256: String,
}

/// Staff registered a citizen's card key (an Ed25519 public key standing in for the My Number
/// card's certificate), in the stream `citizen-<person_id>` (v1). It replaces any earlier key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenKeyRegistered {
    pub person_id: Uuid,
    /// SHA-256 (hex) of the public key: names the key without linking it to other systems.
    pub key_fingerprint: String,
    pub registered_by: Uuid,
}

/// A citizen signed in by signing a challenge with their card's key (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenSignedIn {
    pub person_id: Uuid,
    /// Names the session without revealing its token.
    pub session_id: Uuid,
    pub key_fingerprint: String,
}

/// Why a citizen's sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CitizenSignInFailure {
    /// No key is registered for the person named.
    NoKey,
    ChallengeExpired,
    BadSignature,
    /// The registered key is not a usable Ed25519 key.
    MalformedKey,
}

/// A citizen's sign-in was refused (v1). The signature tried is never recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenSignInFailed {
    pub person_id: Uuid,
    pub failure: CitizenSignInFailure,
}
