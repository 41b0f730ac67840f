//! The tax correction (更正) after a change: when what an issued assessment was computed from
//! changes — a member's eligibility, death, income, the facts recorded for the unemployment or
//! childbirth reductions, or the household itself — the assessments of the fiscal years it can
//! touch are computed again, and a difference is recorded (`TaxReassessed`, or
//! `TaxReassessmentHeld` for a year past the correction period, for a person to decide).
//!
//! Only years already assessed are looked at (the `tax_assessments` table, which the follower
//! has brought up to the event before the policy runs). A rule-file change is not an event: it
//! changes nothing by itself (`kokuho rules diff`, then `kokuho assessment run --reassess`).
//! Idempotency keys name the triggering position, the household and the year.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use kokuho_domain::household::Household;
use kokuho_domain::tax::{AssessmentId, TaxAssessment, TaxCommand};
use kokuho_domain::{FiscalYear, Refusal};
use kokuho_events::LedgerEvent;
use kokuho_projections::models::{Households, TaxAssessments};
use kokuho_projections::Projected;
use kokuho_store::{Actor, CommandMeta, Decrypt};
use uuid::Uuid;

use super::{Policy, PolicyContext, Reaction};
use crate::{CommandError, LedgerError};

pub const NAME: &str = "tax_reassessment";

pub struct TaxReassessment;

impl Policy for TaxReassessment {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> &'static str {
        "corrects issued tax assessments (更正) after a change of eligibility, income, household or tax facts"
    }

    fn react<'a>(&'a self, context: &'a PolicyContext<'a>, event: &'a Projected) -> Reaction<'a> {
        Box::pin(async move {
            let Some(trigger) = trigger(&event.event) else { return Ok(0) };
            let households = match trigger.subject {
                Subject::Person(person_id) => {
                    Households::households_of_person(context.db, &context.tenant.to_string(), person_id)
                        .await
                        .map_err(|error| LedgerError::Projection(error.to_string()))?
                }
                Subject::Household(household_id) => vec![household_id],
            };
            let mut appended = 0;
            for household_id in households {
                appended += reassess(context, event.position, household_id, &trigger).await?;
            }
            Ok(appended)
        })
    }
}

enum Subject {
    Person(Uuid),
    Household(Uuid),
}

/// Whom a change concerns, the fiscal years it can touch (from, and up to an optional last),
/// and the reason recorded.
struct Trigger {
    subject: Subject,
    from: FiscalYear,
    to: Option<FiscalYear>,
    reason: &'static str,
}

fn from_date(subject: Subject, on: NaiveDate, reason: &'static str) -> Trigger {
    Trigger { subject, from: FiscalYear::containing(on), to: None, reason }
}

fn trigger(event: &LedgerEvent) -> Option<Trigger> {
    use Subject::{Household as H, Person as P};
    Some(match event {
        LedgerEvent::EligibilityAcquired(e) => from_date(P(e.person_id), e.effective_on, "eligibility"),
        LedgerEvent::EligibilityLost(e) => from_date(P(e.person_id), e.lost_on, "eligibility"),
        // A correction or withdrawal may move a period by years: every assessed year is looked at.
        LedgerEvent::EligibilityCorrected(e) => {
            Trigger { subject: P(e.person_id), from: FiscalYear::new(i32::MIN), to: None, reason: "eligibility" }
        }
        LedgerEvent::EligibilityWithdrawn(e) => {
            Trigger { subject: P(e.person_id), from: FiscalYear::new(i32::MIN), to: None, reason: "eligibility" }
        }
        LedgerEvent::PersonDied(e) => from_date(P(e.person_id), e.died_on, "eligibility"),
        // The income of year Y is the base of fiscal year Y + 1.
        LedgerEvent::IncomeReported(e) => {
            let year = FiscalYear::new(e.income_year + 1);
            Trigger { subject: P(e.person_id), from: year, to: Some(year), reason: "income" }
        }
        // The facts are sealed: every assessed year of the person's households is looked at.
        LedgerEvent::UnemploymentRecorded(e) => {
            Trigger { subject: P(e.person_id), from: FiscalYear::new(i32::MIN), to: None, reason: "tax_facts" }
        }
        LedgerEvent::ChildbirthRecorded(e) => {
            Trigger { subject: P(e.person_id), from: FiscalYear::new(i32::MIN), to: None, reason: "tax_facts" }
        }
        LedgerEvent::HouseholdMemberJoined(e) => from_date(H(e.household_id), e.joined_on, "household"),
        LedgerEvent::HouseholdMemberLeft(e) => from_date(H(e.household_id), e.left_on, "household"),
        LedgerEvent::HouseholdHeadChanged(e) => from_date(H(e.household_id), e.changed_on, "household"),
        _ => return None,
    })
}

async fn reassess(
    context: &PolicyContext<'_>,
    position: i64,
    household_id: Uuid,
    trigger: &Trigger,
) -> Result<u64, LedgerError> {
    let assessed = TaxAssessments::of_household(context.db, &context.tenant.to_string(), household_id)
        .await
        .map_err(|error| LedgerError::Projection(error.to_string()))?;
    let years: BTreeSet<i32> = assessed
        .iter()
        .map(|row| row.fiscal_year)
        .filter(|year| *year >= trigger.from.year() && trigger.to.is_none_or(|to| *year <= to.year()))
        .collect();
    if years.is_empty() {
        return Ok(0);
    }
    // The household must still exist as a stream (it always does once established).
    let _ = context.ledger.replay::<Household>(context.tenant, household_id, None, Decrypt::No).await?;
    let mut appended = 0;
    for fiscal_year in years {
        let meta = CommandMeta {
            actor: Actor::System(format!("policy:{NAME}")),
            purpose: "assessment".to_owned(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            idempotency_key: Some(format!("policy:{NAME}:{position}:{household_id}:{fiscal_year}")),
        };
        let command = TaxCommand::Reassess { reason: trigger.reason.to_owned(), triggered_by: Some(position) };
        let id = AssessmentId { household_id, fiscal_year };
        match context.ledger.execute::<TaxAssessment>(context.tenant, id, command, meta).await {
            Ok(executed) if !executed.events.is_empty() && !executed.outcome.duplicate => appended += 1,
            Ok(_) => {}
            // The household can no longer be assessed for the year (nobody insured any more,
            // no rules): nothing to correct automatically; a clerk sees it in the list.
            Err(CommandError::Refused(rejection)) => {
                tracing::info!(%household_id, fiscal_year, code = rejection.code(), "tax not reassessed");
            }
            Err(CommandError::Ledger(error)) => return Err(error),
        }
    }
    Ok(appended)
}
