//! `kokuho bench-benefits`: a month's high-cost run (`kokuho benefits run`) over many
//! medical-cost records (issue 10: 100,000 records, both backends).
//!
//! Setup (not timed): `records / 4` households of one insured person each (aged 45, insured from
//! 1 April 2024, with a 2023 income that gives class ウ or イ by turns), each with four records of
//! October 2024 at four providers — two of them below 21,000, so the 21,000 rule works on every
//! household. Timed: the run for 2024-10 from its one-pass snapshot, then a rerun, which decides
//! nothing new.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use kokuho_domain::benefits::month::{HighCostCommand, HighCostMonth, HighCostMonthId, NewRecord};
use kokuho_domain::benefits::Care;
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, AcquisitionReason, IncomeFigures, PersonDetails, Sex};
use kokuho_jobs::benefits;
use kokuho_rules::{RuleSource, Rules};
use kokuho_store::{Actor, CommandMeta};
use serde::Serialize;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::bench::BENCH_TENANT;
use crate::{Config, Ledgerd};

#[derive(Debug, Clone, Serialize)]
pub struct BenefitsBenchReport {
    pub workload: &'static str,
    pub backend: &'static str,
    pub records: usize,
    pub households: usize,
    pub setup_s: f64,
    pub run_s: f64,
    pub run_records_per_s: f64,
    pub decided: u64,
    pub total_benefit_yen: i64,
    pub rerun_s: f64,
}

/// The shipped rules with Kumagaya's FY2024 benefit amounts relabelled for the bench tenant.
fn bench_rules() -> Rules {
    let text = kokuho_rules::shipped::KUMAGAYA_BENEFITS_2024.replacen(
        "tenant = \"112020\"",
        &format!("tenant = \"{BENCH_TENANT}\""),
        1,
    );
    let mut rules = Rules::shipped();
    let name = format!("{BENCH_TENANT}/2024/benefits.toml");
    rules.insert(RuleSource::new(&name, &format!("bench/{name}"), text)).expect("the bench benefits file is placed");
    rules
}

fn meta(key: String) -> CommandMeta {
    CommandMeta {
        actor: Actor::System("bench".into()),
        purpose: "benefits".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: Some(key),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn source() -> Acquisition {
    Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() }
}

/// One household of one person with four records of October 2024.
async fn household(ledgerd: &Ledgerd, tenant: TenantCode, index: usize, run: &str) -> anyhow::Result<()> {
    let ledger = &ledgerd.ledger;
    let household_id = Uuid::now_v7();
    let person = PersonId::new();
    let key = |what: &str| format!("{run}-{index}-{what}");
    let register = PersonCommand::Register {
        atena_no: format!("B{}{index:08}", &run[run.len().saturating_sub(8)..]),
        details: PersonDetails {
            name: format!("試験 太郎{index}"),
            name_kana: "シケン タロウ".into(),
            sex: Sex::Male,
            date_of_birth: date(1979, 1 + (index % 12) as u32, 10),
            address: "埼玉県熊谷市宮町二丁目1番地".into(),
        },
        acquisition: source(),
    };
    ledger.execute::<Person>(tenant, person, register, meta(key("r"))).await?;
    let acquire = PersonCommand::AcquireEligibility {
        period_id: Uuid::now_v7(),
        reason: AcquisitionReason::MovedIn,
        event_date: date(2024, 4, 1),
        notified_on: date(2024, 4, 1),
        acquisition: source(),
        former_municipality: None,
        loss: None,
    };
    ledger.execute::<Person>(tenant, person, acquire, meta(key("a"))).await?;
    let income = if index.is_multiple_of(2) { 3_000_000 } else { 7_000_000 };
    let figures = IncomeFigures {
        total_income_yen: income,
        taxable_income_yen: income / 2,
        salary_income_yen: income,
        pension_income_yen: 0,
        declared: true,
    };
    let report = PersonCommand::ReportIncome { income_year: 2023, figures, acquisition: source() };
    ledger.execute::<Person>(tenant, person, report, meta(key("i"))).await?;
    let establish = HouseholdCommand::Establish {
        head_person_id: person.as_uuid(),
        established_on: date(2024, 4, 1),
        acquisition: source(),
    };
    ledger.execute::<Household>(tenant, household_id, establish, meta(key("h"))).await?;
    let record = |n: usize, provider: &str, care: Care, total_cost: i64, paid: i64| NewRecord {
        record_id: format!("{index}-{n}"),
        person_id: person.as_uuid(),
        provider: provider.into(),
        care,
        total_cost,
        paid,
    };
    let records = vec![
        record(1, "A", Care::Inpatient, 600_000 + (index % 10) as i64 * 10_000, 180_000 + (index % 10) as i64 * 3_000),
        record(2, "B", Care::Outpatient, 200_000, 60_000),
        record(3, "C", Care::Outpatient, 50_000, 15_000),
        record(4, "D", Care::Dental, 10_000, 3_000),
    ];
    let id = HighCostMonthId::new(household_id, date(2024, 10, 1));
    let command = HighCostCommand::Record { batch_id: "bench".into(), records };
    ledger.execute::<HighCostMonth>(tenant, id, command, meta(key("m"))).await?;
    Ok(())
}

pub async fn run(
    config: &Config,
    clock: kokuho_ledger::Clock,
    records: usize,
    progress: &(dyn Fn(&'static str, u64, u64) + Sync),
) -> anyhow::Result<BenefitsBenchReport> {
    let households = records / 4;
    anyhow::ensure!(households > 0, "--records must be at least 4");
    let tenant = TenantCode::parse(BENCH_TENANT).expect("the bench tenant code is valid");
    let ledgerd = Arc::new(Ledgerd::open_with_rules(config, clock, bench_rules()).await?);
    let run_id = Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let (mut next, mut done) = (0, 0u64);
    loop {
        while tasks.len() < 32 && next < households {
            let (ledgerd, run_id) = (ledgerd.clone(), run_id.clone());
            let index = next;
            tasks.spawn(async move { household(&ledgerd, tenant, index, &run_id).await });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else { break };
        joined??;
        done += 1;
        progress("setup", done, households as u64);
    }
    let setup_s = started.elapsed().as_secs_f64();
    let backend = if config.database_url.starts_with("postgres") { "postgresql" } else { "sqlite" };
    ledgerd.projector.catch_up(tenant).await?;

    let options = benefits::RunOptions { tenant, month: date(2024, 10, 1) };
    let started = Instant::now();
    let report =
        benefits::run(&ledgerd.benefits_deps(), &options, &mut |at| progress("benefits run", at.done, at.total))
            .await?;
    let run_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.decided as usize >= households,
        "the run decided {} of {households}: {report}",
        report.decided
    );
    let started = Instant::now();
    let rerun = benefits::run(&ledgerd.benefits_deps(), &options, &mut |_| {}).await?;
    let rerun_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(rerun.decided == 0, "a rerun decided {}: {rerun}", rerun.decided);
    Arc::try_unwrap(ledgerd).map_err(|_| anyhow::anyhow!("the bench's tasks still hold the ledger"))?.shutdown().await;
    Ok(BenefitsBenchReport {
        workload: "benefits-high-cost-run",
        backend,
        records: households * 4,
        households,
        setup_s,
        run_s,
        run_records_per_s: (households * 4) as f64 / run_s,
        decided: report.decided,
        total_benefit_yen: report.total_benefit_yen,
        rerun_s,
    })
}

/// `kokuho bench-benefits`: runs the bench on `config`'s database and prints its figures.
pub async fn main(config: &Config, records: usize, json: bool) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(ProgressBar::new(0));
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let reporter = bar.clone();
    let progress = move |phase: &'static str, done: u64, total: u64| {
        reporter.set_message(phase);
        reporter.set_length(total);
        reporter.set_position(done);
    };
    let report = run(config, kokuho_ledger::system_clock(), records, &progress).await?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} on {}: {} records in {} households; setup {:.1} s; benefits run {:.1} s ({:.0} records/s), {} decided, {} yen; rerun {:.1} s, nothing new",
            report.workload, report.backend, report.records, report.households, report.setup_s, report.run_s,
            report.run_records_per_s, report.decided, report.total_benefit_yen, report.rerun_s
        );
    }
    Ok(ExitCode::SUCCESS)
}
