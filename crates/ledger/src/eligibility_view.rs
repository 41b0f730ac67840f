//! Households on the command path, and the bitemporal eligibility answer: a person's and their
//! household's streams folded as recorded at `as_of`, asked about the day `on`.

use chrono::{DateTime, NaiveDate, Utc};
use kokuho_domain::eligibility::{move_continuity, MoveContinuity};
use kokuho_domain::household::{self, HouseholdCommand, HouseholdContext, HouseholdState};
use kokuho_domain::person::{Certificate, CertificateStatus, InsuredPeriod};
use kokuho_domain::share::{share_on, ShareAnswer};
use kokuho_domain::{PersonId, Rejection, TenantCode};
use kokuho_events::LedgerEvent;
use kokuho_store::{CommandMeta, Decrypt, RecordedEvent};
use uuid::Uuid;

use crate::{decode, jst_date, Executed, Ledger, LedgerError, PersonView, StreamOutcome};

/// A household's state and history as recorded at some instant.
#[derive(Debug, Clone)]
pub struct HouseholdView {
    pub household_id: Uuid,
    pub version: i64,
    pub state: HouseholdState,
    pub events: Vec<(RecordedEvent, LedgerEvent)>,
}

/// "On `on`, as recorded at `as_of`": the person's period, household, share and certificates.
#[derive(Debug, Clone)]
pub struct EligibilityAnswer {
    pub person: PersonView,
    pub on: NaiveDate,
    /// The period covering `on`, if insured that day.
    pub period: Option<InsuredPeriod>,
    /// The household the person belonged to on `on`, with its state as recorded at `as_of`.
    pub household: Option<HouseholdView>,
    /// The cost share on `on`, or why there is none.
    pub share: Result<ShareAnswer, Rejection>,
    pub certificates: Vec<(Certificate, CertificateStatus)>,
    /// For a period that began with a move from another city of the prefecture: how the
    /// former city's end meets this start.
    pub move_continuity: Option<MoveContinuity>,
}

impl Ledger {
    /// A household's state and history as recorded at `as_of` (default: now).
    pub async fn replay_household(
        &self,
        tenant: TenantCode,
        household_id: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<HouseholdView, LedgerError> {
        let stream_id = household::stream_id(household_id);
        let recorded = match as_of {
            None => self.store.read_stream(tenant, &stream_id, Decrypt::No).await?,
            Some(at) => self.store.read_stream_as_of(tenant, &stream_id, at, Decrypt::No).await?,
        };
        let mut state = HouseholdState::default();
        let mut events = Vec::with_capacity(recorded.len());
        for event in recorded {
            let decoded = decode(&event)?;
            state = household::evolve(state, &decoded);
            events.push((event, decoded));
        }
        let version = events.last().map_or(0, |(event, _)| event.stream_version);
        Ok(HouseholdView { household_id, version, state, events })
    }

    /// Decides a household command and appends it. The person the command names (if any) is
    /// looked up first: registered and not erased.
    pub async fn execute_household(
        &self,
        tenant: TenantCode,
        household_id: Uuid,
        command: HouseholdCommand,
        meta: CommandMeta,
    ) -> Result<Executed, LedgerError> {
        let named = match &command {
            HouseholdCommand::Establish { head_person_id, .. } => Some(*head_person_id),
            HouseholdCommand::Join { person_id, .. } => Some(*person_id),
            _ => None,
        };
        let person_known = match named {
            Some(person_id) => {
                let view = self.replay(tenant, PersonId::from_uuid(person_id), None, Decrypt::No).await?;
                view.state.registered.is_some() && !view.state.erased
            }
            None => true,
        };
        let context = HouseholdContext { today: jst_date(self.now()), person_known };
        let stream_id = household::stream_id(household_id);
        let outcome = self
            .decide_on_stream(
                tenant,
                &stream_id,
                household::evolve,
                |state| household::decide(household_id, state, command.clone(), &context),
                meta,
            )
            .await?;
        match outcome {
            StreamOutcome::Appended(executed) => Ok(executed),
            StreamOutcome::Refused(rejection) => Err(rejection.into()),
            StreamOutcome::Unchanged => unreachable!("every accepted household command records an event"),
        }
    }

    /// The eligibility answer for `person_id` on `on`, as recorded at `as_of` (default now).
    ///
    /// `candidate_households` are the households the person ever joined, by today's knowledge
    /// (the household projection); each is folded as of `as_of`, so a membership recorded after
    /// `as_of` does not count. Personal parts are decrypted (the share needs birth dates).
    pub async fn eligibility_on(
        &self,
        tenant: TenantCode,
        person_id: PersonId,
        as_of: Option<DateTime<Utc>>,
        on: NaiveDate,
        candidate_households: &[Uuid],
    ) -> Result<EligibilityAnswer, LedgerError> {
        let person = self.replay(tenant, person_id, as_of, Decrypt::Yes).await?;
        let mut household = None;
        for household_id in candidate_households {
            let view = self.replay_household(tenant, *household_id, as_of).await?;
            if view.state.members_on(on).contains(&person_id.as_uuid()) {
                household = Some(view);
                break;
            }
        }
        let mut members = Vec::new();
        if let Some(view) = &household {
            for member_id in view.state.members_on(on) {
                if member_id != person_id.as_uuid() {
                    let member = self.replay(tenant, PersonId::from_uuid(member_id), as_of, Decrypt::Yes).await?;
                    members.push((member_id, member.state));
                }
            }
        }
        let share =
            share_on(person_id, &person.state, on, household.as_ref().map(|h| &h.state), &members, &self.rules.rules);
        let period = person.state.period_on(on).cloned();
        let certificates = person
            .state
            .certificates
            .iter()
            .map(|certificate| (certificate.clone(), person.state.certificate_status(certificate, on)))
            .collect();
        let move_continuity = period.as_ref().and_then(|p| {
            p.former_municipality.as_ref().map(|former| move_continuity(former.lost_on, p.start.effective_on))
        });
        Ok(EligibilityAnswer { person, on, period, household, share, certificates, move_continuity })
    }
}
