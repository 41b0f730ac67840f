//! `kokuho retention run`: erasure at the end of retention (docs/domain.md §3 rule 6, architecture
//! invariant 7).
//!
//! # When a person's retention ends
//!
//! `rules/retention.toml` gives each kind of record a period in years and its source.
//! For each kind, the person's *latest* date of that kind counts:
//!
//! - registration: the JST date the ledger recorded `PersonRegistered`;
//! - eligibility: the day eligibility ended — the latest loss date of their insured periods as
//!   currently recorded (`EligibilityLost`, restated by `EligibilityCorrected`; a withdrawn
//!   period never existed and counts for nothing; a period still open at death ends the day
//!   after it). The rule is `RetentionFold` in `projections/src/models/retention_dates.rs`;
//! - payment: the `received_on` of their latest `PaymentReceived`;
//! - provision: no event records a provision yet, so this kind holds no one back today.
//!
//! Each kind's retention ends on its latest date plus its period (calendar years; 29 February
//! becomes 28 February in a common year). The person's retention ends on the **latest** of these
//! days, and they are erased when that day is **before** `--as-of` (default: today in Japan).
//! **A person who is still insured is never erased**, whatever their dates: their records are
//! in use, and the period of an eligibility record only starts when eligibility ends: a person
//! who lost eligibility is erased once the eligibility period, counted from the loss, and every
//! other kind's period have run out.
//!
//! # What erasing does, in this order
//!
//! 1. Re-check the person on their own stream (the projection only proposes candidates; it may lag
//!    a commit, so the stream decides).
//! 2. Destroy their data key (`EventStore::destroy_subject_key`): every personal part of theirs,
//!    in every event, is unreadable from then on, while the hash chain, which covers the
//!    ciphertext, still verifies.
//! 3. Drop this process's cached state of them (`Ledger::forget`).
//! 4. Append `PersonErased` (nothing personal: which kind's period ran out last, when, its source
//!    and the rules file's SHA-256) to the person's stream, with idempotency key
//!    `retention-erasure:<person id>`.
//!
//! # If the process stops part-way, and running again
//!
//! The key is destroyed *before* the event is appended, so a stop between the two leaves the
//! person erased but without their `PersonErased`: it fails towards privacy, never the other way
//! (an event claiming an erasure that did not happen). The next run finds them again (no
//! `PersonErased` in the projection or the stream), destroying the key again is a no-op, and the
//! event is appended then; the summary counts such persons. A stop after the append committed is
//! seen by the next run in the stream, and were it not, the idempotency key makes the store
//! answer with the first append and write nothing. Two runs at once are safe for the same
//! reasons. So the command can be run again at any time, and a second run erases nothing more and
//! appends nothing.
//!
//! Left open: a command for the person committed in the moment between the re-check and the key's
//! destruction is not seen by this run (its clear part stays; anything personal in it is erased).
//! A database backup taken before the run still holds the wrapped key in `person_keys`; making
//! backups unable to recover erased persons (docs/domain.md §3 rule 6) is the backup policy's part.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use chrono::{Months, NaiveDate};
use kokuho_domain::person::Person;
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{LedgerEvent, PersonErased, RetentionKind};
use kokuho_ledger::Ledger;
use kokuho_projections::models::{PersonRetentionDates, RetentionCutoffs, RetentionDates, RetentionFold};
use kokuho_projections::Projector;
use kokuho_rules::{RuleError, RuleSource, Rules, Spanned};
use kokuho_store::{Actor, CommandMeta, Decrypt, EventStore};
use serde::Deserialize;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{Context as _, JobError, Progress};

/// The rules file shipped with this build, used when no `--rules` file is named.
pub const BUILT_IN_RULES: &str = kokuho_rules::shipped::RETENTION;
/// Candidates read from the projection per query.
const CANDIDATES_PAGE: i64 = 10_000;
/// Persons erased at once: enough for the writer to commit several per transaction.
const ERASURES_IN_FLIGHT: usize = 16;
/// No rule in this domain keeps anything for a century; a larger figure is a typo.
const YEARS_MAX: i64 = 100;

// ---------------------------------------------------------------------------------------------
// The rules file

/// `rules/retention.toml` as written: one table per kind of record.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    registration: PeriodEntry,
    eligibility: PeriodEntry,
    payment: PeriodEntry,
    provision: PeriodEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodEntry {
    years: Spanned<i64>,
    source: Spanned<String>,
}

/// How long one kind of record is kept, and on what authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPeriod {
    pub years: u32,
    pub source: String,
}

/// The retention periods in force, with where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRules {
    pub registration: RetentionPeriod,
    pub eligibility: RetentionPeriod,
    pub payment: RetentionPeriod,
    pub provision: RetentionPeriod,
    /// The file they were read from.
    pub origin: String,
    /// SHA-256 (hex) of the file's bytes, recorded in every `PersonErased`.
    pub sha256: String,
}

/// When a person's retention ends, and which kind of record decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionEnd {
    pub kind: RetentionKind,
    /// The last day of that kind's period: the person is erased on any later day.
    pub ends_on: NaiveDate,
}

impl RetentionRules {
    /// Parses and checks the text of a rules file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RetentionRules, RuleError> {
        RetentionRules::from_source(&RuleSource::new(kokuho_rules::RETENTION_FILE, origin, text))
    }

    /// Parses and checks a rules file; errors name the file, the line and what is wrong.
    pub fn from_source(source: &RuleSource) -> Result<RetentionRules, RuleError> {
        let file: RulesFile = source.parse_toml()?;
        let period = |kind: &str, entry: PeriodEntry| -> Result<RetentionPeriod, RuleError> {
            let years = *entry.years.get_ref();
            if !(1..=YEARS_MAX).contains(&years) {
                return Err(source.error_at(
                    entry.years.span(),
                    format!("{kind}.years must be between 1 and {YEARS_MAX}, not {years}"),
                ));
            }
            let source_text = entry.source.get_ref().trim();
            if source_text.is_empty() {
                return Err(source.error_at(
                    entry.source.span(),
                    format!("{kind}.source must say where the period comes from (a law, or \"municipal setting\")"),
                ));
            }
            Ok(RetentionPeriod { years: years as u32, source: source_text.to_owned() })
        };
        Ok(RetentionRules {
            registration: period("registration", file.registration)?,
            eligibility: period("eligibility", file.eligibility)?,
            payment: period("payment", file.payment)?,
            provision: period("provision", file.provision)?,
            origin: source.origin(),
            sha256: source.sha256.clone(),
        })
    }

    /// The national `retention.toml` of `rules` (shipped, or an operator's override).
    pub fn from_rules(rules: &Rules) -> Result<RetentionRules, RuleError> {
        RetentionRules::from_source(rules.file(kokuho_rules::RETENTION_FILE, None, None)?)
    }

    /// The named file (`--rules FILE`), or the one shipped with this build.
    pub fn load(path: Option<&Path>) -> Result<RetentionRules, RuleError> {
        match path {
            None => RetentionRules::from_rules(&Rules::shipped()),
            Some(path) => RetentionRules::from_source(&RuleSource::read(kokuho_rules::RETENTION_FILE, path)?),
        }
    }

    pub fn period(&self, kind: RetentionKind) -> &RetentionPeriod {
        match kind {
            RetentionKind::Registration => &self.registration,
            RetentionKind::Eligibility => &self.eligibility,
            RetentionKind::Payment => &self.payment,
            RetentionKind::Provision => &self.provision,
        }
    }

    /// When the person's retention ends (see the module docs), or `None` while it cannot end:
    /// still insured, or no dated record at all.
    pub fn retention_end(&self, dates: &PersonRetentionDates) -> Option<RetentionEnd> {
        if dates.is_insured() {
            return None;
        }
        let kinds =
            [RetentionKind::Registration, RetentionKind::Eligibility, RetentionKind::Payment, RetentionKind::Provision];
        kinds
            .into_iter()
            .filter_map(|kind| {
                let latest = dates.latest(kind)?;
                Some(RetentionEnd { kind, ends_on: add_years(latest, self.period(kind).years) })
            })
            // The latest end decides; on a tie the later kind in the list names it (any is right).
            .max_by_key(|end| (end.ends_on, end.kind))
    }

    /// For each kind, the latest date whose period can have run out before `as_of`: the
    /// projection's query keeps only persons at or before every cutoff, and the exact rule
    /// ([`RetentionRules::retention_end`]) judges those. Never stricter than the rule (tested).
    pub fn cutoffs(&self, as_of: NaiveDate) -> RetentionCutoffs {
        let cutoff = |kind| {
            let years = self.period(kind).years;
            as_of.checked_sub_months(Months::new(12 * years)).unwrap_or(NaiveDate::MIN)
        };
        RetentionCutoffs {
            registration: cutoff(RetentionKind::Registration),
            eligibility: cutoff(RetentionKind::Eligibility),
            payment: cutoff(RetentionKind::Payment),
        }
    }
}

fn add_years(date: NaiveDate, years: u32) -> NaiveDate {
    // Past the calendar's end nothing is ever erased, which is the safe side.
    date.checked_add_months(Months::new(12 * years)).unwrap_or(NaiveDate::MAX)
}

// ---------------------------------------------------------------------------------------------
// The run

/// What the run works on, and the retention rules it applies.
#[derive(Clone)]
pub struct Deps {
    pub ledger: Arc<Ledger>,
    pub projector: Arc<Projector>,
    pub store: EventStore,
    pub rules: RetentionRules,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only this municipality (`None`: every tenant).
    pub tenant: Option<TenantCode>,
    /// Judge as on this day.
    pub as_of: NaiveDate,
    /// List who would be erased and change nothing.
    pub dry_run: bool,
}

/// One person erased (or, in a dry run, who would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub tenant: TenantCode,
    pub person_id: Uuid,
    pub end: RetentionEnd,
}

#[derive(Debug, Clone)]
pub struct RetentionReport {
    pub as_of: NaiveDate,
    pub dry_run: bool,
    pub tenants: usize,
    /// Persons on file and not yet erased when the run started.
    pub examined: u64,
    /// Erased by this run (in a dry run: who would be), in tenant and id order.
    pub erasures: Vec<Erasure>,
    /// Of those, persons whose key was already gone: an earlier run stopped between destroying
    /// it and recording the erasure.
    pub keys_already_destroyed: u64,
    /// Candidates whose own stream showed they were within retention after all, or already erased.
    pub kept_on_recheck: u64,
    pub rules_origin: String,
    pub rules_sha256: String,
}

impl RetentionReport {
    /// What the command prints: in a dry run one line per person, then the summary.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.dry_run {
            for erasure in &self.erasures {
                lines.push(format!(
                    "would erase {} {}: {} retention ended on {}",
                    erasure.tenant,
                    erasure.person_id,
                    kind_name(erasure.end.kind),
                    erasure.end.ends_on
                ));
            }
        }
        let verb = if self.dry_run { "would erase" } else { "erased" };
        let mut summary = format!(
            "{verb} {} persons of {} examined in {} tenant(s) as of {} (rules {}, sha256 {})",
            self.erasures.len(),
            self.examined,
            self.tenants,
            self.as_of,
            self.rules_origin,
            &self.rules_sha256[..12.min(self.rules_sha256.len())],
        );
        if self.keys_already_destroyed > 0 {
            summary.push_str(&format!(
                "; {} of them had their key destroyed by an earlier run that stopped before recording the erasure",
                self.keys_already_destroyed
            ));
        }
        if self.dry_run {
            summary.push_str("; nothing was changed (dry run)");
        }
        lines.push(summary);
        lines
    }
}

fn kind_name(kind: RetentionKind) -> &'static str {
    match kind {
        RetentionKind::Registration => "registration",
        RetentionKind::Eligibility => "eligibility",
        RetentionKind::Payment => "payment",
        RetentionKind::Provision => "provision",
    }
}

/// What the command prints: [`RetentionReport::lines`], one a line.
impl fmt::Display for RetentionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

/// Erases (or, in a dry run, lists) every person whose retention ended before `options.as_of`.
pub async fn run(
    deps: &Deps,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RetentionReport, JobError> {
    let rules = &deps.rules;
    let tenants = match options.tenant {
        Some(tenant) => vec![tenant],
        None => deps.store.tenants().await?,
    };
    let mut report = RetentionReport {
        as_of: options.as_of,
        dry_run: options.dry_run,
        tenants: tenants.len(),
        examined: 0,
        erasures: Vec::new(),
        keys_already_destroyed: 0,
        kept_on_recheck: 0,
        rules_origin: rules.origin.clone(),
        rules_sha256: rules.sha256.clone(),
    };

    // Candidates from the projection, brought up to date first, so that no stream is read for a
    // person whose dates already keep them.
    let cutoffs = rules.cutoffs(options.as_of);
    let mut candidates: Vec<(TenantCode, Uuid)> = Vec::new();
    for &tenant in &tenants {
        deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
        let tenant_text = tenant.to_string();
        let db = deps.store.db();
        report.examined += RetentionDates::count_not_erased(db, &tenant_text).await? as u64;
        let mut after = None;
        loop {
            let page = RetentionDates::candidates(db, &tenant_text, &cutoffs, after, CANDIDATES_PAGE).await?;
            let full = page.len() as i64 == CANDIDATES_PAGE;
            after = page.last().map(|(person_id, _)| *person_id);
            for (person_id, dates) in page {
                if ended(rules, &dates, options.as_of).is_some() {
                    candidates.push((tenant, person_id));
                }
            }
            if !full {
                break;
            }
        }
    }

    let total = candidates.len() as u64;
    progress(Progress { done: 0, total });
    let job = Arc::new(ErasureJob {
        ledger: deps.ledger.clone(),
        store: deps.store.clone(),
        rules: rules.clone(),
        as_of: options.as_of,
        dry_run: options.dry_run,
        meta: CommandMeta {
            actor: Actor::System("retention".into()),
            purpose: kokuho_auth::Purpose::Administration.as_str().to_owned(),
            // One correlation id per run: an auditor finds every erasure of a run together.
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            idempotency_key: None,
        },
    });
    let mut outcomes: BTreeMap<(TenantCode, Uuid), Outcome> = BTreeMap::new();
    let mut in_flight = JoinSet::new();
    let mut queue = candidates.into_iter();
    let mut done = 0u64;
    loop {
        while in_flight.len() < ERASURES_IN_FLIGHT {
            let Some((tenant, person_id)) = queue.next() else { break };
            let job = job.clone();
            in_flight.spawn(async move { ((tenant, person_id), job.erase(tenant, person_id).await) });
        }
        let Some(joined) = in_flight.join_next().await else { break };
        let (key, outcome) = joined.context("an erasure task failed")?;
        outcomes.insert(key, outcome?);
        done += 1;
        progress(Progress { done, total });
    }
    for ((tenant, person_id), outcome) in outcomes {
        match outcome {
            Outcome::Kept => report.kept_on_recheck += 1,
            Outcome::Erased { end, key_was_live } => {
                if !key_was_live {
                    report.keys_already_destroyed += 1;
                }
                report.erasures.push(Erasure { tenant, person_id, end });
            }
        }
    }

    if !options.dry_run {
        // The read tables show the erasures at once rather than when a server next catches up.
        for &tenant in &tenants {
            deps.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
        }
    }
    Ok(report)
}

/// The person's retention end, when it is before `as_of`.
fn ended(rules: &RetentionRules, dates: &PersonRetentionDates, as_of: NaiveDate) -> Option<RetentionEnd> {
    rules.retention_end(dates).filter(|end| end.ends_on < as_of)
}

enum Outcome {
    /// Their stream showed they were within retention after all, or already erased.
    Kept,
    /// Erased now (in a dry run: would be); `key_was_live` is false when an earlier run had
    /// destroyed the key without recording it.
    Erased { end: RetentionEnd, key_was_live: bool },
}

/// What every erasure of one run shares.
struct ErasureJob {
    ledger: Arc<Ledger>,
    store: EventStore,
    rules: RetentionRules,
    as_of: NaiveDate,
    dry_run: bool,
    meta: CommandMeta,
}

impl ErasureJob {
    async fn erase(&self, tenant: TenantCode, person_id: Uuid) -> Result<Outcome, JobError> {
        let person = PersonId::from_uuid(person_id);
        // The stream decides, not the projection: it may lag a commit.
        let view = self
            .ledger
            .replay::<Person>(tenant, person, None, Decrypt::No)
            .await
            .with_context(|| format!("reading person {person_id} of {tenant}"))?;
        let mut fold = RetentionFold::default();
        for (recorded, event) in &view.events {
            fold.observe(event, recorded.position, recorded.recorded_at);
        }
        let dates = fold.dates();
        if dates.erased_position.is_some() {
            return Ok(Outcome::Kept);
        }
        let Some(end) = ended(&self.rules, &dates, self.as_of) else { return Ok(Outcome::Kept) };
        if self.dry_run {
            return Ok(Outcome::Erased { end, key_was_live: true });
        }
        // The key first: a stop before the event leaves the person erased, and the next run
        // records it (module docs).
        let key_was_live = self
            .store
            .destroy_subject_key(tenant, person_id)
            .await
            .with_context(|| format!("destroying the data key of person {person_id} of {tenant}"))?;
        self.ledger.forget(tenant, person);
        let erased = LedgerEvent::PersonErased(PersonErased {
            person_id,
            retention_kind: end.kind,
            retention_ended_on: end.ends_on,
            rule_source: self.rules.period(end.kind).source.clone(),
            rules_sha256: self.rules.sha256.clone(),
        });
        let meta = CommandMeta { idempotency_key: Some(format!("retention-erasure:{person_id}")), ..self.meta.clone() };
        let outcome = self
            .ledger
            .record(tenant, person.stream_id(), &[erased], meta)
            .await
            .with_context(|| format!("recording the erasure of person {person_id} of {tenant}"))?;
        // A duplicate means a run that stopped after its append committed already recorded it.
        Ok(if outcome.duplicate { Outcome::Kept } else { Outcome::Erased { end, key_was_live } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn rules() -> RetentionRules {
        RetentionRules::parse(BUILT_IN_RULES, "test").expect("the shipped rules file is valid")
    }

    const VALID: &str = "[registration]\nyears = 7\nsource = \"municipal setting\"\n\
        [eligibility]\nyears = 7\nsource = \"municipal setting\"\n\
        [payment]\nyears = 5\nsource = \"地方税法 第18条\"\n\
        [provision]\nyears = 7\nsource = \"マイナンバー法 第23条\"\n";

    #[test]
    fn the_shipped_rules_file_gives_every_kind_a_period_and_a_source() {
        let rules = rules();
        assert_eq!(rules.payment.years, 5);
        assert!(rules.payment.source.contains("地方税法"), "{}", rules.payment.source);
        assert_eq!(rules.provision.years, 7);
        assert!(rules.provision.source.contains("マイナンバー法"), "{}", rules.provision.source);
        for kind in [RetentionKind::Registration, RetentionKind::Eligibility] {
            assert!(rules.period(kind).source.starts_with("municipal setting"), "{kind:?}");
        }
        assert_eq!(rules.sha256.len(), 64);
        assert_ne!(RetentionRules::parse(VALID, "a").unwrap().sha256, rules.sha256, "the hash is of the file's bytes");
    }

    #[test]
    fn a_malformed_rules_file_is_refused_naming_the_line_and_what_is_wrong() {
        let cases = [
            (VALID.replace("years = 5", "yeers = 5"), 8, "unknown field `yeers`"),
            (VALID.replace("years = 5", "years = 0"), 8, "payment.years must be between 1 and 100, not 0"),
            (VALID.replace("source = \"地方税法 第18条\"", "source = \"  \""), 9, "payment.source must say where"),
            (VALID.replace("years = 5", "years = \"five\""), 8, "invalid type: string \"five\""),
            (VALID.replace("[payment]", "[payment"), 7, "invalid table header"),
            (VALID.replace("[provision]", "[provisions]"), 10, "provisions"),
        ];
        for (text, line, what) in cases {
            let error = RetentionRules::parse(&text, "retention.toml").expect_err(what);
            assert_eq!((error.file.as_str(), error.line), ("retention.toml", Some(line)), "{error}");
            let shown = error.to_string();
            assert!(shown.starts_with(&format!("retention.toml, line {line}")), "{shown}");
            assert!(shown.contains(what), "{shown} does not say {what:?}");
        }
        // A parse error also names the key.
        let error =
            RetentionRules::parse(&VALID.replace("years = 5", "years = \"five\""), "retention.toml").unwrap_err();
        assert_eq!(error.key.as_deref(), Some("payment.years"), "{error}");
        let missing = RetentionRules::parse(
            &VALID.replace("[provision]\nyears = 7\nsource = \"マイナンバー法 第23条\"\n", ""),
            "r",
        )
        .expect_err("a kind without its period");
        assert!(missing.to_string().contains("provision"), "{missing}");
        let unreadable =
            RetentionRules::load(Some(Path::new("/nonexistent/retention.toml"))).expect_err("no such file");
        assert!(unreadable.to_string().contains("/nonexistent/retention.toml"), "{unreadable}");
    }

    #[test]
    fn retention_ends_with_the_kind_that_runs_out_last_and_never_while_insured() {
        let rules = rules();
        let registered_only = PersonRetentionDates { registered_on: Some(date(2026, 11, 26)), ..Default::default() };
        assert_eq!(
            rules.retention_end(&registered_only),
            Some(RetentionEnd { kind: RetentionKind::Registration, ends_on: date(2033, 11, 26) })
        );
        assert_eq!(ended(&rules, &registered_only, date(2033, 11, 26)), None, "the last day is still within retention");
        assert!(ended(&rules, &registered_only, date(2033, 11, 27)).is_some());

        // Registered 2020, eligibility ended 2021, last payment 2030: the payment keeps them to 2035.
        let left = PersonRetentionDates {
            registered_on: Some(date(2020, 1, 10)),
            eligibility_on: Some(date(2021, 3, 1)),
            insured: Some(false),
            payment_on: Some(date(2030, 6, 30)),
            erased_position: None,
        };
        assert_eq!(
            rules.retention_end(&left),
            Some(RetentionEnd { kind: RetentionKind::Payment, ends_on: date(2035, 6, 30) })
        );

        // Eligibility ended after the last payment: its period, counted from the loss, decides.
        let lost_late = PersonRetentionDates {
            eligibility_on: Some(date(2030, 6, 1)),
            payment_on: Some(date(2025, 7, 31)),
            ..left.clone()
        };
        assert_eq!(
            rules.retention_end(&lost_late),
            Some(RetentionEnd { kind: RetentionKind::Eligibility, ends_on: date(2037, 6, 1) })
        );

        let insured = PersonRetentionDates { insured: Some(true), ..left.clone() };
        assert_eq!(rules.retention_end(&insured), None);
        assert_eq!(ended(&rules, &insured, date(2200, 1, 1)), None, "an insured person is never erased");
        assert_eq!(rules.retention_end(&PersonRetentionDates::default()), None);

        // 29 February plus whole years lands on 28 February in a common year.
        let leap = PersonRetentionDates { payment_on: Some(date(2024, 2, 29)), ..Default::default() };
        assert_eq!(rules.retention_end(&leap).map(|end| end.ends_on), Some(date(2029, 2, 28)));
    }

    #[test]
    fn the_projection_cutoffs_never_drop_a_person_the_rule_would_erase() {
        let rules = rules();
        let start = date(2019, 1, 1);
        for as_of_offset in (0..3 * 366).step_by(7).chain([424, 425, 1155, 1156]) {
            let as_of = date(2026, 1, 1) + chrono::Days::new(as_of_offset);
            let cutoffs = rules.cutoffs(as_of);
            for day in 0..4 * 366 {
                let on = start + chrono::Days::new(day);
                for (kind, cutoff) in [
                    (RetentionKind::Registration, cutoffs.registration),
                    (RetentionKind::Eligibility, cutoffs.eligibility),
                    (RetentionKind::Payment, cutoffs.payment),
                ] {
                    if add_years(on, rules.period(kind).years) < as_of {
                        assert!(on <= cutoff, "{kind:?} on {on} ends before {as_of} but is past the cutoff {cutoff}");
                    }
                }
            }
        }
    }
}
