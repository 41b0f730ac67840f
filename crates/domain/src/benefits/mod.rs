//! Benefits (給付): the rules of each period and municipality, and the pure decisions of the
//! high-cost medical expense benefit (高額療養費), the childbirth lump sum (出産育児一時金) and the
//! funeral expense (葬祭費) (docs/domain.md §6).

pub mod account;
pub mod childbirth;
pub mod claims;
pub mod funeral;
pub mod high_cost;
pub mod month;
pub mod rules;

#[cfg(test)]
mod examples;
#[cfg(test)]
mod properties;

use chrono::NaiveDate;

pub use childbirth::{ChildbirthClaim, ChildbirthDecision, Payment};
pub use funeral::{FuneralClaim, FuneralDecision};
pub use high_cost::{
    decide, elderly_class, under_70_class, Band, Care, ElderlyClass, HighCostDecision, HighCostInput, HighCostMember,
    MedicalRecord, PersonBenefit, Step, Under70Class, Under70ClassBasis,
};
pub use rules::{BenefitRules, BenefitRulesError, CityBenefits, HighCostDecisionTiming, NationalBenefits};

use crate::aggregate::{Refusal, RejectionKind};

/// Why a benefit is refused. Each has a stable `code`; messages name the field and what it
/// accepts, never the value submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenefitRejection {
    #[error("no benefit rules cover the month or date asked for: add a period to rules/benefits_national.toml")]
    RulesUnavailable { on: NaiveDate },
    #[error("{field} is required: a member falls under it this month")]
    ClassMissing { field: &'static str },
    #[error("{field} must be {accepts}")]
    Invalid { field: String, accepts: &'static str },
    #[error("members[{index}] appears twice")]
    DuplicateMember { index: usize },
    #[error("members[{index}] is 75 or over for the whole month (後期高齢者医療), not insured by NHI")]
    MemberInLateStage { index: usize },
    #[error("records[{index}].person_id is not among the household's members")]
    RecordPersonNotMember { index: usize },
    #[error("an amount is out of range")]
    AmountOutOfRange,
    #[error("a pregnancy of fewer than {min_weeks} weeks is not a birth for the lump sum")]
    PregnancyTooShort { min_weeks: u32 },
    #[error("the claim could be made until {last_day}: the right has lapsed (国民健康保険法 §110)")]
    ClaimLapsed { last_day: NaiveDate },
    #[error("the former employee plan pays this benefit, so NHI does not (国民健康保険法 §56)")]
    FormerPlanPays,
    #[error("funeral_on must be on or after died_on")]
    FuneralBeforeDeath,
    #[error("the claim is made before the event it claims for")]
    ClaimBeforeEvent,
    #[error("household {household_id} is not recorded")]
    HouseholdNotFound { household_id: uuid::Uuid },
    #[error("person {person_id} is not registered")]
    PersonNotFound { person_id: uuid::Uuid },
    #[error("records[{index}].person_id belongs to no household in the service month")]
    PersonWithoutHousehold { index: usize },
    #[error("this household-month's high-cost benefit is already decided: a record arriving later needs a correction, which the ledger does not make yet")]
    MonthAlreadyDecided,
    #[error("month must be a service month before {}: one that has ended (JST), and waited the months the rule file's high_cost_decision.months_after_service asks; the 国保連's records of a later month are not all in", before.format("%Y-%m"))]
    ServiceMonthNotClosed { before: NaiveDate },
    #[error("no medical-cost record is recorded for this household-month")]
    NoMedicalRecords,
    #[error("a claim for this birth or death was already decided: a claim is decided once")]
    ClaimAlreadyDecided,
    #[error("the person was not insured on the day the claim is for")]
    NotInsured,
    #[error("the person's death is not recorded: record it first")]
    DeathNotRecorded,
    #[error("a member's date of birth is not available")]
    DateOfBirthUnknown,
    #[error("account is required: the claimant has no public-funds receiving account (公金受取口座) registered with consent")]
    AccountRequired,
}

impl Refusal for BenefitRejection {
    fn code(&self) -> &'static str {
        match self {
            BenefitRejection::RulesUnavailable { .. } => "benefit_rules_unavailable",
            BenefitRejection::ClassMissing { .. } => "income_class_missing",
            BenefitRejection::Invalid { .. } => "invalid_field",
            BenefitRejection::DuplicateMember { .. } => "duplicate_member",
            BenefitRejection::MemberInLateStage { .. } => "member_in_late_stage",
            BenefitRejection::RecordPersonNotMember { .. } => "record_person_not_member",
            BenefitRejection::AmountOutOfRange => "amount_out_of_range",
            BenefitRejection::PregnancyTooShort { .. } => "pregnancy_too_short",
            BenefitRejection::ClaimLapsed { .. } => "claim_lapsed",
            BenefitRejection::FormerPlanPays => "former_plan_pays",
            BenefitRejection::FuneralBeforeDeath => "funeral_before_death",
            BenefitRejection::ClaimBeforeEvent => "claim_before_event",
            BenefitRejection::HouseholdNotFound { .. } => "household_not_found",
            BenefitRejection::PersonNotFound { .. } => "person_not_found",
            BenefitRejection::PersonWithoutHousehold { .. } => "person_without_household",
            BenefitRejection::MonthAlreadyDecided => "month_already_decided",
            BenefitRejection::ServiceMonthNotClosed { .. } => "service_month_not_closed",
            BenefitRejection::NoMedicalRecords => "no_medical_records",
            BenefitRejection::ClaimAlreadyDecided => "claim_already_decided",
            BenefitRejection::NotInsured => "not_insured",
            BenefitRejection::DeathNotRecorded => "death_not_recorded",
            BenefitRejection::DateOfBirthUnknown => "date_of_birth_unknown",
            BenefitRejection::AccountRequired => "account_required",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            BenefitRejection::RulesUnavailable { .. } | BenefitRejection::FormerPlanPays => RejectionKind::Conflict,
            BenefitRejection::ClaimLapsed { .. } => RejectionKind::Gone,
            BenefitRejection::HouseholdNotFound { .. } | BenefitRejection::PersonNotFound { .. } => {
                RejectionKind::NotFound
            }
            BenefitRejection::MonthAlreadyDecided
            | BenefitRejection::ServiceMonthNotClosed { .. }
            | BenefitRejection::NoMedicalRecords
            | BenefitRejection::ClaimAlreadyDecided
            | BenefitRejection::NotInsured
            | BenefitRejection::DeathNotRecorded
            | BenefitRejection::DateOfBirthUnknown => RejectionKind::Conflict,
            BenefitRejection::PersonWithoutHousehold { .. } | BenefitRejection::AccountRequired => {
                RejectionKind::Invalid
            }
            BenefitRejection::ClassMissing { .. }
            | BenefitRejection::Invalid { .. }
            | BenefitRejection::DuplicateMember { .. }
            | BenefitRejection::MemberInLateStage { .. }
            | BenefitRejection::RecordPersonNotMember { .. }
            | BenefitRejection::AmountOutOfRange
            | BenefitRejection::PregnancyTooShort { .. }
            | BenefitRejection::FuneralBeforeDeath
            | BenefitRejection::ClaimBeforeEvent => RejectionKind::Invalid,
        }
    }
}

/// The first day after a period of `months` months that starts on `start` (initial day counted,
/// as for a loss of insured status, which takes effect at the start of its day): the day with
/// `start`'s number `months` months later; when that month has no such day the period ends on the
/// month's last day (民法 §143 ②), so the next day is the 1st of the month after.
pub fn months_after(start: NaiveDate, months: u32) -> NaiveDate {
    let end = start.checked_add_months(chrono::Months::new(months)).unwrap_or(NaiveDate::MAX);
    if chrono::Datelike::day(&end) == chrono::Datelike::day(&start) {
        end
    } else {
        end.succ_opt().unwrap_or(NaiveDate::MAX)
    }
}

/// The last day a benefit whose right arises on `arises_on` can be claimed: `years` years counted
/// from the day after (民法 §140: the first day is not counted), so the period ends on the
/// anniversary of `arises_on`.
pub fn claim_deadline(arises_on: NaiveDate, years: u32) -> NaiveDate {
    arises_on.checked_add_months(chrono::Months::new(years * 12)).unwrap_or(NaiveDate::MAX)
}
