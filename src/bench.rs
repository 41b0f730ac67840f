//! `kokuho bench`: the `ledger-50k` workload of `docs/performance.md`.
//!
//! Setup (not timed in the headline figures): register the persons (reported as
//! registrations/s), then make each the head of a household of its own and schedule that
//! household's account for fiscal year [`ACCOUNT_FISCAL_YEAR`] (`AccountCommand::Schedule`, the
//! assessed total being the sum of the 24 payments to come, split into the installments of the
//! bench tenant's collection file: Kumagaya's, relabelled, [`bench_rules`]). Then, with
//! `clients` concurrent clients each owning a disjoint set of persons, every person gets one
//! "eligibility acquired" command on its own stream and 24 payments received on its household's
//! account (`AccountCommand::Receive`, each with its own receipt id, allocated over the
//! installments), all through the real command path (state check, optimistic concurrency, group
//! commit, durable commit). Then every projection is rebuilt from the events, then random persons
//! are read as recorded at random past instants.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use kokuho_domain::collection::household_account::{AccountCommand, AccountId, HouseholdAccount};
use kokuho_domain::collection::{Channel, ReceiptId};
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, AcquisitionReason, PersonDetails, Sex};
use kokuho_ledger::Ledger;
use kokuho_rules::{RuleSource, Rules};
use kokuho_store::{Actor, Backend, CommandMeta};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::Ledgerd;

/// Not a real municipality (99999 is unassigned), with a valid check digit: bench data never
/// mixes with a city's ledger.
pub const BENCH_TENANT: &str = "999997";
pub const PAYMENTS_PER_PERSON: usize = 24;
/// The fiscal year of the households' accounts the payments are received on.
pub const ACCOUNT_FISCAL_YEAR: i32 = 2025;

/// The schedule of a bench account of `fiscal_year` to `assessed_total`, as the collection policy
/// makes it after a yearly assessment on 1 June: all 8 installments, whatever day the bench runs
/// (an assessment after a due date would charge only those left).
pub fn yearly_schedule(assessed_total: i64, fiscal_year: i32) -> AccountCommand {
    AccountCommand::Schedule {
        assessed_total,
        special: None,
        triggered_by: None,
        on: chrono::NaiveDate::from_ymd_opt(fiscal_year, 6, 1),
    }
}

/// The `k`-th payment of a person (0-based): 10,000 + 100·k yen.
pub fn payment_amount(k: usize) -> i64 {
    10_000 + (k as i64) * 100
}

/// A household's assessed total: the sum of its person's 24 payments (267,600 yen), so the
/// payments settle the account exactly.
pub fn assessed_total() -> i64 {
    (0..PAYMENTS_PER_PERSON).map(payment_amount).sum()
}

/// `rules` with the bench tenant's collection file for [`ACCOUNT_FISCAL_YEAR`]: Kumagaya's,
/// relabelled (a file already in force at that path is kept).
pub fn bench_rules(mut rules: Rules) -> Rules {
    let name = format!("{BENCH_TENANT}/{ACCOUNT_FISCAL_YEAR}/collection.toml");
    if rules.files().any(|file| file.name == name) {
        return rules;
    }
    let text = kokuho_rules::shipped::KUMAGAYA_COLLECTION_2025.replacen(
        "tenant = \"112020\"",
        &format!("tenant = \"{BENCH_TENANT}\""),
        1,
    );
    rules.insert(RuleSource::new(&name, &format!("bench/{name}"), text)).expect("the bench collection file is placed");
    rules
}

/// The day the bench's households are established and its persons insured.
fn insured_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(ACCOUNT_FISCAL_YEAR, 4, 1).expect("valid date")
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub persons: usize,
    pub clients: usize,
    pub as_of_reads: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub workload: String,
    pub backend: &'static str,
    pub persons: usize,
    pub clients: usize,
    pub commands: usize,
    pub commands_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub registrations_per_s: f64,
    pub rebuild_events: u64,
    pub rebuild_events_per_s: f64,
    /// Events per group commit during the measured workload (what the limit's transactions hold).
    pub events_per_commit: f64,
    /// Rows/s of plain INSERTs in transactions of `events_per_commit` rows, same database and
    /// durability, same run ([`crate::bench_limits`]).
    pub insert_limit_rows_per_s: f64,
    /// The workload's events/s as a share of `insert_limit_rows_per_s`.
    pub commands_share_of_limit: f64,
    /// Events/s of reading and decoding the whole ledger without projecting, same run.
    pub read_decode_events_per_s: f64,
    /// `rebuild_events_per_s` as a share of `read_decode_events_per_s`.
    pub rebuild_share_of_limit: f64,
    pub as_of_reads: usize,
    pub as_of_p50_ms: f64,
    pub as_of_p99_ms: f64,
    /// The highest resident set size sampled during the run, MB ([`crate::bench_scale::RssSampler`]).
    pub peak_rss_mb: f64,
    /// The same by phase (register, commands, insert limit, rebuild, read+decode, as-of).
    pub peak_rss_mb_by_phase: std::collections::BTreeMap<String, f64>,
    /// The kernel's high-water mark of the process's resident set (VmHWM), MB.
    pub vm_hwm_mb: f64,
}

/// What the bench reports while it runs: (phase, done, total).
pub type Progress = Arc<dyn Fn(&'static str, u64, u64) + Send + Sync>;

fn meta(key: String) -> CommandMeta {
    CommandMeta {
        actor: Actor::System("bench".into()),
        purpose: "collection".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: Some(key),
    }
}

/// `run` tells this run's persons from an earlier run's in the same bench database: a 宛名番号
/// is registered once.
pub(crate) fn register_command(index: usize, run: &str) -> PersonCommand {
    PersonCommand::Register {
        atena_no: format!("B{}{index:09}", &run[run.len().saturating_sub(8)..]),
        details: PersonDetails {
            name: format!("試験 太郎{index}"),
            name_kana: "シケン タロウ".into(),
            sex: if index.is_multiple_of(2) { Sex::Male } else { Sex::Female },
            date_of_birth: NaiveDate::from_ymd_opt(
                1960 + (index % 50) as i32,
                1 + (index % 12) as u32,
                1 + (index % 28) as u32,
            )
            .expect("valid date"),
            address: format!("埼玉県熊谷市宮町二丁目{}番地", index % 100),
        },
        acquisition: Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() },
    }
}

pub fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Runs `work(client, person_index)` for every person, `clients` at a time, each client owning
/// the persons `i` with `i % clients == client`. Returns every command's latency.
async fn by_clients<F, Fut>(
    persons: usize,
    clients: usize,
    progress: &Progress,
    phase: &'static str,
    per_person: u64,
    work: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Vec<Duration>>> + Send,
{
    let work = Arc::new(work);
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = persons as u64 * per_person;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let work = work.clone();
        let done = done.clone();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for index in (client..persons).step_by(clients) {
                let mut person = work(index).await?;
                let finished =
                    done.fetch_add(person.len() as u64, std::sync::atomic::Ordering::Relaxed) + person.len() as u64;
                progress(phase, finished, total);
                latencies.append(&mut person);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(latencies)
}

pub async fn run(ledgerd: &Ledgerd, options: &BenchOptions, progress: Progress) -> anyhow::Result<BenchReport> {
    anyhow::ensure!(options.persons > 0 && options.clients > 0, "--persons and --clients must be at least 1");
    let tenant = TenantCode::parse(BENCH_TENANT).expect("the bench tenant code is valid");
    let ledger: Arc<Ledger> = ledgerd.ledger.clone();
    let run_id = Uuid::now_v7().simple().to_string();
    let persons: Arc<Vec<PersonId>> = Arc::new((0..options.persons).map(|_| PersonId::new()).collect());
    let rss = crate::bench_scale::RssSampler::start("register");

    // Setup: registration (each a PersonRegistered with an encrypted personal part).
    let started = Instant::now();
    {
        let (ledger, persons, run_id) = (ledger.clone(), persons.clone(), run_id.clone());
        by_clients(options.persons, options.clients, &progress, "register", 1, move |index| {
            let (ledger, persons, run_id) = (ledger.clone(), persons.clone(), run_id.clone());
            async move {
                let at = Instant::now();
                ledger
                    .execute::<Person>(
                        tenant,
                        persons[index],
                        register_command(index, &run_id),
                        meta(format!("{run_id}-{index}-r")),
                    )
                    .await?;
                Ok(vec![at.elapsed()])
            }
        })
        .await?;
    }
    let registrations_per_s = options.persons as f64 / started.elapsed().as_secs_f64();

    // Setup, not timed: every person the head of a household of its own, whose account of the
    // year is scheduled (as the collection policy does after an assessment).
    rss.phase("households");
    let accounts: Arc<Vec<AccountId>> = Arc::new(
        (0..options.persons)
            .map(|_| AccountId { household_id: Uuid::now_v7(), fiscal_year: ACCOUNT_FISCAL_YEAR })
            .collect(),
    );
    {
        let (ledger, persons, accounts, run_id) = (ledger.clone(), persons.clone(), accounts.clone(), run_id.clone());
        by_clients(options.persons, options.clients, &progress, "households", 2, move |index| {
            let (ledger, persons, accounts, run_id) =
                (ledger.clone(), persons.clone(), accounts.clone(), run_id.clone());
            async move {
                let at = Instant::now();
                let account = accounts[index];
                let establish = HouseholdCommand::Establish {
                    head_person_id: persons[index].as_uuid(),
                    established_on: insured_from(),
                    acquisition: Acquisition {
                        source: "resident_registry".into(),
                        legal_basis: "住民基本台帳法".into(),
                    },
                };
                ledger
                    .execute::<Household>(tenant, account.household_id, establish, meta(format!("{run_id}-{index}-h")))
                    .await?;
                let schedule = yearly_schedule(assessed_total(), ACCOUNT_FISCAL_YEAR);
                let scheduled = ledger
                    .execute::<HouseholdAccount>(tenant, account, schedule, meta(format!("{run_id}-{index}-s")))
                    .await?;
                anyhow::ensure!(!scheduled.events.is_empty(), "the account of bench person {index} was not scheduled");
                // Two commands (for the progress shown); not in any reported figure.
                Ok(vec![at.elapsed(); 2])
            }
        })
        .await?;
    }

    // The measured workload.
    rss.phase("commands");
    let (events_before, commits_before) =
        (ledgerd.store.metrics().events_appended.get(), ledgerd.store.metrics().commits.get());
    let first_instant: DateTime<Utc> = Utc::now();
    let started = Instant::now();
    let mut latencies = {
        let (ledger, persons, accounts, run_id) = (ledger.clone(), persons.clone(), accounts.clone(), run_id.clone());
        by_clients(
            options.persons,
            options.clients,
            &progress,
            "commands",
            1 + PAYMENTS_PER_PERSON as u64,
            move |index| {
                let (ledger, persons, accounts, run_id) =
                    (ledger.clone(), persons.clone(), accounts.clone(), run_id.clone());
                async move {
                    let person = persons[index];
                    let mut latencies = Vec::with_capacity(1 + PAYMENTS_PER_PERSON);
                    let at = Instant::now();
                    let acquire = PersonCommand::AcquireEligibility {
                        reason: AcquisitionReason::MovedIn,
                        event_date: insured_from(),
                        notified_on: NaiveDate::from_ymd_opt(ACCOUNT_FISCAL_YEAR, 4, 7).expect("valid date"),
                        period_id: uuid::Uuid::now_v7(),
                        acquisition: kokuho_events::Acquisition {
                            source: "person_or_agent".into(),
                            legal_basis: "国民健康保険法 第9条".into(),
                        },
                        former_municipality: None,
                        loss: None,
                    };
                    ledger.execute::<Person>(tenant, person, acquire, meta(format!("{run_id}-{index}-a"))).await?;
                    latencies.push(at.elapsed());
                    for payment in 0..PAYMENTS_PER_PERSON {
                        let at = Instant::now();
                        let receive = AccountCommand::Receive {
                            receipt_id: ReceiptId::parse(&format!("bench-{index}-{payment}"))?,
                            amount: payment_amount(payment),
                            received_on: NaiveDate::from_ymd_opt(ACCOUNT_FISCAL_YEAR, 7, 31).expect("valid date"),
                            channel: Channel::Bank,
                        };
                        ledger
                            .execute::<HouseholdAccount>(
                                tenant,
                                accounts[index],
                                receive,
                                meta(format!("{run_id}-{index}-p{payment}")),
                            )
                            .await?;
                        latencies.push(at.elapsed());
                    }
                    Ok(latencies)
                }
            },
        )
        .await?
    };
    let elapsed = started.elapsed();
    let last_instant: DateTime<Utc> = Utc::now();
    latencies.sort_unstable();
    let commands = latencies.len();
    let events = ledgerd.store.metrics().events_appended.get().saturating_sub(events_before);
    let commits = ledgerd.store.metrics().commits.get().saturating_sub(commits_before).max(1);
    let events_per_commit = events as f64 / commits as f64;
    let events_per_s = events as f64 / elapsed.as_secs_f64();

    // The group-commit limit: as many plain rows as the workload appended events, in
    // transactions of the size its commits reached.
    progress("insert limit", 0, 1);
    rss.phase("insert limit");
    let insert_limit_rows_per_s = crate::bench_limits::group_commit_rows_per_s(
        ledgerd.store.db(),
        (events as usize).max(1),
        events_per_commit.round() as usize,
    )
    .await?;

    // Rebuild every projection from the events.
    rss.phase("rebuild");
    let rebuild_progress = progress.clone();
    let report = ledgerd.projector.rebuild(None, &mut |done, total| rebuild_progress("rebuild", done, total)).await?;
    let rebuild_events_per_s = report.events as f64 / report.elapsed.as_secs_f64();
    // The rebuild's limit: reading and decoding the same ledger, applying nothing.
    progress("read+decode", 0, 1);
    rss.phase("read+decode");
    let read_started = Instant::now();
    let read_events = ledgerd.projector.read_and_decode().await?;
    let read_decode_events_per_s = read_events as f64 / read_started.elapsed().as_secs_f64().max(1e-9);

    // As-of reads: random persons as recorded at random instants during the workload.
    rss.phase("as-of");
    let mut as_of = Vec::with_capacity(options.as_of_reads);
    let span_micros = (last_instant - first_instant).num_microseconds().unwrap_or(1).max(1);
    for read in 0..options.as_of_reads {
        let (index, offset) = {
            let mut rng = rand::thread_rng();
            (rng.gen_range(0..options.persons), rng.gen_range(0..span_micros))
        };
        let instant = first_instant + chrono::Duration::microseconds(offset);
        let at = Instant::now();
        ledger.replay::<Person>(tenant, persons[index], Some(instant), kokuho_store::Decrypt::Yes).await?;
        as_of.push(at.elapsed());
        progress("as-of reads", read as u64 + 1, options.as_of_reads as u64);
    }
    as_of.sort_unstable();
    let (peak_rss_mb_by_phase, vm_hwm_mb) = rss.finish();

    Ok(BenchReport {
        workload: format!("ledger-{}k", commands / 1000),
        backend: match ledgerd.store.db().backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        persons: options.persons,
        clients: options.clients,
        commands,
        commands_per_s: commands as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        registrations_per_s,
        rebuild_events: report.events,
        rebuild_events_per_s,
        events_per_commit,
        insert_limit_rows_per_s,
        commands_share_of_limit: events_per_s / insert_limit_rows_per_s,
        read_decode_events_per_s,
        rebuild_share_of_limit: rebuild_events_per_s / read_decode_events_per_s,
        as_of_reads: options.as_of_reads,
        as_of_p50_ms: percentile_ms(&as_of, 0.50),
        as_of_p99_ms: percentile_ms(&as_of, 0.99),
        peak_rss_mb: peak_rss_mb_by_phase.values().copied().fold(0.0, f64::max),
        peak_rss_mb_by_phase,
        vm_hwm_mb,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ProofBenchReport {
    pub workload: String,
    pub backend: &'static str,
    /// Events in the tree the proofs are for.
    pub events: u64,
    /// Appending them (store appends of 64 events per command, 16 clients, the tree maintained).
    pub fill_events_per_s: f64,
    pub proofs: usize,
    pub inclusion_p50_ms: f64,
    pub inclusion_p99_ms: f64,
    pub consistency_p50_ms: f64,
    pub consistency_p99_ms: f64,
    /// Signing and storing one checkpoint of the whole tree.
    pub checkpoint_ms: f64,
}

/// `kokuho bench proofs`: fills the bench tenant to `events` events (store appends, the tree
/// maintained by the writer), then times inclusion proofs of random events and consistency proofs
/// from random earlier sizes, in the tree of all of them, as the auditors' endpoints make them.
pub async fn proofs(
    ledgerd: &Ledgerd,
    events: u64,
    proofs: usize,
    progress: Progress,
) -> anyhow::Result<ProofBenchReport> {
    const CLIENTS: u64 = 16;
    const PER_COMMAND: u64 = 64;
    let tenant = TenantCode::parse(BENCH_TENANT).expect("the bench tenant code is valid");
    let store = ledgerd.store.clone();
    let start = store.head(tenant).await? as u64;
    let missing = events.saturating_sub(start);
    let commands = missing.div_ceil(PER_COMMAND);
    let started = Instant::now();
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (store, done, progress) = (store.clone(), done.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let mut command = client;
            while command < commands {
                let count = PER_COMMAND.min(missing - command * PER_COMMAND);
                let request = kokuho_store::AppendRequest {
                    stream_id: format!("bench-proofs-{client}"),
                    expected_version: kokuho_store::ExpectedVersion::Any,
                    meta: CommandMeta { idempotency_key: None, ..meta(String::new()) },
                    events: (0..count)
                        .map(|i| kokuho_store::NewEvent {
                            event_type: "PaymentReceived".into(),
                            schema_version: 2,
                            subject_id: None,
                            payload: format!(r#"{{"amount_yen":{}}}"#, 1000 + i).into_bytes(),
                            personal: None,
                        })
                        .collect(),
                    search_tokens: vec![],
                    command_fingerprint: None,
                };
                store.append(tenant, request).await?;
                let finished = done.fetch_add(count, std::sync::atomic::Ordering::Relaxed) + count;
                progress("fill", finished, missing);
                command += CLIENTS;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let fill_events_per_s = missing as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let size = store.tree_size(tenant).await?;
    anyhow::ensure!(size >= events, "the tree covers {size} events, not {events}");

    let at = Instant::now();
    store.publish_checkpoint(tenant, &ledgerd.checkpoint_key).await?;
    let checkpoint_ms = at.elapsed().as_secs_f64() * 1000.0;

    let (mut inclusion, mut consistency) = (Vec::with_capacity(proofs), Vec::with_capacity(proofs));
    for proof in 0..proofs {
        let (position, old) = {
            let mut rng = rand::thread_rng();
            (rng.gen_range(1..=size as i64), rng.gen_range(1..=size))
        };
        let at = Instant::now();
        store.inclusion_proof(tenant, position, size).await?;
        inclusion.push(at.elapsed());
        let at = Instant::now();
        store.consistency_proof(tenant, old, size).await?;
        consistency.push(at.elapsed());
        progress("proofs", proof as u64 + 1, proofs as u64);
    }
    inclusion.sort_unstable();
    consistency.sort_unstable();
    Ok(ProofBenchReport {
        workload: format!("proofs-{}k", size / 1000),
        backend: match store.db().backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        events: size,
        fill_events_per_s,
        proofs,
        inclusion_p50_ms: percentile_ms(&inclusion, 0.50),
        inclusion_p99_ms: percentile_ms(&inclusion, 0.99),
        consistency_p50_ms: percentile_ms(&consistency, 0.50),
        consistency_p99_ms: percentile_ms(&consistency, 0.99),
        checkpoint_ms,
    })
}
