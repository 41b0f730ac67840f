//! The `kokuho` command line: serve, migrate, rebuild, replay, verify, eligibility, retention, admin, bench.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kokuho::bench::{self, BenchOptions};
use kokuho::config::LimitArgs;
use kokuho::config::{
    HttpLimits, DEFAULT_BODY_TIMEOUT_SECS, DEFAULT_CHECKPOINT_KEY_FILE, DEFAULT_CHECKPOINT_MINUTES,
    DEFAULT_DATABASE_URL, DEFAULT_HEADER_READ_TIMEOUT_SECS, DEFAULT_IDLE_TIMEOUT_SECS, DEFAULT_MASTER_KEY_FILE,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT_SECS,
};
use kokuho::{load_rules, Application, CheckpointKeySource, Config, Ledgerd, MasterKeySource};
use kokuho_api::Limits;
use kokuho_domain::person::Person;
use kokuho_domain::{PersonId, TenantCode};
use kokuho_jobs::{assessment, eligibility, retention, Progress};
use kokuho_store::Decrypt;

mod cli_audit;
mod cli_policies;

use cli_audit::{audit, AuditCommand};
use cli_policies::{policies, PoliciesCommand};

#[derive(Parser)]
#[command(name = "kokuho", version, about = "The ledger of a municipality's National Health Insurance records")]
struct Cli {
    /// The database: sqlite://FILE or postgres://… [default: sqlite://kokuho.db; the benchmarks
    /// use their own files]. Only serve, migrate and the benchmarks create a missing SQLite file.
    #[arg(long, global = true, env = "DATABASE_URL")]
    database: Option<String>,
    /// Let a command other than serve, migrate and the benchmarks start a new ledger (a new SQLite
    /// file and development master key) when none is found, instead of refusing.
    #[arg(long, global = true, env = "KOKUHO_CREATE_DATABASE")]
    create_database: bool,
    /// File holding the master key (64 hex digits) [default: ./kokuho.master.key]; created with a
    /// development key when missing. KOKUHO_MASTER_KEY (the key itself) takes precedence.
    #[arg(long, global = true, env = "KOKUHO_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// A folder of rule files, each replacing the shipped file of the same path (rules/README.md)
    /// [default: none, the rule files built in].
    #[arg(long, global = true, env = "KOKUHO_RULES_DIR")]
    rules_dir: Option<PathBuf>,
    /// File holding the checkpoint signing key (64 hex digits, an Ed25519 seed) [default:
    /// ./kokuho.checkpoint.key]; created with a development key when missing.
    /// KOKUHO_CHECKPOINT_KEY (the key itself) takes precedence.
    #[arg(long, global = true, env = "KOKUHO_CHECKPOINT_KEY_FILE")]
    checkpoint_key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the HTTP API.
    Serve {
        /// The address to listen on (loopback by default; put a TLS proxy in front).
        #[arg(long, env = "KOKUHO_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Publish a signed checkpoint of every ledger that grew this often (minutes).
        #[arg(long, env = "KOKUHO_CHECKPOINT_MINUTES", default_value_t = DEFAULT_CHECKPOINT_MINUTES,
              value_parser = clap::value_parser!(u64).range(1..=1440))]
        checkpoint_minutes: u64,
        /// Seconds a client has to send a request's headers, and a kept-alive connection to start
        /// its next request; then the connection is closed.
        #[arg(long, env = "KOKUHO_HEADER_READ_TIMEOUT", default_value_t = DEFAULT_HEADER_READ_TIMEOUT_SECS,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        header_read_timeout: u64,
        /// Seconds a request's body may stop arriving (no data); then 408.
        #[arg(long, env = "KOKUHO_BODY_TIMEOUT", default_value_t = DEFAULT_BODY_TIMEOUT_SECS,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        body_timeout: u64,
        /// Seconds a request may take from its headers to its response; then 408.
        #[arg(long, env = "KOKUHO_REQUEST_TIMEOUT", default_value_t = DEFAULT_REQUEST_TIMEOUT_SECS,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        request_timeout: u64,
        /// Seconds a connection's read or write may wait on the client; then the connection is closed.
        #[arg(long, env = "KOKUHO_IDLE_TIMEOUT", default_value_t = DEFAULT_IDLE_TIMEOUT_SECS,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        idle_timeout: u64,
        /// Connections held open at once; further clients wait in the listen backlog until one closes.
        #[arg(long, env = "KOKUHO_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS,
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
        max_connections: usize,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Apply the durable schema and exit.
    Migrate,
    /// Rebuild projections from the events into fresh tables, then swap them in atomically.
    Rebuild {
        /// Only this projection (default: all).
        #[arg(long)]
        projection: Option<String>,
    },
    /// Print a person's state and history as recorded at an instant.
    Replay {
        /// The municipality (6-digit local government code, e.g. 112020).
        #[arg(long)]
        tenant: TenantCode,
        /// The person's id.
        #[arg(long)]
        person: uuid::Uuid,
        /// RFC 3339 instant (transaction time); default now.
        #[arg(long)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        /// The day (valid time, YYYY-MM-DD) the eligibility answer is about; default today in Japan.
        #[arg(long)]
        on: Option<chrono::NaiveDate>,
    },
    /// Recompute every tenant's hash chain; exit 1 naming the first bad position.
    Verify,
    /// The scheduled age transitions: loss of eligibility at 75 and the 70–74 cost share.
    Eligibility {
        #[command(subcommand)]
        command: EligibilityCommand,
    },
    /// NHI tax: the annual assessment (本算定) and corrections after a rule change.
    Assessment {
        #[command(subcommand)]
        command: AssessmentCommand,
    },
    /// Benefits (給付): the monthly high-cost run (高額療養費).
    Benefits {
        #[command(subcommand)]
        command: kokuho::benefits_run::BenefitsCommand,
    },
    /// The rule files: what an edited tax file would change.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Erase persons whose retention has ended (rules/retention.toml).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// The policies that follow the ledger (the 70–74 re-decision, …): their progress, and runs.
    Policies {
        #[command(subcommand)]
        command: PoliciesCommand,
    },
    /// Manage staff accounts from the command line (the first administrator starts here).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Benchmark the annual tax assessment and `rules diff` over many households
    /// (docs/performance.md); bench data goes to its own file and tenant.
    BenchTax {
        /// How many households to assess.
        #[arg(long, default_value_t = 5000)]
        households: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Benchmark a month's high-cost run (`kokuho benefits run`) over many medical-cost records
    /// (a throwaway ledger, by default `sqlite://kokuho-bench.db`).
    BenchBenefits {
        /// How many medical-cost records (four per household).
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// Print one JSON object instead of a line.
        #[arg(long)]
        json: bool,
    },
    /// Signed checkpoints and proofs of a ledger, and their offline verification.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run the ledger-50k benchmark (docs/performance.md).
    Bench {
        /// How many persons the workload registers (each: 1 acquisition + 24 payments to its
        /// household's account).
        #[arg(long, default_value_t = 2000)]
        persons: usize,
        /// How many concurrent clients send the commands.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// As-of reads timed (with --proofs-at: proofs of each kind timed).
        #[arg(long, default_value_t = 2000)]
        as_of_reads: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The reference run: the writers do not maintain the Merkle tree (what the tree costs
        /// the append path is the difference with a normal run; never on a real ledger).
        #[arg(long)]
        without_merkle_tree: bool,
        /// Instead of ledger-50k: fill the bench tenant to this many events and time inclusion and
        /// consistency proofs in a tree of that size (default: the ledger-50k workload).
        #[arg(long, conflicts_with = "without_merkle_tree")]
        proofs_at: Option<u64>,
        /// Instead of ledger-50k: the HTTP load benchmark, the workload at several sizes, or a day
        /// of payments to household accounts.
        #[command(subcommand)]
        mode: Option<kokuho::bench_cli::BenchMode>,
    },
}

/// `kokuho eligibility …` (the job: `kokuho_jobs::eligibility`).
#[derive(Debug, Subcommand)]
enum EligibilityCommand {
    /// Record the age transitions due by a day: loss of eligibility at 75, and the 70–74 cost
    /// share on its start and every 1 August. Safe to run again; prints nothing personal.
    Run {
        /// The municipality (local government code).
        #[arg(long)]
        tenant: TenantCode,
        /// Judge as on this day, YYYY-MM-DD (default: today in Japan); not after today.
        #[arg(long)]
        on: Option<NaiveDate>,
    },
}

/// `kokuho assessment …` (the job: `kokuho_jobs::assessment`).
#[derive(Debug, Subcommand)]
enum AssessmentCommand {
    /// Assess every household of a municipality for a fiscal year (本算定); with --reassess,
    /// correct (更正) every assessed household whose tax differs under the rules in force. Safe
    /// to run again; prints nothing personal.
    Run {
        /// The municipality (local government code).
        #[arg(long)]
        tenant: TenantCode,
        /// The fiscal year (年度), e.g. 2025 for April 2025 – March 2026.
        #[arg(long)]
        year: i32,
        /// Correct the assessed households instead of assessing new ones.
        #[arg(long)]
        reassess: bool,
    },
}

/// `kokuho rules …`.
#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// List every household whose tax for the year under the rule files in force (an edited
    /// file through --rules-dir) differs from the assessment issued, with both figures and the
    /// parts that moved. Writes nothing.
    Diff {
        /// The municipality (6-digit local government code, e.g. 112020).
        #[arg(long)]
        tenant: TenantCode,
        /// The fiscal year (年度), e.g. 2025 for April 2025 – March 2026.
        #[arg(long)]
        year: i32,
    },
}

/// `kokuho retention …` (the job: `kokuho_jobs::retention`).
#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Erase the persons whose retention has ended: destroy their data key, then record
    /// PersonErased. Safe to run again; lists nothing personal.
    Run {
        /// Only this municipality (default: every tenant).
        #[arg(long)]
        tenant: Option<TenantCode>,
        /// Judge as on this day, YYYY-MM-DD (default: today in Japan).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// List who would be erased, by person id, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The retention rules file (default: retention.toml of the rules in force: the
        /// --rules-dir override's, else rules/retention.toml as built in).
        #[arg(long, env = "KOKUHO_RETENTION_RULES")]
        rules: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account; prints a one-time enrolment code, with which its owner chooses
    /// their own password and enrols their own authenticator (POST /v1/{tenant}/enrolment).
    CreateUser {
        /// The municipality (6-digit local government code, e.g. 112020).
        #[arg(long)]
        tenant: TenantCode,
        /// The sign-in name of the new account.
        #[arg(long)]
        login: String,
        /// The staff member's name, as shown in the access record.
        #[arg(long)]
        name: String,
        /// eligibility_clerk, tax_clerk, benefits_clerk, collection_clerk, supervisor, auditor, administrator
        #[arg(long)]
        role: kokuho_auth::Role,
    },
    /// Disable a staff account and end its sessions at once.
    DisableUser {
        /// The municipality (6-digit local government code, e.g. 112020).
        #[arg(long)]
        tenant: TenantCode,
        /// The account's user id.
        #[arg(long)]
        user: uuid::Uuid,
        /// Why the account is disabled (kept in the ledger).
        #[arg(long)]
        reason: String,
    },
}

fn progress_bar(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0).with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Draws a job's progress on `bar`.
fn draw(bar: &ProgressBar, progress: Progress) {
    bar.set_length(progress.total);
    bar.set_position(progress.done);
}

fn config(cli: &Cli, default_database: &str, ephemeral_key: bool) -> Config {
    let master_key = match (std::env::var("KOKUHO_MASTER_KEY"), &cli.master_key_file) {
        (Ok(hex), _) => MasterKeySource::Hex(hex),
        (Err(_), Some(path)) => MasterKeySource::File(path.clone()),
        (Err(_), None) if ephemeral_key => MasterKeySource::Ephemeral,
        (Err(_), None) => MasterKeySource::File(PathBuf::from(DEFAULT_MASTER_KEY_FILE)),
    };
    let checkpoint_key = match (std::env::var("KOKUHO_CHECKPOINT_KEY"), &cli.checkpoint_key_file) {
        (Ok(hex), _) => CheckpointKeySource::Hex(hex),
        (Err(_), Some(path)) => CheckpointKeySource::File(path.clone()),
        (Err(_), None) if ephemeral_key => CheckpointKeySource::Ephemeral,
        (Err(_), None) => CheckpointKeySource::File(PathBuf::from(DEFAULT_CHECKPOINT_KEY_FILE)),
    };
    let checkpoint_minutes = match &cli.command {
        Command::Serve { checkpoint_minutes, .. } => *checkpoint_minutes,
        _ => DEFAULT_CHECKPOINT_MINUTES,
    };
    let http = match &cli.command {
        Command::Serve {
            header_read_timeout, body_timeout, request_timeout, idle_timeout, max_connections, ..
        } => HttpLimits {
            header_read_timeout: Duration::from_secs(*header_read_timeout),
            body_timeout: Duration::from_secs(*body_timeout),
            request_timeout: Duration::from_secs(*request_timeout),
            idle_timeout: Duration::from_secs(*idle_timeout),
            max_connections: *max_connections,
        },
        _ => HttpLimits::default(),
    };
    Config {
        database_url: cli.database.clone().unwrap_or_else(|| default_database.to_owned()),
        master_key,
        checkpoint_key,
        checkpoint_minutes,
        merkle_tree: !matches!(cli.command, Command::Bench { without_merkle_tree: true, .. }),
        metrics_token: std::env::var("KOKUHO_METRICS_TOKEN").ok().filter(|token| !token.is_empty()),
        http,
        limits: match &cli.command {
            Command::Serve { limits, .. } => limits.limits(),
            _ => Limits::default(),
        },
    }
}

/// Opens the ledger deciding under the rule files of `--rules-dir` (or `KOKUHO_RULES_DIR`).
async fn open(cli: &Cli, config: &Config) -> anyhow::Result<Ledgerd> {
    Ledgerd::open_with_rules(config, kokuho_ledger::system_clock(), load_rules(cli.rules_dir.as_deref())?).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing in-flight requests and commits");
}

/// Commands that may start a new ledger where none is: the server and `migrate` (which exist to
/// set one up), the benchmarks (their own throwaway files) and the offline proof check (no
/// database at all).
fn may_create_ledger(command: &Command) -> bool {
    matches!(
        command,
        Command::Serve { .. }
            | Command::Migrate
            | Command::Bench { .. }
            | Command::BenchTax { .. }
            | Command::BenchBenefits { .. }
            | Command::Audit { command: AuditCommand::Verify { .. } }
    )
}

/// Run from another folder, `kokuho admin create-user` silently started a second, empty ledger
/// with a new master key beside the real one. Any other command refuses, naming what is missing
/// and where, unless `--create-database` asks for a new ledger.
fn require_existing_ledger(cli: &Cli) -> anyhow::Result<()> {
    if cli.create_database || may_create_ledger(&cli.command) {
        return Ok(());
    }
    let here = std::env::current_dir().map(|dir| dir.display().to_string()).unwrap_or_default();
    // The audit commands sign or prove with the municipality's checkpoint key: a new one made
    // in the wrong folder would sign under a development key nobody publishes.
    if matches!(&cli.command, Command::Audit { .. }) && std::env::var("KOKUHO_CHECKPOINT_KEY").is_err() {
        let key = cli.checkpoint_key_file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CHECKPOINT_KEY_FILE));
        if !key.exists() {
            anyhow::bail!(
                "no checkpoint key at {} (looked in {here}): set KOKUHO_CHECKPOINT_KEY or --checkpoint-key-file \
                 to the municipality's key; --create-database starts a new ledger and keys",
                key.display()
            );
        }
    }
    // The verifier key needs the checkpoint key only.
    if matches!(&cli.command, Command::Audit { command: AuditCommand::PublicKey { .. } }) {
        return Ok(());
    }
    let url = cli.database.clone().unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    if let Some(file) = sqlite_file(&url) {
        if !file.exists() {
            anyhow::bail!(
                "no ledger at {} (looked in {here}): run this command where `kokuho serve` keeps its \
                 database, or name it with --database / DATABASE_URL; --create-database starts a new one",
                redact(&url)
            );
        }
    }
    if std::env::var("KOKUHO_MASTER_KEY").is_err() {
        let key = cli.master_key_file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_MASTER_KEY_FILE));
        if !key.exists() {
            anyhow::bail!(
                "no master key at {} (looked in {here}): set KOKUHO_MASTER_KEY or --master-key-file to the \
                 key this ledger was created with; --create-database starts a new ledger and key",
                key.display()
            );
        }
    }
    Ok(())
}

/// The file of a `sqlite:` URL (`sqlite://FILE`, `sqlite:FILE`, options after `?`); `None` for
/// other databases and in-memory SQLite.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    require_existing_ledger(&cli)?;
    match &cli.command {
        Command::Serve { bind, .. } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            // hyper keeps a read pending while a handler runs: an idle bound below the request
            // bound would cut answers short.
            anyhow::ensure!(
                config.http.idle_timeout > config.http.request_timeout,
                "--idle-timeout must be longer than --request-timeout"
            );
            let rules = load_rules(cli.rules_dir.as_deref())?;
            let app = Application::build_with_rules(&config, *bind, kokuho_ledger::system_clock(), rules).await?;
            let address = app.local_addr();
            println!("kokuho is serving the ledger at http://{address}");
            println!("  database: {}", redact(&config.database_url));
            println!("  health:   http://{address}/health");
            println!("  API:      http://{address}/openapi.json");
            if !app.ledgerd().has_staff().await? {
                println!(
                    "  no staff account yet: create the first administrator (it prints a one-time enrolment code):"
                );
                println!(
                    "    kokuho admin create-user --tenant 112020 --login admin --name \"…\" --role administrator"
                );
                println!("  then enrol with it (README.md, \"Staff\"): POST http://{address}/v1/112020/enrolment");
            }
            app.run_until(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            ledgerd.shutdown().await;
            println!("migrated {}", redact(&config.database_url));
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild { projection } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            let bar = progress_bar("rebuild");
            let report = ledgerd
                .projector
                .rebuild(projection.as_deref(), &mut |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            println!(
                "rebuilt {} from {} events of {} tenant(s) in {:.2} s ({:.0} events/s)",
                report.projections.join(", "),
                report.events,
                report.tenants,
                report.elapsed.as_secs_f64(),
                report.events as f64 / report.elapsed.as_secs_f64().max(1e-9)
            );
            ledgerd.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { tenant, person, as_of, on } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            // The command line prints no personal data: it is not an audited staff read.
            let view =
                ledgerd.ledger.replay::<Person>(*tenant, PersonId::from_uuid(*person), *as_of, Decrypt::No).await?;
            let on = on.unwrap_or_else(|| kokuho_ledger::jst_date(ledgerd.ledger.now()));
            // The households the person ever joined, by today's knowledge; each is folded as
            // recorded at `as_of` by the answer.
            ledgerd.projector.catch_up(*tenant).await.context("bringing the projections up to date")?;
            let households = kokuho_projections::models::Households::households_of_person(
                ledgerd.store.db(),
                &tenant.to_string(),
                *person,
            )
            .await?;
            let answer =
                ledgerd.ledger.eligibility_on(*tenant, PersonId::from_uuid(*person), *as_of, on, &households).await?;
            let as_of = as_of.unwrap_or_else(chrono::Utc::now);
            kokuho_ledger::replay_print::print(&view, *tenant, as_of, &answer, &mut std::io::stdout().lock())?;
            ledgerd.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command } => audit(&cli, command).await,
        Command::Verify => {
            let config = config(&cli, DEFAULT_DATABASE_URL, true);
            let db = kokuho_store::Db::connect(&config.database_url).await.context("opening the database")?;
            db.migrate().await?;
            let store = kokuho_store::EventStore::new(
                db,
                kokuho_vault::MasterKey::ephemeral(),
                kokuho_store::StoreMetrics::unregistered(),
            );
            let bar = progress_bar("verify");
            let reports = store.verify(&mut |_, events| bar.set_position(events)).await?;
            bar.finish_and_clear();
            let mut broken = false;
            for (tenant, report) in &reports {
                match &report.first_break {
                    None => println!("tenant {tenant}: {} events, chain intact", report.events),
                    Some(chain_break) => {
                        broken = true;
                        println!("tenant {tenant}: BROKEN after {} good events: {chain_break}", report.events);
                    }
                }
            }
            if reports.is_empty() {
                println!("no ledgers in {}", redact(&config.database_url));
            }
            store.db().close().await;
            Ok(if broken { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Command::Retention { command: RetentionCommand::Run { tenant, as_of, dry_run, rules } } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            let bar = progress_bar("retention");
            let report = async {
                let rules = ledgerd.retention_rules(rules.as_deref()).context("retention rules")?;
                let as_of = as_of.unwrap_or_else(|| kokuho_ledger::jst_date(ledgerd.ledger.now()));
                let options = retention::RunOptions { tenant: *tenant, as_of, dry_run: *dry_run };
                let deps = ledgerd.retention_deps(rules);
                anyhow::Ok(retention::run(&deps, &options, &mut |progress| draw(&bar, progress)).await?)
            }
            .await;
            bar.finish_and_clear();
            ledgerd.shutdown().await;
            println!("{}", report?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Eligibility { command: EligibilityCommand::Run { tenant, on } } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            let bar = progress_bar("eligibility");
            let on = on.unwrap_or_else(|| kokuho_ledger::jst_date(ledgerd.ledger.now()));
            let options = eligibility::RunOptions { tenant: *tenant, on };
            let report =
                eligibility::run(&ledgerd.eligibility_deps(), &options, &mut |progress| draw(&bar, progress)).await;
            bar.finish_and_clear();
            ledgerd.shutdown().await;
            let report = report?;
            println!("{report}");
            Ok(if report.refusals.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Assessment { command: AssessmentCommand::Run { tenant, year, reassess } } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            let bar = progress_bar("assessment");
            let options = assessment::RunOptions { tenant: *tenant, fiscal_year: *year, reassess: *reassess };
            let report =
                assessment::run(&ledgerd.assessment_deps(), &options, &mut |progress| draw(&bar, progress)).await;
            bar.finish_and_clear();
            ledgerd.shutdown().await;
            let report = report?;
            println!("{report}");
            Ok(if report.refusals.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Benefits { command } => {
            kokuho::benefits_run::run(command, open(&cli, &config(&cli, DEFAULT_DATABASE_URL, false)).await?).await
        }
        Command::Rules { command: RulesCommand::Diff { tenant, year } } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            let bar = progress_bar("rules diff");
            let options = assessment::DiffOptions { tenant: *tenant, fiscal_year: *year };
            let report =
                assessment::diff(&ledgerd.assessment_deps(), &options, &mut |progress| draw(&bar, progress)).await;
            bar.finish_and_clear();
            ledgerd.shutdown().await;
            println!("{}", report?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policies { command } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = Ledgerd::open(&config, kokuho_ledger::system_clock()).await?;
            let result = policies(&ledgerd, command).await;
            ledgerd.shutdown().await;
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command } => {
            let config = config(&cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(&cli, &config).await?;
            match command {
                AdminCommand::CreateUser { tenant, login, name, role } => {
                    let created = ledgerd.staff.create_user(*tenant, login, name, *role, None).await?;
                    println!("created {} ({}) in {tenant}: user id {}", login, role.as_str(), created.user_id);
                    println!("enrolment code: {}", created.enrolment.code.as_str());
                    println!("valid until: {}", created.enrolment.expires_at.to_rfc3339());
                    println!(
                        "Hand it to {login}, who enrols with it once (POST /v1/{tenant}/enrolment, then …/complete):"
                    );
                    println!("their own authenticator, their own password. It is shown once and signs nobody in.");
                }
                AdminCommand::DisableUser { tenant, user, reason } => {
                    ledgerd.staff.disable_user(*tenant, *user, None, reason).await?;
                    println!("disabled {user} in {tenant}; their sessions have ended");
                }
            }
            ledgerd.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchBenefits { records, json } => {
            kokuho::bench_benefits::main(&config(&cli, "sqlite://kokuho-bench.db", true), *records, *json).await
        }
        Command::BenchTax { households, json } => {
            let config = config(&cli, "sqlite://kokuho-bench.db", true);
            let bar = Arc::new(progress_bar("bench-tax"));
            let reporter = bar.clone();
            let progress = move |phase: &'static str, done: u64, total: u64| {
                reporter.set_message(phase);
                reporter.set_length(total);
                reporter.set_position(done);
            };
            let report = kokuho::bench_tax::run(&config, kokuho_ledger::system_clock(), *households, &progress).await?;
            bar.finish_and_clear();
            if *json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{} on {}: {} households ({} persons); setup {:.1} s; assessment run {:.1} s ({:.0} households/s, target < 30 s for 50,000); rules diff {:.1} s ({:.0} households/s, target < 10 s for 50,000), {} would change",
                    report.workload, report.backend, report.households, report.persons, report.setup_s, report.run_s,
                    report.run_households_per_s, report.diff_s, report.diff_households_per_s, report.diff_changed
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { mode: Some(mode), .. } => kokuho::bench_cli::run(
            mode,
            config(&cli, &kokuho::bench_cli::fresh_sqlite_url(), true),
            load_rules(cli.rules_dir.as_deref())?,
        )
        .await
        .map(|()| ExitCode::SUCCESS),
        Command::Bench { proofs_at: Some(events), json, as_of_reads, .. } => {
            let config = config(&cli, "sqlite://kokuho-bench.db", true);
            let ledgerd = open(&cli, &config).await?;
            let bar = Arc::new(progress_bar("bench"));
            let reporter = bar.clone();
            let progress: bench::Progress = Arc::new(move |phase, done, total| {
                reporter.set_message(phase);
                reporter.set_length(total);
                reporter.set_position(done);
            });
            let report = bench::proofs(&ledgerd, *events, *as_of_reads, progress).await;
            bar.finish_and_clear();
            ledgerd.shutdown().await;
            let report = report?;
            if *json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{} on {} ({} events, {} proofs of each kind)",
                    report.workload, report.backend, report.events, report.proofs
                );
                println!("  fill            {:>10.0} events/s (tree maintained)", report.fill_events_per_s);
                println!(
                    "  inclusion       p50 {:.3} ms   p99 {:.3} ms",
                    report.inclusion_p50_ms, report.inclusion_p99_ms
                );
                println!(
                    "  consistency     p50 {:.3} ms   p99 {:.3} ms",
                    report.consistency_p50_ms, report.consistency_p99_ms
                );
                println!("  checkpoint      {:.2} ms (root, sign, store)", report.checkpoint_ms);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { persons, clients, as_of_reads, json, .. } => {
            // Bench data goes to its own file unless a database is named, and to its own tenant.
            let config = config(&cli, "sqlite://kokuho-bench.db", true);
            // The rule files in force, and the bench tenant's collection file for its accounts.
            let rules = bench::bench_rules(load_rules(cli.rules_dir.as_deref())?);
            let ledgerd = Ledgerd::open_with_rules(&config, kokuho_ledger::system_clock(), rules).await?;
            let bar = Arc::new(progress_bar("bench"));
            let reporter = bar.clone();
            let progress: bench::Progress = Arc::new(move |phase, done, total| {
                reporter.set_message(phase);
                reporter.set_length(total);
                reporter.set_position(done);
            });
            let options = BenchOptions { persons: *persons, clients: *clients, as_of_reads: *as_of_reads };
            let report = bench::run(&ledgerd, &options, progress).await?;
            bar.finish_and_clear();
            ledgerd.shutdown().await;
            if *json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{} on {} ({} persons, {} clients, {})",
                    report.workload,
                    report.backend,
                    report.persons,
                    report.clients,
                    redact(&config.database_url)
                );
                println!(
                    "  commands        {:>10.0} /s   p50 {:.2} ms   p99 {:.2} ms",
                    report.commands_per_s, report.p50_ms, report.p99_ms
                );
                println!(
                    "    limit         {:>10.0} rows/s of plain INSERTs, {:.1} per transaction: commands at {:.0}%",
                    report.insert_limit_rows_per_s,
                    report.events_per_commit,
                    100.0 * report.commands_share_of_limit
                );
                println!("  registrations   {:>10.0} /s   (setup)", report.registrations_per_s);
                println!(
                    "  rebuild         {:>10.0} events/s ({} events)",
                    report.rebuild_events_per_s, report.rebuild_events
                );
                println!(
                    "    limit         {:>10.0} events/s read and decoded, nothing applied: rebuild at {:.0}%",
                    report.read_decode_events_per_s,
                    100.0 * report.rebuild_share_of_limit
                );
                println!(
                    "  as-of reads     p50 {:.2} ms   p99 {:.2} ms ({} reads)",
                    report.as_of_p50_ms, report.as_of_p99_ms, report.as_of_reads
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KOKUHO_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let result = runtime.block_on(run(cli));
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("kokuho: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every option of every command says what it is, and an optional one that is not a switch
    /// says what happens without it: clap prints `[default: …]` for a default value, and the
    /// help line says "default" for one computed at run time.
    #[test]
    fn every_option_has_a_help_line_and_shows_its_default() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                let help = arg.get_help().map(|help| help.to_string()).unwrap_or_default();
                let name = format!("{path} --{}", arg.get_long().unwrap_or(id));
                if help.is_empty() {
                    missing.push(format!("{name}: no help line"));
                    continue;
                }
                let switch = matches!(arg.get_action(), clap::ArgAction::SetTrue | clap::ArgAction::Append);
                let optional = !arg.is_required_set() && arg.get_default_values().is_empty() && !switch;
                if optional && !help.contains("default") {
                    missing.push(format!("{name}: optional without a default in its help"));
                }
            }
            for sub in command.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "kokuho", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn only_serve_migrate_and_the_benchmarks_may_start_a_new_ledger() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).expect("parses");
        assert!(may_create_ledger(&parse(&["kokuho", "serve"]).command));
        assert!(may_create_ledger(&parse(&["kokuho", "migrate"]).command));
        assert!(!may_create_ledger(&parse(&["kokuho", "verify"]).command));
        assert!(!may_create_ledger(&parse(&["kokuho", "rebuild"]).command));
        assert_eq!(sqlite_file("sqlite://kokuho.db"), Some(PathBuf::from("kokuho.db")));
        assert_eq!(sqlite_file("sqlite:/var/lib/kokuho.db?mode=rwc"), Some(PathBuf::from("/var/lib/kokuho.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://kokuho@db/kokuho"), None);
    }
}
