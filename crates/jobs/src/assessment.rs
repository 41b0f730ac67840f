//! `kokuho assessment run` (本算定) and `kokuho rules diff`: the annual assessment of every
//! household of a municipality, and what an edited rule file would change (docs/domain.md §5).
//!
//! # The run
//!
//! Every household on file is assessed for the fiscal year (`TaxCommand::Assess`) — a household
//! nobody in which is insured that year is counted and skipped. An assessed household records
//! nothing again, so the run is idempotent (and each assessment carries the idempotency key
//! `assessment-run:<year>:<household>`, so two runs at once record it once). With `--reassess`
//! the run computes every assessed household again under the rules in force and records a
//! correction (更正) for each that differs — what follows a rule change, after `rules diff`.
//!
//! # The diff
//!
//! For every household assessed for the year, the tax under the rule files in force (the edited
//! ones, through `--rules-dir`) is computed and compared with the figures issued; nothing is
//! written. Each line names the household, both totals, the difference and the parts that moved.

use std::fmt;
use std::sync::Arc;

use kokuho_domain::tax::{AssessmentId, Part, TaxAssessment, TaxCommand, TaxLookups};
use kokuho_domain::{Refusal as _, TenantCode};
use kokuho_ledger::{CommandError, Ledger};
use kokuho_projections::Projector;
use kokuho_store::{Actor, CommandMeta, EventStore};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{Context as _, JobError, Progress};

/// The actor every event of a run is recorded under.
pub const ACTOR: &str = "assessment-run";
/// Households handled at once: enough for the writer to commit many per transaction.
const IN_FLIGHT: usize = 64;

#[derive(Clone)]
pub struct Deps {
    pub ledger: Arc<Ledger>,
    pub projector: Arc<Projector>,
    pub store: EventStore,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub tenant: TenantCode,
    pub fiscal_year: i32,
    /// Correct assessed households whose tax differs under the rules in force.
    pub reassess: bool,
}

#[derive(Debug, Clone, Default)]
pub struct AssessmentRunReport {
    pub tenant: Option<TenantCode>,
    pub fiscal_year: i32,
    pub reassess: bool,
    pub households: u64,
    pub assessed: u64,
    pub reassessed: u64,
    pub held: u64,
    pub unchanged: u64,
    /// Households nobody in which is insured in the year.
    pub nobody_insured: u64,
    /// (household, refusal code), for any other refusal.
    pub refusals: Vec<(Uuid, &'static str)>,
    pub total_yen: i64,
    pub rules_file: String,
    pub rules_sha256: String,
}

impl fmt::Display for AssessmentRunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (household, code) in &self.refusals {
            writeln!(f, "refused: household {household}: {code}")?;
        }
        let tenant = self.tenant.map(|t| t.to_string()).unwrap_or_default();
        write!(
            f,
            "assessment run of {tenant} for fiscal year {}{}: {} households, {} assessed, {} reassessed, {} held past the \
             correction period, {} unchanged, {} with nobody insured, {} refused; {} yen recorded by this run (rules {} sha256 {})",
            self.fiscal_year,
            if self.reassess { " (--reassess)" } else { "" },
            self.households,
            self.assessed,
            self.reassessed,
            self.held,
            self.unchanged,
            self.nobody_insured,
            self.refusals.len(),
            self.total_yen,
            self.rules_file,
            &self.rules_sha256[..12.min(self.rules_sha256.len())],
        )
    }
}

enum Outcome {
    Recorded { kind: &'static str, total_yen: i64 },
    Unchanged,
    Refused(&'static str),
}

async fn one(
    ledger: &Ledger,
    tenant: TenantCode,
    id: AssessmentId,
    reassess: bool,
    correlation_id: Uuid,
    lookups: Option<TaxLookups>,
) -> Result<Outcome, JobError> {
    let (command, key) = if reassess {
        (
            TaxCommand::Reassess { reason: "rules".to_owned(), triggered_by: None },
            // One key per run: a later run under the same file (reverted, then re-applied) corrects again.
            format!("assessment-run:reassess:{correlation_id}:{}:{}", id.fiscal_year, id.household_id),
        )
    } else {
        (TaxCommand::Assess, format!("assessment-run:{}:{}", id.fiscal_year, id.household_id))
    };
    let meta = CommandMeta {
        actor: Actor::System(ACTOR.into()),
        purpose: "assessment".to_owned(),
        correlation_id,
        causation_id: None,
        idempotency_key: Some(key),
    };
    let executed = match &lookups {
        Some(lookups) => ledger.execute_with::<TaxAssessment>(tenant, id, command, lookups, meta).await,
        None => ledger.execute::<TaxAssessment>(tenant, id, command, meta).await,
    };
    match executed {
        Ok(executed) if executed.events.is_empty() || executed.outcome.duplicate => Ok(Outcome::Unchanged),
        Ok(executed) => Ok(match executed.events.first() {
            Some(kokuho_events::LedgerEvent::TaxAssessed(e)) => {
                Outcome::Recorded { kind: "assessed", total_yen: e.figures.total_yen }
            }
            Some(kokuho_events::LedgerEvent::TaxReassessed(e)) => {
                Outcome::Recorded { kind: "reassessed", total_yen: e.figures.total_yen }
            }
            Some(kokuho_events::LedgerEvent::TaxReassessmentHeld(_)) => {
                Outcome::Recorded { kind: "held", total_yen: 0 }
            }
            _ => Outcome::Unchanged,
        }),
        Err(CommandError::Refused(rejection)) => Ok(Outcome::Refused(rejection.code())),
        Err(CommandError::Ledger(error)) => Err(error.into()),
    }
}

/// Assesses (or, with `reassess`, corrects) every household of `options.tenant` for the year.
pub async fn run(
    deps: &Deps,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<AssessmentRunReport, JobError> {
    let tenant = options.tenant;
    let rules = deps
        .ledger
        .tax_rules(tenant, options.fiscal_year)
        .map_err(|rejection| JobError::Refused(rejection.to_string()))?;
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    // Every household, person and issued assessment folded in one pass, rather than read one by
    // one; the households to work on come from the same snapshot.
    let snapshot = Arc::new(deps.ledger.tax_snapshot(tenant).await.context("reading the tenant's households")?);
    let households =
        if options.reassess { snapshot.assessed_in(options.fiscal_year) } else { snapshot.household_ids() };
    let total = households.len() as u64;
    progress(Progress { done: 0, total });
    let today = kokuho_ledger::jst_date(deps.ledger.now());
    let rules = Arc::new(rules);
    let mut report = AssessmentRunReport {
        tenant: Some(tenant),
        fiscal_year: options.fiscal_year,
        reassess: options.reassess,
        rules_file: rules.file.clone(),
        rules_sha256: rules.sha256.clone(),
        ..AssessmentRunReport::default()
    };
    let correlation_id = Uuid::now_v7();
    let mut done = 0u64;
    let mut queue = households.into_iter();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < IN_FLIGHT {
            let Some(household_id) = queue.next() else { break };
            let (ledger, reassess) = (deps.ledger.clone(), options.reassess);
            let (snapshot, rules) = (snapshot.clone(), rules.clone());
            let id = AssessmentId { household_id, fiscal_year: options.fiscal_year };
            in_flight.spawn(async move {
                let lookups = TaxLookups {
                    today,
                    input: snapshot.input(household_id, id.fiscal_year),
                    rules: Ok((*rules).clone()),
                };
                (household_id, one(&ledger, tenant, id, reassess, correlation_id, Some(lookups)).await)
            });
        }
        let Some(joined) = in_flight.join_next().await else { break };
        let (household_id, outcome) = joined.context("a household's task failed")?;
        report.households += 1;
        match outcome.with_context(|| format!("household {household_id} of {tenant}"))? {
            Outcome::Recorded { kind: "assessed", total_yen } => {
                report.assessed += 1;
                report.total_yen += total_yen;
            }
            Outcome::Recorded { kind: "reassessed", .. } => report.reassessed += 1,
            Outcome::Recorded { .. } => report.held += 1,
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Refused("nobody_insured") => report.nobody_insured += 1,
            Outcome::Refused(code) => report.refusals.push((household_id, code)),
        }
        done += 1;
        progress(Progress { done, total: total.max(done) });
    }
    // What changed while the run worked from its snapshot: those households are computed again
    // on the streams as they are now (the policy may have looked before their assessment).
    let mut after = snapshot.position;
    let mut touched: Vec<Uuid> = Vec::new();
    loop {
        let page =
            deps.store.read_page(tenant, after, kokuho_store::PAGE_EVENTS_MAX, kokuho_store::Decrypt::No).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for recorded in &page {
            if let Some(person) = recorded.stream_id.strip_prefix("person-").and_then(|id| Uuid::parse_str(id).ok()) {
                touched.extend(snapshot.households_of(person));
            } else if let Some(household) =
                recorded.stream_id.strip_prefix("household-").and_then(|id| Uuid::parse_str(id).ok())
            {
                touched.push(household);
            }
        }
    }
    touched.sort();
    touched.dedup();
    for household_id in touched {
        let id = AssessmentId { household_id, fiscal_year: options.fiscal_year };
        let assessed = deps.ledger.replay::<TaxAssessment>(tenant, id, None, kokuho_store::Decrypt::No).await?;
        let command = match assessed.state.current {
            Some(_) => TaxCommand::Reassess { reason: "changed_during_run".to_owned(), triggered_by: None },
            None if !options.reassess => TaxCommand::Assess,
            None => continue,
        };
        let meta = CommandMeta {
            actor: Actor::System(ACTOR.into()),
            purpose: "assessment".to_owned(),
            correlation_id,
            causation_id: None,
            idempotency_key: None,
        };
        match deps.ledger.execute::<TaxAssessment>(tenant, id, command, meta).await {
            Ok(executed) => match executed.events.first() {
                Some(kokuho_events::LedgerEvent::TaxAssessed(e)) => {
                    report.assessed += 1;
                    report.total_yen += e.figures.total_yen;
                }
                Some(kokuho_events::LedgerEvent::TaxReassessmentHeld(_)) => report.held += 1,
                Some(_) => report.reassessed += 1,
                None => {}
            },
            Err(CommandError::Refused(_)) => {}
            Err(CommandError::Ledger(error)) => return Err(error.into()),
        }
    }
    report.refusals.sort();
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    Ok(report)
}

#[derive(Debug, Clone)]
pub struct DiffOptions {
    pub tenant: TenantCode,
    pub fiscal_year: i32,
}

/// One household whose tax differs under the rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub household_id: Uuid,
    pub issued_total_yen: i64,
    pub new_total_yen: i64,
    /// (part, issued, new) of the parts that moved.
    pub parts: Vec<(Part, i64, i64)>,
}

#[derive(Debug, Clone, Default)]
pub struct RulesDiffReport {
    pub tenant: Option<TenantCode>,
    pub fiscal_year: i32,
    pub examined: u64,
    pub lines: Vec<DiffLine>,
    /// (household, refusal code): households that can no longer be computed.
    pub refusals: Vec<(Uuid, &'static str)>,
    pub rules_file: String,
    pub rules_sha256: String,
}

impl fmt::Display for RulesDiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            let parts: Vec<String> =
                line.parts.iter().map(|(part, issued, new)| format!("{} {issued} → {new}", part.key())).collect();
            writeln!(
                f,
                "household {}: {} → {} yen ({:+}); {}",
                line.household_id,
                line.issued_total_yen,
                line.new_total_yen,
                line.new_total_yen - line.issued_total_yen,
                parts.join(", ")
            )?;
        }
        for (household, code) in &self.refusals {
            writeln!(f, "cannot compute: household {household}: {code}")?;
        }
        let tenant = self.tenant.map(|t| t.to_string()).unwrap_or_default();
        let moved: i64 = self.lines.iter().map(|line| line.new_total_yen - line.issued_total_yen).sum();
        write!(
            f,
            "rules diff of {tenant} for fiscal year {}: {} assessed households examined, {} would change ({:+} yen in all) \
             under {} (sha256 {}); nothing was written",
            self.fiscal_year,
            self.examined,
            self.lines.len(),
            moved,
            self.rules_file,
            &self.rules_sha256[..12.min(self.rules_sha256.len())],
        )
    }
}

fn amount_of(figures: &kokuho_events::TaxFigures, part: Part) -> i64 {
    figures.parts.iter().find(|p| p.part == part.key()).map_or(0, |p| p.amount_yen)
}

/// Lists every household assessed for the year whose tax under the rules in force differs from
/// the figures issued. Writes nothing.
pub async fn diff(
    deps: &Deps,
    options: &DiffOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RulesDiffReport, JobError> {
    let tenant = options.tenant;
    let rules = deps
        .ledger
        .tax_rules(tenant, options.fiscal_year)
        .map_err(|rejection| JobError::Refused(rejection.to_string()))?;
    let mut report = RulesDiffReport {
        tenant: Some(tenant),
        fiscal_year: options.fiscal_year,
        rules_file: rules.file.clone(),
        rules_sha256: rules.sha256.clone(),
        ..RulesDiffReport::default()
    };
    let snapshot = deps.ledger.tax_snapshot(tenant).await.context("reading the tenant's households")?;
    let today = kokuho_ledger::jst_date(deps.ledger.now());
    // The very test `assessment run --reassess` makes (pure), so the two never disagree.
    for household_id in snapshot.assessed_in(options.fiscal_year) {
        let id = AssessmentId { household_id, fiscal_year: options.fiscal_year };
        let Some(state) = snapshot.assessment(household_id, options.fiscal_year) else { continue };
        let Some(issued) = state.current.as_ref() else { continue };
        let lookups =
            TaxLookups { today, input: snapshot.input(household_id, id.fiscal_year), rules: Ok(rules.clone()) };
        report.examined += 1;
        match kokuho_domain::tax::assessment::correction(id, state, &lookups) {
            Ok(Some((_, new))) => {
                let parts = Part::ALL
                    .into_iter()
                    .map(|part| (part, amount_of(issued, part), amount_of(&new, part)))
                    .filter(|(_, issued, new)| issued != new)
                    .collect();
                report.lines.push(DiffLine {
                    household_id,
                    issued_total_yen: issued.total_yen,
                    new_total_yen: new.total_yen,
                    parts,
                });
            }
            Ok(None) => {}
            Err(rejection) => report.refusals.push((household_id, kokuho_domain::Refusal::code(&rejection))),
        }
        progress(Progress { done: report.examined, total: report.examined });
    }
    report.lines.sort_by_key(|line| line.household_id);
    report.refusals.sort();
    Ok(report)
}
