//! Collection (収納): the household's account per fiscal year — its installments (納期), the
//! payments received and where they went, overpayments applied to other years' arrears (充当) or
//! refunded (還付), arrears (滞納), reminders (督促) and late fees (延滞金) — as pure functions and
//! types, with the rules of `rules/collection_national.toml` and
//! `rules/<tenant>/<year>/collection.toml` (docs/domain.md §5, "Collection").

pub mod account;
pub mod household_account;
pub mod late_fee;
pub mod limit_certificate;
pub mod pension_notice;
pub mod rules;
pub mod schedule;

#[cfg(test)]
mod examples;
#[cfg(test)]
mod properties;

pub use account::{
    may_issue_limit_certificate, settle_overpayment, Account, Allocation, Arrear, Channel, Credit, CreditSource,
    Payment, PaymentAllocation, Reassessment, ReceiptId, ReminderDue, ReminderIssued, Settlement, SettlementKind,
    SettlementReason,
};
pub use late_fee::{late_fee, LateFee, LateFeeStep};
pub use rules::{CityCollection, CollectionRules, CollectionRulesError, NationalCollection};
pub use schedule::{
    ordinary, ordinary_from, ordinary_from_assessment, respread, special, special_conditions, split, Installment,
    Method, SpecialCondition, SpecialInput, SpecialSchedule,
};

use crate::aggregate::{Refusal, RejectionKind};

/// Why a collection decision is refused. Each has a stable `code`; messages name the field and
/// what it accepts, never the value submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectionRejection {
    #[error("{field} must be {accepts}")]
    Invalid { field: &'static str, accepts: &'static str },
    #[error("{field} is out of range (0 to 1,000,000,000,000 yen; a payment more than 0)")]
    AmountOutOfRange { field: &'static str },
    #[error("receipt_id has already been received on this account: a receipt is counted once")]
    DuplicateReceipt,
    #[error("installment {number} is not on this account")]
    InstallmentNotFound { number: u32 },
    #[error("installment {number} is not past its due date on the day given")]
    NotPastDue { number: u32 },
    #[error("installment {number} is paid in full")]
    InstallmentPaid { number: u32 },
    #[error("a reminder for installment {number} has already been issued")]
    ReminderAlreadyIssued { number: u32 },
    #[error("the holiday calendar of rules/collection_national.toml does not cover {year}: add its holidays")]
    CalendarNotCovered { year: i32 },
    #[error("rules/collection_national.toml has no late-fee rates for {year}: add [[late_fee.years]] for it")]
    LateFeeRatesUnavailable { year: i32 },
    #[error("the account has no overpayment to settle")]
    NoOverpayment,
    #[error("the account of fiscal year {fiscal_year} has no installments yet: the household's tax is not assessed")]
    NotScheduled { fiscal_year: i32 },
    #[error("the collection rules of this fiscal year cannot be used: see the server log")]
    RulesUnavailable { reason: String },
    #[error("the person is not a member of the household on the day given")]
    NotMember,
    #[error("the account of this fiscal year is already scheduled: pension withholding starts from a later fiscal year's notice")]
    AlreadyScheduled { fiscal_year: i32 },
    #[error("household_id is not a recorded household")]
    HouseholdNotFound { household_id: uuid::Uuid },
    #[error("the household is in arrears (fiscal year {fiscal_year}, installment {installment}): 限度額適用認定証 is not issued")]
    InArrears { fiscal_year: i32, installment: u32 },
}

impl Refusal for CollectionRejection {
    fn code(&self) -> &'static str {
        match self {
            CollectionRejection::Invalid { .. } => "invalid_field",
            CollectionRejection::AmountOutOfRange { .. } => "amount_out_of_range",
            CollectionRejection::DuplicateReceipt => "duplicate_receipt",
            CollectionRejection::InstallmentNotFound { .. } => "installment_not_found",
            CollectionRejection::NotPastDue { .. } => "installment_not_past_due",
            CollectionRejection::InstallmentPaid { .. } => "installment_paid",
            CollectionRejection::ReminderAlreadyIssued { .. } => "reminder_already_issued",
            CollectionRejection::CalendarNotCovered { .. } => "collection_calendar_not_covered",
            CollectionRejection::LateFeeRatesUnavailable { .. } => "late_fee_rates_unavailable",
            CollectionRejection::NoOverpayment => "no_overpayment",
            CollectionRejection::InArrears { .. } => "household_in_arrears",
            CollectionRejection::NotScheduled { .. } => "account_not_scheduled",
            CollectionRejection::AlreadyScheduled { .. } => "account_already_scheduled",
            CollectionRejection::RulesUnavailable { .. } => "collection_rules_unavailable",
            CollectionRejection::NotMember => "person_not_in_household",
            CollectionRejection::HouseholdNotFound { .. } => "household_not_found",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            CollectionRejection::Invalid { .. } | CollectionRejection::AmountOutOfRange { .. } => {
                RejectionKind::Invalid
            }
            CollectionRejection::InstallmentNotFound { .. } | CollectionRejection::HouseholdNotFound { .. } => {
                RejectionKind::NotFound
            }
            CollectionRejection::NotScheduled { .. }
            | CollectionRejection::AlreadyScheduled { .. }
            | CollectionRejection::RulesUnavailable { .. }
            | CollectionRejection::NotMember => RejectionKind::Conflict,
            CollectionRejection::DuplicateReceipt
            | CollectionRejection::NotPastDue { .. }
            | CollectionRejection::InstallmentPaid { .. }
            | CollectionRejection::ReminderAlreadyIssued { .. }
            | CollectionRejection::CalendarNotCovered { .. }
            | CollectionRejection::LateFeeRatesUnavailable { .. }
            | CollectionRejection::NoOverpayment => RejectionKind::Conflict,
            // A state of the household, not of the caller: 409 (the clerk may issue once it is paid).
            CollectionRejection::InArrears { .. } => RejectionKind::Conflict,
        }
    }
}

#[cfg(test)]
mod message_tests {
    use super::CollectionRejection;

    #[test]
    fn refusal_messages_name_the_field_never_the_value() {
        let id = uuid::Uuid::from_u128(0x1234_5678_9abc_def0);
        let message = CollectionRejection::HouseholdNotFound { household_id: id }.to_string();
        assert!(!message.contains(&id.to_string()), "{message}");
        assert!(message.contains("household_id"), "{message}");
        let reason = "rules/112020/2031/collection.toml: No such file or directory".to_owned();
        let message = CollectionRejection::RulesUnavailable { reason: reason.clone() }.to_string();
        assert!(!message.contains("2031") && !message.contains("No such file"), "{message}");
    }
}
