//! `ledger-50k` (docs/performance.md) through cqrs-es 0.5 + postgres-es 0.5: the reference kokuho's
//! own `kokuho bench` is compared with, in the same run on the same machine.
//!
//! Per person: one AcquireEligibility command, then 24 RecordPayment commands. `--clients`
//! concurrent clients each own the persons `i` with `i % clients == client` and run them
//! sequentially. Every command goes through `CqrsFramework::execute`: load the aggregate (all of
//! its events; no snapshots), handle the command against the current state, append the new
//! event with optimistic concurrency (the primary key on (type, id, sequence)) in its own
//! transaction, durable commit (`synchronous_commit=on`).
//!
//! kokuho registers its persons first (untimed setup); here the person's stream simply starts
//! with EligibilityAcquired, so there is no registration step.

use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, AggregateError, DomainEvent};
use postgres_es::{postgres_cqrs, PostgresCqrs};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};

const SYSTEM: &str = "cqrs-es 0.5 + postgres-es 0.5";
const PAYMENTS_PER_PERSON: usize = 24;

/// The `events` table as postgres-es documents it (its repository's `db/init.sql`), made
/// idempotent. Snapshots are not used (`postgres_cqrs`, not `postgres_snapshot_cqrs`), so the
/// `snapshots` table is not needed.
const EVENTS_DDL: &str = "
CREATE TABLE IF NOT EXISTS events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
)";

// ---------------------------------------------------------------------------------------------
// The domain: a person's insurance eligibility and payments. Money is integer yen.

/// Yen, never floats.
pub type Yen = i64;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PersonCommand {
    AcquireEligibility { reason: String, event_date: String, notified_on: String },
    RecordPayment { fiscal_year: i32, amount: Yen, received_on: String, channel: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersonEvent {
    EligibilityAcquired { reason: String, event_date: String, notified_on: String },
    PaymentReceived { fiscal_year: i32, amount: Yen, received_on: String, channel: String },
}

impl DomainEvent for PersonEvent {
    fn event_type(&self) -> String {
        match self {
            Self::EligibilityAcquired { .. } => "EligibilityAcquired".into(),
            Self::PaymentReceived { .. } => "PaymentReceived".into(),
        }
    }

    fn event_version(&self) -> String {
        "1.0".into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonError {
    #[error("the person is not insured")]
    NotInsured,
    #[error("the amount must be positive (got {0} yen)")]
    AmountNotPositive(Yen),
    #[error("the person is already insured")]
    AlreadyInsured,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Person {
    insured: bool,
    payments: u32,
    paid: Yen,
}

impl Aggregate for Person {
    const TYPE: &'static str = "Person";
    type Command = PersonCommand;
    type Event = PersonEvent;
    type Error = PersonError;
    type Services = ();

    async fn handle(&mut self, command: Self::Command, _services: &(), sink: &EventSink<Self>) -> Result<(), Self::Error> {
        let event = match command {
            PersonCommand::AcquireEligibility { .. } if self.insured => return Err(PersonError::AlreadyInsured),
            PersonCommand::AcquireEligibility { reason, event_date, notified_on } => {
                PersonEvent::EligibilityAcquired { reason, event_date, notified_on }
            }
            PersonCommand::RecordPayment { .. } if !self.insured => return Err(PersonError::NotInsured),
            PersonCommand::RecordPayment { amount, .. } if amount <= 0 => return Err(PersonError::AmountNotPositive(amount)),
            PersonCommand::RecordPayment { fiscal_year, amount, received_on, channel } => {
                PersonEvent::PaymentReceived { fiscal_year, amount, received_on, channel }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            PersonEvent::EligibilityAcquired { .. } => self.insured = true,
            PersonEvent::PaymentReceived { amount, .. } => {
                self.payments += 1;
                self.paid += amount;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The command line.

struct Options {
    database_url: String,
    persons: usize,
    clients: usize,
    pool_size: Option<u32>,
    json: bool,
}

const USAGE: &str = "usage: kokuho-reference-cqrs-es --database-url URL [--persons N (2000)] [--clients N (16)] [--pool-size N (= clients)] [--json]";

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut database_url, mut persons, mut clients, mut pool_size, mut json) = (None, 2000, 16, None, false);
    fn number<T: FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        value.parse().map_err(|_| format!("{flag}: not a number: {value}"))
    }
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--database-url" => database_url = Some(value().ok_or("--database-url needs a value")?),
            "--persons" => persons = number("--persons", value())?,
            "--clients" => clients = number("--clients", value())?,
            "--pool-size" => pool_size = Some(number("--pool-size", value())?),
            "--json" => json = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let database_url = database_url.ok_or_else(|| format!("--database-url is required\n{USAGE}"))?;
    if persons == 0 || clients == 0 {
        return Err("--persons and --clients must be at least 1".into());
    }
    Ok(Options { database_url, persons, clients, pool_size, json })
}

#[derive(Serialize)]
struct Report {
    system: &'static str,
    commands: usize,
    commands_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Same definition as kokuho's bench: nearest rank, ceil(n * fraction).
fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// postgres-es's `default_postgress_pool`, but with the pool sized to the clients (its default
/// of 10 connections would make 16 clients queue for a connection) and durability stated
/// explicitly (`synchronous_commit=on` is PostgreSQL's default).
async fn pool(options: &Options) -> Result<Pool<Postgres>, BoxError> {
    let connect = PgConnectOptions::from_str(&options.database_url)?.options([("synchronous_commit", "on")]);
    let size = options.pool_size.unwrap_or(options.clients as u32).max(1);
    Ok(PgPoolOptions::new().max_connections(size).min_connections(size).connect_with(connect).await?)
}

/// Creates postgres-es's `events` table if missing; refuses a database whose `events` table is
/// something else (kokuho's own, for instance).
async fn prepare(pool: &Pool<Postgres>) -> Result<(), BoxError> {
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events'",
    )
    .fetch_all(pool)
    .await?;
    if !columns.is_empty() && !columns.iter().any(|c| c == "aggregate_type") {
        return Err("this database already has an `events` table that is not postgres-es's (kokuho's own?): \
                    give the reference a database of its own"
            .into());
    }
    sqlx::query(EVENTS_DDL).execute(pool).await?;
    Ok(())
}

fn acquire() -> PersonCommand {
    PersonCommand::AcquireEligibility { reason: "MovedIn".into(), event_date: "2025-04-01".into(), notified_on: "2025-04-07".into() }
}

fn pay(installment: usize) -> PersonCommand {
    PersonCommand::RecordPayment {
        fiscal_year: 2025,
        amount: 10_000 + (installment as Yen) * 100,
        received_on: "2025-07-31".into(),
        channel: "BankTransfer".into(),
    }
}

async fn timed(cqrs: &PostgresCqrs<Person>, id: &str, command: PersonCommand) -> Result<Duration, AggregateError<PersonError>> {
    let at = Instant::now();
    cqrs.execute(id, command).await?;
    Ok(at.elapsed())
}

async fn run(options: &Options) -> Result<Report, BoxError> {
    let pool = pool(options).await?;
    prepare(&pool).await?;
    // Fresh aggregate ids on every run, as kokuho's bench uses fresh person ids.
    let run_id = format!("{:x}", SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos());
    let cqrs: Arc<PostgresCqrs<Person>> = Arc::new(postgres_cqrs(pool.clone(), vec![], ()));

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(options.clients);
    for client in 0..options.clients {
        let (cqrs, run_id, persons, clients) = (cqrs.clone(), run_id.clone(), options.persons, options.clients);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(persons.div_ceil(clients) * (1 + PAYMENTS_PER_PERSON));
            for index in (client..persons).step_by(clients) {
                let id = format!("{run_id}-{index}");
                latencies.push(timed(&cqrs, &id, acquire()).await?);
                for installment in 0..PAYMENTS_PER_PERSON {
                    latencies.push(timed(&cqrs, &id, pay(installment)).await?);
                }
            }
            Ok::<_, AggregateError<PersonError>>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(options.persons * (1 + PAYMENTS_PER_PERSON));
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let commands = latencies.len();

    // Not timed: every command must have left exactly one event.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = $1 AND aggregate_id LIKE $2")
        .bind(Person::TYPE)
        .bind(format!("{run_id}-%"))
        .fetch_one(&pool)
        .await?;
    if stored != commands as i64 {
        return Err(format!("{commands} commands but {stored} events stored").into());
    }
    pool.close().await;

    Ok(Report {
        system: SYSTEM,
        commands,
        commands_per_s: commands as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(report) if options.json => {
            println!("{}", serde_json::to_string(&report).expect("the report serializes"));
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("ledger-{}k on {} ({} persons, {} clients)", report.commands / 1000, report.system, options.persons, options.clients);
            println!("  commands        {:>10.0} /s   p50 {:.2} ms   p99 {:.2} ms", report.commands_per_s, report.p50_ms, report.p99_ms);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("kokuho-reference-cqrs-es: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn acquired() -> PersonEvent {
        PersonEvent::EligibilityAcquired { reason: "MovedIn".into(), event_date: "2025-04-01".into(), notified_on: "2025-04-07".into() }
    }

    fn paid(installment: usize) -> PersonEvent {
        let PersonCommand::RecordPayment { fiscal_year, amount, received_on, channel } = pay(installment) else { unreachable!() };
        PersonEvent::PaymentReceived { fiscal_year, amount, received_on, channel }
    }

    #[test]
    fn eligibility_starts_the_stream() {
        TestFramework::<Person>::with(()).given_no_previous_events().when(acquire()).then_expect_events(vec![acquired()]);
    }

    #[test]
    fn eligibility_twice_is_refused() {
        TestFramework::<Person>::with(()).given(vec![acquired()]).when(acquire()).then_expect_error(PersonError::AlreadyInsured);
    }

    #[test]
    fn a_payment_needs_insurance() {
        TestFramework::<Person>::with(()).given_no_previous_events().when(pay(0)).then_expect_error(PersonError::NotInsured);
    }

    #[test]
    fn a_payment_must_be_positive() {
        let zero = PersonCommand::RecordPayment { fiscal_year: 2025, amount: 0, received_on: "2025-07-31".into(), channel: "BankTransfer".into() };
        TestFramework::<Person>::with(()).given(vec![acquired()]).when(zero).then_expect_error(PersonError::AmountNotPositive(0));
    }

    #[test]
    fn payments_follow_eligibility() {
        TestFramework::<Person>::with(()).given(vec![acquired(), paid(0)]).when(pay(1)).then_expect_events(vec![paid(1)]);
    }

    #[test]
    fn percentiles_match_kokuho() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&sorted, 0.50), 50.0);
        assert_eq!(percentile_ms(&sorted, 0.99), 99.0);
    }
}
