//! Payloads of eligibility (資格), households (世帯), income and certificates: docs/domain.md §4.
//!
//! Dates follow the ledger's convention: `effective_on` is a period's first insured day and
//! `lost_on` its first day *not* insured (資格喪失日). Both are derived from `event_date` by the
//! reason's rule when the decision is made and recorded here, so a reader never re-derives them
//! and a later rule change cannot silently move a recorded date.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Acquisition, Personal};

/// Why NHI eligibility was acquired (国民健康保険法 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquisitionReason {
    /// 転入: moved into the municipality.
    MovedIn,
    /// 社保離脱: left an employee health insurance plan.
    LeftEmployeeInsurance,
    /// 出生.
    Birth,
    /// 生活保護廃止: public assistance ended.
    PublicAssistanceEnded,
}

/// Why NHI eligibility was lost (国民健康保険法 §6, §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossReason {
    /// 転出: moved out of the municipality.
    MovedOut,
    /// 社保加入: joined an employee health insurance plan (§6 一〜七).
    JoinedEmployeeInsurance,
    /// 死亡.
    Death,
    /// 生活保護開始: the household started receiving public assistance (§6 九).
    PublicAssistanceStarted,
    /// 後期高齢者医療へ移行: reached 75 (§6 八; 高齢者の医療の確保に関する法律 §50).
    ReachedLateStageElderly,
}

/// 一部負担金割合: the share of medical costs the insured person pays (国民健康保険法 §42①).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostShare {
    /// 3割.
    ThreeTenths,
    /// 2割.
    TwoTenths,
}

impl CostShare {
    /// The share in tenths of the cost (3 or 2).
    pub fn tenths(self) -> u8 {
        match self {
            CostShare::ThreeTenths => 3,
            CostShare::TwoTenths => 2,
        }
    }
}

impl fmt::Display for CostShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CostShare::ThreeTenths => "3割",
            CostShare::TwoTenths => "2割",
        })
    }
}

/// The former municipality of a person who moved in from elsewhere in the same prefecture, and
/// the first day they were no longer insured there (its 資格喪失日), as the aggregation system
/// (国保情報集約システム) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormerMunicipality {
    /// The 6-digit local government code of the former city.
    pub municipality_code: String,
    /// First day not insured there.
    pub lost_on: NaiveDate,
}

/// The start of an insured period as decided: reason, dates, and whether it was notified late.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityStart {
    pub reason: AcquisitionReason,
    pub event_date: NaiveDate,
    /// First day insured, derived from `event_date` by the reason's rule.
    pub effective_on: NaiveDate,
    pub notified_on: NaiveDate,
    /// Notified more than the deadline (14 days) after the event; the dates still hold.
    pub notification_late: bool,
}

/// The end of an insured period as decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityEnd {
    pub reason: LossReason,
    pub event_date: NaiveDate,
    /// First day not insured, derived from `event_date` by the reason's rule.
    pub lost_on: NaiveDate,
    pub notified_on: NaiveDate,
    pub notification_late: bool,
}

/// A person became insured (資格取得) (v2; v1 had no period id, source, lateness or former city).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityAcquired {
    pub person_id: Uuid,
    /// Names the period for its loss and for corrections.
    pub period_id: Uuid,
    pub reason: AcquisitionReason,
    /// The date of the event in the world (moving in, leaving employment, birth, …).
    pub event_date: NaiveDate,
    /// The first day insured, derived from `event_date` by the reason's rule.
    pub effective_on: NaiveDate,
    /// The day the notification reached the city.
    pub notified_on: NaiveDate,
    /// Notified more than the deadline after the event (施行規則 §2); retroactive all the same.
    pub notification_late: bool,
    /// Where the notification came from and the law that allows recording it.
    pub acquisition: Acquisition,
    /// Set for a move from another municipality of the same prefecture.
    pub former_municipality: Option<FormerMunicipality>,
}

/// A person's insured period ended (資格喪失) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityLost {
    pub person_id: Uuid,
    pub period_id: Uuid,
    pub reason: LossReason,
    pub event_date: NaiveDate,
    /// The first day not insured, derived from `event_date` by the reason's rule.
    pub lost_on: NaiveDate,
    pub notified_on: NaiveDate,
    pub notification_late: bool,
    pub acquisition: Acquisition,
}

/// Why a recorded period was corrected or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionReason {
    /// 入力誤り: the entry did not match the notification.
    EntryError,
    /// The registry or another agency sent facts that change the dates or the reason.
    NewEvidence,
    /// 遡及: a later notification moves the period into the past.
    RetroactiveNotification,
}

/// A recorded period is restated: it supersedes the acquisition, loss and earlier corrections
/// of `period_id` in every projection, while the ledger keeps them all (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityCorrected {
    pub person_id: Uuid,
    pub period_id: Uuid,
    pub start: EligibilityStart,
    /// `None`: the period is open (a loss entered in error is undone this way).
    pub end: Option<EligibilityEnd>,
    pub former_municipality: Option<FormerMunicipality>,
    pub correction_reason: CorrectionReason,
}

/// A recorded period is withdrawn: it never existed (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityWithdrawn {
    pub person_id: Uuid,
    pub period_id: Uuid,
    pub correction_reason: CorrectionReason,
}

/// A person died (死亡), from the resident registry (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonDied {
    pub person_id: Uuid,
    pub died_on: NaiveDate,
    pub notified_on: NaiveDate,
    pub acquisition: Acquisition,
}

/// A person's income of one calendar year as the resident-tax department (住民税) assessed it.
/// Yen; never negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeFigures {
    /// 総所得金額等.
    pub total_income_yen: i64,
    /// 課税所得 (住民税の課税標準額).
    pub taxable_income_yen: i64,
    /// 給与収入.
    pub salary_income_yen: i64,
    /// 公的年金等収入.
    pub pension_income_yen: i64,
    /// Whether the person declared their income (申告); undeclared income cannot qualify for
    /// reductions.
    pub declared: bool,
}

/// The resident-tax department reported a person's income for a year; a later report for the
/// same year supersedes the earlier one (v1). The figures are personal: sealed per person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeReported {
    pub person_id: Uuid,
    /// The calendar year the income was earned in.
    pub income_year: i32,
    pub acquisition: Acquisition,
    #[serde(default)]
    pub personal: Personal<IncomeFigures>,
}

/// A household (世帯) was established with its head (世帯主), who is its first member (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdEstablished {
    pub household_id: Uuid,
    pub head_person_id: Uuid,
    pub established_on: NaiveDate,
    pub acquisition: Acquisition,
}

/// A person joined a household (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdMemberJoined {
    pub household_id: Uuid,
    pub person_id: Uuid,
    pub joined_on: NaiveDate,
}

/// A person left a household; `left_on` is their first day not in it (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdMemberLeft {
    pub household_id: Uuid,
    pub person_id: Uuid,
    pub left_on: NaiveDate,
}

/// Another member became head of the household from `changed_on` (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdHeadChanged {
    pub household_id: Uuid,
    pub head_person_id: Uuid,
    pub changed_on: NaiveDate,
}

/// The head applied for the 基準収入額 exception of the 70–74 share (基準収入額適用申請) (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeExceptionApplied {
    pub household_id: Uuid,
    pub applied_on: NaiveDate,
}

/// An eligibility certificate (資格確認書) was issued for an insured period (v1). It is valid
/// from `valid_from` through `valid_until` (inclusive), and no longer once the period is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateIssued {
    pub person_id: Uuid,
    pub period_id: Uuid,
    pub certificate_no: String,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

/// The 70–74 share (前期高齢者) of a person, decided for their household from `valid_from` on
/// (v1): on reaching the age, every 1 August, and on every change of income or household.
/// Records the branch of the rule and the rule set's hash; the figures compared stay in the
/// income reports (they are personal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElderlyCostShareDecided {
    pub person_id: Uuid,
    pub household_id: Option<Uuid>,
    pub valid_from: NaiveDate,
    pub share: CostShare,
    /// `no_member_at_threshold`, `kyu_tadashigaki_within_limit`,
    /// `income_under_application_limit` or `active_income`.
    pub basis: String,
    /// The calendar year whose income decided it.
    pub income_year: i32,
    /// SHA-256 of the eligibility rule file the decision applied.
    pub rules_sha256: String,
}
