//! `kokuho benefits run --month YYYY-MM`: the monthly high-cost run (高額療養費) of a
//! municipality (docs/domain.md §6).
//!
//! Every household-month of the service month with medical-cost records is decided
//! (`HighCostCommand::Decide`), from one snapshot of the tenant's ledger (persons, households,
//! the earlier household-months, the 公金受取口座) rather than one read per household. A month
//! already decided records nothing again, so a rerun decides nothing new (and each decision
//! carries the idempotency key `benefits-run:<household>:<YYYY-MM>`, so two runs at once record
//! it once). Households whose decision is refused are counted with the refusal's code.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use kokuho_domain::benefits::month::{first_open_month, HighCostCommand, HighCostMonth, HighCostMonthId};
use kokuho_domain::{FiscalYear, Refusal as _, TenantCode};
use kokuho_events::LedgerEvent;
use kokuho_ledger::{CommandError, Ledger};
use kokuho_projections::Projector;
use kokuho_store::{Actor, CommandMeta};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{Context as _, JobError, Progress};

/// The actor every event of a run is recorded under.
pub const ACTOR: &str = "benefits-run";
/// Household-months decided at once: enough for the writer to commit many per transaction.
const IN_FLIGHT: usize = 64;

#[derive(Clone)]
pub struct Deps {
    pub ledger: Arc<Ledger>,
    pub projector: Arc<Projector>,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub tenant: TenantCode,
    /// Any day of the service month.
    pub month: NaiveDate,
}

#[derive(Debug, Clone, Default)]
pub struct BenefitsRunReport {
    pub tenant: Option<TenantCode>,
    pub month: Option<NaiveDate>,
    /// Household-months with records.
    pub households: u64,
    pub decided: u64,
    /// Decided with a benefit (> 0).
    pub with_benefit: u64,
    /// Decided before (by an earlier run or on demand): no decision recorded.
    pub already_decided: u64,
    /// Of those, months decided with a benefit but no account whose payment this run instructed
    /// (the head has registered a 公金受取口座 since).
    pub late_payments: u64,
    /// Benefits decided by this run, yen.
    pub total_benefit_yen: i64,
    /// Payments instructed by this run, late payments included (the others wait for an account).
    pub payments: u64,
    /// Refusals by code, with how many.
    pub refused: BTreeMap<&'static str, u64>,
}

impl fmt::Display for BenefitsRunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (code, count) in &self.refused {
            writeln!(f, "refused: {count} household-month(s): {code}")?;
        }
        let tenant = self.tenant.map(|t| t.to_string()).unwrap_or_default();
        let month = self.month.map(|m| m.format("%Y-%m").to_string()).unwrap_or_default();
        write!(
            f,
            "benefits run of {tenant} for {month}: {} households with records, {} decided ({} with a benefit), {} \
             already decided, {} refused; {} yen of high-cost benefits decided, {} payments instructed ({} of months \
             decided earlier)",
            self.households,
            self.decided,
            self.with_benefit,
            self.already_decided,
            self.refused.values().sum::<u64>(),
            self.total_benefit_yen,
            self.payments,
            self.late_payments,
        )
    }
}

enum Outcome {
    Decided {
        benefit: i64,
        paid: bool,
    },
    AlreadyDecided,
    /// Decided before without an account; the payment instructed now.
    LatePayment,
    Refused(&'static str),
}

/// Decides every household-month of `options.month` with records.
pub async fn run(
    deps: &Deps,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<BenefitsRunReport, JobError> {
    let tenant = options.tenant;
    let today = kokuho_ledger::jst_date(deps.ledger.now());
    let month = kokuho_ledger::benefits::month_bounds(options.month).0;
    let rules = deps.ledger.benefit_rules(tenant, FiscalYear::containing(month).year());
    let wait = match &rules {
        Ok(loaded) => loaded.rules.decision_wait_months(),
        Err(rejection) => {
            return Err(JobError::Refused(format!(
                "no benefit rules for {tenant} in fiscal year {}: {rejection}",
                FiscalYear::containing(month).year()
            )))
        }
    };
    let open = first_open_month(today, wait);
    if month >= open {
        return Err(JobError::Refused(format!(
            "service_month_not_closed: --month must be a service month before {}: one that has ended (JST), and \
             waited the months of [high_cost_decision] months_after_service ({wait}); the 国保連's records of a later \
             month are not all in",
            open.format("%Y-%m")
        )));
    }
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    let snapshot =
        Arc::new(deps.ledger.benefit_snapshot(tenant).await.context("reading the tenant's households and records")?);
    let ids = snapshot.months_with_records(month);
    let total = ids.len() as u64;
    progress(Progress { done: 0, total });
    let eligibility = deps.ledger.rules().rules.clone();
    let rules = Arc::new(rules);
    let mut report = BenefitsRunReport { tenant: Some(tenant), month: Some(month), ..BenefitsRunReport::default() };
    let correlation_id = Uuid::now_v7();
    let mut done = 0u64;
    let mut queue = ids.into_iter();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < IN_FLIGHT {
            let Some(id) = queue.next() else { break };
            let (ledger, snapshot, rules, eligibility) =
                (deps.ledger.clone(), snapshot.clone(), rules.clone(), eligibility.clone());
            in_flight.spawn(async move {
                let decided = snapshot.months.get(&id).is_some_and(|state| state.decided.is_some());
                let lookups = snapshot.lookups(id, today, &eligibility, &rules);
                let outcome = one(&ledger, tenant, id, correlation_id, decided, lookups).await;
                (id, outcome)
            });
        }
        let Some(joined) = in_flight.join_next().await else { break };
        let (id, outcome) = joined.context("a household's task failed")?;
        report.households += 1;
        match outcome.with_context(|| format!("household-month {id} of {tenant}"))? {
            Outcome::Decided { benefit, paid } => {
                report.decided += 1;
                report.total_benefit_yen = report.total_benefit_yen.saturating_add(benefit);
                report.with_benefit += u64::from(benefit > 0);
                report.payments += u64::from(paid);
            }
            Outcome::AlreadyDecided => report.already_decided += 1,
            Outcome::LatePayment => {
                report.already_decided += 1;
                report.late_payments += 1;
                report.payments += 1;
            }
            Outcome::Refused(code) => *report.refused.entry(code).or_default() += 1,
        }
        done += 1;
        progress(Progress { done, total: total.max(done) });
    }
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    Ok(report)
}

async fn one(
    ledger: &Ledger,
    tenant: TenantCode,
    id: HighCostMonthId,
    correlation_id: Uuid,
    decided: bool,
    lookups: kokuho_domain::benefits::month::HighCostLookups,
) -> Result<Outcome, JobError> {
    // A month decided before can only gain its payment instruction: under a key of its own, since
    // the decision's key answers the decision already recorded.
    let key = format!(
        "benefits-run:{}:{}{}",
        id.household_id,
        id.month.format("%Y-%m"),
        if decided { ":payment" } else { "" }
    );
    let meta = CommandMeta {
        actor: Actor::System(ACTOR.into()),
        purpose: "benefits".to_owned(),
        correlation_id,
        causation_id: None,
        idempotency_key: Some(key),
    };
    let command = HighCostCommand::Decide { account: None, payment_id: Uuid::now_v7() };
    match ledger.execute_with::<HighCostMonth>(tenant, id, command, &lookups, meta).await {
        Ok(executed) if executed.events.is_empty() || executed.outcome.duplicate => Ok(Outcome::AlreadyDecided),
        Ok(executed) if !executed.events.iter().any(|event| matches!(event, LedgerEvent::HighCostDecided(_))) => {
            Ok(Outcome::LatePayment)
        }
        Ok(executed) => {
            let benefit = executed
                .events
                .iter()
                .find_map(|event| match event {
                    LedgerEvent::HighCostDecided(e) => Some(e.benefit_yen),
                    _ => None,
                })
                .unwrap_or(0);
            let paid = executed.events.iter().any(|event| matches!(event, LedgerEvent::BenefitPaymentInstructed(_)));
            Ok(Outcome::Decided { benefit, paid })
        }
        Err(CommandError::Refused(rejection)) => Ok(Outcome::Refused(rejection.code())),
        Err(CommandError::Ledger(error)) => Err(error.into()),
    }
}
