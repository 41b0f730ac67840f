//! Why a command was refused. Each variant carries the data a clerk needs to act on it, and
//! maps to a stable snake_case code (part of the HTTP contract: never rename one).

use chrono::NaiveDate;
use uuid::Uuid;

use crate::eligibility::EligibilityError;
use crate::{PersonId, RejectionKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("person {person_id} is not registered")]
    PersonNotFound { person_id: PersonId },
    #[error("person {person_id} is already registered")]
    PersonAlreadyRegistered { person_id: PersonId },
    /// An eligibility rule refused the fact: `already_insured`, `not_insured`,
    /// `overlapping_period`, `loss_before_acquisition` or `date_beyond_rule`.
    #[error("person {person_id}: {error}")]
    Eligibility { person_id: PersonId, error: EligibilityError },
    #[error("person {person_id} is not insured")]
    NotInsured { person_id: PersonId },
    #[error("{field} must not be negative")]
    AmountNegative { field: &'static str, amount_yen: i64 },
    /// The value is not repeated: an income figure is personal.
    #[error("{field} must be at most {max_yen} yen")]
    AmountTooLarge { field: &'static str, max_yen: i64 },
    #[error("{field} is in the future (today is {today})")]
    DateInFuture { field: &'static str, date: NaiveDate, today: NaiveDate },
    #[error("{field} must not be empty")]
    EmptyField { field: &'static str },
    #[error("{field} does not apply here: {reason}")]
    FieldNotApplicable { field: &'static str, reason: &'static str },
    #[error("event_date is not the date the rule gives ({expected}); leave it out to use the rule's")]
    EventDateNotTheRule { given: NaiveDate, expected: NaiveDate },
    #[error("person {person_id} was erased at the end of retention; their record is closed")]
    PersonErased { person_id: PersonId },
    #[error("person {person_id} died on {died_on}")]
    PersonDeceased { person_id: PersonId, died_on: NaiveDate },
    #[error("person {person_id} has no insured period {period_id}")]
    PeriodNotFound { person_id: PersonId, period_id: Uuid },
    #[error("person {person_id} already has a period {period_id}: a new period needs a new id")]
    PeriodAlreadyRecorded { person_id: PersonId, period_id: Uuid },
    #[error("income_year must be a calendar year that has ended (before this year)")]
    IncomeYearNotEnded { income_year: i32, today: NaiveDate },
    #[error("certificate_no: that certificate was already issued to this person")]
    CertificateAlreadyIssued { certificate_no: String },
    #[error("valid_until must be on or after the day the certificate is issued")]
    InvalidValidity { issued_on: NaiveDate, valid_until: NaiveDate },
    #[error("{field} must be at most {max_chars} characters")]
    TextTooLong { field: &'static str, max_chars: usize },
    #[error("{field} must not contain control characters (tabs, line breaks, escapes)")]
    ControlCharacter { field: &'static str },
    #[error("{field} must be {earliest} or later (YYYY-MM-DD)")]
    DateTooEarly { field: &'static str, earliest: NaiveDate },
    #[error("{field} must be a year from {earliest} to {latest}")]
    YearOutOfRange { field: &'static str, earliest: i32, latest: i32 },
    #[error("notified_on must not be before the event it notifies (event_date)")]
    NotifiedBeforeEvent,
    #[error("source must be one of: {}", crate::checks::SOURCES.iter().map(|(code, _)| *code).collect::<Vec<_>>().join(", "))]
    UnknownSource,
    #[error("legal_basis must cite one of these laws, optionally followed by the article: {}", crate::checks::LAWS.join(", "))]
    UnknownLegalBasis,
    #[error("atena_no is already registered to person {existing}")]
    AtenaNoRegistered { existing: PersonId },
}

impl Rejection {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::PersonNotFound { .. } => "person_not_found",
            Rejection::PersonAlreadyRegistered { .. } => "person_already_registered",
            Rejection::TextTooLong { .. } => "text_too_long",
            Rejection::ControlCharacter { .. } => "control_character",
            Rejection::DateTooEarly { .. } => "date_too_early",
            Rejection::NotifiedBeforeEvent => "notified_before_event",
            Rejection::YearOutOfRange { .. } => "fiscal_year_out_of_range",
            Rejection::UnknownSource => "unknown_source",
            Rejection::UnknownLegalBasis => "unknown_legal_basis",
            Rejection::AtenaNoRegistered { .. } => "atena_no_registered",
            Rejection::Eligibility { error, .. } => error.code(),
            Rejection::NotInsured { .. } => "not_insured",
            Rejection::AmountNegative { .. } => "amount_negative",
            Rejection::AmountTooLarge { .. } => "amount_too_large",
            Rejection::DateInFuture { .. } => "date_in_future",
            Rejection::EmptyField { .. } => "empty_field",
            Rejection::FieldNotApplicable { .. } => "field_not_applicable",
            Rejection::EventDateNotTheRule { .. } => "event_date_not_the_rule",
            Rejection::PersonErased { .. } => "person_erased",
            Rejection::PersonDeceased { .. } => "person_deceased",
            Rejection::PeriodNotFound { .. } => "period_not_found",
            Rejection::PeriodAlreadyRecorded { .. } => "period_already_recorded",
            Rejection::IncomeYearNotEnded { .. } => "income_year_not_ended",
            Rejection::CertificateAlreadyIssued { .. } => "certificate_already_issued",
            Rejection::InvalidValidity { .. } => "invalid_validity",
        }
    }

    /// Whether the refusal is about something that does not exist (HTTP 404), conflicts with
    /// what is recorded (409), or is bad input (422). The HTTP layer maps it; other callers may.
    pub fn kind(&self) -> RejectionKind {
        match self {
            Rejection::PersonNotFound { .. } | Rejection::PeriodNotFound { .. } => RejectionKind::NotFound,
            Rejection::PersonErased { .. } => RejectionKind::Gone,
            Rejection::PersonAlreadyRegistered { .. }
            | Rejection::AtenaNoRegistered { .. }
            | Rejection::CertificateAlreadyIssued { .. }
            | Rejection::PeriodAlreadyRecorded { .. } => RejectionKind::Conflict,
            Rejection::Eligibility {
                error: EligibilityError::AlreadyInsured { .. } | EligibilityError::OverlappingPeriod { .. },
                ..
            } => RejectionKind::Conflict,
            _ => RejectionKind::Invalid,
        }
    }
}

impl crate::Refusal for Rejection {
    fn code(&self) -> &'static str {
        Rejection::code(self)
    }
    fn kind(&self) -> RejectionKind {
        Rejection::kind(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal names the field and what it accepts, never the value sent (the income year, the
    /// certificate number, the validity day were echoed before).
    #[test]
    fn refusals_of_a_sent_value_name_the_field_never_the_value() {
        let day = |d| NaiveDate::from_ymd_opt(2031, 7, d).unwrap();
        let cases = [
            (Rejection::IncomeYearNotEnded { income_year: 2999, today: day(1) }, "income_year", "2999"),
            (Rejection::CertificateAlreadyIssued { certificate_no: "KUMA-778899".into() }, "certificate_no", "778899"),
            (Rejection::InvalidValidity { issued_on: day(2), valid_until: day(3) }, "valid_until", "2031"),
        ];
        for (rejection, field, value) in cases {
            let message = rejection.to_string();
            assert!(message.contains(field) && !message.contains(value), "{message}");
        }
    }
}
