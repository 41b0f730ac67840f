//! What each aggregate's decision looks up, gathered by the ledger before it decides (so
//! decisions stay pure and HTTP handlers make one call): today and the rules, whether the
//! person a command names is registered, a person's memberships of other households, their
//! sensitivity flags, the provision allow-list.

use std::future::Future;
use std::time::Duration;

use chrono::NaiveDate;
use kokuho_domain::household::{Household, HouseholdCommand, HouseholdContext, HouseholdState, OtherMembership};
use kokuho_domain::my_number_link::{LinkCommand, LinkLookups, LinkState, MyNumberLink};
use kokuho_domain::person::{Person, PersonState};
use kokuho_domain::provision::{
    Inquiry, InquiryCommand, Provision, ProvisionCommand, ProvisionLookups, ProvisionState,
};
use kokuho_domain::sensitivity::{Sensitivity, SensitivityLookups, SensitivityState, SetFlags};
use kokuho_domain::{Aggregate, Context, PersonId, TenantCode};
use kokuho_projections::models::{Households, PersonRegistry};
use kokuho_projections::ProjectionWaitError;
use kokuho_store::Decrypt;
use uuid::Uuid;

use crate::{jst_date, Ledger, LedgerError};

/// How long a lookup waits for the read tables to show what was committed before it.
const PROJECTIONS_WAIT: Duration = Duration::from_secs(10);

/// An aggregate whose lookups the ledger knows how to gather.
pub trait Lookup: Aggregate {
    fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        id: Self::Id,
        state: &Self::State,
        command: &Self::Command,
    ) -> impl Future<Output = Result<Self::Lookups, LedgerError>> + Send;
}

impl Ledger {
    /// Whether `person_id` is registered (their registration is in clear: nothing decrypted).
    async fn person_registered(&self, tenant: TenantCode, person_id: PersonId) -> Result<bool, LedgerError> {
        Ok(self.replay::<Person>(tenant, person_id, None, Decrypt::No).await?.state.registered.is_some())
    }

    /// The person registered with `atena_no` and not erased: by the keyed token every
    /// registration stores in the same transaction (erasure deletes it), so a registration
    /// committed a moment before is seen without waiting for a read table. Persons registered
    /// before the token existed are found in the person registry as it stands (erased ones
    /// passed over). Two registrations of one 宛名番号 committed in the same group commit can
    /// both pass; the registry search then lists both.
    pub async fn atena_no_registered_to(
        &self,
        tenant: TenantCode,
        atena_no: &str,
    ) -> Result<Option<PersonId>, LedgerError> {
        if let Some(person) = self.store.search(tenant, crate::ATENA_NO_TOKEN, atena_no).await?.first() {
            return Ok(Some(PersonId::from_uuid(*person)));
        }
        if self.projector.is_none() {
            return Ok(None);
        }
        let rows = PersonRegistry::by_atena_no(self.store.db(), &tenant.to_string(), atena_no)
            .await
            .map_err(|error| LedgerError::Projection(error.to_string()))?;
        for row in rows {
            let person = PersonId::from_uuid(row.person_id);
            if !self.replay::<Person>(tenant, person, None, Decrypt::No).await?.state.erased {
                return Ok(Some(person));
            }
        }
        Ok(None)
    }

    /// Waits (bounded) until the read tables show everything committed before this call, when
    /// the ledger has them.
    pub(crate) async fn wait_for_projections(&self, tenant: TenantCode) -> Result<(), LedgerError> {
        if let Some(projector) = &self.projector {
            projector.wait_for_head(tenant, PROJECTIONS_WAIT).await.map_err(|error| match error {
                ProjectionWaitError::Behind(behind) => LedgerError::ProjectionsBehind(behind.to_string()),
                other => LedgerError::Projection(other.to_string()),
            })?;
        }
        Ok(())
    }

    /// The households `person_id` ever joined, by the household read table, once it shows
    /// everything committed before this call.
    pub async fn households_of(&self, tenant: TenantCode, person_id: Uuid) -> Result<Vec<Uuid>, LedgerError> {
        self.wait_for_projections(tenant).await?;
        Households::households_of_person(self.store.db(), &tenant.to_string(), person_id)
            .await
            .map_err(|error| LedgerError::Projection(error.to_string()))
    }
}

impl Lookup for Person {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        _: PersonId,
        state: &PersonState,
        command: &kokuho_domain::person::PersonCommand,
    ) -> Result<Context, LedgerError> {
        let mut context = ledger.context();
        if let kokuho_domain::person::PersonCommand::Register { atena_no, .. } = command {
            if state.registered.is_none() {
                context.atena_no_registered_to = ledger.atena_no_registered_to(tenant, atena_no).await?;
            }
        }
        Ok(context)
    }
}

impl Lookup for Household {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        household_id: Uuid,
        state: &HouseholdState,
        command: &HouseholdCommand,
    ) -> Result<HouseholdContext, LedgerError> {
        // Only when the household's own refusals (already established, not established) do
        // not answer first is the named person looked up.
        let named: Option<(Uuid, Option<NaiveDate>)> = match command {
            HouseholdCommand::Establish { head_person_id, established_on, .. } if !state.is_established() => {
                Some((*head_person_id, Some(*established_on)))
            }
            HouseholdCommand::Join { person_id, joined_on } if state.is_established() => {
                Some((*person_id, Some(*joined_on)))
            }
            _ => None,
        };
        let mut person_known = true;
        let mut other_memberships = Vec::new();
        if let Some((person_id, _)) = named {
            let person = ledger.replay::<Person>(tenant, PersonId::from_uuid(person_id), None, Decrypt::No).await?;
            person_known = person.state.registered.is_some() && !person.state.erased;
            for other in ledger.households_of(tenant, person_id).await? {
                if other == household_id {
                    continue;
                }
                let view = ledger.replay::<Household>(tenant, other, None, Decrypt::No).await?;
                other_memberships.extend(
                    view.state.memberships.iter().filter(|m| m.person_id == person_id).map(|m| OtherMembership {
                        household_id: other,
                        joined_on: m.joined_on,
                        left_on: m.left_on,
                    }),
                );
            }
        }
        Ok(HouseholdContext { today: jst_date(ledger.now()), person_known, other_memberships })
    }
}

impl Lookup for MyNumberLink {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        _: Uuid,
        _: &LinkState,
        command: &LinkCommand,
    ) -> Result<LinkLookups, LedgerError> {
        let person_registered = match command {
            LinkCommand::Request { person_id, .. } => ledger.person_registered(tenant, *person_id).await?,
            _ => false,
        };
        Ok(LinkLookups { person_registered })
    }
}

impl Lookup for Sensitivity {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        person_id: PersonId,
        _: &SensitivityState,
        _: &SetFlags,
    ) -> Result<SensitivityLookups, LedgerError> {
        Ok(SensitivityLookups { person_registered: ledger.person_registered(tenant, person_id).await? })
    }
}

/// Provision and inquiry decisions: the person registered, their sensitivity flags now, the
/// allow-list and the instant.
async fn provision_lookups(
    ledger: &Ledger,
    tenant: TenantCode,
    person_id: Option<PersonId>,
) -> Result<ProvisionLookups, LedgerError> {
    let (person_registered, sensitivity) = match person_id {
        Some(person_id) => (
            ledger.person_registered(tenant, person_id).await?,
            ledger.replay::<Sensitivity>(tenant, person_id, None, Decrypt::No).await?.state,
        ),
        None => (false, SensitivityState::default()),
    };
    Ok(ProvisionLookups { person_registered, sensitivity, allow_list: ledger.allow_list().clone(), now: ledger.now() })
}

impl Lookup for Provision {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        _: Uuid,
        state: &ProvisionState,
        command: &ProvisionCommand,
    ) -> Result<ProvisionLookups, LedgerError> {
        // A request names its person; an approval concerns the person of the request recorded.
        let person_id = match command {
            ProvisionCommand::Request(request) => Some(request.person_id),
            _ => state.request.as_ref().map(|request| PersonId::from_uuid(request.person_id)),
        };
        provision_lookups(ledger, tenant, person_id).await
    }
}

impl Lookup for Inquiry {
    async fn lookups(
        ledger: &Ledger,
        tenant: TenantCode,
        _: Uuid,
        _: &Option<kokuho_events::InquiryMade>,
        command: &InquiryCommand,
    ) -> Result<ProvisionLookups, LedgerError> {
        provision_lookups(ledger, tenant, Some(command.person_id)).await
    }
}
