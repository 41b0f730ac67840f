//! The 70–74 share (前期高齢者) as decision events: re-decided on reaching 70, every 1 August,
//! and on every change of income or household (docs/domain.md §4). The decision applies
//! [`share_on`](kokuho_domain::share::share_on) to the person's and household's current record
//! and is recorded only when it differs from the one in force, with the rule file's hash.

use chrono::NaiveDate;
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::share::ShareRule;
use kokuho_domain::{PersonId, TenantCode};
use kokuho_store::CommandMeta;
use uuid::Uuid;

use crate::{CommandError, Executed, Ledger, LedgerError};

impl Ledger {
    /// Re-decides the 70–74 share of `person_id` from `on`: records an `ElderlyCostShareDecided`
    /// when the person is insured and aged 70–74 on `on` and the share or its basis differs
    /// from the decision in force that day (or there is none). Answers the decision recorded,
    /// or `None` when there was nothing to decide or nothing changed.
    pub async fn decide_elderly_share(
        &self,
        tenant: TenantCode,
        person_id: PersonId,
        on: NaiveDate,
        candidate_households: &[Uuid],
        meta: CommandMeta,
    ) -> Result<Option<Executed>, LedgerError> {
        let answer = self.eligibility_on(tenant, person_id, None, on, candidate_households).await?;
        let Ok(share) = &answer.share else { return Ok(None) };
        let ShareRule::Elderly { income_year, basis, .. } = &share.rule else { return Ok(None) };
        let basis_kind = serde_json::to_value(basis)
            .ok()
            .and_then(|value| value.get("basis").and_then(|kind| kind.as_str()).map(str::to_owned))
            .unwrap_or_default();
        if let Some(current) = answer.person.state.elderly_share_on(on) {
            if current.share == share.share && current.basis == basis_kind && current.income_year == *income_year {
                return Ok(None);
            }
        }
        let command = PersonCommand::RecordElderlyShare {
            valid_from: on,
            share: share.share,
            basis: basis_kind,
            household_id: answer.household.as_ref().map(|h| h.id),
            income_year: *income_year,
            rules_sha256: self.rules.sha256.clone(),
        };
        match self.execute::<Person>(tenant, person_id, command, meta).await {
            Ok(executed) => Ok(Some(executed)),
            Err(CommandError::Refused(rejection)) => Err(LedgerError::Rejected(rejection)),
            Err(CommandError::Ledger(error)) => Err(error),
        }
    }
}
