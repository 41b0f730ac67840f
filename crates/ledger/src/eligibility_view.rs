//! The bitemporal eligibility answer: a person's and their
//! household's streams folded as recorded at `as_of`, asked about the day `on`.

use chrono::{DateTime, NaiveDate, Utc};
use kokuho_domain::eligibility::{move_continuity, MoveContinuity};
use kokuho_domain::household::Household;
use kokuho_domain::person::{Certificate, CertificateStatus, InsuredPeriod, Person};
use kokuho_domain::share::{share_on, ShareAnswer};
use kokuho_domain::{PersonId, Rejection, TenantCode};
use kokuho_store::Decrypt;
use uuid::Uuid;

use crate::{HouseholdView, Ledger, LedgerError, PersonView};

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
        let person = self.replay::<Person>(tenant, person_id, as_of, Decrypt::Yes).await?;
        let mut household = None;
        for household_id in candidate_households {
            let view = self.replay::<Household>(tenant, *household_id, as_of, Decrypt::No).await?;
            if view.state.members_on(on).contains(&person_id.as_uuid()) {
                household = Some(view);
                break;
            }
        }
        let mut members = Vec::new();
        if let Some(view) = &household {
            for member_id in view.state.members_on(on) {
                if member_id != person_id.as_uuid() {
                    let member =
                        self.replay::<Person>(tenant, PersonId::from_uuid(member_id), as_of, Decrypt::Yes).await?;
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
