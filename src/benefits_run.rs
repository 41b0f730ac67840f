//! `kokuho benefits run --tenant T --month YYYY-MM`: the monthly high-cost run
//! (`kokuho_jobs::benefits`) with a progress bar and its summary. `main.rs` only dispatches here.

use std::process::ExitCode;

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use kokuho_domain::TenantCode;
use kokuho_jobs::benefits;

use crate::Ledgerd;

/// `kokuho benefits …`.
#[derive(Debug, clap::Subcommand)]
pub enum BenefitsCommand {
    /// Decide the high-cost medical expense benefit (高額療養費) of every household with
    /// medical-cost records in a service month. Safe to run again: a month decided records
    /// nothing new. Prints a summary (households, decided, total benefit, refusals by code),
    /// nothing personal.
    Run {
        /// The municipality (local government code).
        #[arg(long)]
        tenant: TenantCode,
        /// The service month (診療月), YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        month: NaiveDate,
    },
}

fn parse_month(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 7)
        .ok_or_else(|| "a month written YYYY-MM, e.g. 2024-10".to_owned())
}

impl Ledgerd {
    /// What `kokuho benefits run` works on.
    pub fn benefits_deps(&self) -> benefits::Deps {
        benefits::Deps { ledger: self.ledger.clone(), projector: self.projector.clone() }
    }
}

/// Runs `command` on `ledgerd` (shut down afterwards); failure when any household was refused.
pub async fn run(command: &BenefitsCommand, ledgerd: Ledgerd) -> anyhow::Result<ExitCode> {
    let BenefitsCommand::Run { tenant, month } = command;
    let bar = ProgressBar::new(0).with_message("benefits");
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let options = benefits::RunOptions { tenant: *tenant, month: *month };
    let report = benefits::run(&ledgerd.benefits_deps(), &options, &mut |progress| {
        bar.set_length(progress.total);
        bar.set_position(progress.done);
    })
    .await;
    bar.finish_and_clear();
    ledgerd.shutdown().await;
    let report = report?;
    println!("{report}");
    Ok(if report.refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
