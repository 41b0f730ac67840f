//! What a clerk can type wrong in a person command, checked before any rule ([`crate::checks`]).

use chrono::NaiveDate;

use super::*;

/// Acquisitions whose notice may come before the day they take effect: the welfare office
/// notifies the end of public assistance (生活保護廃止) ahead of it, and a person may report
/// leaving an employee plan (社保離脱) with the date it ends.
fn notified_ahead(reason: AcquisitionReason) -> bool {
    matches!(reason, AcquisitionReason::PublicAssistanceEnded | AcquisitionReason::LeftEmployeeInsurance)
}

/// What a clerk can type wrong in a command, refused before any rule is applied
/// ([`crate::checks`]).
/// An event in the future is refused by the rules (`date_in_future`), not as a notification
/// dated before it.
pub(super) fn check_input(command: &PersonCommand, today: NaiveDate) -> Result<(), Rejection> {
    use crate::checks::{self, ADDRESS_CHARS_MAX, ATENA_NO_CHARS_MAX, CODE_CHARS_MAX, NAME_CHARS_MAX, TEXT_CHARS_MAX};
    let loss = |loss: &LossNotice| -> Result<(), Rejection> {
        checks::date("notified_on", loss.notified_on)?;
        if let Some(event_date) = loss.event_date {
            checks::date("event_date", event_date)?;
            // A move out is notified before it happens (転出届, with the planned date), and
            // reaching 75 may be recorded ahead by the scheduled job; any other loss is
            // notified after its event.
            if event_date <= today && !matches!(loss.reason, LossReason::MovedOut | LossReason::ReachedLateStageElderly)
            {
                checks::notified_after(event_date, loss.notified_on)?;
            }
        }
        Ok(())
    };
    let former = |former: Option<&FormerMunicipality>| -> Result<(), Rejection> {
        match former {
            Some(former) => {
                checks::required_text("former_municipality.municipality_code", &former.municipality_code, 6)?;
                checks::date("former_municipality.lost_on", former.lost_on)
            }
            None => Ok(()),
        }
    };
    match command {
        PersonCommand::Register { atena_no, details, acquisition } => {
            checks::required_text("atena_no", atena_no, ATENA_NO_CHARS_MAX)?;
            checks::required_text("name", &details.name, NAME_CHARS_MAX)?;
            checks::text("name_kana", &details.name_kana, NAME_CHARS_MAX)?;
            checks::text("address", &details.address, ADDRESS_CHARS_MAX)?;
            checks::date("date_of_birth", details.date_of_birth)?;
            checks::acquisition(acquisition)
        }
        PersonCommand::AcquireEligibility {
            reason,
            event_date,
            notified_on,
            acquisition,
            former_municipality,
            loss: ended,
            ..
        } => {
            checks::date("event_date", *event_date)?;
            checks::date("notified_on", *notified_on)?;
            if *event_date <= today && !notified_ahead(*reason) {
                checks::notified_after(*event_date, *notified_on)?;
            }
            former(former_municipality.as_ref())?;
            ended.as_ref().map_or(Ok(()), loss)?;
            checks::acquisition(acquisition)
        }
        PersonCommand::LoseEligibility { loss: notice, acquisition } => {
            loss(notice)?;
            checks::acquisition(acquisition)
        }
        PersonCommand::CorrectEligibility {
            reason, event_date, notified_on, former_municipality, loss: ended, ..
        } => {
            checks::date("event_date", *event_date)?;
            checks::date("notified_on", *notified_on)?;
            if *event_date <= today && !notified_ahead(*reason) {
                checks::notified_after(*event_date, *notified_on)?;
            }
            former(former_municipality.as_ref())?;
            ended.as_ref().map_or(Ok(()), loss)
        }
        PersonCommand::WithdrawEligibility { .. } => Ok(()),
        PersonCommand::RecordDeath { died_on, notified_on, acquisition } => {
            checks::date("died_on", *died_on)?;
            checks::date("notified_on", *notified_on)?;
            if *died_on <= today {
                checks::notified_after(*died_on, *notified_on)?;
            }
            checks::acquisition(acquisition)
        }
        PersonCommand::ReportIncome { income_year, acquisition, .. } => {
            // A year not yet ended is the rule's refusal (income_year_not_ended).
            if *income_year < checks::EARLIEST_DATE.year() {
                checks::year("income_year", *income_year, today)?;
            }
            checks::acquisition(acquisition)
        }
        PersonCommand::RecordUnemployment { separated_on, reason_code, acquisition } => {
            checks::date("separated_on", *separated_on)?;
            checks::text("reason_code", reason_code, CODE_CHARS_MAX)?;
            checks::acquisition(acquisition)
        }
        PersonCommand::RecordChildbirth { born_on, acquisition, .. } => {
            checks::date("born_on", *born_on)?;
            checks::acquisition(acquisition)
        }
        PersonCommand::IssueCertificate { certificate_no, issued_on, valid_until } => {
            checks::required_text("certificate_no", certificate_no, CODE_CHARS_MAX)?;
            checks::date("issued_on", *issued_on)?;
            checks::date("valid_until", *valid_until)
        }
        PersonCommand::RecordElderlyShare { valid_from, basis, .. } => {
            checks::date("valid_from", *valid_from)?;
            checks::text("basis", basis, TEXT_CHARS_MAX)
        }
        PersonCommand::ChangeName { name, name_kana, effective_on, acquisition } => {
            checks::required_text("name", name, NAME_CHARS_MAX)?;
            checks::text("name_kana", name_kana, NAME_CHARS_MAX)?;
            checks::date("effective_on", *effective_on)?;
            checks::acquisition(acquisition)
        }
        PersonCommand::ChangeAddress { address, effective_on, acquisition } => {
            checks::required_text("address", address, ADDRESS_CHARS_MAX)?;
            checks::date("effective_on", *effective_on)?;
            checks::acquisition(acquisition)
        }
    }
}
