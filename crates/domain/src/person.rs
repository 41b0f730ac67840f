//! The person aggregate: one stream per person, holding registration, eligibility (資格),
//! death, income reports and certificates. Payments are received on the household's account
//! (`collection::household_account`); the `PaymentReceived` events a person's stream holds from
//! before it are still read (ARCHITECTURE.md, "Payments before the household account").
//!
//! `decide` checks a command against the person's state and returns the events to append;
//! `evolve` folds one event into the state. Both are pure, so replaying the same events always
//! gives the same state: folding the events recorded up to an instant answers "as recorded at
//! T", and [`PersonState::period_on`] on that state answers "as in effect on D".

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use kokuho_events::{
    Acquisition, AcquisitionReason, AddressChange, CertificateIssued, CorrectionReason, CostShare, EligibilityAcquired,
    EligibilityCorrected, EligibilityEnd, EligibilityLost, EligibilityStart, EligibilityWithdrawn, FormerMunicipality,
    IncomeFigures, IncomeReported, LedgerEvent, LossReason, NameChange, PersonAddressChanged, PersonDetails,
    PersonDied, PersonNameChanged, PersonRegistered, Personal,
};
use serde::Serialize;
use uuid::Uuid;

use crate::eligibility::{
    self, check_acquisition, check_loss, loss_effective_on, notification_is_late, seventy_fifth_birthday,
    EligibilityError, EligibilityPeriod, RULE_DATE_OF_BIRTH, RULE_LATE_STAGE_ELDERLY,
};
use crate::{Context, PersonId, Rejection, Yen};
use checks::check_input;

/// What the ledger knows of a person after folding their events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PersonState {
    pub registered: Option<Registration>,
    /// The current insured period's first day, when insured (kept in step with `periods`).
    pub insured_since: Option<NaiveDate>,
    /// Insured periods as currently recorded: corrections applied, withdrawals removed.
    pub periods: Vec<InsuredPeriod>,
    pub died_on: Option<NaiveDate>,
    /// Income by calendar year (the latest report of each year); `None` when the figures were
    /// not decrypted for this reader, or erased.
    pub incomes: BTreeMap<i32, Option<IncomeFigures>>,
    pub certificates: Vec<Certificate>,
    /// The 70–74 share decisions, in the order recorded.
    pub elderly_shares: Vec<ElderlyShareDecision>,
    /// The legacy payments on the person's stream (`PaymentReceived`, recorded before the
    /// household account; none is recorded any more): their sum and count.
    pub paid_total: Yen,
    pub payments: u32,
    /// The involuntary-unemployment applications, in the order recorded (each separation has
    /// its own reduction period); empty when not decrypted.
    pub unemployment: Vec<kokuho_events::UnemploymentFacts>,
    /// Births and due dates notified for the childbirth exemption (a birth replaces a due date
    /// within two months of it).
    pub childbirths: Vec<kokuho_events::ChildbirthFacts>,
    /// Their retention ended and their personal data was erased: the record is closed.
    pub erased: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub atena_no: String,
    /// `None` when the personal part was not decrypted for this reader, or was erased.
    pub details: Option<PersonDetails>,
}

/// One insured period as currently recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsuredPeriod {
    pub period_id: Uuid,
    pub start: EligibilityStart,
    pub end: Option<EligibilityEnd>,
    pub former_municipality: Option<FormerMunicipality>,
    /// How many corrections restated it.
    pub corrections: u32,
}

impl InsuredPeriod {
    pub fn as_period(&self) -> EligibilityPeriod {
        EligibilityPeriod { effective_on: self.start.effective_on, lost_on: self.end.as_ref().map(|end| end.lost_on) }
    }

    pub fn contains(&self, on: NaiveDate) -> bool {
        self.as_period().contains(on)
    }
}

/// An eligibility certificate (資格確認書) as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    pub certificate_no: String,
    pub period_id: Uuid,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

/// Whether a certificate can be used on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CertificateStatus {
    Valid,
    NotYetValid,
    Expired,
    /// The period it was issued for ended (or was withdrawn) before that day.
    InvalidatedByLoss {
        lost_on: Option<NaiveDate>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElderlyShareDecision {
    pub valid_from: NaiveDate,
    pub share: CostShare,
    pub basis: String,
    pub household_id: Option<Uuid>,
    pub income_year: i32,
}

impl PersonState {
    /// The periods as the rules see them.
    pub fn eligibility_periods(&self) -> Vec<EligibilityPeriod> {
        self.periods.iter().map(InsuredPeriod::as_period).collect()
    }

    /// The open period (insured with no loss recorded), if any.
    pub fn open_period(&self) -> Option<&InsuredPeriod> {
        self.periods.iter().find(|period| period.end.is_none())
    }

    /// The period that covers `on` (valid time), if the person was insured that day.
    pub fn period_on(&self, on: NaiveDate) -> Option<&InsuredPeriod> {
        self.periods.iter().find(|period| period.contains(on))
    }

    pub fn period(&self, period_id: Uuid) -> Option<&InsuredPeriod> {
        self.periods.iter().find(|period| period.period_id == period_id)
    }

    pub fn date_of_birth(&self) -> Option<NaiveDate> {
        self.registered.as_ref()?.details.as_ref().map(|details| details.date_of_birth)
    }

    /// A certificate's status on `on` (valid time).
    pub fn certificate_status(&self, certificate: &Certificate, on: NaiveDate) -> CertificateStatus {
        let Some(period) = self.period(certificate.period_id) else {
            return CertificateStatus::InvalidatedByLoss { lost_on: None };
        };
        if let Some(end) = &period.end {
            if on >= end.lost_on {
                return CertificateStatus::InvalidatedByLoss { lost_on: Some(end.lost_on) };
            }
        }
        if on < certificate.valid_from {
            CertificateStatus::NotYetValid
        } else if on > certificate.valid_until {
            CertificateStatus::Expired
        } else {
            CertificateStatus::Valid
        }
    }

    /// The 70–74 share decided for `on`: the latest-recorded decision among those with the
    /// latest `valid_from` on or before `on`.
    pub fn elderly_share_on(&self, on: NaiveDate) -> Option<&ElderlyShareDecision> {
        let mut best: Option<&ElderlyShareDecision> = None;
        for decision in self.elderly_shares.iter().filter(|d| d.valid_from <= on) {
            if best.is_none_or(|b| decision.valid_from >= b.valid_from) {
                best = Some(decision);
            }
        }
        best
    }
}

/// A loss as notified: the reason, the event's date (derived for reaching 75), when notified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LossNotice {
    pub reason: LossReason,
    /// Required except for [`LossReason::ReachedLateStageElderly`], whose date is the 75th
    /// birthday; given for that reason, it must be that day.
    pub event_date: Option<NaiveDate>,
    pub notified_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum PersonCommand {
    Register {
        atena_no: String,
        details: PersonDetails,
        acquisition: Acquisition,
    },
    /// An acquisition; with `loss`, a retroactive period that has already ended.
    AcquireEligibility {
        period_id: Uuid,
        reason: AcquisitionReason,
        event_date: NaiveDate,
        notified_on: NaiveDate,
        acquisition: Acquisition,
        former_municipality: Option<FormerMunicipality>,
        loss: Option<LossNotice>,
    },
    LoseEligibility {
        loss: LossNotice,
        acquisition: Acquisition,
    },
    /// Restates a recorded period; the earlier entries stay in the ledger.
    CorrectEligibility {
        period_id: Uuid,
        reason: AcquisitionReason,
        event_date: NaiveDate,
        notified_on: NaiveDate,
        former_municipality: Option<FormerMunicipality>,
        loss: Option<LossNotice>,
        correction_reason: CorrectionReason,
    },
    WithdrawEligibility {
        period_id: Uuid,
        correction_reason: CorrectionReason,
    },
    RecordDeath {
        died_on: NaiveDate,
        notified_on: NaiveDate,
        acquisition: Acquisition,
    },
    ReportIncome {
        income_year: i32,
        figures: IncomeFigures,
        acquisition: Acquisition,
    },
    /// 非自発的失業: the day of separation and the 離職理由コード, on application.
    RecordUnemployment {
        separated_on: NaiveDate,
        reason_code: String,
        acquisition: Acquisition,
    },
    /// A birth, or its due date, for the childbirth exemption (産前産後免除).
    RecordChildbirth {
        born_on: NaiveDate,
        multiple: bool,
        acquisition: Acquisition,
    },
    IssueCertificate {
        certificate_no: String,
        issued_on: NaiveDate,
        valid_until: NaiveDate,
    },
    /// Records a 70–74 share decided by [`crate::share::share_on`] (the ledger's re-decision on
    /// reaching 70, every 1 August, and on every change).
    RecordElderlyShare {
        valid_from: NaiveDate,
        share: CostShare,
        basis: String,
        household_id: Option<Uuid>,
        income_year: i32,
        rules_sha256: String,
    },
    ChangeName {
        name: String,
        name_kana: String,
        effective_on: NaiveDate,
        acquisition: Acquisition,
    },
    ChangeAddress {
        address: String,
        effective_on: NaiveDate,
        acquisition: Acquisition,
    },
}

fn not_in_future(field: &'static str, date: NaiveDate, context: &Context) -> Result<(), Rejection> {
    if date > context.today {
        Err(Rejection::DateInFuture { field, date, today: context.today })
    } else {
        Ok(())
    }
}

/// The start of a period from its notification: dates by the rule, checked against the birth,
/// the day NHI ends at 75, death and today.
fn decide_start(
    person_id: PersonId,
    state: &PersonState,
    reason: AcquisitionReason,
    event_date: NaiveDate,
    notified_on: NaiveDate,
    former_municipality: Option<&FormerMunicipality>,
    context: &Context,
) -> Result<EligibilityStart, Rejection> {
    not_in_future("event_date", event_date, context)?;
    not_in_future("notified_on", notified_on, context)?;
    if former_municipality.is_some() && reason != AcquisitionReason::MovedIn {
        return Err(Rejection::FieldNotApplicable {
            field: "former_municipality",
            reason: "a former municipality is recorded only for moved_in",
        });
    }
    if let Some(former) = former_municipality {
        let code = &former.municipality_code;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::FieldNotApplicable {
                field: "former_municipality.municipality_code",
                reason: "a local government code has 6 digits",
            });
        }
    }
    let effective_on = eligibility::acquisition_effective_on(reason, event_date);
    let rule = |rule, limit| Rejection::Eligibility {
        person_id,
        error: EligibilityError::DateBeyondRule { date: effective_on, rule, limit },
    };
    if let Some(date_of_birth) = state.date_of_birth() {
        if effective_on < date_of_birth {
            return Err(rule(RULE_DATE_OF_BIRTH, date_of_birth));
        }
        let late_stage_from = late_stage_from(date_of_birth, context);
        if effective_on >= late_stage_from {
            return Err(rule(RULE_LATE_STAGE_ELDERLY, late_stage_from));
        }
    }
    if let Some(died_on) = state.died_on {
        if event_date > died_on {
            return Err(Rejection::PersonDeceased { person_id, died_on });
        }
    }
    Ok(EligibilityStart {
        reason,
        event_date,
        effective_on,
        notified_on,
        notification_late: notification_is_late(event_date, notified_on, &context.rules),
    })
}

/// The first day not insured on reaching 75, by the rule setting.
fn late_stage_from(date_of_birth: NaiveDate, context: &Context) -> NaiveDate {
    loss_effective_on(LossReason::ReachedLateStageElderly, seventy_fifth_birthday(date_of_birth), &context.rules)
}

/// The end of a period from its notification: the event date (the 75th birthday for that
/// reason), the first day not insured by the rule, lateness.
fn decide_end(
    person_id: PersonId,
    state: &PersonState,
    notice: &LossNotice,
    context: &Context,
) -> Result<EligibilityEnd, Rejection> {
    let event_date = match (notice.reason, notice.event_date) {
        (LossReason::ReachedLateStageElderly, given) => {
            let Some(date_of_birth) = state.date_of_birth() else {
                return Err(Rejection::EmptyField { field: "date_of_birth" });
            };
            let expected = seventy_fifth_birthday(date_of_birth);
            match given {
                Some(given) if given != expected => return Err(Rejection::EventDateNotTheRule { given, expected }),
                _ => expected,
            }
        }
        (_, Some(given)) => given,
        (_, None) => return Err(Rejection::EmptyField { field: "event_date" }),
    };
    // A move out is notified before it happens (転出予定); every other event must have passed.
    let advance = if notice.reason == LossReason::MovedOut { context.rules.moved_out_advance_days } else { 0 };
    let latest = context.today + chrono::Days::new(u64::from(advance));
    if event_date > latest {
        return Err(Rejection::DateInFuture { field: "event_date", date: event_date, today: context.today });
    }
    not_in_future("notified_on", notice.notified_on, context)?;
    let lost_on = loss_effective_on(notice.reason, event_date, &context.rules);
    if let Some(date_of_birth) = state.date_of_birth() {
        // Insured at most until NHI ends at 75.
        let late_stage_from = late_stage_from(date_of_birth, context);
        if lost_on > late_stage_from {
            return Err(Rejection::Eligibility {
                person_id,
                error: EligibilityError::DateBeyondRule {
                    date: lost_on,
                    rule: RULE_LATE_STAGE_ELDERLY,
                    limit: late_stage_from,
                },
            });
        }
    }
    Ok(EligibilityEnd {
        reason: notice.reason,
        event_date,
        lost_on,
        notified_on: notice.notified_on,
        notification_late: notification_is_late(event_date, notice.notified_on, &context.rules),
    })
}

fn eligibility_error(person_id: PersonId) -> impl Fn(EligibilityError) -> Rejection {
    move |error| Rejection::Eligibility { person_id, error }
}

/// The events of a loss: the loss, and the death when it is one and not yet recorded.
fn loss_events(
    person_id: PersonId,
    state: &PersonState,
    period_id: Uuid,
    end: &EligibilityEnd,
    acquisition: &Acquisition,
) -> Vec<LedgerEvent> {
    let mut events = vec![LedgerEvent::EligibilityLost(EligibilityLost {
        person_id: person_id.as_uuid(),
        period_id,
        reason: end.reason,
        event_date: end.event_date,
        lost_on: end.lost_on,
        notified_on: end.notified_on,
        notification_late: end.notification_late,
        acquisition: acquisition.clone(),
    })];
    if end.reason == LossReason::Death && state.died_on.is_none() {
        events.push(LedgerEvent::PersonDied(PersonDied {
            person_id: person_id.as_uuid(),
            died_on: end.event_date,
            notified_on: end.notified_on,
            acquisition: acquisition.clone(),
        }));
    }
    events
}

pub fn decide(
    person_id: PersonId,
    state: &PersonState,
    command: PersonCommand,
    context: &Context,
) -> Result<Vec<LedgerEvent>, Rejection> {
    check_input(&command, context.today)?;
    if state.erased {
        return Err(Rejection::PersonErased { person_id });
    }
    if state.registered.is_none() && !matches!(command, PersonCommand::Register { .. }) {
        return Err(Rejection::PersonNotFound { person_id });
    }
    match command {
        PersonCommand::Register { atena_no, details, acquisition } => {
            if state.registered.is_some() {
                return Err(Rejection::PersonAlreadyRegistered { person_id });
            }
            if let Some(existing) = context.atena_no_registered_to.filter(|existing| *existing != person_id) {
                return Err(Rejection::AtenaNoRegistered { existing });
            }
            if atena_no.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "atena_no" });
            }
            if details.name.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "name" });
            }
            not_in_future("date_of_birth", details.date_of_birth, context)?;
            Ok(vec![LedgerEvent::PersonRegistered(PersonRegistered {
                person_id: person_id.as_uuid(),
                atena_no,
                acquisition,
                personal: Personal::Present(details),
            })])
        }
        PersonCommand::AcquireEligibility {
            period_id,
            reason,
            event_date,
            notified_on,
            acquisition,
            former_municipality,
            loss,
        } => {
            if state.period(period_id).is_some() {
                return Err(Rejection::PeriodAlreadyRecorded { person_id, period_id });
            }
            let start =
                decide_start(person_id, state, reason, event_date, notified_on, former_municipality.as_ref(), context)?;
            let end = loss.as_ref().map(|notice| decide_end(person_id, state, notice, context)).transpose()?;
            let candidate =
                EligibilityPeriod { effective_on: start.effective_on, lost_on: end.as_ref().map(|e| e.lost_on) };
            check_acquisition(&state.eligibility_periods(), candidate).map_err(eligibility_error(person_id))?;
            let mut events = vec![LedgerEvent::EligibilityAcquired(EligibilityAcquired {
                person_id: person_id.as_uuid(),
                period_id,
                reason,
                event_date,
                effective_on: start.effective_on,
                notified_on,
                notification_late: start.notification_late,
                acquisition: acquisition.clone(),
                former_municipality,
            })];
            if let Some(end) = &end {
                events.extend(loss_events(person_id, state, period_id, end, &acquisition));
            }
            Ok(events)
        }
        PersonCommand::LoseEligibility { loss, acquisition } => {
            let end = decide_end(person_id, state, &loss, context)?;
            check_loss(&state.eligibility_periods(), end.lost_on).map_err(eligibility_error(person_id))?;
            let open = state.open_period().expect("check_loss found an open period");
            Ok(loss_events(person_id, state, open.period_id, &end, &acquisition))
        }
        PersonCommand::CorrectEligibility {
            period_id,
            reason,
            event_date,
            notified_on,
            former_municipality,
            loss,
            correction_reason,
        } => {
            if state.period(period_id).is_none() {
                return Err(Rejection::PeriodNotFound { person_id, period_id });
            }
            let start =
                decide_start(person_id, state, reason, event_date, notified_on, former_municipality.as_ref(), context)?;
            let end = loss.as_ref().map(|notice| decide_end(person_id, state, notice, context)).transpose()?;
            let candidate =
                EligibilityPeriod { effective_on: start.effective_on, lost_on: end.as_ref().map(|e| e.lost_on) };
            let others: Vec<EligibilityPeriod> =
                state.periods.iter().filter(|p| p.period_id != period_id).map(InsuredPeriod::as_period).collect();
            check_acquisition(&others, candidate).map_err(eligibility_error(person_id))?;
            Ok(vec![LedgerEvent::EligibilityCorrected(EligibilityCorrected {
                person_id: person_id.as_uuid(),
                period_id,
                start,
                end,
                former_municipality,
                correction_reason,
            })])
        }
        PersonCommand::WithdrawEligibility { period_id, correction_reason } => {
            if state.period(period_id).is_none() {
                return Err(Rejection::PeriodNotFound { person_id, period_id });
            }
            Ok(vec![LedgerEvent::EligibilityWithdrawn(EligibilityWithdrawn {
                person_id: person_id.as_uuid(),
                period_id,
                correction_reason,
            })])
        }
        PersonCommand::RecordDeath { died_on, notified_on, acquisition } => {
            if let Some(recorded) = state.died_on {
                return Err(Rejection::PersonDeceased { person_id, died_on: recorded });
            }
            let notice = LossNotice { reason: LossReason::Death, event_date: Some(died_on), notified_on };
            if let Some(date_of_birth) = state.date_of_birth() {
                if died_on < date_of_birth {
                    return Err(Rejection::Eligibility {
                        person_id,
                        error: EligibilityError::DateBeyondRule {
                            date: died_on,
                            rule: RULE_DATE_OF_BIRTH,
                            limit: date_of_birth,
                        },
                    });
                }
            }
            match state.open_period() {
                Some(open) => {
                    let end = decide_end(person_id, state, &notice, context)?;
                    check_loss(&state.eligibility_periods(), end.lost_on).map_err(eligibility_error(person_id))?;
                    Ok(loss_events(person_id, state, open.period_id, &end, &acquisition))
                }
                None => {
                    not_in_future("died_on", died_on, context)?;
                    not_in_future("notified_on", notified_on, context)?;
                    Ok(vec![LedgerEvent::PersonDied(PersonDied {
                        person_id: person_id.as_uuid(),
                        died_on,
                        notified_on,
                        acquisition,
                    })])
                }
            }
        }
        PersonCommand::ReportIncome { income_year, figures, acquisition } => {
            use chrono::Datelike;
            if income_year >= context.today.year() {
                return Err(Rejection::IncomeYearNotEnded { income_year, today: context.today });
            }
            for (field, amount_yen) in [
                ("total_income_yen", figures.total_income_yen),
                ("taxable_income_yen", figures.taxable_income_yen),
                ("salary_income_yen", figures.salary_income_yen),
                ("pension_income_yen", figures.pension_income_yen),
            ] {
                if amount_yen < 0 {
                    return Err(Rejection::AmountNegative { field, amount_yen });
                }
                if amount_yen > Yen::AMOUNT_MAX.amount() {
                    return Err(Rejection::AmountTooLarge { field, max_yen: Yen::AMOUNT_MAX.amount() });
                }
            }
            Ok(vec![LedgerEvent::IncomeReported(IncomeReported {
                person_id: person_id.as_uuid(),
                income_year,
                acquisition,
                personal: Personal::Present(figures),
            })])
        }
        PersonCommand::RecordUnemployment { separated_on, reason_code, acquisition } => {
            not_in_future("separated_on", separated_on, context)?;
            let reason_code = reason_code.trim().to_owned();
            if reason_code.len() != 2 || !reason_code.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(Rejection::FieldNotApplicable {
                    field: "reason_code",
                    reason: "a 離職理由コード has 2 digits (e.g. 11, 21, 31)",
                });
            }
            let facts = kokuho_events::UnemploymentFacts { separated_on, reason_code };
            if state.unemployment.contains(&facts) {
                return Ok(vec![]);
            }
            Ok(vec![LedgerEvent::UnemploymentRecorded(kokuho_events::UnemploymentRecorded {
                person_id: person_id.as_uuid(),
                recorded_on: context.today,
                acquisition,
                personal: Personal::Present(facts),
            })])
        }
        PersonCommand::RecordChildbirth { born_on, multiple, acquisition } => {
            // A due date may lie ahead (the notification can be made from 6 months before it).
            if born_on > context.today + chrono::Days::new(183) {
                return Err(Rejection::FieldNotApplicable {
                    field: "born_on",
                    reason: "a due date is notified at most 6 months ahead",
                });
            }
            let facts = kokuho_events::ChildbirthFacts { born_on, multiple };
            if state.childbirths.contains(&facts) {
                return Ok(vec![]);
            }
            Ok(vec![LedgerEvent::ChildbirthRecorded(kokuho_events::ChildbirthRecorded {
                person_id: person_id.as_uuid(),
                recorded_on: context.today,
                acquisition,
                personal: Personal::Present(facts),
            })])
        }
        PersonCommand::IssueCertificate { certificate_no, issued_on, valid_until } => {
            let certificate_no = certificate_no.trim().to_owned();
            if certificate_no.is_empty() {
                return Err(Rejection::EmptyField { field: "certificate_no" });
            }
            not_in_future("issued_on", issued_on, context)?;
            if state.certificates.iter().any(|c| c.certificate_no == certificate_no) {
                return Err(Rejection::CertificateAlreadyIssued { certificate_no });
            }
            if valid_until < issued_on {
                return Err(Rejection::InvalidValidity { issued_on, valid_until });
            }
            let Some(period) = state.period_on(issued_on) else {
                return Err(Rejection::NotInsured { person_id });
            };
            Ok(vec![LedgerEvent::CertificateIssued(CertificateIssued {
                person_id: person_id.as_uuid(),
                period_id: period.period_id,
                certificate_no,
                issued_on,
                valid_from: issued_on,
                valid_until,
            })])
        }
        PersonCommand::RecordElderlyShare { valid_from, share, basis, household_id, income_year, rules_sha256 } => {
            if state.period_on(valid_from).is_none() {
                return Err(Rejection::NotInsured { person_id });
            }
            Ok(vec![LedgerEvent::ElderlyCostShareDecided(kokuho_events::ElderlyCostShareDecided {
                person_id: person_id.as_uuid(),
                household_id,
                valid_from,
                share,
                basis,
                income_year,
                rules_sha256,
            })])
        }
        PersonCommand::ChangeName { name, name_kana, effective_on, acquisition } => {
            if name.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "name" });
            }
            not_in_future("effective_on", effective_on, context)?;
            Ok(vec![LedgerEvent::PersonNameChanged(PersonNameChanged {
                person_id: person_id.as_uuid(),
                effective_on,
                acquisition,
                personal: Personal::Present(NameChange { name, name_kana }),
            })])
        }
        PersonCommand::ChangeAddress { address, effective_on, acquisition } => {
            if address.trim().is_empty() {
                return Err(Rejection::EmptyField { field: "address" });
            }
            not_in_future("effective_on", effective_on, context)?;
            Ok(vec![LedgerEvent::PersonAddressChanged(PersonAddressChanged {
                person_id: person_id.as_uuid(),
                effective_on,
                acquisition,
                personal: Personal::Present(AddressChange { address }),
            })])
        }
    }
}

pub fn evolve(mut state: PersonState, event: &LedgerEvent) -> PersonState {
    match event {
        LedgerEvent::PersonRegistered(e) => {
            state.registered =
                Some(Registration { atena_no: e.atena_no.clone(), details: e.personal.as_present().cloned() });
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
        LedgerEvent::EligibilityAcquired(e) => {
            state.periods.push(InsuredPeriod {
                period_id: e.period_id,
                start: EligibilityStart {
                    reason: e.reason,
                    event_date: e.event_date,
                    effective_on: e.effective_on,
                    notified_on: e.notified_on,
                    notification_late: e.notification_late,
                },
                end: None,
                former_municipality: e.former_municipality.clone(),
                corrections: 0,
            });
            state.periods.sort_by_key(|period| period.start.effective_on);
        }
        LedgerEvent::EligibilityLost(e) => {
            if let Some(period) = state.periods.iter_mut().find(|p| p.period_id == e.period_id) {
                period.end = Some(EligibilityEnd {
                    reason: e.reason,
                    event_date: e.event_date,
                    lost_on: e.lost_on,
                    notified_on: e.notified_on,
                    notification_late: e.notification_late,
                });
            }
        }
        LedgerEvent::EligibilityCorrected(e) => {
            if let Some(period) = state.periods.iter_mut().find(|p| p.period_id == e.period_id) {
                period.start = e.start.clone();
                period.end = e.end.clone();
                period.former_municipality = e.former_municipality.clone();
                period.corrections += 1;
            }
            state.periods.sort_by_key(|period| period.start.effective_on);
        }
        LedgerEvent::EligibilityWithdrawn(e) => state.periods.retain(|p| p.period_id != e.period_id),
        LedgerEvent::PersonDied(e) => state.died_on = Some(e.died_on),
        LedgerEvent::IncomeReported(e) => {
            state.incomes.insert(e.income_year, e.personal.as_present().cloned());
        }
        LedgerEvent::UnemploymentRecorded(e) => state.unemployment.extend(e.personal.as_present().cloned()),
        LedgerEvent::ChildbirthRecorded(e) => {
            if let Some(facts) = e.personal.as_present() {
                // A birth within two months of a recorded due date replaces it.
                state.childbirths.retain(|recorded| (recorded.born_on - facts.born_on).num_days().abs() > 62);
                state.childbirths.push(facts.clone());
            }
        }
        LedgerEvent::CertificateIssued(e) => state.certificates.push(Certificate {
            certificate_no: e.certificate_no.clone(),
            period_id: e.period_id,
            issued_on: e.issued_on,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
        }),
        LedgerEvent::ElderlyCostShareDecided(e) => state.elderly_shares.push(ElderlyShareDecision {
            valid_from: e.valid_from,
            share: e.share,
            basis: e.basis.clone(),
            household_id: e.household_id,
            income_year: e.income_year,
        }),
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
            for figures in state.incomes.values_mut() {
                *figures = None;
            }
            state.unemployment.clear();
            state.childbirths.clear();
        }
        // Every other event lives in a stream of its own (staff, access record, My Number
        // links, provisions, households, …): nothing to fold.
        _ => {}
    }
    state.insured_since = state.open_period().map(|period| period.start.effective_on);
    state
}

/// The person aggregate: [`decide`] and [`evolve`] over the stream `person-<id>`.
pub struct Person;

impl crate::Aggregate for Person {
    const NAME: &'static str = "person";
    const READS_PERSONAL: bool = true;
    const CACHED: bool = true;
    type Id = PersonId;
    type State = PersonState;
    type Command = PersonCommand;
    type Lookups = Context;
    type Rejection = Rejection;

    fn stream_id(id: PersonId) -> String {
        id.stream_id()
    }
    fn decide(
        id: PersonId,
        state: &PersonState,
        command: PersonCommand,
        lookups: &Context,
    ) -> Result<Vec<LedgerEvent>, Rejection> {
        decide(id, state, command, lookups)
    }
    fn evolve(state: PersonState, event: &LedgerEvent) -> PersonState {
        evolve(state, event)
    }
}

mod checks;
#[cfg(test)]
mod tests;
