//! `kokuho bench-tax`: the annual assessment and `rules diff` over many households
//! (docs/performance.md; issue target: 50,000 households, run < 30 s, diff < 10 s on 2 cores).
//!
//! Setup (not timed): `households` households in the bench tenant, alternately of one and two
//! insured persons (the second a dependant with no income), each with a 2025 income report.
//! Timed: `kokuho assessment run` for FY2026 under the bench tenant's rules (Kumagaya's FY2026
//! figures), then `rules diff` under the same file with the medical income rate raised, which
//! moves every household with income above the basic deduction.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, AcquisitionReason, IncomeFigures, PersonDetails, Sex};
use kokuho_jobs::assessment;
use kokuho_rules::{RuleSource, Rules};
use kokuho_store::{Actor, CommandMeta};
use serde::Serialize;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::bench::BENCH_TENANT;
use crate::{Config, Ledgerd};

pub const FISCAL_YEAR: i32 = 2026;

#[derive(Debug, Clone, Serialize)]
pub struct TaxBenchReport {
    pub workload: &'static str,
    pub backend: &'static str,
    pub households: usize,
    pub persons: usize,
    pub setup_s: f64,
    pub run_s: f64,
    pub run_households_per_s: f64,
    pub diff_s: f64,
    pub diff_households_per_s: f64,
    pub diff_changed: usize,
}

/// The bench tenant's rules: Kumagaya's FY2026 file relabelled, and an edited copy.
pub fn bench_rules(raise_medical_rate: bool) -> Rules {
    let mut text = kokuho_rules::shipped::KUMAGAYA_TAX_2026.replacen(
        "tenant = \"112020\"",
        &format!("tenant = \"{BENCH_TENANT}\""),
        1,
    );
    if raise_medical_rate {
        text = text.replacen("income_rate = \"6.92%\"", "income_rate = \"7.10%\"", 1);
    }
    let mut rules = Rules::shipped();
    let name = format!("{BENCH_TENANT}/{FISCAL_YEAR}/tax.toml");
    rules.insert(RuleSource::new(&name, &format!("bench/{name}"), text)).expect("the bench tax file is placed");
    rules
}

fn meta(key: String) -> CommandMeta {
    CommandMeta {
        actor: Actor::System("bench".into()),
        purpose: "assessment".into(),
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

/// One household: its head (and, for odd indexes, a dependant), insured from 1 April 2026,
/// with 2025 incomes.
async fn household(ledgerd: &Ledgerd, tenant: TenantCode, index: usize, run: &str) -> anyhow::Result<usize> {
    let ledger = &ledgerd.ledger;
    let household_id = Uuid::now_v7();
    let members = if index % 2 == 1 { 2 } else { 1 };
    for member in 0..members {
        let person = PersonId::new();
        let key = |what: &str| format!("{run}-{index}-{member}-{what}");
        let register = PersonCommand::Register {
            // Unique across runs in the same bench database: a 宛名番号 is registered once.
            atena_no: format!("X{}{index:08}{member}", &run[run.len().saturating_sub(8)..]),
            details: PersonDetails {
                name: format!("試験 花子{index}"),
                name_kana: "シケン ハナコ".into(),
                sex: Sex::Female,
                date_of_birth: date(1955 + (index % 45) as i32 + member as i32 * 5, 1 + (index % 12) as u32, 10),
                address: "埼玉県熊谷市宮町二丁目1番地".into(),
            },
            acquisition: source(),
        };
        ledger.execute::<Person>(tenant, person, register, meta(key("r"))).await?;
        let acquire = PersonCommand::AcquireEligibility {
            period_id: Uuid::now_v7(),
            reason: AcquisitionReason::MovedIn,
            event_date: date(2026, 4, 1),
            notified_on: date(2026, 4, 1),
            acquisition: source(),
            former_municipality: None,
            loss: None,
        };
        ledger.execute::<Person>(tenant, person, acquire, meta(key("a"))).await?;
        let income = if member == 0 { ((index % 40) as i64) * 100_000 } else { 0 };
        let figures = IncomeFigures {
            total_income_yen: income,
            taxable_income_yen: income,
            salary_income_yen: 0,
            pension_income_yen: 0,
            declared: true,
        };
        let report = PersonCommand::ReportIncome { income_year: 2025, figures, acquisition: source() };
        ledger.execute::<Person>(tenant, person, report, meta(key("i"))).await?;
        let command = if member == 0 {
            HouseholdCommand::Establish {
                head_person_id: person.as_uuid(),
                established_on: date(2026, 4, 1),
                acquisition: source(),
            }
        } else {
            HouseholdCommand::Join { person_id: person.as_uuid(), joined_on: date(2026, 4, 1) }
        };
        ledger.execute::<Household>(tenant, household_id, command, meta(key("h"))).await?;
    }
    Ok(members)
}

pub async fn run(
    config: &Config,
    clock: kokuho_ledger::Clock,
    households: usize,
    progress: &(dyn Fn(&'static str, u64, u64) + Sync),
) -> anyhow::Result<TaxBenchReport> {
    anyhow::ensure!(households > 0, "--households must be at least 1");
    let tenant = TenantCode::parse(BENCH_TENANT).expect("the bench tenant code is valid");
    let ledgerd = Arc::new(Ledgerd::open_with_rules(config, clock, bench_rules(false)).await?);
    let run_id = Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let mut persons = 0;
    let mut tasks = JoinSet::new();
    let mut next = 0;
    let mut done = 0u64;
    loop {
        while tasks.len() < 32 && next < households {
            let (ledgerd, run_id) = (ledgerd.clone(), run_id.clone());
            let index = next;
            tasks.spawn(async move { household(&ledgerd, tenant, index, &run_id).await });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else { break };
        persons += joined??;
        done += 1;
        progress("setup", done, households as u64);
    }
    let setup_s = started.elapsed().as_secs_f64();
    let backend = if config.database_url.starts_with("postgres") { "postgresql" } else { "sqlite" };
    // The run starts from projections already caught up, as a scheduled run would.
    ledgerd.projector.catch_up(tenant).await?;

    let options = assessment::RunOptions { tenant, fiscal_year: FISCAL_YEAR, reassess: false };
    let started = Instant::now();
    let report =
        assessment::run(&ledgerd.assessment_deps(), &options, &mut |at| progress("assessment run", at.done, at.total))
            .await?;
    let run_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.assessed as usize >= households,
        "the run assessed {} of {households}: {report}",
        report.assessed
    );

    // The edited file, as `kokuho --rules-dir … rules diff` would read it.
    ledgerd.ledger.replace_tax_rules(bench_rules(true));
    let options = assessment::DiffOptions { tenant, fiscal_year: FISCAL_YEAR };
    let started = Instant::now();
    let diff =
        assessment::diff(&ledgerd.assessment_deps(), &options, &mut |at| progress("rules diff", at.done, at.total))
            .await?;
    let diff_s = started.elapsed().as_secs_f64();
    Arc::try_unwrap(ledgerd).map_err(|_| anyhow::anyhow!("the bench's tasks still hold the ledger"))?.shutdown().await;
    Ok(TaxBenchReport {
        workload: "tax-assessment",
        backend,
        households,
        persons,
        setup_s,
        run_s,
        run_households_per_s: households as f64 / run_s,
        diff_s,
        diff_households_per_s: diff.examined as f64 / diff_s,
        diff_changed: diff.lines.len(),
    })
}
