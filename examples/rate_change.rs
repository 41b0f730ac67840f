//! A rate change, end to end, as a city's operator does it each spring — on an embedded ledger
//! in a temporary directory:
//!
//!     cargo run --example rate_change
//!
//! 1. Three households are on file for FY2026 (incomes 0, 1.5 and 3 million yen in 2025) and the
//!    annual run assesses them (`kokuho assessment run --tenant 112020 --year 2026`).
//! 2. The council raises the medical income rate from 6.92% to 7.40%: the operator copies
//!    `rules/112020/2026/tax.toml` into an override folder and edits it.
//! 3. `kokuho --rules-dir DIR rules diff --tenant 112020 --year 2026` lists the households whose
//!    tax would change (the two with income above the basic deduction), writing nothing.
//! 4. `kokuho --rules-dir DIR assessment run --tenant 112020 --year 2026 --reassess` issues those
//!    corrections (更正), each recording the new file's SHA-256.
//! 5. `kokuho rebuild --projection tax_assessments` rebuilds the tax table from the events: it
//!    equals the table kept up to date incrementally.
//! 6. The diff now finds nothing.
//!
//! Any other outcome stops it with a non-zero exit (tests/it/tax_policy.rs runs it).

use std::sync::Arc;

use anyhow::ensure;
use chrono::NaiveDate;
use kokuho::{load_rules, Config, Ledgerd, MasterKeySource};
use kokuho_domain::household::{Household, HouseholdCommand};
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{Acquisition, AcquisitionReason, IncomeFigures, PersonDetails, Sex};
use kokuho_jobs::assessment::{self, DiffOptions, RunOptions};
use kokuho_projections::models::TaxAssessments;
use kokuho_store::{Actor, CommandMeta};
use uuid::Uuid;

const YEAR: i32 = 2026;

fn meta(actor: &str) -> CommandMeta {
    CommandMeta {
        actor: Actor::Staff(actor.into()),
        purpose: "assessment".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

async fn household(ledgerd: &Ledgerd, tenant: TenantCode, name: &str, income: i64) -> anyhow::Result<Uuid> {
    let ledger = &ledgerd.ledger;
    let source = Acquisition { source: "resident_registry".into(), legal_basis: "住民基本台帳法".into() };
    let person = PersonId::new();
    let details = PersonDetails {
        name: name.into(),
        name_kana: "クマガヤ".into(),
        sex: Sex::Female,
        date_of_birth: date(1980, 6, 1),
        address: "埼玉県熊谷市宮町二丁目47番地1".into(),
    };
    let register = PersonCommand::Register {
        atena_no: format!("R{}", &Uuid::new_v4().simple().to_string()[..9]),
        details,
        acquisition: source.clone(),
    };
    ledger.execute::<Person>(tenant, person, register, meta("clerk")).await?;
    let acquire = PersonCommand::AcquireEligibility {
        period_id: Uuid::now_v7(),
        reason: AcquisitionReason::MovedIn,
        event_date: date(YEAR, 4, 1),
        notified_on: date(YEAR, 4, 1),
        acquisition: source.clone(),
        former_municipality: None,
        loss: None,
    };
    ledger.execute::<Person>(tenant, person, acquire, meta("clerk")).await?;
    let figures = IncomeFigures {
        total_income_yen: income,
        taxable_income_yen: income,
        salary_income_yen: 0,
        pension_income_yen: 0,
        declared: true,
    };
    let report = PersonCommand::ReportIncome { income_year: YEAR - 1, figures, acquisition: source.clone() };
    ledger.execute::<Person>(tenant, person, report, meta("tax-clerk")).await?;
    let household = Uuid::now_v7();
    let establish = HouseholdCommand::Establish {
        head_person_id: person.as_uuid(),
        established_on: date(YEAR, 4, 1),
        acquisition: source,
    };
    ledger.execute::<Household>(tenant, household, establish, meta("clerk")).await?;
    Ok(household)
}

async fn table(ledgerd: &Ledgerd, tenant: TenantCode) -> anyhow::Result<Vec<(Uuid, i64, i64)>> {
    let rows = TaxAssessments::of_year(ledgerd.store.db(), &tenant.to_string(), YEAR, None, 1_000).await?;
    Ok(rows.into_iter().map(|row| (row.household_id, row.total_yen, row.corrections)).collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("ledger.db").display()),
        master_key: MasterKeySource::File(dir.path().join("master.key")),
        checkpoint_key: kokuho::CheckpointKeySource::File(dir.path().join("checkpoint.key")),
        checkpoint_minutes: 10,
        merkle_tree: true,
        metrics_token: None,
        http: Default::default(),
        limits: Default::default(),
    };
    let tenant = TenantCode::parse("112020")?;
    let clock = kokuho_ledger::system_clock();

    // 1. Households on file; the annual run.
    let ledgerd = Ledgerd::open_with_rules(&config, clock.clone(), load_rules(None)?).await?;
    let mut households = Vec::new();
    for (name, income) in [("熊谷 一子", 0), ("熊谷 二子", 1_500_000), ("熊谷 三子", 3_000_000)] {
        households.push(household(&ledgerd, tenant, name, income).await?);
    }
    let run = assessment::run(
        &ledgerd.assessment_deps(),
        &RunOptions { tenant, fiscal_year: YEAR, reassess: false },
        &mut |_| {},
    )
    .await?;
    println!("$ kokuho assessment run --tenant 112020 --year {YEAR}\n{run}\n");
    ensure!(run.assessed == 3, "three households assessed");
    ledgerd.shutdown().await;

    // 2. The edited rule file in an override folder.
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir_all(rules_dir.join(format!("112020/{YEAR}")))?;
    let edited =
        kokuho_rules::shipped::KUMAGAYA_TAX_2026.replacen("income_rate = \"6.92%\"", "income_rate = \"7.40%\"", 1);
    ensure!(edited != kokuho_rules::shipped::KUMAGAYA_TAX_2026, "the medical rate is in the file");
    std::fs::write(rules_dir.join(format!("112020/{YEAR}/tax.toml")), edited)?;
    println!("(the medical income rate of rules/112020/{YEAR}/tax.toml: 6.92% → 7.40%, in {})\n", rules_dir.display());

    // 3. What it would change.
    let ledgerd = Arc::new(Ledgerd::open_with_rules(&config, clock, load_rules(Some(&rules_dir))?).await?);
    let head = ledgerd.store.head(tenant).await?;
    let diff =
        assessment::diff(&ledgerd.assessment_deps(), &DiffOptions { tenant, fiscal_year: YEAR }, &mut |_| {}).await?;
    println!("$ kokuho --rules-dir {} rules diff --tenant 112020 --year {YEAR}\n{diff}\n", rules_dir.display());
    ensure!(diff.lines.len() == 2, "the two households with income move");
    ensure!(!diff.lines.iter().any(|line| line.household_id == households[0]), "the one without income does not");
    ensure!(ledgerd.store.head(tenant).await? == head, "the diff writes nothing");

    // 4. The corrections.
    let reassess = assessment::run(
        &ledgerd.assessment_deps(),
        &RunOptions { tenant, fiscal_year: YEAR, reassess: true },
        &mut |_| {},
    )
    .await?;
    println!(
        "$ kokuho --rules-dir {} assessment run --tenant 112020 --year {YEAR} --reassess\n{reassess}\n",
        rules_dir.display()
    );
    ensure!(reassess.reassessed == 2, "two corrections");

    // 5. The tax table rebuilt from the events equals the incremental one.
    let incremental = table(&ledgerd, tenant).await?;
    let rebuilt = ledgerd.projector.rebuild(Some("tax_assessments"), &mut |_, _| {}).await?;
    println!("$ kokuho rebuild --projection tax_assessments\n{} events replayed\n", rebuilt.events);
    ensure!(table(&ledgerd, tenant).await? == incremental, "rebuild equals the incremental table");

    // 6. Nothing left to change.
    let after =
        assessment::diff(&ledgerd.assessment_deps(), &DiffOptions { tenant, fiscal_year: YEAR }, &mut |_| {}).await?;
    println!("$ kokuho --rules-dir {} rules diff --tenant 112020 --year {YEAR}\n{after}", rules_dir.display());
    ensure!(after.lines.is_empty(), "nothing left to change");
    Arc::try_unwrap(ledgerd).map_err(|_| anyhow::anyhow!("the ledger is still in use"))?.shutdown().await;
    Ok(())
}
