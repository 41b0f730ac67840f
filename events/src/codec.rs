//! [`LedgerEvent`]: every known event, and its encoding into the stored parts.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::benefits::*;
use crate::collection::*;
use crate::eligibility::*;
use crate::payloads::*;
use crate::tax::*;
use crate::upcast;

/// The key under which a payload keeps its personal data (see the crate docs).
const PERSONAL_KEY: &str = "personal";

/// An event as the ledger knows it, at its current schema version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerEvent {
    PersonRegistered(PersonRegistered),
    PersonNameChanged(PersonNameChanged),
    PersonAddressChanged(PersonAddressChanged),
    EligibilityAcquired(EligibilityAcquired),
    PaymentReceived(PaymentReceived),
    StaffUserCreated(StaffUserCreated),
    StaffUserDisabled(StaffUserDisabled),
    StaffEnrolmentIssued(StaffEnrolmentIssued),
    StaffEnrolled(StaffEnrolled),
    StaffPasswordChanged(StaffPasswordChanged),
    StaffSignedIn(StaffSignedIn),
    StaffSignInFailed(StaffSignInFailed),
    StaffSignedOut(StaffSignedOut),
    RequestRefused(RequestRefused),
    PersonalDataAccessed(PersonalDataAccessed),
    MyNumberLinkRequested(MyNumberLinkRequested),
    MyNumberLinkConfirmed(MyNumberLinkConfirmed),
    MyNumberLinkApproved(MyNumberLinkApproved),
    MyNumberLinkRejected(MyNumberLinkRejected),
    MyNumberLinked(MyNumberLinked),
    MyNumberRevealed(MyNumberRevealed),
    PersonErased(PersonErased),
    SensitivityFlagsSet(SensitivityFlagsSet),
    ProvisionRequested(ProvisionRequested),
    ProvisionAwaitingApproval(ProvisionAwaitingApproval),
    ProvisionApproved(ProvisionApproved),
    ProvisionProvided(ProvisionProvided),
    InquiryMade(InquiryMade),
    CitizenKeyRegistered(CitizenKeyRegistered),
    CitizenSignedIn(CitizenSignedIn),
    CitizenSignInFailed(CitizenSignInFailed),
    EligibilityLost(EligibilityLost),
    EligibilityCorrected(EligibilityCorrected),
    EligibilityWithdrawn(EligibilityWithdrawn),
    PersonDied(PersonDied),
    IncomeReported(IncomeReported),
    HouseholdEstablished(HouseholdEstablished),
    HouseholdMemberJoined(HouseholdMemberJoined),
    HouseholdMemberLeft(HouseholdMemberLeft),
    HouseholdHeadChanged(HouseholdHeadChanged),
    IncomeExceptionApplied(IncomeExceptionApplied),
    CertificateIssued(CertificateIssued),
    ElderlyCostShareDecided(ElderlyCostShareDecided),
    TaxAssessed(TaxAssessed),
    TaxReassessed(TaxReassessed),
    TaxReassessmentHeld(TaxReassessmentHeld),
    UnemploymentRecorded(UnemploymentRecorded),
    ChildbirthRecorded(ChildbirthRecorded),
    LedgerProofServed(LedgerProofServed),
    AccountScheduled(AccountScheduled),
    AccountRespread(AccountRespread),
    AccountPaymentReceived(AccountPaymentReceived),
    OverpaymentSettled(OverpaymentSettled),
    OverpaymentApplied(OverpaymentApplied),
    CollectionReminderIssued(CollectionReminderIssued),
    PensionNoticeRecorded(PensionNoticeRecorded),
    LimitCertificateIssued(LimitCertificateIssued),
    MedicalCostRecorded(MedicalCostRecorded),
    HighCostDecided(HighCostDecided),
    BenefitClaimDecided(BenefitClaimDecided),
    BenefitClaimRefused(BenefitClaimRefused),
    PublicFundsAccountRegistered(PublicFundsAccountRegistered),
    BenefitPaymentInstructed(BenefitPaymentInstructed),
}

/// Calls `$action!(Variant)` for every variant: the one list of event types in code.
macro_rules! for_each_event {
    ($action:ident) => {
        $action!(
            PersonRegistered,
            PersonNameChanged,
            PersonAddressChanged,
            EligibilityAcquired,
            PaymentReceived,
            StaffUserCreated,
            StaffUserDisabled,
            StaffEnrolmentIssued,
            StaffEnrolled,
            StaffPasswordChanged,
            StaffSignedIn,
            StaffSignInFailed,
            StaffSignedOut,
            RequestRefused,
            PersonalDataAccessed,
            MyNumberLinkRequested,
            MyNumberLinkConfirmed,
            MyNumberLinkApproved,
            MyNumberLinkRejected,
            MyNumberLinked,
            MyNumberRevealed,
            PersonErased,
            SensitivityFlagsSet,
            ProvisionRequested,
            ProvisionAwaitingApproval,
            ProvisionApproved,
            ProvisionProvided,
            InquiryMade,
            CitizenKeyRegistered,
            CitizenSignedIn,
            CitizenSignInFailed,
            EligibilityLost,
            EligibilityCorrected,
            EligibilityWithdrawn,
            PersonDied,
            IncomeReported,
            HouseholdEstablished,
            HouseholdMemberJoined,
            HouseholdMemberLeft,
            HouseholdHeadChanged,
            IncomeExceptionApplied,
            CertificateIssued,
            ElderlyCostShareDecided,
            TaxAssessed,
            TaxReassessed,
            TaxReassessmentHeld,
            UnemploymentRecorded,
            ChildbirthRecorded,
            LedgerProofServed,
            AccountScheduled,
            AccountRespread,
            AccountPaymentReceived,
            OverpaymentSettled,
            OverpaymentApplied,
            CollectionReminderIssued,
            PensionNoticeRecorded,
            LimitCertificateIssued,
            MedicalCostRecorded,
            HighCostDecided,
            BenefitClaimDecided,
            BenefitClaimRefused,
            PublicFundsAccountRegistered,
            BenefitPaymentInstructed
        )
    };
}

/// One row of the event catalog: type name, current schema version, what it records.
pub struct CatalogEntry {
    pub event_type: &'static str,
    pub schema_version: u16,
    pub summary: &'static str,
}

/// Every event type the ledger writes today. `events/README.md` is this table in prose.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        event_type: "PersonRegistered",
        schema_version: 1,
        summary: "a person entered the ledger from the resident registry",
    },
    CatalogEntry {
        event_type: "PersonNameChanged", schema_version: 1, summary: "a person's name changed (氏名変更)"
    },
    CatalogEntry {
        event_type: "PersonAddressChanged",
        schema_version: 1,
        summary: "a person moved within the municipality (転居)",
    },
    CatalogEntry {
        event_type: "EligibilityAcquired",
        schema_version: 2,
        summary: "a person became insured (資格取得): reason, dates by the rule, lateness, source",
    },
    CatalogEntry {
        event_type: "PaymentReceived",
        schema_version: 2,
        summary: "a payment of NHI tax was received (収納)",
    },
    CatalogEntry { event_type: "StaffUserCreated", schema_version: 1, summary: "a staff account was created" },
    CatalogEntry {
        event_type: "StaffUserDisabled",
        schema_version: 1,
        summary: "a staff account was disabled and its sessions ended",
    },
    CatalogEntry {
        event_type: "StaffEnrolmentIssued",
        schema_version: 1,
        summary: "a one-time enrolment code was issued for a staff account",
    },
    CatalogEntry {
        event_type: "StaffEnrolled",
        schema_version: 1,
        summary: "a staff member chose their password and enrolled their authenticator",
    },
    CatalogEntry {
        event_type: "StaffPasswordChanged",
        schema_version: 1,
        summary: "a staff member changed their own password",
    },
    CatalogEntry {
        event_type: "StaffSignedIn",
        schema_version: 1,
        summary: "a staff member signed in with password and second factor",
    },
    CatalogEntry { event_type: "StaffSignInFailed", schema_version: 2, summary: "a sign-in was refused, and why" },
    CatalogEntry { event_type: "StaffSignedOut", schema_version: 1, summary: "a staff member signed out" },
    CatalogEntry {
        event_type: "RequestRefused",
        schema_version: 1,
        summary: "an authenticated request was refused by role, purpose or tenant",
    },
    CatalogEntry {
        event_type: "PersonalDataAccessed",
        schema_version: 1,
        summary: "staff read a person's data: who, whom, which items, why (the access record)",
    },
    CatalogEntry {
        event_type: "MyNumberLinkRequested",
        schema_version: 1,
        summary: "linking a My Number (個人番号) to a person was requested; the number sealed per person",
    },
    CatalogEntry {
        event_type: "MyNumberLinkConfirmed",
        schema_version: 1,
        summary: "another staff member confirmed a My Number link request",
    },
    CatalogEntry {
        event_type: "MyNumberLinkApproved",
        schema_version: 1,
        summary: "a supervisor approved a My Number link: it is now the person's",
    },
    CatalogEntry {
        event_type: "MyNumberLinkRejected",
        schema_version: 1,
        summary: "a My Number link request was turned down or withdrawn",
    },
    CatalogEntry {
        event_type: "MyNumberLinked",
        schema_version: 1,
        summary: "the person's index of approved My Number links points at a request",
    },
    CatalogEntry {
        event_type: "MyNumberRevealed",
        schema_version: 1,
        summary: "staff were shown a person's full My Number, and the reason they gave",
    },
    CatalogEntry {
        event_type: "PersonErased",
        schema_version: 1,
        summary: "a person's retention ended and their data key was destroyed (nothing personal)",
    },
    CatalogEntry {
        event_type: "SensitivityFlagsSet",
        schema_version: 1,
        summary: "a supervisor set or cleared a person's no-auto-response and non-disclosure flags (取扱注意者)",
    },
    CatalogEntry {
        event_type: "ProvisionRequested",
        schema_version: 1,
        summary: "another agency asked for a person's information through the provision network",
    },
    CatalogEntry {
        event_type: "ProvisionAwaitingApproval",
        schema_version: 1,
        summary: "a provision request waits for a supervisor: the person has no-auto-response",
    },
    CatalogEntry {
        event_type: "ProvisionApproved",
        schema_version: 1,
        summary: "a supervisor approved a waiting provision",
    },
    CatalogEntry {
        event_type: "ProvisionProvided",
        schema_version: 1,
        summary: "information was provided to a requesting agency (the provision record, マイナンバー法 §23)",
    },
    CatalogEntry {
        event_type: "InquiryMade",
        schema_version: 1,
        summary: "the city inquired another agency under a management number permitted for the purpose (情報照会)",
    },
    CatalogEntry {
        event_type: "CitizenKeyRegistered",
        schema_version: 1,
        summary: "staff registered a citizen's card key for signing in to their record",
    },
    CatalogEntry {
        event_type: "CitizenSignedIn",
        schema_version: 1,
        summary: "a citizen signed in by signing a challenge with their card's key",
    },
    CatalogEntry {
        event_type: "CitizenSignInFailed",
        schema_version: 1,
        summary: "a citizen's sign-in was refused, and why",
    },
    CatalogEntry {
        event_type: "EligibilityLost",
        schema_version: 1,
        summary: "a person's insured period ended (資格喪失): reason, first day not insured by the rule, lateness",
    },
    CatalogEntry {
        event_type: "EligibilityCorrected",
        schema_version: 1,
        summary: "a recorded insured period was restated; it supersedes the earlier entries, which the ledger keeps",
    },
    CatalogEntry {
        event_type: "EligibilityWithdrawn",
        schema_version: 1,
        summary: "a recorded insured period was withdrawn as entered in error",
    },
    CatalogEntry {
        event_type: "PersonDied",
        schema_version: 1,
        summary: "a person died (死亡), from the resident registry",
    },
    CatalogEntry {
        event_type: "IncomeReported",
        schema_version: 1,
        summary: "the resident-tax department reported a person's income for a year (figures sealed)",
    },
    CatalogEntry {
        event_type: "HouseholdEstablished",
        schema_version: 1,
        summary: "a household (世帯) was established with its head (世帯主)",
    },
    CatalogEntry { event_type: "HouseholdMemberJoined", schema_version: 1, summary: "a person joined a household" },
    CatalogEntry { event_type: "HouseholdMemberLeft", schema_version: 1, summary: "a person left a household" },
    CatalogEntry {
        event_type: "HouseholdHeadChanged",
        schema_version: 1,
        summary: "another member became head of the household",
    },
    CatalogEntry {
        event_type: "IncomeExceptionApplied",
        schema_version: 1,
        summary: "the head applied for the 基準収入額 exception of the 70–74 share",
    },
    CatalogEntry {
        event_type: "CertificateIssued",
        schema_version: 1,
        summary: "an eligibility certificate (資格確認書) was issued with its number and validity",
    },
    CatalogEntry {
        event_type: "ElderlyCostShareDecided",
        schema_version: 1,
        summary: "a 70–74 person's cost share (2割/3割) was decided for their household, with its basis and rule hash",
    },
    CatalogEntry {
        event_type: "TaxAssessed",
        schema_version: 1,
        summary:
            "a household's NHI tax for a fiscal year was assessed (賦課), with its parts, installments and rule hashes",
    },
    CatalogEntry {
        event_type: "TaxReassessed",
        schema_version: 1,
        summary: "an assessment was corrected (更正) after a change, with the new figures and the difference",
    },
    CatalogEntry {
        event_type: "TaxReassessmentHeld",
        schema_version: 1,
        summary: "a change would alter an assessment older than the correction period: held for a person to decide",
    },
    CatalogEntry {
        event_type: "UnemploymentRecorded",
        schema_version: 1,
        summary: "a person applied for the involuntary-unemployment reduction (非自発的失業者の軽減)",
    },
    CatalogEntry {
        event_type: "ChildbirthRecorded",
        schema_version: 1,
        summary: "a mother notified a birth or due date for the childbirth exemption (産前産後免除)",
    },
    CatalogEntry {
        event_type: "LedgerProofServed",
        schema_version: 1,
        summary: "an auditor was given a signed checkpoint or an inclusion or consistency proof of the ledger",
    },
    CatalogEntry { event_type: "AccountScheduled", schema_version: 1, summary: "a household's account for a fiscal year had its installments (納期) scheduled from the assessment, with the rule hashes" },
    CatalogEntry { event_type: "AccountRespread", schema_version: 1, summary: "a reassessment re-spread an account's installments not yet due, or left an overpayment" },
    CatalogEntry { event_type: "AccountPaymentReceived", schema_version: 1, summary: "a payment was received for a household's account (収納): receipt, channel, where it went" },
    CatalogEntry { event_type: "OverpaymentSettled", schema_version: 1, summary: "an account's overpayment was applied to another year's arrears (充当) or refunded (還付), with its reason" },
    CatalogEntry { event_type: "OverpaymentApplied", schema_version: 1, summary: "another year's overpayment of the household was applied to this account (充当)" },
    CatalogEntry { event_type: "CollectionReminderIssued", schema_version: 1, summary: "a reminder (督促状) was issued for an installment past due" },
    CatalogEntry { event_type: "PensionNoticeRecorded", schema_version: 1, summary: "the pension payer's notice of the head of household (年金特別徴収対象者通知) was recorded on an account before it was scheduled" },
    CatalogEntry { event_type: "LimitCertificateIssued", schema_version: 1, summary: "a 限度額適用認定証 was issued to a person for a household with no arrears" },
    CatalogEntry {
        event_type: "MedicalCostRecorded",
        schema_version: 1,
        summary: "a monthly medical-cost record (レセプト) from a 国保連 batch, in its household-month; provider sealed",
    },
    CatalogEntry {
        event_type: "HighCostDecided",
        schema_version: 1,
        summary: "a household-month's high-cost medical expense benefit (高額療養費) was decided, every step sealed, with rule hashes",
    },
    CatalogEntry {
        event_type: "BenefitClaimDecided",
        schema_version: 1,
        summary: "a childbirth (出産育児一時金) or funeral (葬祭費) claim was decided and paid, with rule hashes",
    },
    CatalogEntry {
        event_type: "BenefitClaimRefused",
        schema_version: 1,
        summary: "a childbirth or funeral claim was refused (不支給決定) with its stable code",
    },
    CatalogEntry {
        event_type: "PublicFundsAccountRegistered",
        schema_version: 1,
        summary: "a person registered a public-funds receiving account (公金受取口座) and their consent; account sealed",
    },
    CatalogEntry {
        event_type: "BenefitPaymentInstructed",
        schema_version: 1,
        summary: "a benefit is to be paid into an account (支払指示); the account sealed",
    },
];

/// An event split into what the store keeps in clear and what it must encrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub event_type: &'static str,
    pub schema_version: u16,
    /// The person whose data key encrypts `personal` (and whose erasure erases it).
    pub subject: Option<Uuid>,
    /// Canonical JSON of the payload without its personal part.
    pub payload: Vec<u8>,
    /// JSON of the personal part, in clear: the store encrypts it before it is written.
    pub personal: Option<Vec<u8>>,
}

/// The personal part of a stored event as the reader has it.
#[derive(Debug, Clone, Copy)]
pub enum PersonalPart<'a> {
    /// The event type has no personal part.
    None,
    /// Decrypted JSON.
    Plain(&'a [u8]),
    /// Not decrypted by this reader, or erased: decodes as [`crate::Personal::Unavailable`].
    Unavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {event_type:?}")]
    UnknownType { event_type: String },
    #[error("{event_type} v{version} is newer than this build reads (v{current})")]
    FutureVersion { event_type: String, version: u16, current: u16 },
    #[error("no upcaster reads {event_type} v{version}")]
    MissingUpcaster { event_type: String, version: u16 },
    #[error("{event_type} payload is not valid: {reason}")]
    Payload { event_type: String, reason: String },
    /// Personal data must only ever arrive through the sealed part.
    #[error("{event_type} carries a personal part in its clear payload")]
    PersonalInClear { event_type: String },
}

impl LedgerEvent {
    pub fn event_type(&self) -> &'static str {
        macro_rules! name {
            ($($variant:ident),*) => {
                match self { $(LedgerEvent::$variant(_) => stringify!($variant),)* }
            };
        }
        for_each_event!(name)
    }

    /// The person whose data key seals this event's personal part (and whose erasure erases
    /// it): set for the events of a person's own stream.
    pub fn subject(&self) -> Option<Uuid> {
        match self {
            LedgerEvent::PersonRegistered(e) => Some(e.person_id),
            LedgerEvent::PersonNameChanged(e) => Some(e.person_id),
            LedgerEvent::PersonAddressChanged(e) => Some(e.person_id),
            LedgerEvent::EligibilityAcquired(e) => Some(e.person_id),
            LedgerEvent::PaymentReceived(e) => Some(e.person_id),
            LedgerEvent::EligibilityLost(e) => Some(e.person_id),
            LedgerEvent::EligibilityCorrected(e) => Some(e.person_id),
            LedgerEvent::EligibilityWithdrawn(e) => Some(e.person_id),
            LedgerEvent::PersonDied(e) => Some(e.person_id),
            LedgerEvent::IncomeReported(e) => Some(e.person_id),
            LedgerEvent::CertificateIssued(e) => Some(e.person_id),
            LedgerEvent::ElderlyCostShareDecided(e) => Some(e.person_id),
            // In the person's stream, with no personal part of its own.
            LedgerEvent::PersonErased(e) => Some(e.person_id),
            // Carries the My Number: sealed with the person's key, erased with them.
            LedgerEvent::MyNumberLinkRequested(e) => Some(e.person_id),
            // Its reason is personal: sealed with the person's key, erased with them.
            LedgerEvent::SensitivityFlagsSet(e) => Some(e.person_id),
            LedgerEvent::UnemploymentRecorded(e) => Some(e.person_id),
            LedgerEvent::ChildbirthRecorded(e) => Some(e.person_id),
            // In the household's tax stream; the breakdown is sealed with the taxpayer's key.
            LedgerEvent::TaxAssessed(e) => Some(e.taxpayer_person_id),
            LedgerEvent::TaxReassessed(e) => Some(e.taxpayer_person_id),
            LedgerEvent::TaxReassessmentHeld(e) => Some(e.taxpayer_person_id),
            // Benefits: a record is its person's; a decision its head's; a claim its person's; an
            // account and a payment their holder's.
            LedgerEvent::MedicalCostRecorded(e) => Some(e.person_id),
            LedgerEvent::HighCostDecided(e) => Some(e.head_person_id),
            LedgerEvent::BenefitClaimDecided(e) => Some(e.person_id),
            LedgerEvent::BenefitClaimRefused(e) => Some(e.person_id),
            LedgerEvent::PublicFundsAccountRegistered(e) => Some(e.person_id),
            // On the household's account; the pension figures are the head's.
            LedgerEvent::PensionNoticeRecorded(e) => Some(e.head_person_id),
            LedgerEvent::BenefitPaymentInstructed(e) => Some(e.payee_person_id),
            _ => None,
        }
    }

    pub fn encode(&self) -> Encoded {
        macro_rules! value {
            ($($variant:ident),*) => {
                match self { $(LedgerEvent::$variant(e) => to_value(e),)* }
            };
        }
        let value = for_each_event!(value);
        let Value::Object(mut object) = value else {
            unreachable!("every payload is a struct and serializes as an object")
        };
        let personal = object
            .remove(PERSONAL_KEY)
            .filter(|value| !value.is_null())
            .map(|value| serde_json::to_vec(&value).expect("JSON values always serialize"));
        let event_type = self.event_type();
        Encoded {
            event_type,
            schema_version: current_version(event_type).expect("every variant is in the catalog"),
            subject: self.subject(),
            payload: serde_json::to_vec(&object).expect("JSON values always serialize"),
            personal,
        }
    }

    /// Reads a stored payload, upcasting older schema versions to the current one.
    pub fn decode(
        event_type: &str,
        schema_version: u16,
        payload: &[u8],
        personal: PersonalPart<'_>,
    ) -> Result<LedgerEvent, DecodeError> {
        let current = current_version(event_type)
            .ok_or_else(|| DecodeError::UnknownType { event_type: event_type.to_owned() })?;
        if schema_version > current {
            return Err(DecodeError::FutureVersion {
                event_type: event_type.to_owned(),
                version: schema_version,
                current,
            });
        }
        // The one-pass path is for clear payloads only; anything mentioning a personal part
        // takes the careful path below, which refuses one found in the clear.
        let mentions_personal = payload.windows(PERSONAL_KEY.len() + 2).any(|window| window == b"\"personal\"");
        if schema_version == current && !matches!(personal, PersonalPart::Plain(_)) && !mentions_personal {
            return decode_current_clear(event_type, payload);
        }
        let mut object: Map<String, Value> =
            serde_json::from_slice(payload).map_err(|error| invalid(event_type, &error, false))?;
        if object.contains_key(PERSONAL_KEY) {
            return Err(DecodeError::PersonalInClear { event_type: event_type.to_owned() });
        }
        let has_personal = matches!(personal, PersonalPart::Plain(_));
        if let PersonalPart::Plain(bytes) = personal {
            let value: Value = serde_json::from_slice(bytes).map_err(|error| invalid(event_type, &error, true))?;
            object.insert(PERSONAL_KEY.to_owned(), value);
        }
        let value = upcast::to_current(event_type, schema_version, current, Value::Object(object))?;
        let typed = |value| -> Result<LedgerEvent, serde_json::Error> {
            macro_rules! typed {
                ($($variant:ident),*) => {
                    match event_type {
                        $(stringify!($variant) => LedgerEvent::$variant(serde_json::from_value(value)?),)*
                        other => unreachable!("{other} is in the catalog but not decoded"),
                    }
                };
            }
            Ok(for_each_event!(typed))
        };
        typed(value).map_err(|error| invalid(event_type, &error, has_personal))
    }
}

/// The common case on every rebuild: a current-version payload read without its personal part,
/// deserialized in one pass.
fn decode_current_clear(event_type: &str, payload: &[u8]) -> Result<LedgerEvent, DecodeError> {
    let invalid = |error: serde_json::Error| invalid(event_type, &error, false);
    macro_rules! typed {
        ($($variant:ident),*) => {
            match event_type {
                $(stringify!($variant) => LedgerEvent::$variant(serde_json::from_slice(payload).map_err(invalid)?),)*
                other => unreachable!("{other} is in the catalog but not decoded"),
            }
        };
    }
    Ok(for_each_event!(typed))
}

pub(crate) fn current_version(event_type: &str) -> Option<u16> {
    CATALOG.iter().find(|entry| entry.event_type == event_type).map(|entry| entry.schema_version)
}

fn to_value<T: Serialize>(payload: &T) -> Value {
    serde_json::to_value(payload).expect("payload structs always serialize")
}

/// serde's messages can quote the offending value; when the personal part took part in the
/// decode, that value may be personal data (invariant 8), so only the error's category is kept.
fn invalid(event_type: &str, error: &serde_json::Error, personal_involved: bool) -> DecodeError {
    let reason = if personal_involved {
        format!("{:?} error in the payload or its personal part (details withheld)", error.classify())
    } else {
        error.to_string()
    };
    DecodeError::Payload { event_type: event_type.to_owned(), reason }
}
