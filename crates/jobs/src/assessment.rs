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

use kokuho_domain::tax::calc::assess;
use kokuho_domain::tax::{AssessmentId, Part, TaxAssessment, TaxCommand, TaxLookups};
use kokuho_domain::{Refusal as _, TenantCode};
use kokuho_ledger::{CommandError, Ledger};
use kokuho_projections::models::{Households, TaxAssessmentRow, TaxAssessments};
use kokuho_projections::Projector;
use kokuho_store::{Actor, CommandMeta, EventStore};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{Context as _, JobError, Progress};

/// The actor every event of a run is recorded under.
pub const ACTOR: &str = "assessment-run";
/// Households read per query.
const PAGE: i64 = 1_000;
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
    sha: &str,
    lookups: Option<TaxLookups>,
) -> Result<Outcome, JobError> {
    let (command, key) = if reassess {
        (
            TaxCommand::Reassess { reason: "rules".to_owned(), triggered_by: None },
            format!("assessment-run:reassess:{}:{}:{sha}", id.fiscal_year, id.household_id),
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
    let tenant_text = tenant.to_string();
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    let db = deps.store.db().clone();
    // Every household and person folded in one pass, rather than read one by one.
    let snapshot = Arc::new(deps.ledger.tax_snapshot(tenant).await.context("reading the tenant's households")?);
    let total = if options.reassess { 0 } else { Households::count(&db, &tenant_text).await? as u64 };
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
    let sha: Arc<str> = Arc::from(&rules.sha256[..16.min(rules.sha256.len())]);
    let mut after = None;
    let mut done = 0u64;
    loop {
        let page: Vec<Uuid> = if options.reassess {
            TaxAssessments::of_year(&db, &tenant_text, options.fiscal_year, after, PAGE)
                .await?
                .into_iter()
                .map(|row| row.household_id)
                .collect()
        } else {
            Households::household_ids(&db, &tenant_text, after, PAGE).await?
        };
        let full = page.len() as i64 == PAGE;
        after = page.last().copied();
        let mut queue = page.into_iter();
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.len() < IN_FLIGHT {
                let Some(household_id) = queue.next() else { break };
                let (ledger, sha, reassess) = (deps.ledger.clone(), sha.clone(), options.reassess);
                let (snapshot, rules) = (snapshot.clone(), rules.clone());
                let id = AssessmentId { household_id, fiscal_year: options.fiscal_year };
                in_flight.spawn(async move {
                    let lookups = TaxLookups {
                        today,
                        input: snapshot.input(household_id, id.fiscal_year),
                        rules: Ok((*rules).clone()),
                    };
                    (household_id, one(&ledger, tenant, id, reassess, correlation_id, &sha, Some(lookups)).await)
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
        if !full {
            break;
        }
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
        let command = TaxCommand::Reassess { reason: "changed_during_run".to_owned(), triggered_by: None };
        let meta = CommandMeta {
            actor: Actor::System(ACTOR.into()),
            purpose: "assessment".to_owned(),
            correlation_id,
            causation_id: None,
            idempotency_key: None,
        };
        match deps.ledger.execute::<TaxAssessment>(tenant, id, command, meta).await {
            Ok(executed) if !executed.events.is_empty() => report.reassessed += 1,
            Ok(_) | Err(CommandError::Refused(_)) => {}
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

fn issued(row: &TaxAssessmentRow, part: Part) -> i64 {
    match part {
        Part::Medical => row.medical_yen,
        Part::Support => row.support_yen,
        Part::Care => row.care_yen,
        Part::ChildSupport => row.child_support_yen,
    }
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
    let tenant_text = tenant.to_string();
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    let db = deps.store.db().clone();
    let mut report = RulesDiffReport {
        tenant: Some(tenant),
        fiscal_year: options.fiscal_year,
        rules_file: rules.file.clone(),
        rules_sha256: rules.sha256.clone(),
        ..RulesDiffReport::default()
    };
    let rules = Arc::new(rules);
    let snapshot = Arc::new(deps.ledger.tax_snapshot(tenant).await.context("reading the tenant's households")?);
    let mut after = None;
    loop {
        let page = TaxAssessments::of_year(&db, &tenant_text, options.fiscal_year, after, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        after = page.last().map(|row| row.household_id);
        let mut queue = page.into_iter();
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.len() < IN_FLIGHT {
                let Some(row) = queue.next() else { break };
                let (snapshot, rules) = (snapshot.clone(), rules.clone());
                in_flight.spawn(async move {
                    let input = snapshot.input(row.household_id, row.fiscal_year);
                    let computed: Result<_, JobError> =
                        Ok(input.and_then(|input| assess(&input, &rules.rules).map_err(Into::into)));
                    (row, computed)
                });
            }
            let Some(joined) = in_flight.join_next().await else { break };
            let (row, computed) = joined.context("a household's task failed")?;
            report.examined += 1;
            match computed.with_context(|| format!("household {} of {tenant}", row.household_id))? {
                Ok(assessment) => {
                    let parts: Vec<(Part, i64, i64)> = Part::ALL
                        .into_iter()
                        .map(|part| (part, issued(&row, part), assessment.amount(part)))
                        .filter(|(_, issued, new)| issued != new)
                        .collect();
                    if assessment.total != row.total_yen || !parts.is_empty() {
                        report.lines.push(DiffLine {
                            household_id: row.household_id,
                            issued_total_yen: row.total_yen,
                            new_total_yen: assessment.total,
                            parts,
                        });
                    }
                }
                Err(rejection) => report.refusals.push((row.household_id, kokuho_domain::Refusal::code(&rejection))),
            }
            progress(Progress { done: report.examined, total: report.examined });
        }
        if !full {
            break;
        }
    }
    report.lines.sort_by_key(|line| line.household_id);
    report.refusals.sort();
    Ok(report)
}
