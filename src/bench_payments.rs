//! `kokuho bench payments`: a day of payments (issue 10, item 5: "a day of 10,000 payments, on
//! both backends").
//!
//! Setup (not timed): `households` household accounts of the bench tenant for FY2026, each
//! scheduled through the command path (`AccountCommand::Schedule`, as the collection policy does
//! after an assessment, as of an assessment on 1 June) with an annual tax between 30,000 and 450,000 yen, split into the 8
//! installments of the bench tenant's collection file (Kumagaya's FY2026 file relabelled). The
//! account decision reads no household or person, so none is registered.
//!
//! Timed: `payments` payments received today, each with its own receipt id, spread over the
//! households (payment `p` to household `p % households`, each paying its next installment's
//! amount), sent by `clients` concurrent clients through `Ledger::execute` — each client owning a
//! disjoint set of households, as the command bench does. Beside them, measured in the same run:
//! the plain-INSERT limit at the group commit's transaction size ([`crate::bench_limits`]).
//!
//! Then every account is read back: every receipt recorded once, and Σ allocated to installments
//! plus Σ overpayment equal to Σ paid; the command fails if not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kokuho_domain::collection::household_account::{AccountCommand, AccountId, HouseholdAccount};
use kokuho_domain::collection::{Channel, CreditSource, ReceiptId};
use kokuho_domain::TenantCode;
use kokuho_events::LedgerEvent;
use kokuho_ledger::Ledger;
use kokuho_rules::{RuleSource, Rules};
use kokuho_store::{Actor, Backend, CommandMeta, Decrypt};
use serde::Serialize;
use uuid::Uuid;

use crate::bench::{Progress, BENCH_TENANT};
use crate::bench_tax::FISCAL_YEAR;
use crate::{Config, Ledgerd};

/// The default database: its own file, started afresh on every run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kokuho-bench-payments.db";

/// `kokuho bench payments …`.
#[derive(Debug, Clone, clap::Args)]
pub struct PaymentsArgs {
    /// How many household accounts are scheduled (setup, not timed).
    #[arg(long, default_value_t = 2000)]
    pub households: usize,
    /// How many payments the day brings (timed), each with its own receipt id.
    #[arg(long, default_value_t = 10_000)]
    pub payments: usize,
    /// How many concurrent clients send the payments.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct PaymentsOptions {
    pub households: usize,
    pub payments: usize,
    pub clients: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentsBenchReport {
    pub workload: String,
    pub backend: &'static str,
    pub households: usize,
    pub payments: usize,
    pub clients: usize,
    pub fiscal_year: i32,
    pub setup_s: f64,
    pub elapsed_s: f64,
    pub payments_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Events per group commit during the payments (what the limit's transactions hold).
    pub events_per_commit: f64,
    /// Rows/s of plain INSERTs in transactions of `events_per_commit` rows, same database and
    /// durability, same run ([`crate::bench_limits`]).
    pub insert_limit_rows_per_s: f64,
    /// The payments' events/s as a share of `insert_limit_rows_per_s`.
    pub share_of_limit: f64,
    /// Σ of the amounts sent.
    pub paid_yen: i64,
    /// Receipts found on the accounts afterwards.
    pub receipts_recorded: usize,
    /// Σ of the payments found on the accounts afterwards.
    pub received_yen: i64,
    /// Σ allocated to installments, as the accounts show it afterwards.
    pub allocated_yen: i64,
    /// Σ received and not needed by any installment.
    pub overpayment_yen: i64,
    /// Every receipt recorded once and Σ allocated + Σ overpayment = Σ received = Σ paid.
    pub balanced: bool,
}

fn meta(key: String) -> CommandMeta {
    CommandMeta {
        actor: Actor::System("bench".into()),
        purpose: "collection".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: Some(key),
    }
}

/// The bench tenant's rules: the tax and collection files of Kumagaya's FY2026, relabelled.
pub fn bench_rules() -> Rules {
    let mut rules = crate::bench_tax::bench_rules(false);
    let text = kokuho_rules::shipped::KUMAGAYA_COLLECTION_2026.replacen(
        "tenant = \"112020\"",
        &format!("tenant = \"{BENCH_TENANT}\""),
        1,
    );
    let name = format!("{BENCH_TENANT}/{FISCAL_YEAR}/collection.toml");
    rules.insert(RuleSource::new(&name, &format!("bench/{name}"), text)).expect("the bench collection file is placed");
    rules
}

/// A household's annual tax: 30,000 to 450,000 yen, in 100-yen steps, spread by the index.
fn annual_tax(index: usize) -> i64 {
    30_000 + ((index as i64 * 7_919) % 4_200) * 100
}

fn channel(payment: usize) -> Channel {
    match payment % 4 {
        0 => Channel::Bank,
        1 => Channel::ConvenienceStore,
        2 => Channel::AccountTransfer,
        _ => Channel::Counter,
    }
}

fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Runs the bench on a ledger opened from `config` (the bench tenant's rules, not `--rules-dir`).
pub async fn run(
    config: &Config,
    clock: kokuho_ledger::Clock,
    options: PaymentsOptions,
    progress: Progress,
) -> anyhow::Result<PaymentsBenchReport> {
    let PaymentsOptions { households, payments, clients } = options;
    anyhow::ensure!(
        households > 0 && payments > 0 && clients > 0,
        "--households, --payments and --clients must be at least 1"
    );
    let tenant = TenantCode::parse(BENCH_TENANT).expect("the bench tenant code is valid");
    let ledgerd = Ledgerd::open_with_rules(config, clock, bench_rules()).await?;
    let ledger: Arc<Ledger> = ledgerd.ledger.clone();
    let run_id = Uuid::now_v7().simple().to_string();
    let run_tag = run_id[run_id.len() - 8..].to_owned();
    let ids: Arc<Vec<AccountId>> = Arc::new(
        (0..households).map(|_| AccountId { household_id: Uuid::now_v7(), fiscal_year: FISCAL_YEAR }).collect(),
    );

    // Setup: every account scheduled, as the collection policy does after the assessment.
    let started = Instant::now();
    let mut installments: Vec<Vec<i64>> = vec![Vec::new(); households];
    let mut tasks = tokio::task::JoinSet::new();
    let (mut next, mut done) = (0, 0u64);
    loop {
        while tasks.len() < 32 && next < households {
            let (ledger, ids, run_tag) = (ledger.clone(), ids.clone(), run_tag.clone());
            let index = next;
            tasks.spawn(async move {
                let command = crate::bench::yearly_schedule(annual_tax(index), FISCAL_YEAR);
                let executed = ledger
                    .execute::<HouseholdAccount>(tenant, ids[index], command, meta(format!("{run_tag}-s{index}")))
                    .await?;
                let amounts = executed
                    .events
                    .iter()
                    .find_map(|event| match event {
                        LedgerEvent::AccountScheduled(e) => Some(e.installments.iter().map(|i| i.amount_yen).collect()),
                        _ => None,
                    })
                    .ok_or_else(|| anyhow::anyhow!("account {index} was not scheduled"))?;
                anyhow::Ok((index, amounts))
            });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else { break };
        let (index, amounts) = joined??;
        installments[index] = amounts;
        done += 1;
        progress("schedule", done, households as u64);
    }
    let setup_s = started.elapsed().as_secs_f64();

    // The day's payments: payment p to household p % households, paying the household's next
    // installment (k-th payment, installment k + 1, round again past the last).
    let today = kokuho_ledger::jst_date(ledger.now());
    let mut by_client: Vec<Vec<(usize, usize, i64)>> = vec![Vec::new(); clients];
    let mut paid_yen = 0i64;
    for payment in 0..payments {
        let household = payment % households;
        let amounts = &installments[household];
        let amount = amounts[(payment / households) % amounts.len()];
        paid_yen += amount;
        by_client[household % clients].push((payment, household, amount));
    }
    let (events_before, commits_before) =
        (ledgerd.store.metrics().events_appended.get(), ledgerd.store.metrics().commits.get());
    let finished = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for work in by_client {
        let (ledger, ids, run_tag, finished) = (ledger.clone(), ids.clone(), run_tag.clone(), finished.clone());
        let (progress, total) = (progress.clone(), payments as u64);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(work.len());
            for (payment, household, amount) in work {
                let receipt = format!("R{run_tag}-{payment:07}");
                let command = AccountCommand::Receive {
                    receipt_id: ReceiptId::parse(&receipt)?,
                    amount,
                    received_on: today,
                    channel: channel(payment),
                };
                let at = Instant::now();
                let executed =
                    ledger.execute::<HouseholdAccount>(tenant, ids[household], command, meta(receipt)).await?;
                latencies.push(at.elapsed());
                anyhow::ensure!(executed.events.len() == 1, "payment {payment} recorded {:?}", executed.events);
                progress("payments", finished.fetch_add(1, Ordering::Relaxed) + 1, total);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(payments);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let events = ledgerd.store.metrics().events_appended.get().saturating_sub(events_before);
    let commits = ledgerd.store.metrics().commits.get().saturating_sub(commits_before).max(1);
    let events_per_commit = events as f64 / commits as f64;
    let events_per_s = events as f64 / elapsed.as_secs_f64();

    progress("insert limit", 0, 1);
    let insert_limit_rows_per_s = crate::bench_limits::group_commit_rows_per_s(
        ledgerd.store.db(),
        (events as usize).max(1),
        events_per_commit.round() as usize,
    )
    .await?;

    // Read every account back from its stream.
    let (mut receipts_recorded, mut received_yen, mut allocated_yen, mut overpayment_yen) = (0, 0, 0, 0);
    for (index, id) in ids.iter().enumerate() {
        let view = ledger.replay::<HouseholdAccount>(tenant, *id, None, Decrypt::No).await?;
        let account = view.state.account.ok_or_else(|| anyhow::anyhow!("account {index} is not scheduled"))?;
        receipts_recorded +=
            account.credits().filter(|credit| matches!(credit.source, CreditSource::Payment { .. })).count();
        received_yen += account.received_total();
        allocated_yen += account.paid_total();
        overpayment_yen += account.overpayment();
        progress("check", index as u64 + 1, households as u64);
    }
    let backend = match ledgerd.store.db().backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    drop(ledger);
    ledgerd.shutdown().await;
    Ok(PaymentsBenchReport {
        workload: format!("payments-{}k", payments / 1000),
        backend,
        households,
        payments,
        clients,
        fiscal_year: FISCAL_YEAR,
        setup_s,
        elapsed_s: elapsed.as_secs_f64(),
        payments_per_s: payments as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        events_per_commit,
        insert_limit_rows_per_s,
        share_of_limit: events_per_s / insert_limit_rows_per_s,
        paid_yen,
        receipts_recorded,
        received_yen,
        allocated_yen,
        overpayment_yen,
        balanced: receipts_recorded == payments
            && received_yen == paid_yen
            && allocated_yen + overpayment_yen == paid_yen,
    })
}

/// `kokuho bench payments`: runs the bench on `config` (its own SQLite file, emptied first,
/// unless a database is named), prints the report, and fails unless the accounts balance.
pub async fn command(config: &Config, args: &PaymentsArgs) -> anyhow::Result<std::process::ExitCode> {
    if config.database_url == DEFAULT_DATABASE_URL {
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("kokuho-bench-payments.db{suffix}");
            if let Err(error) = std::fs::remove_file(&file) {
                anyhow::ensure!(error.kind() == std::io::ErrorKind::NotFound, "removing {file}: {error}");
            }
        }
    }
    let bar = Arc::new(indicatif::ProgressBar::new(0).with_message("bench payments"));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let reporter = bar.clone();
    let progress: Progress = Arc::new(move |phase, done, total| {
        reporter.set_message(phase);
        reporter.set_length(total);
        reporter.set_position(done);
    });
    let options = PaymentsOptions { households: args.households, payments: args.payments, clients: args.clients };
    let report = run(config, kokuho_ledger::system_clock(), options, progress).await?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} on {} ({} households, FY{}, {} payments, {} clients; setup {:.1} s)",
            report.workload,
            report.backend,
            report.households,
            report.fiscal_year,
            report.payments,
            report.clients,
            report.setup_s
        );
        println!(
            "  payments        {:>10.0} /s   p50 {:.2} ms   p99 {:.2} ms",
            report.payments_per_s, report.p50_ms, report.p99_ms
        );
        println!(
            "    limit         {:>10.0} rows/s of plain INSERTs, {:.1} per transaction: payments at {:.0}%",
            report.insert_limit_rows_per_s,
            report.events_per_commit,
            100.0 * report.share_of_limit
        );
        println!(
            "  accounts        {} receipts of {}; paid {} yen = received {} yen = allocated {} + overpayment {}: {}",
            report.receipts_recorded,
            report.payments,
            report.paid_yen,
            report.received_yen,
            report.allocated_yen,
            report.overpayment_yen,
            if report.balanced { "balanced" } else { "NOT BALANCED" }
        );
    }
    anyhow::ensure!(
        report.balanced,
        "the accounts do not balance: {} receipts of {} payments; paid {} yen, received {} yen, allocated {} + overpayment {} yen",
        report.receipts_recorded,
        report.payments,
        report.paid_yen,
        report.received_yen,
        report.allocated_yen,
        report.overpayment_yen
    );
    Ok(std::process::ExitCode::SUCCESS)
}
