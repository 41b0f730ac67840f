//! The person aggregate's decisions, table-driven: each refusal with its code.

use super::*;
use kokuho_events::{PaymentChannel, PaymentReceived, Sex};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn context() -> Context {
    Context::national(date(2025, 6, 1))
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
    PersonCommand::AcquireEligibility {
        period_id: uuid::Uuid::from_u128(u128::from(on.to_string().bytes().fold(0u64, |h, b| h * 31 + u64::from(b)))),
        reason,
        event_date: on,
        notified_on: date(2025, 5, 1),
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
        former_municipality: None,
        loss: None,
    }
}

/// A payment recorded on the person's stream before the household account: no command records
/// one any more, but a ledger may hold it and it is still read.
fn legacy_payment(amount: i64) -> LedgerEvent {
    LedgerEvent::PaymentReceived(PaymentReceived {
        person_id: uuid::Uuid::nil(),
        fiscal_year: 2025,
        amount_yen: amount,
        received_on: date(2025, 5, 31),
        channel: PaymentChannel::BankTransfer,
    })
}

fn certificate() -> PersonCommand {
    PersonCommand::IssueCertificate {
        certificate_no: "C-0001".into(),
        issued_on: date(2025, 5, 1),
        valid_until: date(2026, 3, 31),
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
        (vec![register()], certificate(), "not_insured"),
        (
            vec![register(), acquire(AcquisitionReason::MovedIn, date(2025, 4, 1))],
            acquire(AcquisitionReason::MovedIn, date(2025, 4, 2)),
            "already_insured",
        ),
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
        PersonCommand::ChangeName {
            name: "行田 花子".into(),
            name_kana: "ギョウダ ハナコ".into(),
            effective_on: date(2025, 5, 1),
            acquisition: source(),
        },
        PersonCommand::ChangeAddress {
            address: "埼玉県熊谷市筑波三丁目".into(),
            effective_on: date(2025, 5, 2),
            acquisition: source(),
        },
    ] {
        for event in decide(id, &state, command, &context()).unwrap() {
            state = evolve(state, &event);
        }
    }
    let details = state.registered.unwrap().details.unwrap();
    assert_eq!((details.name.as_str(), details.address.as_str()), ("行田 花子", "埼玉県熊谷市筑波三丁目"));
    let unregistered = decide(
        id,
        &PersonState::default(),
        PersonCommand::ChangeAddress { address: "x".into(), effective_on: date(2025, 5, 2), acquisition: source() },
        &context(),
    );
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
    assert_eq!(decide(id, &state, certificate(), &context()).unwrap_err().code(), "person_erased");
}

#[test]
fn legacy_payments_on_the_persons_stream_still_add_up() {
    let id = PersonId::from_uuid(uuid::Uuid::nil());
    let mut state = PersonState::default();
    for command in [register(), acquire(AcquisitionReason::MovedIn, date(2025, 4, 1))] {
        for event in decide(id, &state, command, &context()).unwrap() {
            state = evolve(state, &event);
        }
    }
    for event in [legacy_payment(12_300), legacy_payment(4_500)] {
        state = evolve(state, &event);
    }
    assert_eq!((state.paid_total, state.payments), (Yen::new(16_800), 2));
}

fn born(on: NaiveDate) -> PersonCommand {
    let PersonCommand::Register { atena_no, mut details, acquisition } = register() else { unreachable!() };
    details.date_of_birth = on;
    PersonCommand::Register { atena_no, details, acquisition }
}

fn acquired(reason: AcquisitionReason, on: NaiveDate, notified_on: NaiveDate) -> PersonCommand {
    let PersonCommand::AcquireEligibility { period_id, acquisition, .. } = acquire(reason, on) else { unreachable!() };
    PersonCommand::AcquireEligibility {
        period_id,
        reason,
        event_date: on,
        notified_on,
        acquisition,
        former_municipality: None,
        loss: None,
    }
}

fn lose(reason: LossReason, on: Option<NaiveDate>) -> PersonCommand {
    PersonCommand::LoseEligibility {
        loss: LossNotice { reason, event_date: on, notified_on: date(2025, 5, 30) },
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
    }
}

/// Folds `commands` (all must be accepted) into a state.
fn state_after(commands: Vec<PersonCommand>) -> PersonState {
    let id = PersonId::from_uuid(uuid::Uuid::nil());
    let mut state = PersonState::default();
    for command in commands {
        for event in decide(id, &state, command, &context()).expect("accepted") {
            state = evolve(state, &event);
        }
    }
    state
}

#[test]
fn every_loss_reason_closes_the_period_on_its_first_day_not_insured() {
    // (reason, event date given, first day not insured) — docs/domain.md §4; born 1950-05-20, so
    // the 75th birthday is 2025-05-20 and NHI ends that day (the default setting).
    let table = [
        (LossReason::MovedOut, Some(date(2025, 5, 10)), date(2025, 5, 11)),
        (LossReason::JoinedEmployeeInsurance, Some(date(2025, 5, 1)), date(2025, 5, 2)),
        (LossReason::Death, Some(date(2025, 5, 3)), date(2025, 5, 4)),
        (LossReason::PublicAssistanceStarted, Some(date(2025, 5, 15)), date(2025, 5, 15)),
        (LossReason::ReachedLateStageElderly, None, date(2025, 5, 20)),
        (LossReason::ReachedLateStageElderly, Some(date(2025, 5, 20)), date(2025, 5, 20)),
    ];
    for (reason, event_date, lost_on) in table {
        let state = state_after(vec![
            born(date(1950, 5, 20)),
            acquired(AcquisitionReason::MovedIn, date(2024, 4, 1), date(2024, 4, 1)),
            lose(reason, event_date),
        ]);
        let period = &state.periods[0];
        assert_eq!(period.end.as_ref().map(|end| end.lost_on), Some(lost_on), "{reason:?}");
        assert!(period.contains(lost_on.pred_opt().unwrap()) && !period.contains(lost_on), "{reason:?}");
        assert_eq!(state.insured_since, None, "{reason:?}");
        assert_eq!(state.died_on.is_some(), reason == LossReason::Death, "{reason:?}: death is recorded with its loss");
    }
}

#[test]
fn a_notification_after_14_days_is_flagged_late_and_still_takes_effect_from_the_real_date() {
    // (event date, notified on, late?)
    let table = [
        (date(2025, 4, 1), date(2025, 4, 15), false),
        (date(2025, 4, 1), date(2025, 4, 16), true),
        (date(2024, 4, 1), date(2025, 5, 1), true),
    ];
    for (event_date, notified_on, late) in table {
        let state = state_after(vec![register(), acquired(AcquisitionReason::MovedIn, event_date, notified_on)]);
        let start = &state.periods[0].start;
        assert_eq!((start.effective_on, start.notification_late), (event_date, late), "{event_date} {notified_on}");
    }
}

#[test]
fn a_retroactive_closed_period_and_a_correction_restate_the_periods() {
    let id = PersonId::from_uuid(uuid::Uuid::nil());
    let mut state =
        state_after(vec![register(), acquired(AcquisitionReason::MovedIn, date(2025, 4, 1), date(2025, 4, 2))]);
    // A period in the past, acquired and lost in one command (retroactive entry).
    let retro = PersonCommand::AcquireEligibility {
        period_id: uuid::Uuid::from_u128(7),
        reason: AcquisitionReason::LeftEmployeeInsurance,
        event_date: date(2023, 3, 31),
        notified_on: date(2025, 5, 1),
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
        former_municipality: None,
        loss: Some(LossNotice {
            reason: LossReason::JoinedEmployeeInsurance,
            event_date: Some(date(2024, 6, 30)),
            notified_on: date(2025, 5, 1),
        }),
    };
    for event in decide(id, &state, retro, &context()).unwrap() {
        state = evolve(state, &event);
    }
    assert!(state.period_on(date(2023, 4, 1)).is_some() && state.period_on(date(2024, 7, 1)).is_none());
    // The open period really began on 2025-04-03: corrected, not re-entered.
    let open_id = state.open_period().unwrap().period_id;
    let correction = PersonCommand::CorrectEligibility {
        period_id: open_id,
        reason: AcquisitionReason::MovedIn,
        event_date: date(2025, 4, 3),
        notified_on: date(2025, 4, 4),
        former_municipality: None,
        loss: None,
        correction_reason: CorrectionReason::EntryError,
    };
    for event in decide(id, &state, correction, &context()).unwrap() {
        state = evolve(state, &event);
    }
    assert_eq!(state.insured_since, Some(date(2025, 4, 3)));
    assert!(state.period_on(date(2025, 4, 2)).is_none());
    assert_eq!(state.period(open_id).unwrap().corrections, 1);
    let withdrawn = decide(
        id,
        &state,
        PersonCommand::WithdrawEligibility {
            period_id: uuid::Uuid::from_u128(7),
            correction_reason: CorrectionReason::EntryError,
        },
        &context(),
    )
    .unwrap();
    let state = withdrawn.iter().fold(state, evolve);
    assert!(state.period_on(date(2023, 4, 1)).is_none(), "a withdrawn period never existed");
}

#[test]
fn a_loss_invalidates_the_certificates_of_the_period() {
    let id = PersonId::from_uuid(uuid::Uuid::nil());
    let mut state =
        state_after(vec![register(), acquired(AcquisitionReason::MovedIn, date(2025, 4, 1), date(2025, 4, 2))]);
    let issue = PersonCommand::IssueCertificate {
        certificate_no: "0001".into(),
        issued_on: date(2025, 4, 2),
        valid_until: date(2026, 7, 31),
    };
    state = decide(id, &state, issue, &context()).unwrap().iter().fold(state, evolve);
    let certificate = state.certificates[0].clone();
    assert_eq!(state.certificate_status(&certificate, date(2025, 5, 20)), CertificateStatus::Valid);
    state = decide(id, &state, lose(LossReason::MovedOut, Some(date(2025, 5, 10))), &context())
        .unwrap()
        .iter()
        .fold(state, evolve);
    // (on, status)
    let table = [
        (date(2025, 4, 1), CertificateStatus::NotYetValid),
        (date(2025, 5, 10), CertificateStatus::Valid),
        (date(2025, 5, 11), CertificateStatus::InvalidatedByLoss { lost_on: Some(date(2025, 5, 11)) }),
    ];
    for (on, status) in table {
        assert_eq!(state.certificate_status(&certificate, on), status, "{on}");
    }
}

#[test]
fn every_eligibility_refusal_has_its_code() {
    let insured =
        || vec![born(date(1980, 5, 5)), acquired(AcquisitionReason::MovedIn, date(2025, 4, 1), date(2025, 4, 2))];
    let elderly = || vec![born(date(1950, 5, 20))];
    let moved_in_from = |code: &str| PersonCommand::AcquireEligibility {
        period_id: uuid::Uuid::from_u128(9),
        reason: AcquisitionReason::Birth,
        event_date: date(2025, 4, 1),
        notified_on: date(2025, 4, 1),
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
        former_municipality: Some(FormerMunicipality { municipality_code: code.into(), lost_on: date(2025, 4, 1) }),
        loss: None,
    };
    let died = PersonCommand::RecordDeath {
        died_on: date(2025, 5, 1),
        notified_on: date(2025, 5, 2),
        acquisition: Acquisition {
            source: "person_or_agent".into(), legal_basis: "国民健康保険法 第9条".into()
        },
    };
    let income = |year, taxable| PersonCommand::ReportIncome {
        income_year: year,
        figures: IncomeFigures {
            total_income_yen: 0,
            taxable_income_yen: taxable,
            salary_income_yen: 0,
            pension_income_yen: 0,
            declared: true,
        },
        acquisition: Acquisition { source: "resident_tax".into(), legal_basis: "地方税法 第317条の6".into() },
    };
    let certificate = |no: &str, issued_on, valid_until| PersonCommand::IssueCertificate {
        certificate_no: no.into(),
        issued_on,
        valid_until,
    };
    // (history, command, code)
    let table: Vec<(Vec<PersonCommand>, PersonCommand, &str)> = vec![
        (vec![born(date(1980, 5, 5))], lose(LossReason::MovedOut, Some(date(2025, 5, 1))), "not_insured"),
        (insured(), lose(LossReason::MovedOut, Some(date(2025, 3, 1))), "loss_before_acquisition"),
        (insured(), acquired(AcquisitionReason::Birth, date(2025, 5, 1), date(2025, 5, 1)), "already_insured"),
        // A move out may be notified up to 14 days ahead (today is 2025-06-01), nothing else.
        (insured(), lose(LossReason::MovedOut, Some(date(2025, 6, 16))), "date_in_future"),
        (insured(), lose(LossReason::JoinedEmployeeInsurance, Some(date(2025, 6, 2))), "date_in_future"),
        (insured(), lose(LossReason::MovedOut, None), "empty_field"),
        (
            vec![born(date(1980, 5, 5))],
            acquired(AcquisitionReason::MovedIn, date(1980, 5, 4), date(2025, 5, 1)),
            "date_beyond_rule",
        ),
        (elderly(), acquired(AcquisitionReason::MovedIn, date(2025, 5, 20), date(2025, 5, 20)), "date_beyond_rule"),
        (
            vec![born(date(1950, 5, 20)), acquired(AcquisitionReason::MovedIn, date(2024, 4, 1), date(2024, 4, 1))],
            lose(LossReason::ReachedLateStageElderly, Some(date(2025, 5, 19))),
            "event_date_not_the_rule",
        ),
        (vec![born(date(1980, 5, 5))], moved_in_from("112011"), "field_not_applicable"),
        (
            vec![born(date(1980, 5, 5)), died.clone()],
            acquired(AcquisitionReason::MovedIn, date(2025, 5, 20), date(2025, 5, 20)),
            "person_deceased",
        ),
        (vec![born(date(1980, 5, 5)), died.clone()], died.clone(), "person_deceased"),
        (
            insured(),
            PersonCommand::WithdrawEligibility {
                period_id: uuid::Uuid::from_u128(404),
                correction_reason: CorrectionReason::EntryError,
            },
            "period_not_found",
        ),
        (vec![born(date(1980, 5, 5))], income(2025, 0), "income_year_not_ended"),
        (vec![born(date(1980, 5, 5))], income(2024, -1), "amount_negative"),
        (vec![born(date(1980, 5, 5))], income(2024, Yen::AMOUNT_MAX.amount() + 1), "amount_too_large"),
        (vec![born(date(1980, 5, 5))], certificate("1", date(2025, 5, 1), date(2026, 7, 31)), "not_insured"),
        (insured(), certificate("1", date(2025, 5, 1), date(2025, 4, 30)), "invalid_validity"),
        (insured(), certificate(" ", date(2025, 5, 1), date(2026, 7, 31)), "empty_field"),
        (
            {
                let mut h = insured();
                h.push(certificate("1", date(2025, 5, 1), date(2026, 7, 31)));
                h
            },
            certificate("1", date(2025, 5, 2), date(2026, 7, 31)),
            "certificate_already_issued",
        ),
        (vec![], lose(LossReason::MovedOut, Some(date(2025, 5, 1))), "person_not_found"),
        (
            {
                let mut h = insured();
                h.push(lose(LossReason::MovedOut, Some(date(2025, 5, 1))));
                h
            },
            {
                let PersonCommand::AcquireEligibility { period_id, .. } =
                    acquired(AcquisitionReason::MovedIn, date(2025, 4, 1), date(2025, 4, 2))
                else {
                    unreachable!()
                };
                let PersonCommand::AcquireEligibility {
                    reason,
                    event_date,
                    notified_on,
                    acquisition,
                    former_municipality,
                    loss,
                    ..
                } = acquired(AcquisitionReason::MovedIn, date(2025, 5, 20), date(2025, 5, 20))
                else {
                    unreachable!()
                };
                PersonCommand::AcquireEligibility {
                    period_id,
                    reason,
                    event_date,
                    notified_on,
                    acquisition,
                    former_municipality,
                    loss,
                }
            },
            "period_already_recorded",
        ),
    ];
    for (history, command, code) in table {
        let rejection = given_when(history, command.clone()).expect_err(code);
        assert_eq!(rejection.code(), code, "{command:?}: {rejection}");
    }
}

#[test]
fn a_move_out_may_be_recorded_up_to_14_days_ahead() {
    // Today is 2025-06-01: a move on 2025-06-15 is notified in advance and ends eligibility
    // on 2025-06-16, so the person is insured until then and not after.
    let state = state_after(vec![
        register(),
        acquired(AcquisitionReason::MovedIn, date(2025, 4, 1), date(2025, 4, 2)),
        lose(LossReason::MovedOut, Some(date(2025, 6, 15))),
    ]);
    let end = state.periods[0].end.clone().unwrap();
    assert_eq!((end.lost_on, end.notification_late), (date(2025, 6, 16), false));
    assert!(state.period_on(date(2025, 6, 15)).is_some() && state.period_on(date(2025, 6, 16)).is_none());
}
