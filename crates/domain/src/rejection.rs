//! Why a command was refused. Each variant carries the data a clerk needs to act on it, and
//! maps to a stable snake_case code (part of the HTTP contract: never rename one).

use chrono::NaiveDate;
use uuid::Uuid;

use crate::eligibility::EligibilityError;
use crate::PersonId;

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
    #[error("the amount must be more than 0 yen, got {amount_yen}")]
    AmountNotPositive { amount_yen: i64 },
    #[error("{field} must not be negative, got {amount_yen}")]
    AmountNegative { field: &'static str, amount_yen: i64 },
    #[error("{field} {date} is in the future (today is {today})")]
    DateInFuture { field: &'static str, date: NaiveDate, today: NaiveDate },
    #[error("{field} must not be empty")]
    EmptyField { field: &'static str },
    #[error("{field} does not apply here: {reason}")]
    FieldNotApplicable { field: &'static str, reason: &'static str },
    #[error("event_date {given} is not the date the rule gives ({expected}); leave it out to use the rule's")]
    EventDateNotTheRule { given: NaiveDate, expected: NaiveDate },
    #[error("person {person_id} was erased at the end of retention; their record is closed")]
    PersonErased { person_id: PersonId },
    #[error("person {person_id} died on {died_on}")]
    PersonDeceased { person_id: PersonId, died_on: NaiveDate },
    #[error("person {person_id} has no insured period {period_id}")]
    PeriodNotFound { person_id: PersonId, period_id: Uuid },
    #[error("person {person_id} already has a period {period_id}: a new period needs a new id")]
    PeriodAlreadyRecorded { person_id: PersonId, period_id: Uuid },
    #[error("the income of {income_year} cannot be reported before the year has ended (today is {today})")]
    IncomeYearNotEnded { income_year: i32, today: NaiveDate },
    #[error("certificate {certificate_no} was already issued to this person")]
    CertificateAlreadyIssued { certificate_no: String },
    #[error("a certificate must be valid on the day it is issued ({issued_on}); valid_until was {valid_until}")]
    InvalidValidity { issued_on: NaiveDate, valid_until: NaiveDate },
    #[error("household {household_id} does not exist")]
    HouseholdNotFound { household_id: Uuid },
    #[error("household {household_id} already exists")]
    HouseholdAlreadyEstablished { household_id: Uuid },
    #[error("{date} is before the household was established ({established_on})")]
    DateBeforeEstablishment { date: NaiveDate, established_on: NaiveDate },
    #[error("person {person_id} is already a member of this household since {since}")]
    AlreadyAMember { person_id: Uuid, since: NaiveDate },
    #[error("person {person_id} is a member of household {household_id} on {on}: record their departure there first")]
    MemberOfAnotherHousehold { person_id: Uuid, household_id: Uuid, on: NaiveDate },
    #[error("person {person_id} is not a member of this household on {on}")]
    NotAMember { person_id: Uuid, on: NaiveDate },
    #[error("person {person_id} cannot leave on {left_on}: they joined on {joined_on}")]
    LeftBeforeJoined { person_id: Uuid, joined_on: NaiveDate, left_on: NaiveDate },
    #[error("person {person_id} heads the household: make another member head first")]
    HeadMustChangeFirst { person_id: Uuid },
    #[error("person {person_id} already heads the household")]
    AlreadyHead { person_id: Uuid },
    #[error("{date} is before the household's last change of head ({last_change})")]
    BeforeLastHeadChange { date: NaiveDate, last_change: NaiveDate },
}

impl Rejection {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::PersonNotFound { .. } => "person_not_found",
            Rejection::PersonAlreadyRegistered { .. } => "person_already_registered",
            Rejection::Eligibility { error, .. } => error.code(),
            Rejection::NotInsured { .. } => "not_insured",
            Rejection::AmountNotPositive { .. } => "amount_not_positive",
            Rejection::AmountNegative { .. } => "amount_negative",
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
            Rejection::HouseholdNotFound { .. } => "household_not_found",
            Rejection::HouseholdAlreadyEstablished { .. } => "household_already_established",
            Rejection::DateBeforeEstablishment { .. } => "date_before_establishment",
            Rejection::AlreadyAMember { .. } => "already_a_member",
            Rejection::MemberOfAnotherHousehold { .. } => "member_of_another_household",
            Rejection::NotAMember { .. } => "not_a_member",
            Rejection::LeftBeforeJoined { .. } => "left_before_joined",
            Rejection::HeadMustChangeFirst { .. } => "head_must_change_first",
            Rejection::AlreadyHead { .. } => "already_head",
            Rejection::BeforeLastHeadChange { .. } => "before_last_head_change",
        }
    }

    /// Whether the refusal is about something that does not exist (HTTP 404), conflicts with
    /// what is recorded (409), or is bad input (422). The HTTP layer maps it; other callers may.
    pub fn kind(&self) -> RejectionKind {
        match self {
            Rejection::PersonNotFound { .. }
            | Rejection::HouseholdNotFound { .. }
            | Rejection::PeriodNotFound { .. } => RejectionKind::NotFound,
            Rejection::PersonErased { .. } => RejectionKind::Gone,
            Rejection::PersonAlreadyRegistered { .. }
            | Rejection::HouseholdAlreadyEstablished { .. }
            | Rejection::CertificateAlreadyIssued { .. }
            | Rejection::AlreadyAMember { .. }
            | Rejection::AlreadyHead { .. }
            | Rejection::PeriodAlreadyRecorded { .. }
            | Rejection::MemberOfAnotherHousehold { .. } => RejectionKind::Conflict,
            Rejection::Eligibility {
                error: EligibilityError::AlreadyInsured { .. } | EligibilityError::OverlappingPeriod { .. },
                ..
            } => RejectionKind::Conflict,
            _ => RejectionKind::Invalid,
        }
    }
}

/// The broad class of a [`Rejection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    NotFound,
    Gone,
    Conflict,
    Invalid,
}
