//! The 70–74 share (前期高齢者) re-decision, the ledger's first policy.
//!
//! When a person's eligibility, death or income changes, or a household's composition or head
//! changes, the 70–74 share of everyone in the households concerned may change from the day of
//! the change (docs/domain.md §4). This policy finds who and from when, and asks
//! [`Ledger::decide_elderly_share`] to decide each of those days, which records a decision only
//! when it differs from the one in force. Each decision's idempotency key names the triggering
//! event's position, the person and the day.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use kokuho_domain::eligibility::first_day_decided_by_income_of;
use kokuho_domain::household::Household;
use kokuho_domain::person::{self, InsuredPeriod, Person, PersonState};
use kokuho_domain::share::elderly_share_days_to_decide;
use kokuho_domain::PersonId;
use kokuho_events::LedgerEvent;
use kokuho_projections::models::Households;
use kokuho_projections::Projected;
use kokuho_store::{Actor, CommandMeta, Decrypt};
use uuid::Uuid;

use super::{Policy, PolicyContext, Reaction};
use crate::{decode, jst_date, LedgerError};

/// The actor and name recorded with the decisions this policy issues.
pub const NAME: &str = "elderly_share";

pub struct ElderlyShare;

impl Policy for ElderlyShare {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> &'static str {
        "re-decides the 70–74 cost share after a change of eligibility, death, income or household"
    }

    fn react<'a>(&'a self, context: &'a PolicyContext<'a>, event: &'a Projected) -> Reaction<'a> {
        Box::pin(async move {
            let Some(trigger) = trigger(context, event).await? else { return Ok(0) };
            redecide(context, event.position, &trigger).await
        })
    }
}

/// Who may have a new share, and the days their facts changed.
struct Trigger {
    persons: BTreeSet<Uuid>,
    changed_on: Vec<NaiveDate>,
}

fn period_dates(period: &InsuredPeriod) -> Vec<NaiveDate> {
    let mut dates = vec![period.start.effective_on];
    dates.extend(period.end.as_ref().map(|end| end.lost_on));
    dates
}

/// The person's state just before the event at `position` (clear parts only).
async fn person_before(
    context: &PolicyContext<'_>,
    person_id: Uuid,
    position: i64,
) -> Result<PersonState, LedgerError> {
    let stream_id = PersonId::from_uuid(person_id).stream_id();
    let recorded = context.ledger.store().read_stream(context.tenant, &stream_id, Decrypt::No).await?;
    let mut state = PersonState::default();
    for event in recorded.iter().take_while(|event| event.position < position) {
        state = person::evolve(state, &decode(event)?);
    }
    Ok(state)
}

async fn trigger(context: &PolicyContext<'_>, event: &Projected) -> Result<Option<Trigger>, LedgerError> {
    let (person, dates) = match &event.event {
        LedgerEvent::EligibilityAcquired(e) => (e.person_id, vec![e.effective_on]),
        LedgerEvent::EligibilityLost(e) => (e.person_id, vec![e.lost_on]),
        LedgerEvent::EligibilityCorrected(e) => {
            // The corrected period's former dates too: a share decided on them may no longer hold.
            let before = person_before(context, e.person_id, event.position).await?;
            let mut dates = before.period(e.period_id).map(period_dates).unwrap_or_default();
            dates.push(e.start.effective_on);
            dates.extend(e.end.as_ref().map(|end| end.lost_on));
            (e.person_id, dates)
        }
        LedgerEvent::EligibilityWithdrawn(e) => {
            let before = person_before(context, e.person_id, event.position).await?;
            (e.person_id, before.period(e.period_id).map(period_dates).unwrap_or_default())
        }
        LedgerEvent::PersonDied(e) => (e.person_id, vec![e.died_on]),
        LedgerEvent::IncomeReported(e) => (e.person_id, vec![first_day_decided_by_income_of(e.income_year)]),
        LedgerEvent::HouseholdEstablished(e) => {
            return household_trigger(context, e.household_id, e.established_on, Some(e.head_person_id)).await
        }
        LedgerEvent::HouseholdMemberJoined(e) => {
            return household_trigger(context, e.household_id, e.joined_on, Some(e.person_id)).await
        }
        LedgerEvent::HouseholdMemberLeft(e) => {
            return household_trigger(context, e.household_id, e.left_on, Some(e.person_id)).await
        }
        LedgerEvent::HouseholdHeadChanged(e) => {
            return household_trigger(context, e.household_id, e.changed_on, None).await
        }
        LedgerEvent::IncomeExceptionApplied(e) => {
            return household_trigger(context, e.household_id, e.applied_on, None).await
        }
        _ => return Ok(None),
    };
    let persons = household_members_on(context, person, &dates).await?;
    Ok(Some(Trigger { persons, changed_on: dates }))
}

/// A household change on `on`: its members that day, and `named` (who may have just left).
async fn household_trigger(
    context: &PolicyContext<'_>,
    household_id: Uuid,
    on: NaiveDate,
    named: Option<Uuid>,
) -> Result<Option<Trigger>, LedgerError> {
    let view = context.ledger.replay::<Household>(context.tenant, household_id, None, Decrypt::No).await?;
    let mut persons: BTreeSet<Uuid> = view.state.members_on(on).into_iter().collect();
    persons.extend(named);
    Ok(Some(Trigger { persons, changed_on: vec![on] }))
}

async fn candidate_households(context: &PolicyContext<'_>, person_id: Uuid) -> Result<Vec<Uuid>, LedgerError> {
    // The follower runs policies only over events the projections have applied: no wait.
    Households::households_of_person(context.db, &context.tenant.to_string(), person_id)
        .await
        .map_err(|error| LedgerError::Projection(error.to_string()))
}

/// The members of `person_id`'s household on each of `dates` (the person included), by what is
/// recorded now; just the person when they belong to none.
async fn household_members_on(
    context: &PolicyContext<'_>,
    person_id: Uuid,
    dates: &[NaiveDate],
) -> Result<BTreeSet<Uuid>, LedgerError> {
    let mut members = BTreeSet::from([person_id]);
    for household_id in candidate_households(context, person_id).await? {
        let view = context.ledger.replay::<Household>(context.tenant, household_id, None, Decrypt::No).await?;
        for on in dates {
            let on_that_day = view.state.members_on(*on);
            if on_that_day.contains(&person_id) {
                members.extend(on_that_day);
            }
        }
    }
    Ok(members)
}

/// Decides the share of each person on each day it can have moved (in date order).
async fn redecide(context: &PolicyContext<'_>, position: i64, trigger: &Trigger) -> Result<u64, LedgerError> {
    let ledger = context.ledger;
    let today = jst_date(ledger.now());
    let rules = ledger.rules().rules.clone();
    let mut appended = 0;
    for person in &trigger.persons {
        let person_id = PersonId::from_uuid(*person);
        let view = ledger.replay::<Person>(context.tenant, person_id, None, Decrypt::Yes).await?;
        // Without a readable date of birth (erased) there is no age, so no 70–74 share.
        let Some(date_of_birth) = view.state.date_of_birth() else { continue };
        let days = elderly_share_days_to_decide(&trigger.changed_on, today, date_of_birth, &rules);
        if days.is_empty() {
            continue;
        }
        let candidates = candidate_households(context, *person).await?;
        for on in days {
            let meta = CommandMeta {
                actor: Actor::System(format!("policy:{NAME}")),
                purpose: "eligibility".to_owned(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                idempotency_key: Some(format!("policy:{NAME}:{position}:{person}:{on}")),
            };
            match ledger.decide_elderly_share(context.tenant, person_id, on, &candidates, meta).await {
                Ok(Some(executed)) if !executed.outcome.duplicate => appended += 1,
                Ok(_) => {}
                // The person's record refuses the decision (erased meanwhile, say): there is
                // nothing to decide for them, and the policy goes on with the others.
                Err(LedgerError::Rejected(rejection)) => {
                    tracing::info!(%person, %on, code = rejection.code(), "70–74 share not decided");
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok(appended)
}
