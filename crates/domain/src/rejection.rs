//! Why a command was refused. Each variant carries the data a clerk needs to act on it, and
//! maps to a stable snake_case code (part of the HTTP contract: never rename one).

use chrono::NaiveDate;

use crate::PersonId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("person {person_id} is not registered")]
    PersonNotFound { person_id: PersonId },
    #[error("person {person_id} is already registered")]
    PersonAlreadyRegistered { person_id: PersonId },
    #[error("person {person_id} is already insured since {since}")]
    AlreadyInsured { person_id: PersonId, since: NaiveDate },
    #[error("person {person_id} is not insured")]
    NotInsured { person_id: PersonId },
    #[error("the amount must be more than 0 yen, got {amount_yen}")]
    AmountNotPositive { amount_yen: i64 },
    #[error("{field} {date} is in the future (today is {today})")]
    DateInFuture { field: &'static str, date: NaiveDate, today: NaiveDate },
    #[error("{field} must not be empty")]
    EmptyField { field: &'static str },
    #[error("person {person_id} was erased at the end of retention; their record is closed")]
    PersonErased { person_id: PersonId },
}

impl Rejection {
    /// The stable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::PersonNotFound { .. } => "person_not_found",
            Rejection::PersonAlreadyRegistered { .. } => "person_already_registered",
            Rejection::AlreadyInsured { .. } => "already_insured",
            Rejection::NotInsured { .. } => "not_insured",
            Rejection::AmountNotPositive { .. } => "amount_not_positive",
            Rejection::DateInFuture { .. } => "date_in_future",
            Rejection::EmptyField { .. } => "empty_field",
            Rejection::PersonErased { .. } => "person_erased",
        }
    }
}
