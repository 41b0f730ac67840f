//! `kokuho eligibility run`: the scheduled age transitions of one municipality's insured persons
//! (docs/domain.md §4).
//!
//! # What it does, for each person on file with an open insured period
//!
//! 1. **Reaching 75** (後期高齢者医療へ移行): when NHI has ended at 75 on or before `--on` — the
//!    first day not insured, [`loss_effective_on`] of the 75th birthday under the ledger's rule
//!    setting (`late_stage_transition`) — it records `LoseEligibility` with reason
//!    `reached_late_stage_elderly` and no event date (the domain derives the 75th birthday),
//!    notified on `--on`, from the resident registry under 高齢者の医療の確保に関する法律 第50条.
//! 2. **Ages 70–74** (前期高齢者): for a person insured on `--on` and in the 70–74 share that
//!    day, it asks the ledger to decide the share ([`Ledger::decide_elderly_share`]) on the day
//!    their share started — the first day of the month after attaining 70
//!    ([`elderly_share_starts_on`]), or the start of their insured period when they became
//!    insured later — and on the latest 1 August on or before `--on` after that day, the yearly
//!    re-decision. The ledger records a decision only when it differs from the one in force.
//!
//! # Running again
//!
//! The run is idempotent: a person lost at 75 has no open period any more and is skipped (and
//! the loss carries the idempotency key `eligibility-run:late-stage:<person>:<period>`, so two
//! runs at once record it once); a share decision equal to the one in force is not recorded.
//! A changed income or household between two runs does produce a new decision, which is the
//! point of re-deciding.
//!
//! Not covered: the 1 Augusts between the start of a person's 70–74 share and the latest one
//! (a run every day, as scheduled, decides each when it comes); and changes of income or
//! household during the year, which the commands that record them re-decide.
//!
//! A person the domain refuses (say, a record whose period cannot end on that day) is listed by
//! id with the refusal's code and the run goes on; the command then exits 1. Nothing personal is
//! printed.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use kokuho_domain::eligibility::{elderly_share_starts_on, loss_effective_on, seventy_fifth_birthday};
use kokuho_domain::person::{LossNotice, Person, PersonCommand};
use kokuho_domain::share::in_elderly_share;
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, LossReason};
use kokuho_ledger::{CommandError, Ledger, LedgerError};
use kokuho_projections::models::{Households, PersonRegistry};
use kokuho_projections::Projector;
use kokuho_store::{Actor, CommandMeta, Db, Decrypt, EventStore};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{Context as _, JobError, Progress};

/// The actor every event of a run is recorded under.
pub const ACTOR: &str = "eligibility-run";
/// Where the loss at 75 comes from, and the law that ends NHI then.
pub const LOSS_SOURCE: &str = "resident_registry";
pub const LOSS_LEGAL_BASIS: &str = "高齢者の医療の確保に関する法律 第50条";
/// Person ids read from the registry per query.
const PERSONS_PAGE: i64 = 1_000;
/// Persons handled at once: enough for the writer to commit several per transaction.
const PERSONS_IN_FLIGHT: usize = 16;

/// What the run works on. The eligibility rules are the ledger's ([`Ledger::rules`]).
#[derive(Clone)]
pub struct Deps {
    pub ledger: Arc<Ledger>,
    pub projector: Arc<Projector>,
    pub store: EventStore,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The municipality.
    pub tenant: TenantCode,
    /// Judge as on this day; not after today.
    pub on: NaiveDate,
}

/// A person the domain refused to change, by id and refusal code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub person_id: Uuid,
    pub what: &'static str,
    pub code: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct EligibilityRunReport {
    pub tenant: Option<TenantCode>,
    pub on: Option<NaiveDate>,
    /// Persons on file (registered, not erased) read by the run.
    pub examined: u64,
    /// Of those, persons with an open insured period.
    pub insured: u64,
    /// Persons whose date of birth could not be read (their key is gone): nothing decided.
    pub unreadable: u64,
    /// Losses at 75 recorded by this run, by person id.
    pub losses_at_75: Vec<Uuid>,
    /// 70–74 share decisions recorded by this run: (person id, valid from).
    pub share_decisions: Vec<(Uuid, NaiveDate)>,
    pub refusals: Vec<Refusal>,
    pub rules_sha256: String,
}

impl EligibilityRunReport {
    /// What the command prints: one line per refusal, then the summary.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .refusals
            .iter()
            .map(|refusal| format!("refused: {} of person {}: {}", refusal.what, refusal.person_id, refusal.code))
            .collect();
        let tenant = self.tenant.map(|t| t.to_string()).unwrap_or_default();
        let on = self.on.map(|d| d.to_string()).unwrap_or_default();
        let mut summary = format!(
            "eligibility run of {tenant} on {on}: {} persons examined ({} insured), {} losses at 75 recorded, {} share decisions recorded (rules sha256 {})",
            self.examined,
            self.insured,
            self.losses_at_75.len(),
            self.share_decisions.len(),
            &self.rules_sha256[..12.min(self.rules_sha256.len())],
        );
        if self.unreadable > 0 {
            summary.push_str(&format!(
                "; {} persons without a readable date of birth were left as they are",
                self.unreadable
            ));
        }
        if !self.refusals.is_empty() {
            summary.push_str(&format!("; {} refused", self.refusals.len()));
        }
        lines.push(summary);
        lines
    }
}

/// What the command prints: [`EligibilityRunReport::lines`], one a line.
impl fmt::Display for EligibilityRunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

/// Records every age transition of `options.tenant` due by `options.on` (see the module docs).
pub async fn run(
    deps: &Deps,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<EligibilityRunReport, JobError> {
    let today = deps.ledger.context().today;
    if options.on > today {
        return Err(JobError::Refused(format!(
            "--on {} is after today ({today} in Japan): transitions are recorded when they are due, not ahead",
            options.on
        )));
    }
    let tenant = options.tenant;
    let tenant_text = tenant.to_string();
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    let db = deps.store.db().clone();
    let total = PersonRegistry::count(&db, &tenant_text).await? as u64;
    progress(Progress { done: 0, total });

    let job = Arc::new(Job {
        ledger: deps.ledger.clone(),
        db: db.clone(),
        tenant,
        on: options.on,
        meta: CommandMeta {
            actor: Actor::System(ACTOR.into()),
            purpose: kokuho_auth::Purpose::Eligibility.as_str().to_owned(),
            // One correlation id per run: an auditor finds every decision of a run together.
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            idempotency_key: None,
        },
    });
    let mut report = EligibilityRunReport {
        tenant: Some(tenant),
        on: Some(options.on),
        rules_sha256: deps.ledger.rules().sha256.clone(),
        ..EligibilityRunReport::default()
    };
    let mut done = 0u64;
    let mut after = None;
    loop {
        let page = PersonRegistry::person_ids(&db, &tenant_text, after, PERSONS_PAGE).await?;
        let full = page.len() as i64 == PERSONS_PAGE;
        after = page.last().copied();
        let mut queue = page.into_iter();
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.len() < PERSONS_IN_FLIGHT {
                let Some(person_id) = queue.next() else { break };
                let job = job.clone();
                in_flight.spawn(async move { (person_id, job.person(person_id).await) });
            }
            let Some(joined) = in_flight.join_next().await else { break };
            let (person_id, outcome) = joined.context("a person's task failed")?;
            let outcome = outcome.with_context(|| format!("person {person_id} of {tenant}"))?;
            report.add(person_id, outcome);
            done += 1;
            progress(Progress { done, total: total.max(done) });
        }
        if !full {
            break;
        }
    }
    report.losses_at_75.sort();
    report.share_decisions.sort();
    report.refusals.sort_by_key(|refusal| (refusal.person_id, refusal.what));
    // The read tables show the run's events at once rather than when a server next catches up.
    deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
    Ok(report)
}

/// What the run did for one person.
#[derive(Debug, Default)]
struct PersonOutcome {
    examined: bool,
    insured: bool,
    unreadable: bool,
    lost_at_75: bool,
    share_decisions: Vec<NaiveDate>,
    refusals: Vec<(&'static str, &'static str)>,
}

impl EligibilityRunReport {
    fn add(&mut self, person_id: Uuid, outcome: PersonOutcome) {
        self.examined += u64::from(outcome.examined);
        self.insured += u64::from(outcome.insured);
        self.unreadable += u64::from(outcome.unreadable);
        if outcome.lost_at_75 {
            self.losses_at_75.push(person_id);
        }
        self.share_decisions.extend(outcome.share_decisions.into_iter().map(|on| (person_id, on)));
        self.refusals.extend(outcome.refusals.into_iter().map(|(what, code)| Refusal { person_id, what, code }));
    }
}

/// The days the 70–74 share is decided for a person whose share (or insured period, if later)
/// started on `started_on`, as on `on`: that day, and the latest 1 August on or before `on`
/// after it. Empty when the share had not started by `on`.
pub fn elderly_share_decision_days(started_on: NaiveDate, on: NaiveDate) -> Vec<NaiveDate> {
    if started_on > on {
        return Vec::new();
    }
    let latest_august = kokuho_domain::eligibility::latest_elderly_share_redecision(on);
    let mut days = vec![started_on];
    if latest_august > started_on {
        days.push(latest_august);
    }
    days
}

struct Job {
    ledger: Arc<Ledger>,
    db: Db,
    tenant: TenantCode,
    on: NaiveDate,
    meta: CommandMeta,
}

impl Job {
    async fn person(&self, person_id: Uuid) -> Result<PersonOutcome, JobError> {
        let mut outcome = PersonOutcome::default();
        let person = PersonId::from_uuid(person_id);
        // The stream decides, not the projection; the date of birth is in the personal part.
        let view = self.ledger.replay::<Person>(self.tenant, person, None, Decrypt::Yes).await?;
        let state = view.state;
        if state.registered.is_none() || state.erased {
            return Ok(outcome);
        }
        outcome.examined = true;
        let Some(open) = state.open_period() else { return Ok(outcome) };
        outcome.insured = true;
        let Some(date_of_birth) = state.date_of_birth() else {
            outcome.unreadable = true;
            return Ok(outcome);
        };
        let rules = &self.ledger.rules().rules;

        // 1. NHI ends at 75.
        let late_stage_from =
            loss_effective_on(LossReason::ReachedLateStageElderly, seventy_fifth_birthday(date_of_birth), rules);
        if late_stage_from <= self.on {
            let command = PersonCommand::LoseEligibility {
                loss: LossNotice {
                    reason: LossReason::ReachedLateStageElderly,
                    event_date: None,
                    notified_on: self.on,
                },
                acquisition: Acquisition { source: LOSS_SOURCE.into(), legal_basis: LOSS_LEGAL_BASIS.into() },
            };
            let meta = CommandMeta {
                idempotency_key: Some(format!("eligibility-run:late-stage:{person_id}:{}", open.period_id)),
                ..self.meta.clone()
            };
            match self.ledger.execute::<Person>(self.tenant, person, command, meta).await {
                // A duplicate: another run recorded it in the meantime.
                Ok(executed) => outcome.lost_at_75 = !executed.outcome.duplicate,
                Err(CommandError::Refused(rejection)) => outcome.refusals.push(("loss at 75", rejection.code())),
                Err(CommandError::Ledger(error)) => return Err(error.into()),
            }
            return Ok(outcome);
        }

        // 2. The 70–74 share, for a person in it and insured on `on`.
        let Some(period) = state.period_on(self.on) else { return Ok(outcome) };
        if !in_elderly_share(date_of_birth, self.on, rules) {
            return Ok(outcome);
        }
        let started_on = elderly_share_starts_on(date_of_birth).max(period.start.effective_on);
        let households = Households::households_of_person(&self.db, &self.tenant.to_string(), person_id).await?;
        for day in elderly_share_decision_days(started_on, self.on) {
            match self.ledger.decide_elderly_share(self.tenant, person, day, &households, self.meta.clone()).await {
                Ok(Some(_)) => outcome.share_decisions.push(day),
                Ok(None) => {}
                Err(LedgerError::Rejected(rejection)) => outcome.refusals.push(("70–74 share", rejection.code())),
                Err(error) => return Err(error.into()),
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_share_is_decided_on_its_start_and_on_the_latest_1_august_after_it() {
        // (started on, judged on, days decided)
        let table = [
            (date(2026, 4, 1), date(2026, 3, 31), vec![]),
            (date(2026, 4, 1), date(2026, 4, 1), vec![date(2026, 4, 1)]),
            (date(2026, 4, 1), date(2026, 7, 31), vec![date(2026, 4, 1)]),
            (date(2026, 4, 1), date(2026, 8, 1), vec![date(2026, 4, 1), date(2026, 8, 1)]),
            (date(2026, 4, 1), date(2027, 7, 31), vec![date(2026, 4, 1), date(2026, 8, 1)]),
            (date(2026, 4, 1), date(2027, 8, 1), vec![date(2026, 4, 1), date(2027, 8, 1)]),
            // Started on 1 August itself: that day is both, decided once.
            (date(2026, 8, 1), date(2026, 11, 26), vec![date(2026, 8, 1)]),
            // Started after this year's 1 August: the next one has not come yet.
            (date(2026, 9, 1), date(2026, 11, 26), vec![date(2026, 9, 1)]),
            (date(2026, 9, 1), date(2027, 8, 1), vec![date(2026, 9, 1), date(2027, 8, 1)]),
        ];
        for (started_on, on, days) in table {
            assert_eq!(elderly_share_decision_days(started_on, on), days, "started {started_on}, on {on}");
        }
    }
}
