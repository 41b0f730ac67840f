//! Why an eligibility fact or question was refused.
//!
//! Each variant carries the dates a clerk needs to act on it and maps to a stable snake_case
//! code (ARCHITECTURE.md invariant 4). The codes are part of the HTTP contract: never rename one.

use chrono::NaiveDate;

/// A refusal from the eligibility rules. All dates follow the ledger's convention: a period's
/// `effective_on` is its first insured day and its `lost_on` the first day *not* insured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EligibilityError {
    /// The loss date is on or before the acquisition date. Because `lost_on` is the first day
    /// not insured, a loss on the acquisition day itself would leave a period of no days: then
    /// the person was never insured and no acquisition should be recorded at all.
    #[error("the loss date {lost_on} must be after the acquisition date {effective_on}")]
    LossBeforeAcquisition { effective_on: NaiveDate, lost_on: NaiveDate },

    /// Two periods of the same person share at least one day. `first_shared_day` and
    /// `last_shared_day` are both insured days of both periods (inclusive range).
    #[error(
        "the period from {effective_on} overlaps the period from {other_effective_on} \
         on {first_shared_day}..={last_shared_day}"
    )]
    OverlappingPeriod {
        effective_on: NaiveDate,
        other_effective_on: NaiveDate,
        first_shared_day: NaiveDate,
        last_shared_day: NaiveDate,
    },

    /// An acquisition while the person already has an open period (no loss recorded yet).
    /// 国民健康保険法 §7: one person holds one eligibility; the open period must be lost first.
    #[error("already insured since {since}; cannot acquire again on {acquired_on}")]
    AlreadyInsured { since: NaiveDate, acquired_on: NaiveDate },

    /// A loss for a person with no open period.
    #[error("not insured: there is no open period to lose on {on}")]
    NotInsured { on: NaiveDate },

    /// The date lies outside the span a rule covers: before `limit` when `rule` starts there
    /// (e.g. `date_of_birth`), or on/after `limit` when `rule` ends there (e.g.
    /// `late_stage_elderly`: from that day the person belongs to 後期高齢者医療, not to NHI).
    #[error("{date} is beyond the rule {rule} (limit {limit})")]
    DateBeyondRule { date: NaiveDate, rule: &'static str, limit: NaiveDate },
}

impl EligibilityError {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            EligibilityError::LossBeforeAcquisition { .. } => "loss_before_acquisition",
            EligibilityError::OverlappingPeriod { .. } => "overlapping_period",
            EligibilityError::AlreadyInsured { .. } => "already_insured",
            EligibilityError::NotInsured { .. } => "not_insured",
            EligibilityError::DateBeyondRule { .. } => "date_beyond_rule",
        }
    }
}

/// The `rule` named in [`EligibilityError::DateBeyondRule`] when a date precedes the birth.
pub const RULE_DATE_OF_BIRTH: &str = "date_of_birth";
/// The `rule` named in [`EligibilityError::DateBeyondRule`] when a date is on or after the
/// day NHI ends at 75 (高齢者の医療の確保に関する法律 §50, §52).
pub const RULE_LATE_STAGE_ELDERLY: &str = "late_stage_elderly";
