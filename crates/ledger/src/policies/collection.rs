//! Collection after the tax: when a household's tax of a year is assessed (`TaxAssessed`) its
//! account's installments are scheduled; when it is corrected (`TaxReassessed`) they are
//! re-spread (or an overpayment appears); and when an overpayment is applied to another year's
//! arrears (`OverpaymentSettled`, `applied`) the amount is credited to that year's account
//! (`OverpaymentApplied`). A correction held for a person to decide changes nothing.
//!
//! The installments are spread as of the assessment's day (its event's recorded day, JST): an
//! assessment made after some due dates charges only the installments left
//! (`schedule::ordinary_from`).
//!
//! Idempotency keys name the triggering position, the household and the year; the account's own
//! decisions are idempotent too (the same total schedules nothing twice, an offset is applied once
//! per settlement position).

use kokuho_domain::collection::household_account::{AccountCommand, AccountId, HouseholdAccount};
use kokuho_domain::Refusal;
use kokuho_events::{LedgerEvent, SettlementKindRecorded};
use kokuho_projections::Projected;
use kokuho_store::{Actor, CommandMeta};
use uuid::Uuid;

use super::{Policy, PolicyContext, Reaction};
use crate::{jst_date, CommandError, LedgerError};

pub const NAME: &str = "collection";

pub struct Collection;

impl Policy for Collection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> &'static str {
        "schedules and re-spreads a household's installments after its tax is assessed or corrected, and credits \
         an overpayment applied to another year (充当)"
    }

    fn react<'a>(&'a self, context: &'a PolicyContext<'a>, event: &'a Projected) -> Reaction<'a> {
        Box::pin(async move {
            let position = event.position;
            // The assessment's own day, not the day this policy reached it (a policy catching up
            // over an old ledger schedules what it would have scheduled then).
            let assessed_on = jst_date(event.recorded_at);
            let (id, command) = match &event.event {
                LedgerEvent::TaxAssessed(e) => (
                    AccountId { household_id: e.household_id, fiscal_year: e.fiscal_year },
                    AccountCommand::Schedule {
                        assessed_total: e.figures.total_yen,
                        special: None,
                        triggered_by: Some(position),
                        on: Some(assessed_on),
                    },
                ),
                LedgerEvent::TaxReassessed(e) => (
                    AccountId { household_id: e.household_id, fiscal_year: e.fiscal_year },
                    AccountCommand::Reassess {
                        assessed_total: e.figures.total_yen,
                        triggered_by: Some(position),
                        on: Some(assessed_on),
                    },
                ),
                LedgerEvent::OverpaymentSettled(e) => {
                    let (SettlementKindRecorded::Applied, Some(to_fiscal_year)) = (e.settlement, e.to_fiscal_year)
                    else {
                        return Ok(0);
                    };
                    (
                        AccountId { household_id: e.household_id, fiscal_year: to_fiscal_year },
                        AccountCommand::ApplyOffset {
                            from_fiscal_year: e.fiscal_year,
                            amount: e.amount_yen,
                            // The 充当適状日 (decisions recorded before it was kept: their day).
                            on: e.effective_on.unwrap_or(e.decided_on),
                            settled_at: position,
                        },
                    )
                }
                _ => return Ok(0),
            };
            issue(context, position, id, command).await
        })
    }
}

async fn issue(
    context: &PolicyContext<'_>,
    position: i64,
    id: AccountId,
    command: AccountCommand,
) -> Result<u64, LedgerError> {
    let meta = CommandMeta {
        actor: Actor::System(format!("policy:{NAME}")),
        purpose: "collection".to_owned(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: Some(format!("policy:{NAME}:{position}:{}:{}", id.household_id, id.fiscal_year)),
    };
    match context.ledger.execute::<HouseholdAccount>(context.tenant, id, command, meta).await {
        Ok(executed) if !executed.events.is_empty() && !executed.outcome.duplicate => Ok(1),
        Ok(_) => Ok(0),
        // No collection rules for the year (an old year, a tenant without a file): the account is
        // not scheduled; a clerk sees the assessment without installments.
        Err(CommandError::Refused(rejection)) => {
            tracing::info!(household_id = %id.household_id, fiscal_year = id.fiscal_year, code = rejection.code(),
                "account not scheduled");
            Ok(0)
        }
        Err(CommandError::Ledger(error)) => Err(error),
    }
}
