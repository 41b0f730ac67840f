//! `kokuho bench http` and `kokuho bench scale`: their command-line options and output (the
//! benches themselves are [`crate::bench_http`] and [`crate::bench_scale`]).

use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use crate::bench::Progress;
use crate::Config;

#[derive(clap::Subcommand, Clone, Debug)]
pub enum BenchMode {
    /// A day of payments to household accounts (issue 10): payments/s, p50/p99, beside the
    /// same run's plain-INSERT limit; fails unless what was paid balances what was allocated.
    Payments(crate::bench_payments::PaymentsArgs),
    /// The clerk's request mix over HTTP against kokuho's own server on 127.0.0.1 (a fresh
    /// SQLite file unless --database names one): throughput and p50/p99 per request kind,
    /// non-2xx answers by status, beside the in-process command rate of the same run.
    Http {
        /// Persons, each one clerk cycle (register, acquire, payments, read, as-of answer).
        #[arg(long, default_value_t = 2000)]
        persons: usize,
        /// Concurrent HTTP/1 connections (kept alive, one request at a time each).
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The ledger-50k workload at several sizes on SQLite, each in its own process and fresh
    /// file: commands/s, as-of p99, rebuild time and peak memory, a table and an SVG chart.
    Scale {
        /// The sizes, persons, comma-separated.
        #[arg(long, default_value = "2000,20000,200000", value_parser = crate::bench_scale::parse_sizes)]
        persons: ::std::vec::Vec<usize>,
        /// How many concurrent clients send the commands.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// As-of reads timed at each size.
        #[arg(long, default_value_t = 2000)]
        as_of_reads: usize,
        /// Write the chart here (SVG) [default: no chart, the table only].
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Where the throwaway SQLite files go [default: the system's temporary folder].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// A fresh SQLite file for a bench that was given no database.
pub fn fresh_sqlite_url() -> String {
    let file = std::env::temp_dir().join(format!("kokuho-bench-http-{}.db", uuid::Uuid::now_v7().simple()));
    format!("sqlite://{}", file.display())
}

/// A new database beside the one `admin_url` names: its URL, and the future that drops it.
async fn fresh_postgres_database(
    admin_url: &str,
) -> anyhow::Result<(String, impl std::future::Future<Output = anyhow::Result<()>>)> {
    use sqlx::Connection as _;
    let name = format!("kokuho_bench_http_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    admin.close().await?;
    let (base, _) = admin_url.rsplit_once('/').ok_or_else(|| anyhow::anyhow!("a PostgreSQL URL names a database"))?;
    let url = format!("{base}/{name}");
    let admin_url = admin_url.to_owned();
    let drop = async move {
        let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
        admin.close().await?;
        anyhow::Ok(())
    };
    Ok((url, drop))
}

fn progress_bar() -> (ProgressBar, Progress) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let reporter = bar.clone();
    let progress: Progress = Arc::new(move |phase, done, total| {
        reporter.set_message(phase);
        reporter.set_length(total);
        reporter.set_position(done);
    });
    (bar, progress)
}

/// Removes the SQLite file [`fresh_sqlite_url`] made for a run, and its journal files.
fn remove_fresh_sqlite(config: &Config) {
    if let Some(file) = config.database_url.strip_prefix("sqlite://") {
        if file.contains("kokuho-bench-http-") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
        }
    }
}

/// Runs `mode` on `config`'s database (for `http`) under `rules`.
pub async fn run(mode: &BenchMode, config: Config, rules: kokuho_rules::Rules) -> anyhow::Result<()> {
    match mode {
        BenchMode::Payments(args) => {
            let answer = crate::bench_payments::command(&config, args).await;
            remove_fresh_sqlite(&config);
            answer?;
        }
        BenchMode::Http { persons, connections, json } => {
            let (bar, progress) = progress_bar();
            let options = crate::bench_http::HttpBenchOptions { persons: *persons, connections: *connections };
            // A fresh ledger every run: the bench's master key lives as long as the process, so
            // an earlier run's events in the same database would not open with it.
            let mut config = config;
            let fresh_postgres = match config.database_url.starts_with("postgres") {
                true => Some(fresh_postgres_database(&config.database_url).await?),
                false => None,
            };
            if let Some((url, _)) = &fresh_postgres {
                config.database_url = url.clone();
            }
            let report = crate::bench_http::run(&config, rules, &options, progress).await;
            bar.finish_and_clear();
            if let Some((_, drop)) = fresh_postgres {
                drop.await?;
            }
            remove_fresh_sqlite(&config);
            let report = report?;
            if *json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", crate::bench_http::table(&report));
            }
            anyhow::ensure!(report.server_errors == 0, "{} requests were answered 5xx", report.server_errors);
        }
        BenchMode::Scale { persons, clients, as_of_reads, svg, dir, json } => {
            let options = crate::bench_scale::ScaleOptions {
                persons: persons.clone(),
                clients: *clients,
                as_of_reads: *as_of_reads,
                dir: dir.clone().unwrap_or_else(std::env::temp_dir),
                svg: svg.clone(),
            };
            let exe = std::env::current_exe()?;
            let report = tokio::task::spawn_blocking(move || crate::bench_scale::run(&exe, &options)).await??;
            if *json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", crate::bench_scale::table(&report));
            }
        }
    }
    Ok(())
}
