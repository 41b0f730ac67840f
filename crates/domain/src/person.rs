//! The person aggregate: one stream per person, holding registration, eligibility and payments.
//!
//! `decide` checks a command against the person's state and returns the events to append;
//! `evolve` folds one event into the state. Both are pure, so replaying the same events always
//! gives the same state (the basis of as-of reads and rebuilds).

use chrono::NaiveDate;
use kokuho_events::{
    Acquisition, AcquisitionReason, AddressChange, EligibilityAcquired, LedgerEvent, NameChange, PaymentChannel,
    PaymentReceived, Personal, PersonAddressChanged, PersonDetails, PersonNameChanged, PersonRegistered,
};
use serde::Serialize;

use crate::{eligibility, Context, FiscalYear, PersonId, Rejection, Yen};

/// What the ledger knows of a person after folding their events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PersonState {
    pub registered: Option<Registration>,
    /// The current insured period's first day, when insured.
    pub insured_since: Option<NaiveDate>,
    pub paid_total: Yen,
    pub payments: u32,
    /// Their retention ended and their personal data was erased: the record is closed.
    pub erased: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub atena_no: String,
    /// `None` when the personal part was not decrypted for this reader, or was erased.
    pub details: Option<PersonDetails>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonCommand {
    Register { atena_no: String, details: PersonDetails, acquisition: Acquisition },
    AcquireEligibility { reason: AcquisitionReason, event_date: NaiveDate, notified_on: NaiveDate },
    RecordPayment { fiscal_year: FiscalYear, amount: Yen, received_on: NaiveDate, channel: PaymentChannel },
    ChangeName { name: String, name_kana: String, effective_on: NaiveDate, acquisition: Acquisition },
    ChangeAddress { address: String, effective_on: NaiveDate, acquisition: Acquisition },
}

pub fn decide(
    person_id: PersonId,
    state: &PersonState,
    command: PersonCommand,
    context: &Context,
) -> Result<Vec<LedgerEvent>, Rejection> {
    let not_in_future = |field: &'static str, date: NaiveDate| {
        if date > context.today {
            Err(Rejection::DateInFuture { field, date, today: context.today })
        } else {
            Ok(())
        }
    };
    if state.erased {
        return Err(Rejection::PersonErased { person_id });
    }
    match command {
        PersonCommand::Register { atena_no, details, acquisition } => {
            if state.registered.is_some() {
                return Err(Rejection::PersonAlreadyRegistered { person_id });
            }
            if atena_no.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "atena_no" });
            }
            if details.name.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "name" });
            }
            not_in_future("date_of_birth", details.date_of_birth)?;
            Ok(vec![LedgerEvent::PersonRegistered(PersonRegistered {
                person_id: person_id.as_uuid(),
                atena_no,
                acquisition,
                personal: Personal::Present(details),
            })])
        }
        PersonCommand::AcquireEligibility { reason, event_date, notified_on } => {
            if state.registered.is_none() {
                return Err(Rejection::PersonNotFound { person_id });
            }
            if let Some(since) = state.insured_since {
                return Err(Rejection::AlreadyInsured { person_id, since });
            }
            not_in_future("event_date", event_date)?;
            not_in_future("notified_on", notified_on)?;
            Ok(vec![LedgerEvent::EligibilityAcquired(EligibilityAcquired {
                person_id: person_id.as_uuid(),
                reason,
                event_date,
                effective_on: eligibility::acquisition_effective_on(reason, event_date),
                notified_on,
            })])
        }
        PersonCommand::ChangeName { name, name_kana, effective_on, acquisition } => {
            if state.registered.is_none() {
                return Err(Rejection::PersonNotFound { person_id });
            }
            if name.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "name" });
            }
            not_in_future("effective_on", effective_on)?;
            Ok(vec![LedgerEvent::PersonNameChanged(PersonNameChanged {
                person_id: person_id.as_uuid(),
                effective_on,
                acquisition,
                personal: Personal::Present(NameChange { name, name_kana }),
            })])
        }
        PersonCommand::ChangeAddress { address, effective_on, acquisition } => {
            if state.registered.is_none() {
                return Err(Rejection::PersonNotFound { person_id });
            }
            if address.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "address" });
            }
            not_in_future("effective_on", effective_on)?;
            Ok(vec![LedgerEvent::PersonAddressChanged(PersonAddressChanged {
                person_id: person_id.as_uuid(),
                effective_on,
                acquisition,
                personal: Personal::Present(AddressChange { address }),
            })])
        }
        PersonCommand::RecordPayment { fiscal_year, amount, received_on, channel } => {
            if state.registered.is_none() {
                return Err(Rejection::PersonNotFound { person_id });
            }
            if state.insured_since.is_none() {
                return Err(Rejection::NotInsured { person_id });
            }
            if amount <= Yen::ZERO {
                return Err(Rejection::AmountNotPositive { amount_yen: amount.amount() });
            }
            not_in_future("received_on", received_on)?;
            Ok(vec![LedgerEvent::PaymentReceived(PaymentReceived {
                person_id: person_id.as_uuid(),
                fiscal_year: fiscal_year.year(),
                amount_yen: amount.amount(),
                received_on,
                channel,
            })])
        }
    }
}

pub fn evolve(mut state: PersonState, event: &LedgerEvent) -> PersonState {
    match event {
        LedgerEvent::PersonRegistered(e) => {
            state.registered = Some(Registration {
                atena_no: e.atena_no.clone(),
                details: e.personal.as_present().cloned(),
            });
        }
        LedgerEvent::PersonNameChanged(e) => {
            if let Some(registration) = state.registered.as_mut() {
                // Without the decrypted part (or after erasure) the name is simply not known.
                match (registration.details.as_mut(), e.personal.as_present()) {
                    (Some(details), Some(change)) => {
                        details.name = change.name.clone();
                        details.name_kana = change.name_kana.clone();
                    }
                    _ => registration.details = None,
                }
            }
        }
        LedgerEvent::PersonAddressChanged(e) => {
            if let Some(registration) = state.registered.as_mut() {
                match (registration.details.as_mut(), e.personal.as_present()) {
                    (Some(details), Some(change)) => details.address = change.address.clone(),
                    _ => registration.details = None,
                }
            }
        }
        LedgerEvent::EligibilityAcquired(e) => state.insured_since = Some(e.effective_on),
        LedgerEvent::PaymentReceived(e) => {
            // An i64 of yen cannot overflow from real payments; saturate rather than wrap if a
            // corrupted history ever tried.
            state.paid_total = Yen::new(state.paid_total.amount().saturating_add(e.amount_yen));
            state.payments += 1;
        }
        LedgerEvent::PersonErased(_) => {
            state.erased = true;
            if let Some(registration) = state.registered.as_mut() {
                registration.details = None;
            }
        }
        // Every other event lives in a stream of its own (staff, access record, My Number
        // links, provisions, …): nothing to fold.
        _ => {}
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use kokuho_events::Sex;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn context() -> Context {
        Context { today: date(2025, 6, 1) }
    }

    fn register() -> PersonCommand {
        PersonCommand::Register {
            atena_no: "000123".into(),
            details: PersonDetails {
                name: "熊谷 花子".into(),
                name_kana: "クマガヤ ハナコ".into(),
                sex: Sex::Female,
                date_of_birth: date(1980, 5, 5),
                address: "埼玉県熊谷市宮町二丁目47番地1".into(),
            },
            acquisition: Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() },
        }
    }

    /// given `history`, when `command`, then the events or the rejection.
    fn given_when(history: Vec<PersonCommand>, command: PersonCommand) -> Result<Vec<LedgerEvent>, Rejection> {
        let id = PersonId::from_uuid(uuid::Uuid::nil());
        let mut state = PersonState::default();
        for past in history {
            for event in decide(id, &state, past, &context()).expect("history is valid") {
                state = evolve(state, &event);
            }
        }
        decide(id, &state, command, &context())
    }

    fn acquire(reason: AcquisitionReason, on: NaiveDate) -> PersonCommand {
        PersonCommand::AcquireEligibility { reason, event_date: on, notified_on: date(2025, 5, 1) }
    }

    fn pay(amount: i64) -> PersonCommand {
        PersonCommand::RecordPayment {
            fiscal_year: FiscalYear::new(2025),
            amount: Yen::new(amount),
            received_on: date(2025, 5, 31),
            channel: PaymentChannel::BankTransfer,
        }
    }

    #[test]
    fn leaving_employee_insurance_takes_effect_the_next_day() {
        let events = given_when(vec![register()], acquire(AcquisitionReason::LeftEmployeeInsurance, date(2025, 3, 31)));
        let Ok(events) = events else { panic!("{events:?}") };
        let [LedgerEvent::EligibilityAcquired(e)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(e.effective_on, date(2025, 4, 1));
    }

    #[test]
    fn refusals_name_their_reason() {
        let table: Vec<(Vec<PersonCommand>, PersonCommand, &str)> = vec![
            (vec![], acquire(AcquisitionReason::MovedIn, date(2025, 4, 1)), "person_not_found"),
            (vec![register()], register(), "person_already_registered"),
            (vec![register()], pay(1000), "not_insured"),
            (
                vec![register(), acquire(AcquisitionReason::MovedIn, date(2025, 4, 1))],
                acquire(AcquisitionReason::MovedIn, date(2025, 4, 2)),
                "already_insured",
            ),
            (vec![register(), acquire(AcquisitionReason::MovedIn, date(2025, 4, 1))], pay(0), "amount_not_positive"),
            (vec![register()], acquire(AcquisitionReason::Birth, date(2025, 6, 2)), "date_in_future"),
        ];
        for (history, command, code) in table {
            let rejection = given_when(history, command).expect_err(code);
            assert_eq!(rejection.code(), code, "{rejection}");
        }
    }

    #[test]
    fn a_name_and_an_address_change_replace_the_registered_ones() {
        let id = PersonId::from_uuid(uuid::Uuid::nil());
        let source = || Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() };
        let mut state = PersonState::default();
        for command in [
            register(),
            PersonCommand::ChangeName { name: "行田 花子".into(), name_kana: "ギョウダ ハナコ".into(), effective_on: date(2025, 5, 1), acquisition: source() },
            PersonCommand::ChangeAddress { address: "埼玉県熊谷市筑波三丁目".into(), effective_on: date(2025, 5, 2), acquisition: source() },
        ] {
            for event in decide(id, &state, command, &context()).unwrap() {
                state = evolve(state, &event);
            }
        }
        let details = state.registered.unwrap().details.unwrap();
        assert_eq!((details.name.as_str(), details.address.as_str()), ("行田 花子", "埼玉県熊谷市筑波三丁目"));
        let unregistered = decide(id, &PersonState::default(), PersonCommand::ChangeAddress { address: "x".into(), effective_on: date(2025, 5, 2), acquisition: source() }, &context());
        assert_eq!(unregistered.unwrap_err().code(), "person_not_found");
    }

    #[test]
    fn an_erased_person_takes_no_further_command() {
        let id = PersonId::from_uuid(uuid::Uuid::nil());
        let mut state = PersonState::default();
        for command in [register(), acquire(AcquisitionReason::MovedIn, date(2025, 4, 1))] {
            for event in decide(id, &state, command, &context()).unwrap() {
                state = evolve(state, &event);
            }
        }
        state = evolve(
            state,
            &LedgerEvent::PersonErased(kokuho_events::PersonErased {
                person_id: id.as_uuid(),
                retention_kind: kokuho_events::RetentionKind::Payment,
                retention_ended_on: date(2025, 5, 1),
                rule_source: "地方税法 §18".into(),
                rules_sha256: "0".repeat(64),
            }),
        );
        assert!(state.registered.as_ref().unwrap().details.is_none());
        assert_eq!(decide(id, &state, pay(1_000), &context()).unwrap_err().code(), "person_erased");
    }

    #[test]
    fn payments_add_up_for_an_insured_person() {
        let id = PersonId::from_uuid(uuid::Uuid::nil());
        let mut state = PersonState::default();
        for command in [register(), acquire(AcquisitionReason::MovedIn, date(2025, 4, 1)), pay(12_300), pay(4_500)] {
            for event in decide(id, &state, command, &context()).unwrap() {
                state = evolve(state, &event);
            }
        }
        assert_eq!((state.paid_total, state.payments), (Yen::new(16_800), 2));
    }
}
